package justaptest_test

// End to end: the SDK's receiving side (ParseNotification and
// NotificationsService.Handler) against the fake's notifications.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// merchant is a notification endpoint built on the SDK's handler; it
// records the events its function was called with.
type merchant struct {
	*httptest.Server
	mu     sync.Mutex
	events []*justap.ChargeEvent
	fail   int // the function fails this many times first
}

func newMerchant(t *testing.T, f *fixture, opts ...justap.NotificationOption) *merchant {
	t.Helper()
	m := &merchant{}
	h, err := f.c.Notifications.Handler(func(ctx context.Context, ev *justap.ChargeEvent) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.fail > 0 {
			m.fail--
			return errors.New("the warehouse is down")
		}
		m.events = append(m.events, ev)
		return nil
	}, append([]justap.NotificationOption{justap.WithJustapPublicKey(f.srv.PlatformPublicKey())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.Server = httptest.NewServer(h)
	t.Cleanup(m.Close)
	return m
}

func (m *merchant) got() []*justap.ChargeEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*justap.ChargeEvent(nil), m.events...)
}

func TestSDKParsesTheFakesNotifications(t *testing.T) {
	f := newFixture(t)
	var bodies [][]byte
	var mu sync.Mutex
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 0, 4096)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	defer sink.Close()
	ch := f.create(t, withNotify(params("order-1", 1999), sink.URL))
	f.srv.Pay(ch.ID)
	f.srv.DeliverDue(context.Background())
	if len(bodies) != 1 {
		t.Fatalf("%d posts", len(bodies))
	}
	n, err := justap.ParseNotification(bodies[0], justap.WithJustapPublicKey(f.srv.PlatformPublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	d := f.srv.Deliveries()[0]
	if n.Event != justap.EventChargePaid || !n.Encrypted || n.NotifyID != d.ID || !n.NotifyTime.Equal(t0) ||
		n.ChargeNo != ch.ID || n.AppID != f.srv.AppID() || n.AppMode != "test" || n.Channel != justap.ChannelAlipayQR ||
		n.MerchantTradeID != "order-1" || n.AmountTotal != 1999 || n.Currency != "CNY" || !n.IsPaid || n.IsRefund ||
		n.Subject != "T-shirt" || len(n.Other) != 0 {
		t.Errorf("parsed %+v", n)
	}

	// Another fake's key does not authenticate it; nor does no key, unless
	// the caller opts in to unencrypted notifications (it is encrypted).
	other := justaptest.NewServer(t)
	if _, err := justap.ParseNotification(bodies[0], justap.WithJustapPublicKey(other.PlatformPublicKey())); !errors.Is(err, justap.ErrNotificationUnauthenticated) {
		t.Errorf("with another fake's key: %v", err)
	}
	// During a key rotation, either key will do.
	if _, err := justap.ParseNotification(bodies[0], justap.WithJustapPublicKey(other.PlatformPublicKey(), f.srv.PlatformPublicKey())); err != nil {
		t.Errorf("rotation: %v", err)
	}
}

func TestSDKHandlerOnEveryEvent(t *testing.T) {
	f := newFixture(t)
	m := newMerchant(t, f)
	ctx := context.Background()
	paid := f.create(t, withNotify(params("paid", 1000), m.URL))
	f.srv.Pay(paid.ID)
	f.srv.DeliverDue(ctx)
	if _, err := f.refund(paid.ID, "r1", 400); err != nil {
		t.Fatal(err)
	}
	f.srv.DeliverDue(ctx)
	reversed := f.create(t, withNotify(params("reversed", 100), m.URL))
	f.c.Charges.Reverse(ctx, reversed.ID)
	closed := f.create(t, withNotify(params("closed", 100), m.URL))
	f.srv.CloseCharge(closed.ID)
	expired := f.create(t, withNotify(params("expired", 100), m.URL))
	f.srv.Expire(expired.ID)
	f.create(t, withNotify(params("lapsed", 100), m.URL))
	f.clock.Advance(justaptest.DefaultTTL) // lapsed expires by the clock
	f.srv.DeliverDue(ctx)

	want := map[string]justap.EventType{}
	for _, ev := range m.got() {
		want[ev.Charge.MerchantTradeID+" "+string(ev.Type)] = ev.Type
		if ev.Notification == nil || ev.Notification.NotifyID == "" {
			t.Errorf("%s: no notification beside the event", ev.Type)
		}
		if ev.Type == justap.EventChargeRefunded && (len(ev.Refunds) != 1 || ev.Refunds[0].Amount != 400) {
			t.Errorf("refunded: refunds %+v", ev.Refunds)
		}
	}
	for _, k := range []string{"paid charge.paid", "paid charge.refunded", "reversed charge.reversed", "closed charge.closed",
		"expired charge.closed", "lapsed charge.closed"} {
		if _, ok := want[k]; !ok {
			t.Errorf("the function did not see %s; it saw %v", k, want)
		}
	}
	for _, d := range f.srv.Deliveries() {
		if d.State != justaptest.DeliveryDelivered || len(d.Attempts) != 1 || d.Attempts[0].Answer != "success" {
			t.Errorf("%s %s: %s, attempts %+v", d.Event, d.ChargeID, d.State, d.Attempts)
		}
	}
}

// TestSDKHandlerSurvivesEveryDeliveryFault: for each fault, what the SDK's
// handler answered, whether the merchant's function ran, and what the
// fake recorded.
func TestSDKHandlerSurvivesEveryDeliveryFault(t *testing.T) {
	for _, tc := range []struct {
		kind        justaptest.FaultKind
		extraStatus int // the answer to the fault's extra post
	}{
		{justaptest.FaultUnencrypted, http.StatusBadRequest},
		{justaptest.FaultForged, http.StatusBadRequest},
		{justaptest.FaultTampered, http.StatusBadRequest},
		{justaptest.FaultOtherApp, http.StatusBadRequest},
		{justaptest.FaultDuplicate, http.StatusOK}, // acknowledged, not handled again
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			f := newFixture(t)
			m := newMerchant(t, f)
			f.srv.FailNext(1, justaptest.Fault{Kind: tc.kind})
			ch := f.create(t, withNotify(params("order-1", 100), m.URL))
			f.srv.Pay(ch.ID)
			f.srv.DeliverDue(context.Background())

			if evs := m.got(); len(evs) != 1 || evs[0].Type != justap.EventChargePaid || !evs[0].Charge.Paid {
				t.Errorf("the function saw %d events, want one charge.paid", len(evs))
			}
			d := f.srv.Deliveries()[0]
			if d.State != justaptest.DeliveryDelivered || len(d.Attempts) != 2 {
				t.Fatalf("recorded %+v", d)
			}
			var extra, genuine justaptest.Attempt
			for _, a := range d.Attempts {
				if a.Fault != nil {
					extra = a
				} else {
					genuine = a
				}
			}
			if extra.Fault == nil || *extra.Fault != tc.kind || extra.Status != tc.extraStatus || genuine.Status != 200 {
				t.Errorf("attempts %+v", d.Attempts)
			}
		})
	}
}

