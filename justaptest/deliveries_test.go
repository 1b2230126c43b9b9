package justaptest_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/internal/testutil"
	"github.com/justap-go/justap/justaptest"
)

// post is one notification a receiver got.
type post struct {
	path   string
	event  string
	obj    map[string]any // nil unless authentic
	status int            // what the receiver answered
}

// receiver is a merchant's notification endpoint that checks what it gets
// as a careful handler does: encrypted with the platform key, for its own
// app. It answers 400 to anything else, 500 to the first fail authentic
// notifications, and 200 "success" after, handing those to handled.
type receiver struct {
	*httptest.Server
	pub   *rsa.PublicKey
	appID string

	mu      sync.Mutex
	fail    int
	posts   []post
	handled []post
}

func newReceiver(t *testing.T, srv *justaptest.Server) *receiver {
	rc := &receiver{pub: srv.PlatformPublicKey(), appID: srv.AppID()}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	event, obj, err := openNotification(rc.pub, body)
	p := post{path: r.URL.Path, event: event, status: http.StatusOK}
	switch {
	case err != nil || obj["app_id"] != rc.appID:
		p.status = http.StatusBadRequest
	default:
		p.obj = obj
	}
	rc.mu.Lock()
	if p.status == http.StatusOK && rc.fail > 0 {
		rc.fail--
		p.status = http.StatusInternalServerError
	}
	rc.posts = append(rc.posts, p)
	if p.status == http.StatusOK {
		rc.handled = append(rc.handled, p)
	}
	rc.mu.Unlock()
	w.WriteHeader(p.status)
	if p.status == http.StatusOK {
		io.WriteString(w, "success")
	}
}

func (rc *receiver) failNext(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = n
}

func (rc *receiver) got() (posts, handled []post) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]post(nil), rc.posts...), append([]post(nil), rc.handled...)
}

// withNotify returns charge params whose notify_url is the receiver's.
func withNotify(p *justap.ChargeCreateParams, url string) *justap.ChargeCreateParams {
	p.NotifyURL = url
	return p
}

// notifyFixture is a fake on a test clock, a client, and a receiver.
func notifyFixture(t *testing.T, opts ...justaptest.Option) (*fixture, *receiver) {
	f := newFixture(t, opts...)
	return f, newReceiver(t, f.srv)
}

