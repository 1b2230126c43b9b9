package justap_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/internal/testutil"
	"github.com/justap-go/justap/justaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiCharge is a charge as the API sends it, with every kind of field, so
// that the copy each event gets is checked field by field.
func apiCharge(mtid string, paid, reversed, closed bool) string {
	return `{"charge_id":"ch_` + mtid + `","object":"Charge","app_id":"` + testAppID + `","merchant_trade_id":"` + mtid + `",` +
		`"channel":"AlipayQR","amount":19.99,"amount_fee":0.12,"amount_refund":5,"amount_royalty":0,"amount_settle":19.87,` +
		`"currency":"CNY","subject":"T-shirt","body":"One T-shirt","description":"","client_ip":"203.0.113.7",` +
		`"paid":` + strconv.FormatBool(paid) + `,"refunded":false,"reversed":` + strconv.FormatBool(reversed) +
		`,"closed":` + strconv.FormatBool(closed) + `,"live_mode":false,"transaction_no":"tx_1","failure_code":"","failure_msg":"",` +
		`"metadata":{"k":"v"},"ttl":"600","extra":{"alipay_qr":{"qr_code":"https://qr.example/1","x":1},"unionpay_x":{"y":2}},` +
		`"credential":{"@type":"type.example/Cred","z":3},"created_at":"2025-03-01T08:00:00Z","paid_ts":"1740816005",` +
		`"time_expire":"2025-03-01T08:10:00Z"}`
}

const (
	refundDone    = `{"refund_id":"re_1","charge_id":"ch_order-1001","amount":5,"status":"refunded","is_success":true,"created":"1740816100","metadata":{"a":"b"}}`
	refundPending = `{"refund_id":"re_2","charge_id":"ch_order-1001","amount":1,"status":"refunding","is_success":false,"created":1740816200}`
)

// notifyAPI is the API a notification handler reads back from: one charge
// per merchant_trade_id, and the refunds of every charge.
type notifyAPI struct {
	t       *testing.T
	mu      sync.Mutex
	charges map[string]string // merchant_trade_id → charge JSON
	refunds []string
	status  int // when set, every API request fails with it

	reads       atomic.Int32 // charge lookups
	refundReads atomic.Int32
	beforeRead  func() // when set, runs before a lookup is answered
}

func (a *notifyAPI) setCharge(mtid, js string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.charges[mtid] = js
}

// newNotifyHandler returns a notification handler with Justap's 2048-bit
// test key, reading from an httptest API, with its log.
func newNotifyHandler(t *testing.T, fn justap.ChargeEventFunc, opts ...justap.NotificationOption) (http.Handler, *notifyAPI, *testutil.SyncBuffer) {
	t.Helper()
	c, mux, _ := setup(t)
	api := &notifyAPI{t: t, charges: map[string]string{}}
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		api.reads.Add(1)
		q := r.URL.Query()
		if q.Get("app_id") != testAppID || q.Get("created.gte") == "" {
			t.Errorf("lookup query %v: want the app and a created.gte bound", q)
		}
		if api.beforeRead != nil {
			api.beforeRead()
		}
		api.mu.Lock()
		status, js := api.status, api.charges[q.Get("merchant_trade_id")]
		api.mu.Unlock()
		switch {
		case status != 0:
			writeJSON(w, status, `{"code":14,"message":"unavailable"}`)
		case js == "":
			writeJSON(w, 200, `{"object":"ChargeList","data":[],"has_more":false}`)
		default:
			writeJSON(w, 200, `{"object":"ChargeList","data":[`+js+`],"has_more":false}`)
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds", func(w http.ResponseWriter, r *http.Request) {
		api.refundReads.Add(1)
		api.mu.Lock()
		defer api.mu.Unlock()
		writeJSON(w, 200, `{"object":"RefundList","data":[`+strings.Join(api.refunds, ",")+`],"has_more":false,"total":"1"}`)
	})
	logs := &testutil.SyncBuffer{}
	all := append([]justap.NotificationOption{
		justap.WithJustapPublicKey(justapPublic(t, justapKey2048)),
		justap.WithNotificationLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}, opts...)
	h, err := c.Notifications.Handler(fn, all...)
	if err != nil {
		t.Fatal(err)
	}
	return h, api, logs
}

// post sends body to h as Justap does.
func post(h http.Handler, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/justap/notify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}

// notifyObject is the object of a charge.paid notification for the
// handler tests.
func notifyObject(mtid, notifyID string) []byte {
	return eventObject(justap.EventChargePaid, mtid, notifyID)
}

// eventObject is the object of a notification of event, its fields
// saying what the event says (as the envelope's event must agree with).
func eventObject(event justap.EventType, mtid, notifyID string) []byte {
	fields := `"trade_type":"charge","is_paid":false`
	switch event {
	case justap.EventChargePaid:
		fields = `"trade_type":2,"is_paid":true`
	case justap.EventChargeRefunded:
		fields = `"trade_type":"charge","is_paid":true,"is_refund":true,"amount_refund":5`
	case justap.EventChargeReversed:
		fields = `"trade_type":"charge","is_reversed":true`
	case justap.EventChargeClosed:
		fields = `"trade_type":"charge","is_closed":true`
	}
	return []byte(`{"object":"Charge",` + fields + `,"notify_id":"` + notifyID + `","app_id":"` + testAppID +
		`","merchant_trade_id":"` + mtid + `","amount_total":19.99,"subject":"SECRET-SUBJECT",` +
		`"data":{"buyer_logon_id":"SECRET-BUYER@example.com","buyer_id":"2088102177846880","note":"a second block"}}`)
}