func TestSDKHandlerUnencryptedWithOptIn(t *testing.T) {
	f := newFixture(t)
	m := newMerchant(t, f, justap.AllowUnencryptedNotifications())
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultUnencrypted})
	ch := f.create(t, withNotify(params("order-1", 100), m.URL))
	f.srv.Pay(ch.ID)
	f.srv.DeliverDue(context.Background())
	// The opt-in accepts the clear copy (same notify_id: handled once).
	d := f.srv.Deliveries()[0]
	if len(d.Attempts) != 2 || d.Attempts[0].Status != 200 || len(m.got()) != 1 {
		t.Errorf("attempts %+v, %d events", d.Attempts, len(m.got()))
	}
}

func TestSDKHandlerOutOfOrderAndDelayed(t *testing.T) {
	f := newFixture(t)
	m := newMerchant(t, f)
	ctx := context.Background()
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultOutOfOrder, Event: "charge.paid"})
	ch := f.create(t, withNotify(params("order-1", 1000), m.URL))
	f.srv.Pay(ch.ID)
	f.srv.DeliverDue(ctx)
	if len(m.got()) != 0 {
		t.Fatal("the held notification was handled")
	}
	if _, err := f.refund(ch.ID, "r1", 0); err != nil {
		t.Fatal(err)
	}
	f.srv.DeliverDue(ctx)
	evs := m.got()
	if len(evs) != 2 || evs[0].Type != justap.EventChargeRefunded || evs[1].Type != justap.EventChargePaid {
		t.Fatalf("the function saw %d events, want refunded then paid", len(evs))
	}
	// Both carry the charge as the API has it now, whatever the order.
	for _, ev := range evs {
		if !ev.Charge.Paid || ev.Charge.AmountRefunded != 1000 {
			t.Errorf("%s: charge %+v", ev.Type, ev.Charge)
		}
	}

	ch2 := f.create(t, withNotify(params("order-2", 1000), m.URL))
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultDelay, Delay: time.Hour})
	f.srv.Pay(ch2.ID)
	f.srv.DeliverDue(ctx)
	if len(m.got()) != 2 {
		t.Fatal("the delayed notification was handled at once")
	}
	f.clock.Advance(time.Hour)
	f.srv.DeliverDue(ctx)
	if evs := m.got(); len(evs) != 3 || evs[2].Charge.MerchantTradeID != "order-2" {
		t.Errorf("after the delay: %d events", len(evs))
	}
}