// paidWithNotify creates a charge notifying rc and pays it.
func (f *fixture) paidWithNotify(t *testing.T, rc *receiver, id string, amount justap.Amount) *justap.Charge {
	t.Helper()
	ch := f.create(t, withNotify(params(id, amount), rc.URL+"/notify/"+id))
	if err := f.srv.Pay(ch.ID); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestPaidChargeIsNotified(t *testing.T) {
	f, rc := notifyFixture(t)
	ch := f.paidWithNotify(t, rc, "order-1", 1999)

	if posts, _ := rc.got(); len(posts) != 0 {
		t.Fatalf("posted before DeliverDue: %v", posts)
	}
	ds := f.srv.Deliveries()
	if len(ds) != 1 || ds[0].State != justaptest.DeliveryPending || !ds[0].NextAt.Equal(t0) {
		t.Fatalf("queued = %+v, want one pending delivery due now", ds)
	}
	atts := f.srv.DeliverDue(context.Background())
	if len(atts) != 1 || atts[0].Status != 200 || atts[0].Answer != "success" || atts[0].N != 1 || !atts[0].OK() {
		t.Fatalf("attempts = %+v", atts)
	}
	_, handled := rc.got()
	if len(handled) != 1 {
		t.Fatalf("handled = %+v", handled)
	}
	h := handled[0]
	if h.path != "/notify/order-1" || h.event != "charge.paid" {
		t.Errorf("post to %s event %s", h.path, h.event)
	}
	d := f.srv.Deliveries()[0]
	for k, want := range map[string]any{
		"notify_id": d.ID, "notify_time": "2025-03-01T08:00:00Z", "charge_no": ch.ID, "app_id": f.srv.AppID(),
		"merchant_trade_id": "order-1", "amount_total": json.Number("19.99"), "is_paid": true, "charge_status": "paid",
	} {
		if h.obj[k] != want {
			t.Errorf("%s = %#v, want %#v", k, h.obj[k], want)
		}
	}
	if d.State != justaptest.DeliveryDelivered || len(d.Attempts) != 1 || !d.NextAt.IsZero() ||
		d.ChargeID != ch.ID || d.Event != "charge.paid" || d.URL != rc.URL+"/notify/order-1" {
		t.Errorf("recorded %+v", d)
	}
	if again := f.srv.DeliverDue(context.Background()); len(again) != 0 {
		t.Errorf("a delivered notification was posted again: %+v", again)
	}
	if _, ok := f.srv.NextDeliveryAt(); ok {
		t.Error("NextDeliveryAt reports a pending delivery")
	}
}

func TestEveryEventIsNotified(t *testing.T) {
	f, rc := notifyFixture(t)
	ctx := context.Background()
	url := rc.URL + "/n"

	paid := f.create(t, withNotify(params("paid", 1000), url))
	f.srv.Pay(paid.ID)
	if _, err := f.refund(paid.ID, "r1", 300); err != nil {
		t.Fatal(err)
	}
	r2, err := f.c.Refunds.Create(ctx, &justap.RefundCreateParams{ChargeID: paid.ID, MerchantRefundID: "r2",
		Description: "rest", FullRefund: true, NotifyURL: rc.URL + "/refunds"})
	if err != nil {
		t.Fatal(err)
	}
	reversed := f.create(t, withNotify(params("reversed", 100), url))
	f.c.Charges.Reverse(ctx, reversed.ID)
	f.c.Charges.Reverse(ctx, reversed.ID) // already reversed: no second notification
	closed := f.create(t, withNotify(params("closed", 100), url))
	f.srv.CloseCharge(closed.ID)
	expired := f.create(t, withNotify(params("expired", 100), url))
	f.srv.Expire(expired.ID)
	lapsed := f.create(t, withNotify(params("lapsed", 100), url)) // expires by the clock
	f.create(t, params("silent", 100))                            // no notify_url: never notified
	f.clock.Advance(justaptest.DefaultTTL)

	f.srv.DeliverDue(ctx)
	type ev struct{ path, event, mtid, status string }
	var got []ev
	_, handled := rc.got()
	for _, h := range handled {
		got = append(got, ev{h.path, h.event, h.obj["merchant_trade_id"].(string), h.obj["charge_status"].(string)})
	}
	want := []ev{
		{"/n", "charge.paid", "paid", "paid"},
		{"/n", "charge.refunded", "paid", "paid"},
		{"/refunds", "charge.refunded", "paid", "refunded"},
		{"/n", "charge.reversed", "reversed", "reversed"},
		{"/n", "charge.closed", "closed", "closed"},
		{"/n", "charge.closed", "expired", "expired"},
		{"/n", "charge.closed", "lapsed", "expired"},
	}
	if fmt.Sprint(sortedEvs(got)) != fmt.Sprint(sortedEvs(want)) {
		t.Errorf("notified:\n%v\nwant:\n%v", got, want)
	}
	ds := f.srv.Deliveries()
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries recorded, want %d", len(ds), len(want))
	}
	if ds[2].RefundID != r2.ID || ds[2].URL != rc.URL+"/refunds" {
		t.Errorf("second refund's delivery = %+v, want refund %s to its own notify_url", ds[2], r2.ID)
	}
	_ = lapsed
}

// sortedEvs orders events by charge and then event order: charges'
// notifications are posted concurrently, each charge's in order.
func sortedEvs[T any](evs []T) map[string][]T {
	m := map[string][]T{}
	for _, e := range evs {
		k := fmt.Sprint(e)
		k = strings.Fields(k)[2] // the merchant trade id
		m[k] = append(m[k], e)
	}
	return m
}

func TestPendingRefundIsNotifiedWhenItCompletes(t *testing.T) {
	f, rc := notifyFixture(t, justaptest.WithPendingRefunds())
	ch := f.paidWithNotify(t, rc, "order-1", 1000)
	f.srv.DeliverDue(context.Background())
	r, err := f.refund(ch.ID, "r1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Deliveries()); n != 1 {
		t.Fatalf("%d deliveries before the refund completed, want 1 (paid)", n)
	}
	f.srv.CompleteRefund(r.ID)
	f.srv.DeliverDue(context.Background())
	_, handled := rc.got()
	if len(handled) != 2 || handled[1].event != "charge.refunded" || handled[1].obj["amount_refund"] != json.Number("10.00") {
		t.Errorf("handled = %+v", handled)
	}
}