// eventLog is a ChargeEventFunc that records its events.
type eventLog struct {
	mu     sync.Mutex
	events []*justap.ChargeEvent
	err    error
}

func (r *eventLog) fn(_ context.Context, ev *justap.ChargeEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *eventLog) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d %q, want %d", rec.Code, rec.Body, status)
	}
	if status == http.StatusOK && rec.Body.String() != "success" {
		t.Errorf("body = %q, want success", rec.Body)
	}
}

func TestHandlerPaid(t *testing.T) {
	var r eventLog
	h, api, _ := newNotifyHandler(t, r.fn)
	js := apiCharge("order-1001", true, false, false)
	api.setCharge("order-1001", js)

	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 200)
	if r.calls() != 1 {
		t.Fatalf("fn called %d times, want 1", r.calls())
	}
	ev := r.events[0]
	var want justap.Charge
	if err := json.Unmarshal([]byte(js), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, ev.Charge); diff != "" {
		t.Errorf("the event's charge is not the API's (-api +event):\n%s", diff)
	}
	if ev.Type != justap.EventChargePaid || ev.Refunds != nil || ev.Notification == nil || ev.Notification.NotifyID != "nt_1" {
		t.Errorf("event = %+v", ev)
	}
	if api.reads.Load() != 1 || api.refundReads.Load() != 0 {
		t.Errorf("reads = %d, refund reads = %d; want 1, 0", api.reads.Load(), api.refundReads.Load())
	}
}

func TestHandlerRefusesUnpaid(t *testing.T) {
	var r eventLog
	h, api, logs := newNotifyHandler(t, r.fn)
	api.setCharge("order-1001", apiCharge("order-1001", false, false, false))
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 500)
	if r.calls() != 0 {
		t.Fatal("fn was called for an unpaid charge")
	}
	if !strings.Contains(logs.String(), "does not report charge ch_order-1001 as paid") {
		t.Errorf("log: %s", logs)
	}
	// Once the API agrees, the resend is handled.
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 200)
	if r.calls() != 1 {
		t.Fatalf("fn called %d times, want 1", r.calls())
	}
}

func TestHandlerChecksTheEventsState(t *testing.T) {
	key := justapKey(t, justapKey2048)
	for _, tc := range []struct {
		event                  justap.EventType
		paid, reversed, closed bool
		refunds                []string
		status                 int
	}{
		{event: justap.EventChargeReversed, reversed: true, status: 200},
		{event: justap.EventChargeReversed, status: 500},
		{event: justap.EventChargeClosed, closed: true, status: 200},
		{event: justap.EventChargeClosed, paid: true, status: 500},
		{event: justap.EventChargeRefunded, paid: true, refunds: []string{refundPending, refundDone}, status: 200},
		{event: justap.EventChargeRefunded, paid: true, refunds: []string{refundPending}, status: 500},
		{event: justap.EventChargeRefunded, paid: true, status: 500},
		{event: justap.EventChargeCreated, status: 200},
		{event: "charge.some_new_event", status: 200},
	} {
		t.Run(fmt.Sprint(tc.event, tc.paid, tc.reversed, tc.closed, len(tc.refunds)), func(t *testing.T) {
			var r eventLog
			h, api, _ := newNotifyHandler(t, r.fn)
			api.setCharge("order-1001", apiCharge("order-1001", tc.paid, tc.reversed, tc.closed))
			api.refunds = tc.refunds
			wantStatus(t, post(h, notificationBody(t, key, string(tc.event), eventObject(tc.event, "order-1001", "nt_1"))), tc.status)
			if tc.status != 200 {
				if r.calls() != 0 {
					t.Fatal("fn was called")
				}
				return
			}
			if r.calls() != 1 || r.events[0].Type != tc.event {
				t.Fatalf("events = %+v", r.events)
			}
			if tc.event == justap.EventChargeRefunded {
				if got := r.events[0].Refunds; len(got) != 2 || got[1].ID != "re_1" || !got[1].Succeeded || got[1].Amount != 500 {
					t.Errorf("refunds = %+v", got)
				}
			} else if api.refundReads.Load() != 0 {
				t.Error("refunds read for another event than charge.refunded")
			}
		})
	}
}

func TestHandlerUnknownCharge(t *testing.T) {
	var r eventLog
	h, api, logs := newNotifyHandler(t, r.fn)
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-404", "nt_1"))), 400)
	if r.calls() != 0 || api.reads.Load() != 1 {
		t.Fatalf("calls = %d, reads = %d", r.calls(), api.reads.Load())
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "does not know") || !strings.Contains(l, "order-404") {
		t.Errorf("log: %s", l)
	}
}