func TestSDKHandlerRedelivery(t *testing.T) {
	f := newFixture(t)
	m := newMerchant(t, f)
	m.fail = 3
	ch := f.create(t, withNotify(params("order-1", 100), m.URL))
	f.srv.Pay(ch.ID)
	ctx := context.Background()
	f.deliverRounds(ctx, 50)
	d := f.srv.Deliveries()[0]
	if len(d.Attempts) != 4 || d.State != justaptest.DeliveryDelivered || len(m.got()) != 1 {
		t.Fatalf("%d attempts (%s), %d events; want 4, delivered, 1", len(d.Attempts), d.State, len(m.got()))
	}
	for i, at := range []time.Duration{0, 15 * time.Second, 75 * time.Second, 195 * time.Second} {
		want := 500
		if i == 3 {
			want = 200
		}
		if a := d.Attempts[i]; a.Status != want || !a.At.Equal(t0.Add(at)) {
			t.Errorf("attempt %d: %+v, want %d at +%s", i+1, a, want, at)
		}
	}
}

// TestSDKHandlerDoesNotTakeAnAuthenticNotificationsWord: a notification
// encrypted with the platform key that says "paid" about an unpaid charge
// is answered 500 (the API does not agree), and the function never runs.
func TestSDKHandlerDoesNotTakeAnAuthenticNotificationsWord(t *testing.T) {
	f := newFixture(t)
	m := newMerchant(t, f)
	ch := f.create(t, params("order-1", 100))
	got, _ := f.srv.Charge(ch.ID)
	obj := justaptest.ChargeNotification(got)
	obj.NotifyID, obj.IsPaid, obj.ChargeStatus = "nt_lie", true, "paid"
	body, err := f.srv.NotificationBody("charge.paid", obj)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(m.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || len(m.got()) != 0 {
		t.Errorf("status %d, %d events; want 500 and none", resp.StatusCode, len(m.got()))
	}
}

// The fake notifies the merchant's notification endpoint, built on the
// SDK's handler; DeliverDue returns once the endpoint has answered.
func ExampleHandler_DeliverDue() {
	srv, err := justaptest.StartServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		panic(err)
	}
	hook, err := c.Notifications.Handler(func(ctx context.Context, ev *justap.ChargeEvent) error {
		fmt.Println("handled", ev.Type, ev.Charge.MerchantTradeID, "paid:", ev.Charge.Paid)
		return nil
	}, justap.WithJustapPublicKey(srv.PlatformPublicKey()))
	if err != nil {
		panic(err)
	}
	merchant := httptest.NewServer(hook)
	defer merchant.Close()

	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001", Amount: 1999, Channel: justap.ChannelAlipayQR,
		Subject: "T-shirt", Body: "One T-shirt, size M", ClientIP: "203.0.113.7",
		NotifyURL: merchant.URL,
	})
	if err != nil {
		panic(err)
	}
	srv.Pay(ch.ID) // the customer pays
	for _, a := range srv.DeliverDue(ctx) {
		fmt.Println("answered", a.Status, a.Answer)
	}
	// Output:
	// handled charge.paid order-1001 paid: true
	// answered 200 success
}