func TestRedeliveryOnTheFakesClock(t *testing.T) {
	f, rc := notifyFixture(t)
	rc.failNext(3)
	f.paidWithNotify(t, rc, "order-1", 100)
	ctx := context.Background()

	f.deliverRounds(ctx, 50)
	d := f.srv.Deliveries()[0]
	wantAt := []time.Duration{0, 15 * time.Second, 75 * time.Second, 195 * time.Second}
	if len(d.Attempts) != len(wantAt) || d.State != justaptest.DeliveryDelivered {
		t.Fatalf("%d attempts, state %s; want 4, delivered: %+v", len(d.Attempts), d.State, d.Attempts)
	}
	for i, a := range d.Attempts {
		wantStatus := 500
		if i == 3 {
			wantStatus = 200
		}
		if a.N != i+1 || !a.At.Equal(t0.Add(wantAt[i])) || a.Status != wantStatus {
			t.Errorf("attempt %d = %+v, want n %d at +%s status %d", i, a, i+1, wantAt[i], wantStatus)
		}
	}
	if posts, handled := rc.got(); len(posts) != 4 || len(handled) != 1 {
		t.Errorf("receiver saw %d posts and handled %d, want 4 and 1", len(posts), len(handled))
	}
}

func TestRedeliveryGivesUpAfterTenAttempts(t *testing.T) {
	f, rc := notifyFixture(t)
	rc.failNext(1000)
	f.paidWithNotify(t, rc, "order-1", 100)
	ctx := context.Background()
	f.deliverRounds(ctx, 50) // far more rounds than attempts
	d := f.srv.Deliveries()[0]
	if len(d.Attempts) != 10 || d.State != justaptest.DeliveryFailed {
		t.Fatalf("%d attempts, state %s; want 10, failed", len(d.Attempts), d.State)
	}
	at := t0
	for i, a := range d.Attempts {
		if i > 0 {
			at = at.Add(justaptest.DefaultDeliverySchedule()[i-1])
		}
		if !a.At.Equal(at) {
			t.Errorf("attempt %d at %s, want %s", i+1, a.At, at)
		}
	}
	if last := d.Attempts[9].At.Sub(t0); last > 25*time.Hour || last < 24*time.Hour {
		t.Errorf("the last attempt came %s after the first, want within 24–25 h", last)
	}
	if posts, _ := rc.got(); len(posts) != 10 {
		t.Errorf("receiver saw %d posts, want 10", len(posts))
	}
}

func TestDeliveryScheduleOption(t *testing.T) {
	f, rc := notifyFixture(t, justaptest.WithDeliverySchedule(time.Second, time.Hour))
	rc.failNext(1000)
	f.paidWithNotify(t, rc, "order-1", 100)
	f.deliverRounds(context.Background(), 5)
	d := f.srv.Deliveries()[0]
	if len(d.Attempts) != 3 || d.State != justaptest.DeliveryFailed ||
		!d.Attempts[1].At.Equal(t0.Add(time.Second)) || !d.Attempts[2].At.Equal(t0.Add(time.Second+time.Hour)) {
		t.Errorf("attempts %+v, state %s", d.Attempts, d.State)
	}
}

func TestDeliveryFaults(t *testing.T) {
	kinds := []justaptest.FaultKind{justaptest.FaultUnencrypted, justaptest.FaultForged,
		justaptest.FaultTampered, justaptest.FaultOtherApp}
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			f, rc := notifyFixture(t)
			f.srv.FailNext(1, justaptest.Fault{Kind: kind})
			f.paidWithNotify(t, rc, "order-1", 100)
			atts := f.srv.DeliverDue(context.Background())

			// The hostile post comes first and is refused; the genuine one
			// follows and is handled, once.
			posts, handled := rc.got()
			if len(posts) != 2 || posts[0].status != 400 || posts[1].status != 200 || len(handled) != 1 {
				t.Fatalf("receiver: posts %+v, handled %d", posts, len(handled))
			}
			if posts[0].event != "charge.paid" {
				t.Errorf("hostile post's event %q", posts[0].event)
			}
			d := f.srv.Deliveries()[0]
			if len(atts) != 2 || len(d.Attempts) != 2 || d.State != justaptest.DeliveryDelivered {
				t.Fatalf("recorded %+v", d)
			}
			a, b := d.Attempts[0], d.Attempts[1]
			if a.Fault == nil || *a.Fault != kind || a.Status != 400 || a.N != 1 || b.Fault != nil || b.Status != 200 || b.N != 1 {
				t.Errorf("attempts %+v %+v", a, b)
			}
			if len(d.Faults) != 1 || d.Faults[0] != kind {
				t.Errorf("faults %v", d.Faults)
			}
			if f.srv.PendingFaults() != 0 {
				t.Error("the fault is still pending")
			}
		})
	}
}