func TestHandlerAPIUnavailable(t *testing.T) {
	var r eventLog
	h, api, logs := newNotifyHandler(t, r.fn)
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	api.status = http.StatusServiceUnavailable
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 500)
	if r.calls() != 0 {
		t.Fatal("fn was called")
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "503") {
		t.Errorf("log: %s", l)
	}
}

func TestHandlerFunctionFails(t *testing.T) {
	r := eventLog{err: errors.New("the warehouse is down")}
	h, api, logs := newNotifyHandler(t, r.fn)
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	body := notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))
	wantStatus(t, post(h, body), 500)
	if !strings.Contains(logs.String(), "the warehouse is down") {
		t.Errorf("log: %s", logs)
	}
	// Not remembered: the resend calls fn again.
	r.err = nil
	wantStatus(t, post(h, body), 200)
	if r.calls() != 2 {
		t.Errorf("fn called %d times, want 2", r.calls())
	}
}

func TestHandlerFunctionPanics(t *testing.T) {
	h, api, logs := newNotifyHandler(t, func(context.Context, *justap.ChargeEvent) error { panic("nil map somewhere") })
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 500)
	if l := logs.String(); !strings.Contains(l, "panicked: nil map somewhere") || !strings.Contains(l, "stack=") {
		t.Errorf("log: %s", l)
	}
}

// TestHandlerRefuses sends what must never reach the function: each is
// refused before any API read, and the log shows nothing of the body.
func TestHandlerRefuses(t *testing.T) {
	key := justapKey(t, justapKey2048)
	good := notificationBody(t, key, "charge.paid", notifyObject("order-1001", "nt_1"))
	bs := blocks(t, good, key.Size())
	altered := bytes.Clone(bs[0])
	altered[10] ^= 1
	other := blocks(t, notificationBody(t, key, "charge.paid", []byte(`{"x":1}`)), key.Size())
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"unencrypted", envelopeBody(t, "charge.paid", false, notifyObject("order-1001", "nt_1")), 400},
		{"altered block", withBlocks(t, "charge.paid", append([][]byte{altered}, bs[1:]...)...), 400},
		{"swapped blocks", withBlocks(t, "charge.paid", bs[1], bs[0]), 400},
		{"dropped block", withBlocks(t, "charge.paid", bs[0]), 400},
		{"appended block", withBlocks(t, "charge.paid", bs[0], bs[1], other[0]), 400},
		{"another key", notificationBody(t, testKey(t), "charge.paid", notifyObject("order-1001", "nt_1")), 400},
		{"another app", notificationBody(t, key, "charge.paid", bytes.ReplaceAll(notifyObject("order-1001", "nt_1"), []byte(testAppID), []byte("app_other"))), 400},
		{"no merchant_trade_id", notificationBody(t, key, "charge.paid", notifyObject("", "nt_1")), 400},
		{"over the limit", envelopeBody(t, "charge.paid", true, strings.Repeat("A", justap.DefaultMaxNotificationBytes)), 413},
		{"invalid base64", envelopeBody(t, "charge.paid", true, "!!!!"+string(good[60:80])), 400},
		{"invalid JSON", good[:len(good)-1], 400},
		{"invalid JSON inside", notificationBody(t, key, "charge.paid", []byte(`{"subject":"SECRET-SUBJECT"`)), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(bs) != 2 {
				t.Fatalf("the object spans %d blocks; this test wants 2", len(bs))
			}
			var r eventLog
			h, api, logs := newNotifyHandler(t, r.fn)
			api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
			wantStatus(t, post(h, tc.body), tc.status)
			if r.calls() != 0 || api.reads.Load() != 0 {
				t.Errorf("calls = %d, API reads = %d; want none", r.calls(), api.reads.Load())
			}
			l := logs.String()
			if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "refused") {
				t.Errorf("log: %s", l)
			}
			noBodyIn(t, l, tc.body)
			if strings.Contains(l, testAPIKey) {
				t.Error("the log shows the API key")
			}
		})
	}
}

func TestHandlerMethod(t *testing.T) {
	var r eventLog
	h, _, _ := newNotifyHandler(t, r.fn)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/justap/notify", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// TestHandlerReadsABoundedBody stops reading at the limit, however much
// the sender has to send.
func TestHandlerReadsABoundedBody(t *testing.T) {
	var r eventLog
	h, _, _ := newNotifyHandler(t, r.fn, justap.WithMaxNotificationBytes(1000))
	body := &countingReader{left: 10 << 20}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/justap/notify", body))
	if rec.Code != http.StatusRequestEntityTooLarge || body.read > 1001 {
		t.Errorf("status %d after reading %d bytes", rec.Code, body.read)
	}
}

type countingReader struct{ left, read int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = ' '
	}
	c.left -= n
	c.read += n
	return n, nil
}

func TestHandlerIgnoresOtherEvents(t *testing.T) {
	var r eventLog
	h, api, logs := newNotifyHandler(t, r.fn)
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "royalty.completed", []byte(`{"royalty_id":"r_1"}`))), 200)
	if r.calls() != 0 || api.reads.Load() != 0 {
		t.Errorf("calls = %d, reads = %d", r.calls(), api.reads.Load())
	}
	if !strings.Contains(logs.String(), "not a charge event") {
		t.Errorf("log: %s", logs)
	}
}

