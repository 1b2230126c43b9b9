package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// testKey is the fake's API key in these tests: distinctive, so that a
// test can look for it, and any part of it, in everything printed.
const testKey = "sk_test_cli_SECRET_0123456789abcdef"

// harness is a fake Justap server with an SDK client on it, and the tool's
// environment pointing at it.
type harness struct {
	srv *justaptest.Server
	c   *justap.Client
	env map[string]string
	// clock is the fake's time, moved by the test (UTC).
	mu  sync.Mutex
	now time.Time
}

func newHarness(t *testing.T, opts ...justaptest.Option) *harness {
	t.Helper()
	h := &harness{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts = append([]justaptest.Option{justaptest.WithAPIKey(testKey), justaptest.WithClock(h.clock)}, opts...)
	h.srv = justaptest.NewServer(t, opts...)
	c, err := justap.NewClient(testKey, justap.WithBaseURL(h.srv.URL), justap.WithAppID(h.srv.AppID()))
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	h.env = map[string]string{
		"JUSTAP_API_KEY":  testKey,
		"JUSTAP_BASE_URL": h.srv.URL,
		"JUSTAP_APP_ID":   h.srv.AppID(),
		"JUSTAP_TZ":       "UTC",
	}
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// at sets the fake's clock.
func (h *harness) at(t time.Time) {
	h.mu.Lock()
	h.now = t
	h.mu.Unlock()
}

// charge creates a charge at the fake's current time.
func (h *harness) charge(t *testing.T, order string, amount justap.Amount, ch justap.Channel) *justap.Charge {
	t.Helper()
	c, err := h.c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: order, Amount: amount, Channel: ch,
		Subject: "T-shirt", Body: "size M", ClientIP: "203.0.113.7", TTL: 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// paid creates a charge and pays it at once.
func (h *harness) paid(t *testing.T, order string, amount justap.Amount, ch justap.Channel) *justap.Charge {
	t.Helper()
	c := h.charge(t, order, amount, ch)
	if err := h.srv.Pay(c.ID); err != nil {
		t.Fatal(err)
	}
	return c
}

// refund refunds amount of a charge at the fake's current time.
func (h *harness) refund(t *testing.T, chargeID, mrid string, amount justap.Amount) *justap.Refund {
	t.Helper()
	rf, err := h.c.Refunds.Create(context.Background(), &justap.RefundCreateParams{
		ChargeID: chargeID, MerchantRefundID: mrid, Description: "test", Amount: amount,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rf
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the tool in-process with stdin that is not a terminal.
func (h *harness) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return h.runWith(t, context.Background(), stdin, false, args...)
}

// runWith runs the tool in-process; with tty, stdin counts as a terminal.
func (h *harness) runWith(t *testing.T, ctx context.Context, stdin string, tty bool, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{ctx: ctx, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv:     func(k string) string { return h.env[k] },
		isTerminal: func(v any) bool { return tty && v != any(&out) && v != any(&errOut) }}
	code := a.exit(a.dispatch(args))
	r := result{code, out.String(), errOut.String()}
	if strings.Contains(r.stdout+r.stderr, testKey[8:]) {
		t.Errorf("the API key was printed:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	return r
}

// want fails the test unless r has the exit code.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}
