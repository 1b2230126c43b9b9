package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/internal/testutil"
	"github.com/justap-go/justap/justaptest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testShop serves the shop on a test server, backed by a fake Justap
// whose notifications go to the shop.
type testShop struct {
	t    *testing.T
	fake *justaptest.Server
	url  string
	hc   *http.Client
	log  *testutil.SyncBuffer // the shop's log
}

func newTestShop(t *testing.T, opts ...justap.Option) *testShop {
	fake := justaptest.NewServer(t)
	c, err := justap.NewClient(fake.APIKey(), append([]justap.Option{
		justap.WithBaseURL(fake.URL), justap.WithAppID(fake.AppID()),
		justap.WithHTTPClient(fake.Client()),
		justap.WithRetryBackoff(time.Millisecond, time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	log := &testutil.SyncBuffer{}
	db, err := openDB(context.Background(), testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	shop := httptest.NewUnstartedServer(nil)
	notifyURL := "http://" + shop.Listener.Addr().String() + "/justap/notify"
	shop.Config.Handler = newShop(c, db, "order-", slog.New(slog.NewTextHandler(log, nil)),
		notifyAt(notifyURL, fake.PlatformPublicKey()))
	shop.Start()
	t.Cleanup(shop.Close)
	return &testShop{t: t, fake: fake, url: shop.URL, hc: shop.Client(), log: log}
}

// call sends a request to the shop and decodes its JSON answer.
func (s *testShop) call(method, path, body string, wantStatus int) map[string]any {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != wantStatus {
		s.t.Fatalf("%s %s: status %d, want %d: %v", method, path, resp.StatusCode, wantStatus, v)
	}
	return v
}

func TestOrderLifecycle(t *testing.T) {
	s := newTestShop(t)
	o := s.call("POST", "/orders", `{"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}`, http.StatusCreated)
	id, chargeID := o["order_id"].(string), o["charge_id"].(string)
	pay, _ := o["pay"].(map[string]any)
	if o["status"] != "unpaid" || o["amount"] != "19.99" || pay["qr_code"] == nil {
		t.Fatalf("new order = %v", o)
	}
	if ch, _ := s.fake.Charge(chargeID); ch.MerchantTradeID != id || ch.ClientIP != "127.0.0.1" {
		t.Errorf("charge = %+v; want the order id as merchant_trade_id and the customer's IP", ch)
	}

	// Polling: unpaid until the customer pays.
	if got := s.call("GET", "/orders/"+id, "", http.StatusOK); got["status"] != "unpaid" {
		t.Errorf("status before paying = %v", got["status"])
	}
	if err := s.fake.Pay(chargeID); err != nil {
		t.Fatal(err)
	}
	if got := s.call("GET", "/orders/"+id, "", http.StatusOK); got["status"] != "paid" || got["pay"] != nil {
		t.Errorf("status after paying = %v", got)
	}

	// A partial refund, then the rest, then nothing more.
	rf := s.call("POST", "/orders/"+id+"/refund", `{"amount": "5.00"}`, http.StatusOK)
	if rf["amount"] != "5.00" || rf["status"] != "refunded" {
		t.Errorf("refund = %v", rf)
	}
	if got := s.call("GET", "/orders/"+id, "", http.StatusOK); got["status"] != "partly_refunded" || got["refunded"] != "5.00" {
		t.Errorf("after a partial refund = %v", got)
	}
	s.call("POST", "/orders/"+id+"/refund", `{"amount": "15.00"}`, http.StatusConflict) // above the rest
	if rf := s.call("POST", "/orders/"+id+"/refund", `{}`, http.StatusOK); rf["amount"] != "14.99" {
		t.Errorf("refund of the rest = %v", rf)
	}
	if got := s.call("GET", "/orders/"+id, "", http.StatusOK); got["status"] != "refunded" {
		t.Errorf("after refunding everything = %v", got)
	}
	s.call("POST", "/orders/"+id+"/refund", `{}`, http.StatusConflict)
	s.call("POST", "/orders/"+id+"/cancel", ``, http.StatusConflict) // paid: refund, not cancel

	if ch, _ := s.fake.Charge(chargeID); ch.AmountRefunded != 1999 || len(ch.Refunds) != 2 {
		t.Errorf("Justap's side: refunded %v in %d refunds", ch.AmountRefunded, len(ch.Refunds))
	}
}

// TestOrderShippedByNotification: the order is paid and shipped through
// Justap's notification, with no polling; then a duplicate, a forged and an
// unencrypted notification each change nothing.
func TestOrderShippedByNotification(t *testing.T) {
	s := newTestShop(t)
	ctx := context.Background()
	o := s.call("POST", "/orders", `{"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}`, http.StatusCreated)
	id, chargeID := o["order_id"].(string), o["charge_id"].(string)
	if ch, _ := s.fake.Charge(chargeID); ch == nil {
		t.Fatal("no charge")
	}
	if err := s.fake.Pay(chargeID); err != nil { // the customer pays
		t.Fatal(err)
	}
	atts := s.fake.DeliverDue(ctx) // Justap notifies the shop; returns once the shop answered
	if len(atts) != 1 || atts[0].Status != http.StatusOK || atts[0].Answer != "success" {
		t.Fatalf("delivery: %+v", atts)
	}
	if got := s.call("GET", "/orders/"+id, "", http.StatusOK); got["status"] != "paid" || got["shipped"] != true {
		t.Fatalf("after the notification: %v", got)
	}
	shipped := func() int { return strings.Count(s.log.String(), `msg="shipping order"`) }
	if shipped() != 1 {
		t.Fatalf("shipped %d times", shipped())
	}

	// A duplicate: Justap resends the same notification. Acknowledged,
	// nothing shipped again.
	d := s.fake.Deliveries()[0]
	if a, err := s.fake.Resend(ctx, d.ID); err != nil || a.Status != http.StatusOK {
		t.Errorf("resend: %+v, %v", a, err)
	}
	s.fake.FailNext(1, justaptest.Fault{Kind: justaptest.FaultDuplicate})
	s.call("POST", "/orders/"+id+"/refund", `{"amount": "1.00"}`, http.StatusOK)
	s.fake.DeliverDue(ctx)
	if shipped() != 1 {
		t.Errorf("a duplicate shipped again: %d", shipped())
	}

	// Forged and unencrypted "paid" notifications for an unpaid order: the
	// shop refuses them (400) and nothing changes.
	o2 := s.call("POST", "/orders", `{"amount": "5.00", "channel": "AlipayQR", "subject": "Mug"}`, http.StatusCreated)
	ch2, _ := s.fake.Charge(o2["charge_id"].(string))
	lie := justaptest.ChargeNotification(ch2)
	lie.NotifyID, lie.IsPaid, lie.ChargeStatus = "nt_forged", true, "paid"
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]*rsa.PrivateKey{"forged": forger, "unencrypted": nil} {
		body, err := justaptest.NotificationBody(key, "charge.paid", lie)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.hc.Post(s.url+"/justap/notify", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
	// The same, delivered by the fake's faults before a genuine notification.
	for _, kind := range []justaptest.FaultKind{justaptest.FaultForged, justaptest.FaultUnencrypted} {
		s.fake.FailNext(1, justaptest.Fault{Kind: kind})
	}
	s.call("POST", "/orders/"+id+"/refund", `{"amount": "1.00"}`, http.StatusOK)
	s.call("POST", "/orders/"+id+"/refund", `{"amount": "1.00"}`, http.StatusOK)
	for _, a := range s.fake.DeliverDue(ctx) {
		if want := http.StatusOK; a.Fault != nil && a.Status != http.StatusBadRequest || a.Fault == nil && a.Status != want {
			t.Errorf("attempt %+v", a)
		}
	}
	if got := s.call("GET", "/orders/"+o2["order_id"].(string), "", http.StatusOK); got["status"] != "unpaid" || got["shipped"] != false {
		t.Errorf("the unpaid order after forged notifications: %v", got)
	}
	if shipped() != 1 {
		t.Errorf("shipped %d times, want 1", shipped())
	}
}

func TestCancelAndExpiry(t *testing.T) {
	s := newTestShop(t)
	o := s.call("POST", "/orders", `{"amount": "3.50", "channel": "WechatpayH5", "subject": "Sticker"}`, http.StatusCreated)
	if pay, _ := o["pay"].(map[string]any); pay["pay_url"] == nil {
		t.Errorf("H5 order has no pay_url: %v", o)
	}
	id := o["order_id"].(string)
	if got := s.call("POST", "/orders/"+id+"/cancel", ``, http.StatusOK); got["status"] != "cancelled" {
		t.Errorf("cancelled order = %v", got)
	}
	if err := s.fake.Pay(o["charge_id"].(string)); err == nil {
		t.Error("a cancelled order's charge was paid")
	}

	o = s.call("POST", "/orders", `{"amount": "1.00", "channel": "WechatpayNative", "subject": "Pin"}`, http.StatusCreated)
	s.fake.Expire(o["charge_id"].(string))
	if got := s.call("GET", "/orders/"+o["order_id"].(string), "", http.StatusOK); got["status"] != "expired" {
		t.Errorf("expired order = %v", got)
	}
}

func TestBadRequests(t *testing.T) {
	s := newTestShop(t)
	for _, body := range []string{
		`not json`,
		`{"amount": "0", "channel": "AlipayQR", "subject": "x"}`,
		`{"amount": "1.001", "channel": "AlipayQR", "subject": "x"}`,
		`{"amount": "1", "channel": "BALANCE", "subject": "x"}`,
		`{"amount": "1", "channel": "AlipayQR"}`,
	} {
		s.call("POST", "/orders", body, http.StatusBadRequest)
	}
	s.call("GET", "/orders/nope", "", http.StatusNotFound)
	if n := len(s.fake.Charges()); n != 0 {
		t.Errorf("%d charges created by bad requests", n)
	}
	o := s.call("POST", "/orders", `{"amount": "1", "channel": "AlipayQR", "subject": "x"}`, http.StatusCreated)
	s.call("POST", "/orders/"+o["order_id"].(string)+"/refund", `{"amount": "-1"}`, http.StatusBadRequest)
	s.call("POST", "/orders/"+o["order_id"].(string)+"/refund", `{}`, http.StatusConflict) // not paid
}

func TestProviderDown(t *testing.T) {
	s := newTestShop(t, justap.WithMaxRetries(1))
	s.fake.FailNext(2, justaptest.Fault{Status: http.StatusServiceUnavailable})
	got := s.call("POST", "/orders", `{"amount": "1", "channel": "AlipayQR", "subject": "x"}`, http.StatusBadGateway)
	if msg, _ := got["error"].(string); !strings.Contains(msg, "try again") || strings.Contains(msg, s.fake.APIKey()) {
		t.Errorf("error = %q", msg)
	}
	if n := len(s.fake.Charges()); n != 0 {
		t.Errorf("%d charges", n)
	}
}

// The charge is created but Justap's answer is lost: the SDK retries, the
// retry is refused as a duplicate, and the SDK finds the charge by its
// merchant_trade_id. The customer gets the order, and exactly one charge
// exists.
func TestLostAnswerOnCreate(t *testing.T) {
	s := newTestShop(t)
	s.fake.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	o := s.call("POST", "/orders", `{"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}`, http.StatusCreated)
	all := s.fake.Charges()
	if len(all) != 1 || o["charge_id"] != all[0].ID || o["status"] != "unpaid" {
		t.Errorf("order %v, charges %v; want the one charge", o, all)
	}
	if n := s.fake.Count(justaptest.OpCreateCharge); n != 2 {
		t.Errorf("%d create requests, want 2", n)
	}
}

// A refund is made but every answer is lost, and the lookup fails too: the
// shop says it cannot tell, and keeps the refund's id. The customer's next
// refund request reuses it: Justap refuses it as a duplicate, the SDK shows
// the refund it names, and the shop reports that refund. One refund exists.
func TestUnknownRefundIsRetriedWithItsID(t *testing.T) {
	s := newTestShop(t, justap.WithMaxRetries(1))
	o := s.call("POST", "/orders", `{"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}`, http.StatusCreated)
	id := o["order_id"].(string)
	if err := s.fake.Pay(o["charge_id"].(string)); err != nil {
		t.Fatal(err)
	}
	s.fake.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
	s.fake.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Status: http.StatusServiceUnavailable})
	s.fake.FailNext(2, justaptest.Fault{Op: justaptest.OpListRefunds, Status: http.StatusServiceUnavailable})
	got := s.call("POST", "/orders/"+id+"/refund", `{"amount": "5.00"}`, http.StatusBadGateway)
	if msg, _ := got["error"].(string); !strings.Contains(msg, "cannot tell") {
		t.Errorf("error = %q, want it to say the outcome is unknown", msg)
	}
	rf := s.call("POST", "/orders/"+id+"/refund", `{"amount": "5.00"}`, http.StatusOK)
	ch, _ := s.fake.Charge(o["charge_id"].(string))
	if len(ch.Refunds) != 1 || ch.AmountRefunded != 500 || rf["refund_id"] != ch.Refunds[0].ID {
		t.Fatalf("refund %v; the charge has %d refunds of %v; want the one refund of 5.00", rf, len(ch.Refunds), ch.AmountRefunded)
	}
	// Settled: the next refund is a new one.
	s.call("POST", "/orders/"+id+"/refund", `{"amount": "1.00"}`, http.StatusOK)
	if ch, _ := s.fake.Charge(o["charge_id"].(string)); len(ch.Refunds) != 2 || ch.AmountRefunded != 600 {
		t.Errorf("%d refunds of %v, want 2 of 6.00", len(ch.Refunds), ch.AmountRefunded)
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testutil.SyncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", testDSN(t)}, &out, func(string) string { return "" }, ready)
	}()
	url := <-ready
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	resp, err := hc.Post(url+"/orders", "application/json",
		strings.NewReader(`{"amount": "1", "channel": "AlipayQR", "subject": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		OrderID string            `json:"order_id"`
		Pay     map[string]string `json:"pay"`
		Shipped bool              `json:"shipped"`
	}
	json.NewDecoder(resp.Body).Decode(&o)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The customer pays on the fake's pay page; the fake notifies the shop
	// in real time, and the shop ships.
	resp, err = hc.Post(o.Pay["qr_code"], "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for deadline := time.Now().Add(10 * time.Second); !o.Shipped; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the order was not shipped within 10 s of the payment")
		}
		resp, err := hc.Get(url + "/orders/" + o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&o)
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.HasPrefix(out.String(), "Using the in-process fake Justap server") {
		t.Errorf("output = %s", out.String())
	}
	err = run(context.Background(), []string{"-db", testDSN(t)}, io.Discard, func(k string) string {
		return map[string]string{"JUSTAP_API_KEY": "sk_test_x"}[k]
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "JUSTAP_APP_ID") {
		t.Errorf("run without an app id: %v", err)
	}
}