// TestHandlerDuplicates acknowledges a resent notification without a
// second read or call; so is one without notify_id, known by the digest
// of its object. A genuine notification relabelled with another event is
// the same notification, or, where the event contradicts its object, a
// forgery.
func TestHandlerDuplicates(t *testing.T) {
	var r eventLog
	h, api, _ := newNotifyHandler(t, r.fn)
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	key := justapKey(t, justapKey2048)
	body := notificationBody(t, key, "charge.paid", notifyObject("order-1001", "nt_1"))
	for range 3 {
		wantStatus(t, post(h, body), 200)
	}
	if r.calls() != 1 || api.reads.Load() != 1 {
		t.Errorf("calls = %d, reads = %d; want 1, 1", r.calls(), api.reads.Load())
	}
	// Another notify_id is another notification.
	wantStatus(t, post(h, notificationBody(t, key, "charge.paid", notifyObject("order-1001", "nt_2"))), 200)
	if r.calls() != 2 {
		t.Errorf("calls = %d, want 2", r.calls())
	}
	// The same object under another event: trade_type 2 is a payment's.
	wantStatus(t, post(h, notificationBody(t, key, "charge.completed", notifyObject("order-1001", "nt_1"))), 400)
	// And under an event it does not contradict: the same notification.
	wantStatus(t, post(h, notificationBody(t, key, "charge.created", eventObject("charge.created", "order-1001", "nt_3"))), 200)
	wantStatus(t, post(h, notificationBody(t, key, "charge.whatever", eventObject("charge.created", "order-1001", "nt_3"))), 200)
	if r.calls() != 3 {
		t.Errorf("calls = %d, want 3", r.calls())
	}
	// No notify_id: the object's digest tells resends apart.
	none := notificationBody(t, key, "charge.paid", notifyObject("order-1001", ""))
	wantStatus(t, post(h, none), 200)
	wantStatus(t, post(h, none), 200)
	if r.calls() != 4 {
		t.Errorf("calls = %d, want 4", r.calls())
	}
}

// failingStore is a NotificationStore that is down.
type failingStore struct{}

func (failingStore) Claim(context.Context, string, string, time.Duration) (justap.ClaimResult, error) {
	return 0, errors.New("redis: connection refused")
}
func (failingStore) Complete(context.Context, string, string) error {
	return errors.New("redis: connection refused")
}
func (failingStore) Release(context.Context, string, string) error {
	return errors.New("redis: connection refused")
}

// TestHandlerStoreFails: a store that cannot answer makes the handler
// fail closed: 500 (Justap resends), the function not called.
func TestHandlerStoreFails(t *testing.T) {
	var r eventLog
	h, api, logs := newNotifyHandler(t, r.fn, justap.WithNotificationStore(failingStore{}))
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 500)
	if r.calls() != 0 || !strings.Contains(logs.String(), "redis: connection refused") {
		t.Errorf("calls = %d, log: %s", r.calls(), logs)
	}
}

func TestMemoryNotificationStore(t *testing.T) {
	ctx := context.Background()
	s := justap.NewMemoryNotificationStore(3)
	claim := func(key, token string, lease time.Duration) justap.ClaimResult {
		t.Helper()
		res, err := s.Claim(ctx, key, token, lease)
		require.NoError(t, err)
		return res
	}
	assert.Equal(t, justap.ClaimWon, claim("k", "a", time.Hour))
	assert.Equal(t, justap.ClaimHeld, claim("k", "b", time.Hour), "a claim held by another token")
	assert.Equal(t, justap.ClaimWon, claim("k", "a", time.Hour), "the holder claims again")
	require.NoError(t, s.Release(ctx, "k", "b")) // not b's: no effect
	assert.Equal(t, justap.ClaimHeld, claim("k", "b", time.Hour))
	require.NoError(t, s.Release(ctx, "k", "a"))
	assert.Equal(t, justap.ClaimWon, claim("k", "b", -time.Second), "released: the next copy wins")
	assert.Equal(t, justap.ClaimWon, claim("k", "c", time.Hour), "a lease over: the next copy wins")
	require.NoError(t, s.Complete(ctx, "k", "c"))
	assert.Equal(t, justap.ClaimDone, claim("k", "d", time.Hour))

	// Completed keys: the last three are remembered.
	for i := range 5 {
		require.NoError(t, s.Complete(ctx, strconv.Itoa(i), "t"))
		require.NoError(t, s.Complete(ctx, strconv.Itoa(i), "t")) // again: no second slot
	}
	for i, want := range []justap.ClaimResult{justap.ClaimWon, justap.ClaimWon, justap.ClaimDone, justap.ClaimDone, justap.ClaimDone} {
		assert.Equal(t, want, claim(strconv.Itoa(i), "x", time.Hour), "key %d", i)
	}
}

// leaseStore records the leases claimed with, over a memory store.
type leaseStore struct {
	justap.NotificationStore
	mu     sync.Mutex
	leases []time.Duration
}