func TestDeliveryFaultHostileBodies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	capture := map[justaptest.FaultKind][]byte{}
	var mu sync.Mutex
	var kind justaptest.FaultKind
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if capture[kind] == nil {
			capture[kind] = b
		}
		mu.Unlock()
		w.WriteHeader(400)
	}))
	defer sink.Close()
	ch := f.create(t, withNotify(params("order-1", 100), sink.URL))
	f.srv.Pay(ch.ID)
	for _, k := range []justaptest.FaultKind{justaptest.FaultUnencrypted, justaptest.FaultForged, justaptest.FaultTampered, justaptest.FaultOtherApp} {
		mu.Lock()
		kind = k
		mu.Unlock()
		f.srv.FailNext(1, justaptest.Fault{Kind: k})
		f.srv.DeliverDue(ctx)
		next, _ := f.srv.NextDeliveryAt()
		f.clock.Set(next)
	}
	pub := f.srv.PlatformPublicKey()
	var env envelope
	json.Unmarshal(capture[justaptest.FaultUnencrypted], &env)
	var obj map[string]any
	if env.IsEncrypted || json.Unmarshal(env.Data, &obj) != nil || obj["merchant_trade_id"] != "order-1" {
		t.Errorf("unencrypted body %s", capture[justaptest.FaultUnencrypted])
	}
	// Another key's block is refused: bad padding, or (about half the
	// time) a number too large for the platform key's modulus.
	if _, _, err := openNotification(pub, capture[justaptest.FaultForged]); err == nil ||
		!strings.Contains(err.Error(), "padding") && !strings.Contains(err.Error(), "out of range") {
		t.Errorf("forged body: %v, want a padding or range error", err)
	}
	if _, _, err := openNotification(pub, capture[justaptest.FaultTampered]); err == nil || !strings.Contains(err.Error(), "block 0") {
		t.Errorf("tampered body: %v, want block 0 refused", err)
	}
	_, other, err := openNotification(pub, capture[justaptest.FaultOtherApp])
	if err != nil || other["app_id"] != f.srv.AppID()+"_other" || other["merchant_trade_id"] != "order-1" {
		t.Errorf("other-app body: %v, %v", other, err)
	}
}

func TestDeliveryFaultDuplicate(t *testing.T) {
	f, rc := notifyFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultDuplicate})
	f.paidWithNotify(t, rc, "order-1", 100)
	f.srv.DeliverDue(context.Background())
	_, handled := rc.got()
	if len(handled) != 2 || handled[0].obj["notify_id"] != handled[1].obj["notify_id"] {
		t.Fatalf("handled %+v, want the same notification twice", handled)
	}
	d := f.srv.Deliveries()[0]
	if len(d.Attempts) != 2 || d.Attempts[1].Fault == nil || *d.Attempts[1].Fault != justaptest.FaultDuplicate ||
		d.Attempts[0].N != 1 || d.Attempts[1].N != 1 || d.State != justaptest.DeliveryDelivered {
		t.Errorf("recorded %+v", d)
	}
}

func TestDeliveryFaultOutOfOrder(t *testing.T) {
	f, rc := notifyFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultOutOfOrder, Event: "charge.paid"})
	ch := f.paidWithNotify(t, rc, "order-1", 100)
	ctx := context.Background()
	f.srv.DeliverDue(ctx)
	if posts, _ := rc.got(); len(posts) != 0 {
		t.Fatalf("the held notification was posted: %+v", posts)
	}
	if d := f.srv.Deliveries()[0]; !d.Held || d.State != justaptest.DeliveryPending {
		t.Errorf("recorded %+v, want held", d)
	}
	if _, ok := f.srv.NextDeliveryAt(); ok {
		t.Error("a held delivery counts as due")
	}
	if _, err := f.refund(ch.ID, "r1", 0); err != nil {
		t.Fatal(err)
	}
	f.srv.DeliverDue(ctx)
	_, handled := rc.got()
	if len(handled) != 2 || handled[0].event != "charge.refunded" || handled[1].event != "charge.paid" {
		t.Fatalf("handled %+v, want refunded then paid", handled)
	}
	for _, d := range f.srv.Deliveries() {
		if d.Held || d.State != justaptest.DeliveryDelivered {
			t.Errorf("recorded %+v", d)
		}
	}
}

