package dbtest

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
	"github.com/justap-go/justap/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replica is one instance of a shop: its own Client and handler, sharing
// the store with the others.
type replica struct {
	c *justap.Client
	h http.Handler
}

func newReplica(t testing.TB, fake *justaptest.Server, fn justap.ChargeEventFunc, store justap.NotificationStore,
	opts ...justap.NotificationOption) replica {
	t.Helper()
	c, err := justap.NewClient(fake.APIKey(), justap.WithBaseURL(fake.URL), justap.WithAppID(fake.AppID()),
		justap.WithHTTPClient(fake.Client()))
	require.NoError(t, err)
	h, err := c.Notifications.Handler(fn, append([]justap.NotificationOption{
		justap.WithJustapPublicKey(fake.PlatformPublicKey()), justap.WithNotificationStore(store)}, opts...)...)
	require.NoError(t, err)
	return replica{c: c, h: h}
}

func postTo(ctx context.Context, h http.Handler, body []byte) int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/justap/notify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec.Code
}

// calls counts the function's calls per notification (by the claim's key).
type calls struct {
	mu  sync.Mutex
	n   map[string]int
	all atomic.Int64
}

func (c *calls) fn(ctx context.Context, ev *justap.ChargeEvent) error {
	c.all.Add(1)
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[ev.Claim.Key]++
	c.mu.Unlock()
	time.Sleep(time.Millisecond) // the shop's own write: widens the window for a second call
	return nil
}

// TestReplicasHandleEachNotificationOnce: two replicas (two Clients, two
// handlers, one store) behind one notify_url receive 1,000 notifications
// from justaptest (500 charges paid, then refunded in part), with
// duplicate, out-of-order and delayed deliveries; the notify_url fans
// each post out as 20 simultaneous copies, 10 to each replica. The
// function runs exactly once per notification.
func TestReplicasHandleEachNotificationOnce(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		const charges, copies = 500, 20
		store := newStore(t, d, db)
		fake := justaptest.NewServer(t, justaptest.WithDeliverySchedule(
			10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond,
			10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond))
		var got calls
		replicas := [2]replica{newReplica(t, fake, got.fn, store), newReplica(t, fake, got.fn, store)}

		var answers [600]atomic.Int64 // by status
		notifyURL := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			codes := make([]int, copies)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[i] = postTo(r.Context(), replicas[i%2].h, body)
				}()
			}
			close(start)
			wg.Wait()
			status := http.StatusServiceUnavailable
			for _, c := range codes {
				answers[c].Add(1)
				if c == http.StatusOK {
					status = http.StatusOK
				} else if c != http.StatusServiceUnavailable && status != http.StatusOK {
					status = c
				}
			}
			w.WriteHeader(status) // what a load balancer's retry would give Justap: one replica's answer
		}))
		t.Cleanup(notifyURL.Close)

		c := replicas[0].c
		for i := range charges {
			ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
				MerchantTradeID: "order-" + randomHex(t, 3) + "-" + string(rune('a'+i%26)),
				Amount:          justap.Amount(1000 + i), Channel: justap.ChannelAlipayQR,
				Subject: "T-shirt", Body: "T-shirt", ClientIP: "127.0.0.1", NotifyURL: notifyURL.URL + "/justap/notify",
			})
			require.NoError(t, err)
			require.NoError(t, fake.Pay(ch.ID))
			_, err = c.Refunds.Create(ctx, &justap.RefundCreateParams{
				ChargeID: ch.ID, MerchantRefundID: "refund-" + ch.ID, Amount: 100, Description: "part",
			})
			require.NoError(t, err)
		}
		fake.FailNext(200, justaptest.Fault{Kind: justaptest.FaultDuplicate})
		fake.FailNext(150, justaptest.Fault{Kind: justaptest.FaultOutOfOrder, Event: "charge.paid"})
		fake.FailNext(150, justaptest.Fault{Kind: justaptest.FaultDelay, Delay: 20 * time.Millisecond})

		deadline := time.Now().Add(5 * time.Minute)
		for {
			pending := 0
			for _, dl := range fake.Deliveries() {
				if dl.State != justaptest.DeliveryDelivered {
					pending++
				}
			}
			if pending == 0 {
				break
			}
			require.True(t, time.Now().Before(deadline), "%d notifications never delivered", pending)
			if len(fake.DeliverDue(ctx)) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}

		faulted := map[justaptest.FaultKind]int{}
		for _, dl := range fake.Deliveries() {
			for _, f := range dl.Faults {
				faulted[f]++
			}
		}
		for _, k := range []justaptest.FaultKind{justaptest.FaultDuplicate, justaptest.FaultOutOfOrder, justaptest.FaultDelay} {
			assert.Positive(t, faulted[k], "no delivery had fault %v", k)
		}
		got.mu.Lock()
		defer got.mu.Unlock()
		require.Len(t, fake.Deliveries(), 2*charges)
		assert.Len(t, got.n, 2*charges, "notifications whose function ran")
		twice := 0
		for key, n := range got.n {
			if n != 1 {
				twice++
				t.Errorf("notification %s: the function ran %d times", key, n)
			}
		}
		assert.Equal(t, int64(2*charges), got.all.Load(), "calls of the function")
		t.Logf("%s: %d notifications, %d calls of the function (%d more than once); copies answered 200: %d, 503: %d, 500: %d",
			d.name, len(got.n), got.all.Load(), twice, answers[200].Load(), answers[503].Load(), answers[500].Load())
		assert.Positive(t, answers[http.StatusServiceUnavailable].Load(), "no copy ever met another replica's claim: the test proves nothing")
		assert.Zero(t, answers[http.StatusInternalServerError].Load(), "copies failed")
	})
}