func (s *leaseStore) Claim(ctx context.Context, key, token string, lease time.Duration) (justap.ClaimResult, error) {
	s.mu.Lock()
	s.leases = append(s.leases, lease)
	s.mu.Unlock()
	return s.NotificationStore.Claim(ctx, key, token, lease)
}

// TestHandlerClaimsUnderTheLease: claims are made under
// DefaultNotificationLease, or the lease WithNotificationLease sets.
func TestHandlerClaimsUnderTheLease(t *testing.T) {
	for _, tc := range []struct {
		opts []justap.NotificationOption
		want time.Duration
	}{
		{nil, justap.DefaultNotificationLease},
		{[]justap.NotificationOption{justap.WithNotificationLease(42 * time.Second)}, 42 * time.Second},
	} {
		var r eventLog
		store := &leaseStore{NotificationStore: justap.NewMemoryNotificationStore(10)}
		h, api, _ := newNotifyHandler(t, r.fn, append(tc.opts, justap.WithNotificationStore(store))...)
		api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
		wantStatus(t, post(h, notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))), 200)
		assert.Equal(t, []time.Duration{tc.want}, store.leases)
	}
}

// TestHandlerReplicasShareAClaim: two handlers (two Clients, as two
// replicas) share one store. While one runs the function for a
// notification, 20 simultaneous copies on the other are answered 503 and
// do not call it; after it succeeded, copies are acknowledged; a failed
// run releases its claim, so the next copy, on either replica, runs it.
func TestHandlerReplicasShareAClaim(t *testing.T) {
	store := justap.NewMemoryNotificationStore(100)
	var calls atomic.Int32
	inside, release := make(chan struct{}), make(chan struct{})
	var fail atomic.Bool
	fn := func(ctx context.Context, ev *justap.ChargeEvent) error {
		if calls.Add(1) == 1 {
			close(inside)
			<-release
		}
		if fail.Load() {
			return errors.New("the shop's database is down")
		}
		return nil
	}
	a, apiA, _ := newNotifyHandler(t, fn, justap.WithNotificationStore(store))
	b, apiB, _ := newNotifyHandler(t, fn, justap.WithNotificationStore(store))
	for _, api := range []*notifyAPI{apiA, apiB} {
		api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
		api.setCharge("order-1002", apiCharge("order-1002", true, false, false))
	}
	key := justapKey(t, justapKey2048)
	body := notificationBody(t, key, "charge.paid", notifyObject("order-1001", "nt_1"))

	first := make(chan int, 1)
	go func() { first <- post(a, body).Code }()
	<-inside
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = post(b, body).Code
		}()
	}
	wg.Wait()
	for i, code := range codes {
		assert.Equal(t, http.StatusServiceUnavailable, code, "copy %d on the other replica", i)
	}
	close(release)
	assert.Equal(t, http.StatusOK, <-first)
	wantStatus(t, post(b, body), 200)
	wantStatus(t, post(a, body), 200)
	assert.Equal(t, int32(1), calls.Load(), "the function ran more than once")

	fail.Store(true)
	other := notificationBody(t, key, "charge.paid", notifyObject("order-1002", "nt_2"))
	wantStatus(t, post(a, other), 500)
	fail.Store(false)
	wantStatus(t, post(b, other), 200) // released: the other replica runs it at once
	wantStatus(t, post(a, other), 200)
	assert.Equal(t, int32(3), calls.Load())
}

