package justap

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"7", 7 * time.Second},
		{"+7", 7 * time.Second},
		{"-1", -1},
		{"-0", 0},
		{"1.5", -1},
		{"soon", -1},
		{"86400", 24 * time.Hour},
		{"86401", MaxRetryBackoff},
		{"9223372036854775807", MaxRetryBackoff},
		{"99999999999999999999999", MaxRetryBackoff}, // overflows int64: still "a long time"
		{"-99999999999999999999999", -1},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second}, // RFC 850
		{"Sun Mar  1 12:00:30 2026", 30 * time.Second},       // asctime
		{"Sat, 28 Feb 2026 12:00:00 GMT", 0},                 // in the past
		{"Fri, 31 Dec 9999 23:59:59 GMT", MaxRetryBackoff},   // far future
		{"Mon, 01 Jan 0001 00:00:00 GMT", 0},                 // far past: Sub saturates
		{"Sun, 01 Mar 2026 12:00:30", -1},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		base, max  time.Duration
		maxWait    time.Duration
		attempts   int
		retryAfter time.Duration
		wantMax    time.Duration // the wait is in [0, wantMax]
		wantOK     bool
	}{
		{name: "first retry", base: 500 * time.Millisecond, max: 8 * time.Second, attempts: 1, retryAfter: -1, wantMax: 500 * time.Millisecond, wantOK: true},
		{name: "third retry doubles twice", base: 500 * time.Millisecond, max: 8 * time.Second, attempts: 3, retryAfter: -1, wantMax: 2 * time.Second, wantOK: true},
		{name: "capped at max", base: 500 * time.Millisecond, max: 8 * time.Second, attempts: 10, retryAfter: -1, wantMax: 8 * time.Second, wantOK: true},
		{name: "shift of 62", base: time.Nanosecond, max: time.Hour, attempts: 63, retryAfter: -1, wantMax: time.Hour, wantOK: true},
		{name: "shift of 63 and more", base: time.Nanosecond, max: time.Hour, attempts: 64, retryAfter: -1, wantMax: time.Hour, wantOK: true},
		{name: "huge attempt count", base: time.Second, max: time.Minute, attempts: math.MaxInt, retryAfter: -1, wantMax: time.Minute, wantOK: true},
		{name: "zero attempts", base: time.Second, max: time.Minute, attempts: 0, retryAfter: -1, wantMax: time.Second, wantOK: true},
		{name: "negative attempts", base: time.Second, max: time.Minute, attempts: math.MinInt, retryAfter: -1, wantMax: time.Second, wantOK: true},
		{name: "MaxInt64 base and max", base: math.MaxInt64, max: math.MaxInt64, attempts: 1, retryAfter: -1, wantMax: math.MaxInt64, wantOK: true},
		{name: "MaxInt64 base and max, later", base: math.MaxInt64, max: math.MaxInt64, attempts: 5, retryAfter: -1, wantMax: math.MaxInt64, wantOK: true},
		{name: "zero config", attempts: 1, retryAfter: -1, wantMax: 0, wantOK: true},
		{name: "negative max", base: -time.Second, max: -time.Second, attempts: 2, retryAfter: -1, wantMax: 0, wantOK: true},
		{name: "Retry-After within the cap", base: time.Second, max: time.Minute, maxWait: time.Minute, attempts: 1, retryAfter: 30 * time.Second, wantMax: 30 * time.Second, wantOK: true},
		{name: "Retry-After 0", base: time.Second, max: time.Minute, maxWait: time.Minute, attempts: 1, retryAfter: 0, wantMax: 0, wantOK: true},
		{name: "Retry-After over the cap", base: time.Second, max: time.Minute, maxWait: time.Minute, attempts: 1, retryAfter: 2 * time.Minute, wantMax: 2 * time.Minute, wantOK: false},
		{name: "Retry-After with a zero cap", base: time.Second, max: time.Minute, maxWait: 0, attempts: 1, retryAfter: time.Second, wantMax: time.Second, wantOK: false},
	}
	for _, tt := range tests {
		cfg := &config{retryBaseDelay: tt.base, retryMaxDelay: tt.max, maxRetryWait: tt.maxWait}
		for range 50 { // the wait is random: try it several times
			got, ok := cfg.backoff(tt.attempts, tt.retryAfter)
			if got < 0 || got > tt.wantMax || ok != tt.wantOK {
				t.Errorf("%s: backoff = %v, %v; want [0, %v], %v", tt.name, got, ok, tt.wantMax, tt.wantOK)
				break
			}
			if tt.retryAfter >= 0 && got != tt.retryAfter {
				t.Errorf("%s: backoff = %v, want the Retry-After %v", tt.name, got, tt.retryAfter)
				break
			}
		}
	}
}