// deadStore is a replica that died: whatever it claimed, it never
// completes nor releases.
type deadStore struct{ *sqlstore.Store }

func (deadStore) Complete(context.Context, string, string) error { return nil }
func (deadStore) Release(context.Context, string, string) error  { return nil }

// TestReplicaKilledInsideTheFunction: a replica dies inside the function
// (its request's context cancelled, its claim left open). A resend before
// the lease ends is answered 503, so that Justap resends; the first one
// after it is handled, once, by the other replica.
func TestReplicaKilledInsideTheFunction(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		const lease = 500 * time.Millisecond
		store := newStore(t, d, db)
		fake := justaptest.NewServer(t)
		inside := make(chan struct{})
		dying := func(ctx context.Context, ev *justap.ChargeEvent) error {
			close(inside)
			<-ctx.Done() // killed
			return ctx.Err()
		}
		var survivor calls
		a := newReplica(t, fake, dying, deadStore{store}, justap.WithNotificationLease(lease))
		b := newReplica(t, fake, survivor.fn, store, justap.WithNotificationLease(lease))

		ch, err := a.c.Charges.Create(ctx, &justap.ChargeCreateParams{MerchantTradeID: "order-" + randomHex(t, 4),
			Amount: 1999, Channel: justap.ChannelAlipayQR, Subject: "T-shirt", Body: "T-shirt", ClientIP: "127.0.0.1"})
		require.NoError(t, err)
		require.NoError(t, fake.Pay(ch.ID))
		paid, ok := fake.Charge(ch.ID)
		require.True(t, ok)
		obj := justaptest.ChargeNotification(paid)
		obj.NotifyID = "nt_" + randomHex(t, 4)
		body, err := fake.NotificationBody("charge.paid", obj)
		require.NoError(t, err)

		kill, cancel := context.WithCancel(ctx)
		first := make(chan int, 1)
		go func() { first <- postTo(kill, a.h, body) }()
		<-inside
		began := time.Now()
		cancel()
		assert.Equal(t, http.StatusInternalServerError, <-first, "the dying replica's answer (Justap sees a reset)")

		var before []int
		var status int
		deadline := time.Now().Add(20 * time.Second)
		for {
			status = postTo(ctx, b.h, body)
			if status != http.StatusServiceUnavailable {
				break
			}
			before = append(before, status)
			require.True(t, time.Now().Before(deadline), "the claim was never given up")
			time.Sleep(25 * time.Millisecond)
		}
		assert.Equal(t, http.StatusOK, status)
		assert.NotEmpty(t, before, "a resend before the lease ended must be answered 503")
		assert.GreaterOrEqual(t, time.Since(began), lease-100*time.Millisecond, "handled before the lease ended")
		assert.Equal(t, http.StatusOK, postTo(ctx, b.h, body), "a later resend")
		assert.Equal(t, int64(1), survivor.all.Load(), "the survivor's function ran")
	})
}