// holdFirstRead makes the API's first lookup wait until n notifications
// wait on the handler for it (or for the function call it leads to), so
// that all of them are in flight together.
func holdFirstRead(t *testing.T, api *notifyAPI, h *http.Handler, n int) {
	var once sync.Once
	api.beforeRead = func() {
		once.Do(func() {
			deadline := time.Now().Add(20 * time.Second)
			for justap.NotificationWaiters(*h) < n {
				if time.Now().After(deadline) {
					t.Errorf("only %d notifications waited for the first read", justap.NotificationWaiters(*h))
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestHandlerConcurrentCopies sends 50 copies of one notification at once:
// one API read, one call of the function, 50 acknowledgements.
func TestHandlerConcurrentCopies(t *testing.T) {
	var r eventLog
	h, api, _ := newNotifyHandler(t, r.fn)
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	holdFirstRead(t, api, &h, 49)
	body := notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))
	codes := postConcurrently(h, 50, func(int) []byte { return body })
	for i, c := range codes {
		if c != 200 {
			t.Errorf("notification %d: status %d", i, c)
		}
	}
	if api.reads.Load() != 1 || r.calls() != 1 {
		t.Errorf("reads = %d, calls = %d; want 1 and 1", api.reads.Load(), r.calls())
	}
}

// TestHandlerConcurrentEvents sends 50 different notifications of one
// charge at once: one API read, and each call of the function gets its
// own copy of the charge, which it may change.
func TestHandlerConcurrentEvents(t *testing.T) {
	var calls atomic.Int32
	h, api, _ := newNotifyHandler(t, func(_ context.Context, ev *justap.ChargeEvent) error {
		calls.Add(1)
		if !ev.Charge.Paid || ev.Charge.Metadata["k"] != "v" || ev.Charge.Extra.AlipayQR.QRCode == "" {
			return fmt.Errorf("charge %+v", ev.Charge)
		}
		ev.Charge.Metadata["k"] = "changed" // under -race: no other event sees it
		ev.Charge.Extra.AlipayQR.QRCode = ""
		ev.Charge.Paid = false
		return nil
	})
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	holdFirstRead(t, api, &h, 49)
	key := justapKey(t, justapKey2048)
	bodies := make([][]byte, 50)
	for i := range bodies {
		bodies[i] = notificationBody(t, key, "charge.paid", notifyObject("order-1001", "nt_"+strconv.Itoa(i)))
	}
	codes := postConcurrently(h, 50, func(i int) []byte { return bodies[i] })
	for i, c := range codes {
		if c != 200 {
			t.Errorf("notification %d: status %d", i, c)
		}
	}
	if api.reads.Load() != 1 || calls.Load() != 50 {
		t.Errorf("reads = %d, calls = %d; want 1 and 50", api.reads.Load(), calls.Load())
	}
}

// postConcurrently posts n bodies to h at once and returns the statuses.
func postConcurrently(h http.Handler, n int, body func(i int) []byte) []int {
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = post(h, body(i)).Code
		}()
	}
	wg.Wait()
	return codes
}

// TestHandlerWaiterHonoursItsContext: a notification waiting for another's
// read gives up when its own request ends.
func TestHandlerWaiterHonoursItsContext(t *testing.T) {
	var r eventLog
	h, api, _ := newNotifyHandler(t, r.fn)
	api.setCharge("order-1001", apiCharge("order-1001", true, false, false))
	release := make(chan struct{})
	api.beforeRead = func() { <-release }
	body := notificationBody(t, justapKey(t, justapKey2048), "charge.paid", notifyObject("order-1001", "nt_1"))
	done := make(chan int)
	go func() { done <- post(h, body).Code }()
	for api.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	waiter := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, "/justap/notify", bytes.NewReader(body)))
		waiter <- rec.Code
	}()
	for justap.NotificationWaiters(h) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if code := <-waiter; code != 500 {
		t.Errorf("cancelled waiter: %d, want 500", code)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("leader: %d", code)
	}
}

func TestHandlerOptions(t *testing.T) {
	c, _, _ := setup(t)
	pub := justap.WithJustapPublicKey(justapPublic(t, justapKey2048))
	fn := func(context.Context, *justap.ChargeEvent) error { return nil }
	if _, err := c.Notifications.Handler(nil, pub); err == nil {
		t.Error("nil function accepted")
	}
	if _, err := c.Notifications.Handler(fn); err == nil || !strings.Contains(err.Error(), "WithJustapPublicKey") {
		t.Errorf("no key: %v", err)
	}
	if _, err := c.Notifications.Handler(fn, justap.AllowUnencryptedNotifications()); err != nil {
		t.Errorf("opt-in without key: %v", err)
	}
	if _, err := c.Notifications.Handler(fn, justap.WithMaxNotificationBytes(0), pub); err == nil {
		t.Error("bad option accepted")
	}
	noApp, err := justap.NewClient(testAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noApp.Notifications.Handler(fn, pub); err == nil || !strings.Contains(err.Error(), "WithAppID") {
		t.Errorf("no app: %v", err)
	}
}

// TestHandlerWithTheFake runs a refund's notification against justaptest.
func TestHandlerWithTheFake(t *testing.T) {
	srv := justaptest.NewServer(t) // closed when the test ends
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		t.Fatal(err)
	}
	var r eventLog
	h, err := c.Notifications.Handler(r.fn, justap.WithJustapPublicKey(justapPublic(t, justapKey4096)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-7", Amount: 1999, Channel: justap.ChannelAlipayQR,
		Subject: "Mug", Body: "One mug", ClientIP: "203.0.113.7",
	})
	if err != nil {
		t.Fatal(err)
	}
	key := justapKey(t, justapKey4096)
	object := func(notifyID string) []byte {
		return []byte(`{"notify_id":"` + notifyID + `","app_id":"` + srv.AppID() + `","merchant_trade_id":"order-7","is_paid":true,"is_refund":true}`)
	}
	// Forged: paid, before it is.
	wantStatus(t, post(h, notificationBody(t, key, "charge.paid", object("nt_1"))), 500)
	if err := srv.Pay(ch.ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, post(h, notificationBody(t, key, "charge.paid", object("nt_1"))), 200)
	if _, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "rf-7", Description: "broken", Amount: 500,
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, post(h, notificationBody(t, key, "charge.refunded", object("nt_2"))), 200)
	if r.calls() != 2 {
		t.Fatalf("calls = %d", r.calls())
	}
	ev := r.events[1]
	if ev.Charge.ID != ch.ID || !ev.Charge.Paid || len(ev.Refunds) != 1 || ev.Refunds[0].Amount != 500 {
		t.Errorf("event = %+v, refunds %+v", ev.Charge, ev.Refunds)
	}
}

