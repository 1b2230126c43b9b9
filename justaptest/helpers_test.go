package justaptest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the start of the test clock: 2025-03-01T08:00:00Z.
var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fixture is a fake on a test clock and an SDK client pointed at it.
type fixture struct {
	srv   *justaptest.Server
	c     *justap.Client
	clock *clock
}

// newFixture starts a fake with a test clock, and a client without
// retries (opts may turn them on).
func newFixture(t *testing.T, opts ...justaptest.Option) *fixture {
	t.Helper()
	clk := newClock()
	srv := justaptest.NewServer(t, append([]justaptest.Option{justaptest.WithClock(clk.Now)}, opts...)...)
	return &fixture{srv: srv, c: newClient(t, srv), clock: clk}
}

// deliverRounds runs up to n rounds of DeliverDue, each moving the fake's
// clock to the next attempt due, and stops once none is left.
func (f *fixture) deliverRounds(ctx context.Context, n int) {
	for range n {
		f.srv.DeliverDue(ctx)
		next, ok := f.srv.NextDeliveryAt()
		if !ok {
			return
		}
		f.clock.Set(next)
	}
}

// newClient returns a client for srv, without retries unless opts say so.
func newClient(t *testing.T, srv *justaptest.Server, opts ...justap.Option) *justap.Client {
	t.Helper()
	c, err := justap.NewClient(srv.APIKey(), append([]justap.Option{
		justap.WithBaseURL(srv.URL),
		justap.WithAppID(srv.AppID()),
		justap.WithHTTPClient(srv.Client()),
		justap.WithMaxRetries(0),
	}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// params returns valid create-charge params for an AlipayQR charge.
func params(merchantTradeID string, amount justap.Amount) *justap.ChargeCreateParams {
	return &justap.ChargeCreateParams{
		MerchantTradeID: merchantTradeID,
		Amount:          amount,
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
	}
}

// create creates a charge through the SDK and fails the test on error.
func (f *fixture) create(t *testing.T, p *justap.ChargeCreateParams) *justap.Charge {
	t.Helper()
	ch, err := f.c.Charges.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("create %s: %v", p.MerchantTradeID, err)
	}
	return ch
}

// paid creates a charge of amount and pays it.
func (f *fixture) paid(t *testing.T, merchantTradeID string, amount justap.Amount) *justap.Charge {
	t.Helper()
	ch := f.create(t, params(merchantTradeID, amount))
	if err := f.srv.Pay(ch.ID); err != nil {
		t.Fatalf("Pay: %v", err)
	}
	return ch
}

// refund refunds amount (0: the whole rest) of a charge through the SDK.
func (f *fixture) refund(chargeID, merchantRefundID string, amount justap.Amount) (*justap.Refund, error) {
	return f.c.Refunds.Create(context.Background(), &justap.RefundCreateParams{
		ChargeID:         chargeID,
		MerchantRefundID: merchantRefundID,
		Description:      "customer asked",
		Amount:           amount,
		FullRefund:       amount == 0,
	})
}

// response is a raw HTTP response of the fake.
type response struct {
	status int
	header http.Header
	body   []byte
}

// rpcStatus is a google.rpc.Status error body.
type rpcStatus struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// raw sends a request with the fake's API key (unless header overrides
// X-Justap-Api-Key) and returns the response.
func raw(t *testing.T, srv *justaptest.Server, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Justap-Api-Key", srv.APIKey())
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// wantError checks that r is a google.rpc.Status error with the status and
// code, and returns its message.
func (r response) wantError(t *testing.T, status, code int) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var s rpcStatus
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if s.Code != code || s.Message == "" || s.Details == nil {
		t.Errorf("error body = %s, want code %d, a message and details []", r.body, code)
	}
	return s.Message
}

// wantOK checks for a 200 and decodes the body's "data" into v.
func (r response) wantOK(t *testing.T, object string, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	var env struct {
		Object string          `json:"object"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if env.Object != object {
		t.Errorf("object = %q, want %q", env.Object, object)
	}
	if v != nil {
		if err := json.Unmarshal(env.Data, v); err != nil {
			t.Fatalf("data %s: %v", env.Data, err)
		}
	}
}

// apiError returns err as a *justap.Error, failing the test otherwise.
func apiError(t *testing.T, err error) *justap.Error {
	t.Helper()
	var e *justap.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *justap.Error", err, err)
	}
	return e
}

// unmarshal decodes the whole body into v.
func (r response) unmarshal(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}