// The default client must keep enough idle connections that a busy backend
// sharing one Client across goroutines reuses them, rather than opening a
// new TCP connection for most calls as http.DefaultClient does (it keeps 2
// idle connections per host).

const (
	connGoroutines = 64
	connCalls      = 2000 // in all, per run

	// connOpenSlack is how many connections beyond one per goroutine a run
	// may open. With a pool that keeps them all, a quiet machine opens
	// exactly 64. On a starved CPU net/http drops a connection now and then
	// (it does not reuse one whose request write has not been confirmed
	// within 50ms), and every dial made to replace it can end up as a spare
	// when another connection comes back first: running three copies of
	// this test at once on 2 cores, up to 18 more were seen.
	connOpenSlack = 32
	// connCloseSlack is how many connections may be closed during a run. A
	// pool short of 64 closes the surplus of the first round at once (16
	// with a pool of 48); a pool of 2 opens and closes over 900.
	connCloseSlack = 8
)

// countingServer serves a small charge and counts the TCP connections it
// accepts and those closed (by either side). It holds the first connGoroutines requests until all of them
// have arrived, so that each of the first calls has its own connection
// before any connection goes back to the pool.
//
// Without that, a count says as much about the scheduler as about the
// pool: net/http dials while it waits for an idle connection, so when 64
// calls start at once on a cold client, a connection that comes back is
// handed to a call still waiting for its dial, and the dial adds a
// connection later; on a busy machine that is up to 30 more. The pool is
// what is under test: with the first round on 64 connections, every later
// call finds one idle if the pool keeps them.
func countingServer(t testing.TB) (srv *httptest.Server, conns, closed, calls *atomic.Int64) {
	t.Helper()
	conns, closed, calls = new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)
	allIn, stop := make(chan struct{}), make(chan struct{})
	body := []byte(`{"object":"Charge","data":{"charge_id":"ch_1","object":"Charge","amount":12.3,"paid":true}}`)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := calls.Add(1); {
		case n == connGoroutines:
			close(allIn)
		case n < connGoroutines:
			select {
			case <-allIn:
			case <-stop:
			case <-time.After(time.Minute): // a test that lost calls must not hang
				http.Error(w, "not all first calls arrived", http.StatusGatewayTimeout)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() {
		close(stop)
		srv.Close()
		defaultHTTPClient().CloseIdleConnections()
	})
	return srv, conns, closed, calls
}

// callConcurrently makes calls Charges.Get calls in all from goroutines
// goroutines sharing c, and returns the first error.
func callConcurrently(c *Client, goroutines, calls int) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(calls) {
				if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// TestDefaultClientConnections makes 2,000 calls from 64 goroutines through
// a Client made without WithHTTPClient, and counts the connections the
// server accepted and closed: one per goroutine and a few spare, and next
// to none closed. With http.DefaultTransport's pool (2 idle connections per
// host) it opens and closes over 900.
func TestDefaultClientConnections(t *testing.T) {
	srv, conns, closed, calls := countingServer(t)
	c, err := NewClient("sk_test_conns", WithBaseURL(srv.URL), WithAppID("app_conns"))
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.httpClient != nil {
		t.Fatal("the client has an HTTP client of its own; this test is about the default one")
	}
	if err := callConcurrently(c, connGoroutines, connCalls); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != connCalls {
		t.Fatalf("the server saw %d calls, want %d", got, connCalls)
	}
	opened, shut := conns.Load(), closed.Load()
	if limit := int64(connGoroutines + connOpenSlack); opened > limit || shut > connCloseSlack {
		t.Errorf("%d goroutines making %d calls opened %d connections and closed %d, want at most %d and %d: "+
			"the default transport does not keep enough idle connections",
			connGoroutines, connCalls, opened, shut, limit, connCloseSlack)
	} else {
		t.Logf("%d goroutines, %d calls: %d connections opened, %d closed", connGoroutines, connCalls, opened, shut)
	}
}

// BenchmarkConcurrentCalls: one op is 2,000 calls from 64 goroutines
// sharing one Client, whose HTTP client is the default one or
// http.DefaultClient. It reports calls/s and the connections the server
// accepted per op.
func BenchmarkConcurrentCalls(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"sdk-default", nil},
		{"http-DefaultClient", []Option{WithHTTPClient(http.DefaultClient)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv, conns, _, _ := countingServer(b)
			c, err := NewClient("sk_test_conns", append([]Option{WithBaseURL(srv.URL), WithAppID("app_conns")}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := callConcurrently(c, connGoroutines, connCalls); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*connCalls)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64(conns.Load())/float64(b.N), "conns/op")
		})
	}
}