func ExampleNotificationsService_Handler() {
	srv, err := justaptest.StartServer() // the gateway, faked
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		panic(err)
	}
	// Justap's public key, as its dashboard gives it (here a test-only key).
	pemBytes, err := os.ReadFile("testdata/test-only-justap-rsa2048-public.pem")
	if err != nil {
		panic(err)
	}
	justapKey, err := justap.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		panic(err)
	}

	// The merchant's function: called only with what the API confirms,
	// and idempotent, since an event can arrive more than once.
	handle := func(ctx context.Context, ev *justap.ChargeEvent) error {
		switch ev.Type {
		case justap.EventChargePaid:
			fmt.Println("ship", ev.Charge.MerchantTradeID, "paid", ev.Charge.Amount)
		case justap.EventChargeRefunded:
			fmt.Println("refunds of", ev.Charge.MerchantTradeID, len(ev.Refunds))
		}
		return nil
	}
	h, err := c.Notifications.Handler(handle, justap.WithJustapPublicKey(justapKey))
	if err != nil {
		panic(err)
	}
	// In a server: http.Handle("/justap/notify", h), and that URL as the
	// charges' NotifyURL.

	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001", Amount: 1999, Channel: justap.ChannelAlipayQR,
		Subject: "T-shirt", Body: "One T-shirt, size M", ClientIP: "203.0.113.7",
	})
	if err != nil {
		panic(err)
	}
	// What Justap posts when the charge is paid (built here with the test
	// key: the fake does not send notifications).
	body := exampleNotification("testdata/test-only-justap-rsa2048.pem", "charge.paid",
		[]byte(`{"notify_id":"nt_1","trade_type":2,"app_id":"`+srv.AppID()+`","merchant_trade_id":"order-1001","amount_total":19.99,"is_paid":true}`))

	// Before the customer pays, the API does not confirm it: 500, and
	// Justap will send it again.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/justap/notify", bytes.NewReader(body)))
	fmt.Println(rec.Code)

	if err := srv.Pay(ch.ID); err != nil {
		panic(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/justap/notify", bytes.NewReader(body)))
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 500
	// ship order-1001 paid 19.99
	// 200 success
}

// The handler misses what Justap never delivered: it gives up after about
// 25 hours. A periodic sweep over the charges drives the same function,
// so one code path serves both.
func ExampleNotificationsService_Handler_sweep() {
	srv, err := justaptest.StartServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, id := range []string{"order-1", "order-2", "order-3"} {
		ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
			MerchantTradeID: id, Amount: 100, Channel: justap.ChannelAlipayQR,
			Subject: "Sticker", Body: "One sticker", ClientIP: "203.0.113.7",
		})
		if err != nil {
			panic(err)
		}
		if id != "order-2" {
			if err := srv.Pay(ch.ID); err != nil {
				panic(err)
			}
		}
	}

	// The same function as the handler's (see the Handler example).
	handle := func(ctx context.Context, ev *justap.ChargeEvent) error {
		fmt.Println(ev.Type, ev.Charge.MerchantTradeID)
		return nil
	}

	// Run every hour or so: every paid charge created in the last two
	// days (longer than Justap retries), newest first, through handle.
	// For refunds, the same with Refunded: justap.Bool(true), the refunds
	// from c.Refunds.All and EventChargeRefunded.
	paid := &justap.ChargeListParams{CreatedGTE: time.Now().Add(-48 * time.Hour), Paid: justap.Bool(true), Limit: 100}
	for ch, err := range c.Charges.All(ctx, paid) {
		if err == nil {
			err = handle(ctx, &justap.ChargeEvent{Type: justap.EventChargePaid, Charge: ch})
		}
		if err != nil {
			fmt.Println("sweep:", err) // the next sweep tries again
			break
		}
	}
	// Output:
	// charge.paid order-3
	// charge.paid order-1
}