func TestDeliveryFaultDelay(t *testing.T) {
	f, rc := notifyFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultDelay, Delay: time.Hour})
	f.paidWithNotify(t, rc, "order-1", 100)
	ctx := context.Background()
	f.srv.DeliverDue(ctx)
	if posts, _ := rc.got(); len(posts) != 0 {
		t.Fatalf("the delayed notification was posted: %+v", posts)
	}
	next, ok := f.srv.NextDeliveryAt()
	if !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next delivery at %s %v, want t0+1h", next, ok)
	}
	f.clock.Advance(time.Hour - time.Second)
	f.srv.DeliverDue(ctx)
	if posts, _ := rc.got(); len(posts) != 0 {
		t.Fatal("posted before the delay ran out")
	}
	f.clock.Advance(time.Second)
	f.srv.DeliverDue(ctx)
	d := f.srv.Deliveries()[0]
	if _, handled := rc.got(); len(handled) != 1 || len(d.Attempts) != 1 || d.Attempts[0].N != 1 ||
		!d.Attempts[0].At.Equal(t0.Add(time.Hour)) || d.Faults[0] != justaptest.FaultDelay {
		t.Errorf("handled %d, recorded %+v", len(handled), d)
	}
}

func TestDeliveryFaultSelectsByPathAndEvent(t *testing.T) {
	f, rc := notifyFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultForged, Path: "/notify/b"})
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultDuplicate, Event: "charge.refunded"})
	f.paidWithNotify(t, rc, "a", 100)
	f.srv.DeliverDue(context.Background())
	if posts, _ := rc.got(); len(posts) != 1 {
		t.Fatalf("a: %d posts, want 1 (neither fault selects it)", len(posts))
	}
	f.paidWithNotify(t, rc, "b", 100)
	f.srv.DeliverDue(context.Background())
	if f.srv.PendingFaults() != 1 {
		t.Errorf("%d faults pending, want the duplicate only", f.srv.PendingFaults())
	}
	if d := f.srv.Deliveries()[1]; len(d.Attempts) != 2 || *d.Attempts[0].Fault != justaptest.FaultForged {
		t.Errorf("b: recorded %+v", d)
	}
}

func TestDeliveryFaultsAndAPIFaultsStayApart(t *testing.T) {
	f, rc := notifyFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultForged})
	ch := f.create(t, withNotify(params("order-1", 100), rc.URL))
	if f.srv.PendingFaults() != 1 {
		t.Error("an API request took a delivery fault")
	}
	f.srv.ClearFaults()
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultStatus})
	f.srv.Pay(ch.ID)
	if atts := f.srv.DeliverDue(context.Background()); len(atts) != 1 || atts[0].Status != 200 || atts[0].Fault != nil {
		t.Errorf("attempts %+v", atts)
	}
	if f.srv.PendingFaults() != 1 {
		t.Error("a delivery took an API fault")
	}
}

func TestInvalidDeliveryFaults(t *testing.T) {
	srv := justaptest.NewServer(t)
	for _, f := range []justaptest.Fault{
		{Kind: justaptest.FaultForged, Op: justaptest.OpCreateCharge},
		{Kind: justaptest.FaultForged, Method: "GET"},
		{Kind: justaptest.FaultStatus, Event: "charge.paid"},
		{Kind: justaptest.FaultForged, Delay: time.Second},
		{Kind: justaptest.FaultKind(99)},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FailNext(%+v) did not panic", f)
				}
			}()
			srv.FailNext(1, f)
		}()
	}
}

func TestResend(t *testing.T) {
	f, rc := notifyFixture(t)
	f.paidWithNotify(t, rc, "order-1", 100)
	ctx := context.Background()
	f.srv.DeliverDue(ctx)
	id := f.srv.Deliveries()[0].ID
	a, err := f.srv.Resend(ctx, id)
	if err != nil || !a.Resent || a.N != 0 || a.Status != 200 || a.DeliveryID != id {
		t.Fatalf("Resend = %+v, %v", a, err)
	}
	if _, handled := rc.got(); len(handled) != 2 || handled[0].obj["notify_id"] != handled[1].obj["notify_id"] {
		t.Errorf("handled %+v", handled)
	}
	if d, _ := f.srv.Delivery(id); len(d.Attempts) != 2 || !d.Attempts[1].Resent {
		t.Errorf("recorded %+v", d)
	}
	if _, err := f.srv.Resend(ctx, "nt_404"); err == nil {
		t.Error("Resend of an unknown notification did not fail")
	}

	// A resend that is acknowledged settles a failed delivery.
	rc.failNext(1000)
	f.srv.Reset()
	f.paidWithNotify(t, rc, "order-2", 100)
	f.deliverRounds(ctx, 20)
	rc.failNext(0)
	id = f.srv.Deliveries()[0].ID
	if d, _ := f.srv.Delivery(id); d.State != justaptest.DeliveryFailed {
		t.Fatalf("state %s, want failed", d.State)
	}
	f.srv.Resend(ctx, id)
	if d, _ := f.srv.Delivery(id); d.State != justaptest.DeliveryDelivered || len(d.Attempts) != 11 {
		t.Errorf("after an acknowledged resend: state %s, %d attempts", d.State, len(d.Attempts))
	}
}

func TestResetForgetsDeliveries(t *testing.T) {
	f, rc := notifyFixture(t)
	f.paidWithNotify(t, rc, "order-1", 100)
	f.srv.Reset()
	if ds := f.srv.Deliveries(); len(ds) != 0 {
		t.Errorf("deliveries after Reset: %+v", ds)
	}
	if atts := f.srv.DeliverDue(context.Background()); len(atts) != 0 {
		t.Errorf("posted after Reset: %+v", atts)
	}
	f.paidWithNotify(t, rc, "order-1", 100)
	if ds := f.srv.Deliveries(); len(ds) != 1 || ds[0].ID != "nt_0000000001" {
		t.Errorf("ids did not restart: %+v", ds)
	}
}

func TestDeliveriesGoToLoopbackOnly(t *testing.T) {
	f, rc := notifyFixture(t)
	// 192.0.2.1 is TEST-NET-1: never routed. The dial is refused before
	// any packet leaves.
	ch := f.create(t, withNotify(params("order-1", 100), "http://192.0.2.1/notify"))
	f.srv.Pay(ch.ID)
	atts := f.srv.DeliverDue(context.Background())
	if len(atts) != 1 || atts[0].Status != 0 || !strings.Contains(atts[0].Err, "192.0.2.1: not a loopback address") {
		t.Fatalf("attempts %+v, want refused: not a loopback address", atts)
	}
	// localhost resolves to loopback: allowed.
	local := strings.Replace(rc.URL, "127.0.0.1", "localhost", 1) + "/n"
	ch = f.create(t, withNotify(params("order-2", 100), local))
	f.srv.Pay(ch.ID)
	atts = f.srv.DeliverDue(context.Background())
	if len(atts) != 1 || atts[0].Status != 200 {
		t.Errorf("localhost: %+v", atts)
	}
}

func TestDeliveryNeverFollowsRedirects(t *testing.T) {
	f, _ := notifyFixture(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect was followed")
	}))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	ch := f.create(t, withNotify(params("order-1", 100), redirect.URL))
	f.srv.Pay(ch.ID)
	atts := f.srv.DeliverDue(context.Background())
	if len(atts) != 1 || atts[0].Status != http.StatusTemporaryRedirect {
		t.Fatalf("attempts %+v", atts)
	}
	if d := f.srv.Deliveries()[0]; d.State != justaptest.DeliveryPending {
		t.Errorf("a redirect counted as acknowledged: %+v", d)
	}
}

func TestDeliveryAnswerIsBounded(t *testing.T) {
	f, _ := notifyFixture(t)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		for range 1024 {
			if _, err := w.Write([]byte(strings.Repeat("x", 1024))); err != nil {
				return
			}
		}
	}))
	defer big.Close()
	ch := f.create(t, withNotify(params("order-1", 100), big.URL))
	f.srv.Pay(ch.ID)
	atts := f.srv.DeliverDue(context.Background())
	if len(atts) != 1 || atts[0].Status != 500 || len(atts[0].Answer) != 1024 {
		t.Fatalf("answer of %d bytes recorded, want 1024", len(atts[0].Answer))
	}
}