// TestHandlerIdentityFromAuthenticatedBytes: what a notification is and
// which one it is come from its authenticated object alone. A genuine
// charge.refunded reposted as charge.paid or as an unknown charge event
// is the same notification (acknowledged, fn not called again), or, where
// the envelope's event contradicts the object, a forgery (400). Blocks of
// two genuine notifications spliced together carry the notify_id of one
// of them and are that one. Key-case and duplicate-key variants, which
// two readers would decode differently, are refused.
func TestHandlerIdentityFromAuthenticatedBytes(t *testing.T) {
	t.Parallel()
	var r eventLog
	h, api, _ := newNotifyHandler(t, r.fn, justap.AllowUnencryptedNotifications())
	key := justapKey(t, justapKey2048)
	for _, o := range []string{"order-1", "order-2"} {
		api.setCharge(o, apiCharge(o, true, false, false))
	}
	api.refunds = []string{refundDone}

	refunded := eventObject(justap.EventChargeRefunded, "order-1", "nt_R")
	wantStatus(t, post(h, notificationBody(t, key, "charge.refunded", refunded)), 200)
	require.Equal(t, 1, r.calls())
	for event, status := range map[string]int{
		"charge.paid": 200, "charge.some_future_event": 200, "charge.refunded": 200,
		"charge.reversed": 400, "charge.closed": 400,
	} {
		wantStatus(t, post(h, notificationBody(t, key, event, refunded)), status)
	}
	assert.Equal(t, 1, r.calls(), "a relabelled copy ran the function again")

	// Two genuine notifications whose first block ends at a comma, so that
	// either's first block and the other's second make a valid object.
	k := key.Size() - 11
	head := func(order string) string {
		h := `{"object":"Charge","trade_type":2,"is_paid":true,"app_id":"` + testAppID + `","merchant_trade_id":"` + order + `","pad":"`
		return h + strings.Repeat("x", k-len(h)-2) + `",`
	}
	tail := func(id string) string { return `"notify_id":"` + id + `","amount_total":19.99}` }
	a, b := []byte(head("order-1")+tail("nt_A")), []byte(head("order-2")+tail("nt_B"))
	ca, cb := encryptBlocks(t, key, a), encryptBlocks(t, key, b)
	require.Len(t, ca, 2*key.Size())
	for _, ct := range [][]byte{ca, cb} {
		wantStatus(t, post(h, envelopeBody(t, "charge.paid", true, base64.StdEncoding.EncodeToString(ct))), 200)
	}
	require.Equal(t, 3, r.calls())
	n := key.Size()
	for _, ct := range [][]byte{append(ca[:n:n], cb[n:]...), append(cb[:n:n], ca[n:]...)} {
		body := envelopeBody(t, "charge.paid", true, base64.StdEncoding.EncodeToString(ct))
		_, err := justap.ParseNotification(body, justap.WithJustapPublicKey(&key.PublicKey))
		require.NoError(t, err, "the splice must be a valid notification for the test to mean anything")
		wantStatus(t, post(h, body), 200)
	}
	assert.Equal(t, 3, r.calls(), "a splice of genuine blocks ran the function again")

	// Readers that disagree: refused, encrypted or not.
	genuine := string(eventObject(justap.EventChargePaid, "order-1", "nt_C"))
	for _, obj := range []string{
		strings.Replace(genuine, `"app_id"`, `"app_id":"other_app","APP_ID"`, 1),
		strings.Replace(genuine, `"merchant_trade_id"`, `"merchant_trade_id":"order-2","merchant_trade_id"`, 1),
		strings.Replace(genuine, `"merchant_trade_id"`, `"Merchant_Trade_ID":"order-2","merchant_trade_id"`, 1),
		strings.Replace(genuine, `"is_paid"`, `"iſ_paid":false,"is_paid"`, 1), // ſ folds to s in encoding/json
	} {
		wantStatus(t, post(h, notificationBody(t, key, "charge.paid", []byte(obj))), 400)
		wantStatus(t, post(h, envelopeBody(t, "charge.paid", false, []byte(obj))), 400)
	}
	enc := string(notificationBody(t, key, "charge.paid", []byte(genuine)))
	for _, env := range []string{
		strings.Replace(enc, `"event"`, `"EVENT":"charge.refunded","event"`, 1),
		strings.Replace(enc, `"event"`, `"event":"charge.refunded","event"`, 1),
	} {
		wantStatus(t, post(h, []byte(env)), 400)
	}
	assert.Equal(t, 3, r.calls())
}

// TestHandlerStoreSurvivesReposts: one authentic notification reposted
// 100,000 times (10,000 under the race detector), each time under another
// event name, takes one entry of the store: the entries of the real
// notifications stay, so their resends still do not run the function, and
// memory stays bounded (the figure is logged). It does not run in
// parallel: the heap it measures is the whole process's.
func TestHandlerStoreSurvivesReposts(t *testing.T) {
	n := 100_000
	if raceEnabled {
		n = 10_000
	}
	var r eventLog
	const real = 50
	h, api, _ := newNotifyHandler(t, r.fn, justap.WithNotificationStore(justap.NewMemoryNotificationStore(real+1)),
		justap.WithNotificationLogger(nil)) // a log of every repost would be the memory measured
	key := justapKey(t, justapKey2048)
	bodies := make([][]byte, real)
	for i := range bodies {
		o := fmt.Sprintf("order-%d", i)
		api.setCharge(o, apiCharge(o, true, false, false))
		bodies[i] = notificationBody(t, key, "charge.paid", notifyObject(o, fmt.Sprintf("nt_%d", i)))
		wantStatus(t, post(h, bodies[i]), 200)
	}
	// The one reposted: a genuine charge.created, which any unknown
	// charge event agrees with.
	created := notificationBody(t, key, "charge.created", eventObject(justap.EventChargeCreated, "order-0", "nt_created"))
	wantStatus(t, post(h, created), 200)
	require.Equal(t, real+1, r.calls())

	var data struct {
		Data string `json:"data"`
	}
	require.NoError(t, json.Unmarshal(created, &data))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		body := []byte(`{"event":"charge.relabel_` + strconv.Itoa(i) + `","is_encrypted":true,"data":"` + data.Data + `"}`)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/justap/notify", bytes.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("repost %d: status %d", i, rec.Code)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d reposts: heap %+d bytes after GC, %d API reads, %d calls", n, grown, api.reads.Load(), r.calls())
	assert.Equal(t, real+1, r.calls(), "a repost ran the function")
	assert.Less(t, grown, int64(1<<20), "memory grew with the reposts")
	for i, b := range bodies {
		wantStatus(t, post(h, b), 200)
		require.Equal(t, real+1, r.calls(), "the real notification %d was forgotten", i)
	}
}