func TestDeliveryHonoursTheContext(t *testing.T) {
	f, _ := notifyFixture(t)
	reached := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		close(reached)
		<-r.Context().Done()
	}))
	defer hang.Close()
	ch := f.create(t, withNotify(params("order-1", 100), hang.URL))
	f.srv.Pay(ch.ID)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-reached; cancel() }()
	atts := f.srv.DeliverDue(ctx)
	if len(atts) != 1 || atts[0].Status != 0 || !strings.Contains(atts[0].Err, "context canceled") {
		t.Fatalf("attempts %+v", atts)
	}
	if d := f.srv.Deliveries()[0]; d.State != justaptest.DeliveryPending || !d.NextAt.Equal(t0.Add(15*time.Second)) {
		t.Errorf("recorded %+v, want pending, next in 15s", d)
	}
}

func TestDeliveriesToManyConcurrentCharges(t *testing.T) {
	f, rc := notifyFixture(t)
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("order-%02d", i)
			ch, err := f.c.Charges.Create(ctx, withNotify(params(id, 100), rc.URL+"/notify/"+id))
			if err != nil {
				t.Error(err)
				return
			}
			if err := f.srv.Pay(ch.ID); err != nil {
				t.Error(err)
			}
			f.srv.DeliverDue(ctx) // concurrent calls: each attempt is claimed once
		}()
	}
	wg.Wait()
	f.srv.DeliverDue(ctx)
	posts, handled := rc.got()
	if len(posts) != n || len(handled) != n {
		t.Fatalf("%d posts, %d handled; want %d each", len(posts), len(handled), n)
	}
	seen := map[string]int{}
	for _, h := range handled {
		seen[h.path]++
		if h.path != "/notify/"+h.obj["merchant_trade_id"].(string) {
			t.Errorf("%s got %s's notification", h.path, h.obj["merchant_trade_id"])
		}
	}
	for i := range n {
		if p := fmt.Sprintf("/notify/order-%02d", i); seen[p] != 1 {
			t.Errorf("%s got %d notifications", p, seen[p])
		}
	}
	for _, d := range f.srv.Deliveries() {
		if d.State != justaptest.DeliveryDelivered || len(d.Attempts) != 1 {
			t.Errorf("recorded %+v", d)
		}
	}
}

func TestRunDeliveriesDeliversAsEventsHappen(t *testing.T) {
	srv := justaptest.NewServer(t)
	got := make(chan struct{}, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
	}))
	defer rc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.RunDeliveries(ctx, time.Hour); close(done) }()
	defer func() { cancel(); <-done }()
	c := newClient(t, srv)
	ch, err := c.Charges.Create(ctx, withNotify(params("order-1", 100), rc.URL))
	if err != nil {
		t.Fatal(err)
	}
	srv.Pay(ch.ID)
	// The loop wakes on the event, not on its hour-long tick.
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered within 10 s")
	}
}

func TestDeliveriesAreLoggedWithoutBodies(t *testing.T) {
	var buf testutil.SyncBuffer
	f, rc := notifyFixture(t, justaptest.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	f.paidWithNotify(t, rc, "secret-order", 100)
	f.srv.DeliverDue(context.Background())
	out := buf.String()
	if !strings.Contains(out, `msg="justaptest notification" notify_id=nt_0000000001 event=charge.paid attempt=1 status=200`) {
		t.Errorf("log lacks the post:\n%s", out)
	}
	if strings.Contains(out, "/notify/") || strings.Contains(out, "is_encrypted") {
		t.Errorf("log has a URL or a body:\n%s", out)
	}
}

// TestNotificationToTheFakeItselfIsRefused: a notify_url naming the
// fake's own resend endpoint must not make it post to itself without end.
func TestNotificationToTheFakeItselfIsRefused(t *testing.T) {
	f := newFixture(t)
	ch := f.create(t, withNotify(params("order-1", 100), f.srv.URL+"/justaptest/deliveries/nt_0000000001/resend"))
	f.srv.Pay(ch.ID)
	atts := f.srv.DeliverDue(context.Background())
	if len(atts) != 1 || atts[0].Status != http.StatusForbidden {
		t.Fatalf("attempts %+v, want one, refused 403", atts)
	}
	if d := f.srv.Deliveries()[0]; len(d.Attempts) != 1 {
		t.Errorf("%d posts recorded, want 1", len(d.Attempts))
	}
}
