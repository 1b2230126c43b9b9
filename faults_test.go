package justap_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// faultChargeBody is a valid get-charge response.
const faultChargeBody = `{"object":"Charge","data":{"charge_id":"ch_1","object":"Charge",` +
	`"app_id":"app_test_1","merchant_trade_id":"order-1","channel":"AlipayQR","amount":0.01,` +
	`"currency":"CNY","subject":"T-shirt","body":"One T-shirt","client_ip":"203.0.113.7",` +
	`"created_at":"2024-01-02T03:04:05Z","paid_ts":"0"}}`

// faultSentinels are every category of *justap.Error.
var faultSentinels = []error{
	justap.ErrNotFound, justap.ErrAuthentication, justap.ErrPermission, justap.ErrInvalidRequest,
	justap.ErrConflict, justap.ErrRateLimited, justap.ErrServer, justap.ErrNoResponse,
	justap.ErrMalformedResponse, justap.ErrReusedID,
}

// faultBackoff keeps retries fast in tests.
var faultBackoff = justap.WithRetryBackoff(time.Millisecond, 2*time.Millisecond)

// faultCreateParams is a valid charge to create.
func faultCreateParams(merchantTradeID string) *justap.ChargeCreateParams {
	return &justap.ChargeCreateParams{
		MerchantTradeID: merchantTradeID,
		Amount:          justap.Amount(1999),
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
	}
}

// hangUp hijacks the connection and closes it without answering: with a
// FIN, or with a TCP reset when rst is set.
func hangUp(t testing.TB, w http.ResponseWriter, rst bool, raw string) {
	t.Helper()
	conn, bufrw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if raw != "" {
		bufrw.WriteString(raw)
		bufrw.Flush()
	}
	if rst {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		} else {
			t.Errorf("hijacked %T, want *net.TCPConn", conn)
		}
	}
	conn.Close()
}

// refusedURL returns the URL of a loopback address nothing listens on.
func refusedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// waitDone blocks a handler until the client goes away, never longer.
func waitDone(r *http.Request) { <-r.Context().Done() }

// faultCase is one row of TestFaults.
type faultCase struct {
	name string
	// handler answers the nth request (from 1) the server receives.
	handler func(t *testing.T, w http.ResponseWriter, r *http.Request, n int)
	// client, when set, makes the client instead of the test server.
	client func(t *testing.T) *justap.Client
	opts   []justap.Option // client options, after the defaults
	call   []justap.Option // per-call options
	create bool            // Charges.Create instead of Charges.Get
	list   bool            // Charges.List instead of Charges.Get
	// ctx, when set, is the call's context.
	ctx func(t *testing.T) context.Context

	ok            bool // the call must succeed
	wantAttempts  int  // Error.Attempts; -1 to skip
	wantServer    int  // requests the server saw; -1 to skip, 0 means wantAttempts (1 when ok)
	sendsNothing  bool // the server must see no request
	permanent     bool // Retryable() is false though the categories say temporary
	wantStatus    int
	wantCode      int
	wantMessage   string // a substring of Error.Message
	wantRequestID string
	wantIs        []error // the categories the error is in; it is in no other
	wantCause     []error // errors.Is must hold for each
}

// TestFaults drives every failure the client must survive against a test
// server that counts requests, and checks the error's fields, categories
// and causes. The client retries twice by default.
func TestFaults(t *testing.T) {
	status := func(code int, body string, hdr ...string) func(*testing.T, http.ResponseWriter, *http.Request, int) {
		return func(_ *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			writeJSON(w, code, body)
		}
	}
	// failThenOK fails the first n requests with fail, then answers a charge.
	failThenOK := func(n int, fail func(*testing.T, http.ResponseWriter, *http.Request, int)) func(*testing.T, http.ResponseWriter, *http.Request, int) {
		return func(t *testing.T, w http.ResponseWriter, r *http.Request, i int) {
			if i <= n {
				fail(t, w, r, i)
				return
			}
			writeJSON(w, http.StatusOK, faultChargeBody)
		}
	}
	reset := func(t *testing.T, w http.ResponseWriter, _ *http.Request, _ int) { hangUp(t, w, true, "") }
	eof := func(t *testing.T, w http.ResponseWriter, _ *http.Request, _ int) { hangUp(t, w, false, "") }
	// midBody sends the headers and part of a body, then closes: the
	// client sees a 200 whose body ends early.
	midBody := func(t *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
		hangUp(t, w, false, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"+
			`{"object":"Charge","data":{"charge_id":"ch_1",`)
	}
	// resetMidBody is midBody ended by a TCP reset instead of a close.
	resetMidBody := func(t *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
		hangUp(t, w, true, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"+
			`{"object":"Charge","data":{"charge_id":"ch_1",`)
	}
	hang := func(_ *testing.T, _ http.ResponseWriter, r *http.Request, _ int) { waitDone(r) }
	deadline := func(d time.Duration) func(t *testing.T) context.Context {
		return func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			t.Cleanup(cancel)
			return ctx
		}
	}
	rpc := func(code int, msg string) string {
		return fmt.Sprintf(`{"code":%d,"message":%q,"details":[]}`, code, msg)
	}

	cases := []faultCase{
		// Retries: what is retried, what is not.
		{
			name: "connection refused is retried",
			client: func(t *testing.T) *justap.Client {
				c, err := justap.NewClient(testAPIKey, justap.WithBaseURL(refusedURL(t)), faultBackoff)
				if err != nil {
					t.Fatal(err)
				}
				return c
			},
			wantAttempts: 3, wantServer: -1,
			wantIs: []error{justap.ErrNoResponse}, wantCause: []error{syscall.ECONNREFUSED},
		},
		{
			name: "connection reset before the response is retried", handler: reset,
			wantAttempts: 3,
			wantIs:       []error{justap.ErrNoResponse}, wantCause: []error{syscall.ECONNRESET},
		},
		{
			name: "EOF before the response is retried", handler: eof,
			wantAttempts: 3,
			wantIs:       []error{justap.ErrNoResponse}, wantCause: []error{io.EOF},
		},
		{
			name: "EOF on a create is retried", handler: eof, create: true,
			wantAttempts: 3,
			wantIs:       []error{justap.ErrNoResponse}, wantCause: []error{io.EOF},
		},
		{
			name: "reset then success", handler: failThenOK(1, reset), ok: true, wantServer: 2,
		},
		{
			name: "429 is retried", handler: status(429, rpc(8, "slow down"), "X-Request-Id", "req-429"),
			wantAttempts: 3, wantStatus: 429, wantCode: 8, wantMessage: "slow down", wantRequestID: "req-429",
			wantIs: []error{justap.ErrRateLimited},
		},
		{
			name: "500 is retried", handler: status(500, rpc(13, "internal")),
			wantAttempts: 3, wantStatus: 500, wantCode: 13, wantMessage: "internal",
			wantIs: []error{justap.ErrServer},
		},
		{
			name: "502 is retried", handler: status(502, rpc(14, "bad gateway")),
			wantAttempts: 3, wantStatus: 502, wantCode: 14, wantIs: []error{justap.ErrServer},
		},
		{
			name: "503 is retried", handler: status(503, rpc(14, "unavailable")),
			wantAttempts: 3, wantStatus: 503, wantCode: 14, wantIs: []error{justap.ErrServer},
		},
		{
			name: "504 is retried", handler: status(504, rpc(4, "deadline")),
			wantAttempts: 3, wantStatus: 504, wantCode: 4, wantIs: []error{justap.ErrServer},
		},
		{
			name: "503 on a create is retried", handler: status(503, rpc(14, "unavailable")), create: true,
			wantAttempts: 3, wantStatus: 503, wantCode: 14, wantIs: []error{justap.ErrServer},
		},
		{
			name: "503 then success", handler: failThenOK(2, status(503, "")), ok: true, wantServer: 3,
		},
		{
			name: "501 is not retried", handler: status(501, rpc(12, "unimplemented")),
			wantAttempts: 1, wantStatus: 501, wantCode: 12, wantIs: []error{justap.ErrServer},
		},
		{
			name: "400 is not retried", handler: status(400, rpc(3, "amount: must be positive"), "X-Justap-Request-Id", "req-400"),
			wantAttempts: 1, wantStatus: 400, wantCode: 3, wantMessage: "amount: must be positive", wantRequestID: "req-400",
			wantIs: []error{justap.ErrInvalidRequest},
		},
		{
			name: "401 is not retried", handler: status(401, rpc(16, "bad key")),
			wantAttempts: 1, wantStatus: 401, wantCode: 16, wantIs: []error{justap.ErrAuthentication},
		},
		{
			name: "403 is not retried", handler: status(403, rpc(7, "not your app")),
			wantAttempts: 1, wantStatus: 403, wantCode: 7, wantIs: []error{justap.ErrPermission},
		},
		{
			name: "404 is not retried", handler: status(404, rpc(5, "charge not found")),
			wantAttempts: 1, wantStatus: 404, wantCode: 5, wantMessage: "charge not found",
			wantIs: []error{justap.ErrNotFound},
		},
		{
			name: "408 is not retried", handler: status(408, ""),
			wantAttempts: 1, wantStatus: 408, wantMessage: "empty response body",
		},
		{
			name: "409 is not retried", handler: status(409, rpc(6, "merchant_trade_id already exists")), create: true,
			wantAttempts: 1, wantStatus: 409, wantCode: 6, wantIs: []error{justap.ErrConflict, justap.ErrReusedID},
		},
		{
			name: "422 is not retried", handler: status(422, `{"error_code":"INVALID_AMOUNT","error_message":"bad amount","error_reason":"amount"}`),
			wantAttempts: 1, wantStatus: 422, wantMessage: "bad amount", wantIs: []error{justap.ErrInvalidRequest},
		},
		{
			name: "4xx with Retry-After is not retried", handler: status(400, rpc(3, "no"), "Retry-After", "0"),
			wantAttempts: 1, wantStatus: 400, wantCode: 3, wantIs: []error{justap.ErrInvalidRequest},
		},
		{
			name: "numeric error_code shape", handler: status(404, `{"error_code":"5","error_message":"no such charge","error_reason":"NOT_FOUND"}`),
			wantAttempts: 1, wantStatus: 404, wantCode: 5, wantMessage: "no such charge", wantIs: []error{justap.ErrNotFound},
		},

		// Per-call and client retry counts.
		{
			name: "per-call WithMaxRetries(0)", handler: status(503, ""), call: []justap.Option{justap.WithMaxRetries(0)},
			wantAttempts: 1, wantStatus: 503, wantIs: []error{justap.ErrServer},
		},
		{
			name: "per-call WithMaxRetries(4)", handler: status(503, ""), call: []justap.Option{justap.WithMaxRetries(4)},
			wantAttempts: 5, wantStatus: 503, wantIs: []error{justap.ErrServer},
		},
		{
			name: "client WithMaxRetries(1)", handler: status(500, ""), opts: []justap.Option{justap.WithMaxRetries(1)},
			wantAttempts: 2, wantStatus: 500, wantIs: []error{justap.ErrServer},
		},

		// Retry-After.
		{
			name: "Retry-After seconds is honoured", handler: failThenOK(1, status(503, "", "Retry-After", "0")),
			ok: true, wantServer: 2,
		},
		{
			name: "Retry-After HTTP date is honoured", handler: failThenOK(1, status(429, "", "Retry-After", "Mon, 02 Jan 2006 15:04:05 GMT")),
			ok: true, wantServer: 2,
		},
		{
			name: "Retry-After beyond WithMaxRetryWait ends the retries", handler: status(503, "", "Retry-After", "3600"),
			wantAttempts: 1, wantStatus: 503, wantIs: []error{justap.ErrServer},
		},
		{
			name:    "a deadline during a Retry-After wait ends the call at the deadline",
			handler: status(503, rpc(14, "unavailable"), "Retry-After", "3600"),
			opts:    []justap.Option{justap.WithMaxRetryWait(2 * time.Hour)},
			ctx:     deadline(200 * time.Millisecond),
			// The call returns within the test's timeout, not after an hour.
			wantAttempts: 1, wantStatus: 503, wantCode: 14,
			wantIs: []error{justap.ErrServer}, wantCause: []error{context.DeadlineExceeded},
		},
		{
			name:    "a deadline during a backoff ends the call",
			handler: status(503, ""),
			opts:    []justap.Option{justap.WithRetryBackoff(time.Hour, time.Hour)},
			ctx:     deadline(200 * time.Millisecond),
			// The first backoff is a random wait up to an hour; whatever it
			// is, the deadline (or the server) ends the call.
			wantServer: -1, wantAttempts: -1, wantStatus: 503,
			wantIs: []error{justap.ErrServer}, wantCause: []error{context.DeadlineExceeded},
		},
		{
			name: "a context done before the call sends nothing",
			ctx: func(*testing.T) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			handler:      status(200, faultChargeBody),
			wantAttempts: 1, sendsNothing: true,
			wantIs: []error{justap.ErrNoResponse}, wantCause: []error{context.Canceled},
		},
		{
			name: "TLS certificate errors are not retried",
			client: func(t *testing.T) *justap.Client {
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					t.Error("a request got through an untrusted certificate")
				}))
				// The server logs the handshake failure; keep test output clean.
				srv.Config.ErrorLog = log.New(io.Discard, "", 0)
				srv.StartTLS()
				t.Cleanup(srv.Close)
				c, err := justap.NewClient(testAPIKey, justap.WithBaseURL(srv.URL), faultBackoff,
					justap.WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
				if err != nil {
					t.Fatal(err)
				}
				return c
			},
			wantAttempts: 1, wantServer: -1, wantIs: []error{justap.ErrNoResponse}, permanent: true,
			wantMessage: "certificate", wantCause: []error{new(tls.CertificateVerificationError)},
		},

		// Responses the client must survive.
		{
			name: "HTML 502 from a proxy",
			handler: func(_ *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>")
			},
			wantAttempts: 3, wantStatus: 502, wantMessage: "HTML", wantIs: []error{justap.ErrServer},
		},
		{
			name: "empty body with 503",
			handler: func(_ *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
				w.WriteHeader(503)
			},
			wantAttempts: 3, wantStatus: 503, wantMessage: "empty response body", wantIs: []error{justap.ErrServer},
		},
		{
			name:    "truncated JSON",
			handler: status(200, `{"object":"Charge","data":{"charge_id":"ch_1","amount":0.0`),
			// The body arrived whole (its length was right): the server did
			// answer, so it is not retried.
			wantAttempts: 1, wantStatus: 200, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "JSON of the wrong shape",
			handler:      status(200, `{"object":"Charge","data":["ch_1"]}`),
			wantAttempts: 1, wantStatus: 200, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a JSON array",
			handler:      status(200, `[1,2,3]`),
			wantAttempts: 1, wantStatus: 200, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a 200 without data",
			handler:      status(200, `{"object":"Charge"}`),
			wantAttempts: 1, wantStatus: 200, wantMessage: `"data"`, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a 200 with null data",
			handler:      status(200, `{"object":"Charge","data":null}`),
			wantAttempts: 1, wantStatus: 200, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a 200 with an empty body",
			handler:      status(200, ""),
			wantAttempts: 1, wantStatus: 200, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a 200 of HTML",
			handler:      status(200, "<html>hello</html>"),
			wantAttempts: 1, wantStatus: 200, wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a list with a null item",
			handler:      status(200, `{"object":"ChargeList","data":[null],"has_more":true}`),
			list:         true,
			wantAttempts: 1, wantStatus: 200, wantMessage: "the page holds a null charge at data[0]",
			wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:         "a charge with a null refund",
			handler:      status(200, `{"object":"Charge","data":{"charge_id":"ch_1","refunds":[{"refund_id":"re_1"},null]}}`),
			wantAttempts: 1, wantStatus: 200, wantMessage: "the charge holds a null refund at refunds[1]",
			wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:    "an empty list",
			handler: status(200, `{"object":"ChargeList","data":[],"has_more":false}`),
			list:    true, ok: true,
		},
		{
			name: "a body over WithMaxResponseBytes",
			opts: []justap.Option{justap.WithMaxResponseBytes(1 << 10)},
			handler: func(_ *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
				writeJSON(w, 200, `{"object":"Charge","data":{"charge_id":"`+strings.Repeat("x", 1<<20)+`"}}`)
			},
			wantAttempts: 1, wantStatus: 200, wantMessage: "larger than the limit",
			wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name: "a body over the default limit, streamed without a length",
			handler: func(_ *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"object":"Charge","data":{"charge_id":"`)
				chunk := bytes.Repeat([]byte("x"), 64<<10)
				for written := 0; written <= justap.DefaultMaxResponseBytes; written += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return // the client stopped reading
					}
				}
				io.WriteString(w, `"}}`)
			},
			wantAttempts: 1, wantStatus: 200, wantMessage: "larger than the limit",
			wantIs: []error{justap.ErrMalformedResponse},
		},
		{
			name:    "a body exactly at the limit is read",
			opts:    []justap.Option{justap.WithMaxResponseBytes(int64(len(faultChargeBody)))},
			handler: status(200, faultChargeBody),
			ok:      true,
		},
		{
			name: "an error body over the limit keeps its status and is retried",
			opts: []justap.Option{justap.WithMaxResponseBytes(1 << 10)},
			handler: func(_ *testing.T, w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(503)
				io.WriteString(w, "<html>"+strings.Repeat("x", 1<<20))
			},
			wantAttempts: 3, wantStatus: 503, wantIs: []error{justap.ErrServer, justap.ErrMalformedResponse},
		},
		{
			name:    "a server that never answers: the context ends it",
			handler: hang,
			ctx:     deadline(200 * time.Millisecond),
			// The context's deadline struck during the first attempt: no retry.
			wantAttempts: 1,
			wantIs:       []error{justap.ErrNoResponse}, wantCause: []error{context.DeadlineExceeded},
		},
		{
			name:    "a server that never answers: the per-attempt timeout ends each attempt",
			handler: hang,
			opts:    []justap.Option{justap.WithRequestTimeout(50 * time.Millisecond)},
			// Each attempt times out and is retried; the last one's
			// deadline is the cause.
			wantAttempts: 3,
			wantIs:       []error{justap.ErrNoResponse}, wantCause: []error{context.DeadlineExceeded},
		},
		{
			name: "the per-attempt timeout ends a body that stalls",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", "500")
				io.WriteString(w, `{"object":"Charge",`)
				http.NewResponseController(w).Flush()
				waitDone(r)
			},
			opts:         []justap.Option{justap.WithRequestTimeout(50 * time.Millisecond)},
			wantAttempts: 3, wantStatus: 200,
			wantIs: []error{justap.ErrNoResponse}, wantCause: []error{context.DeadlineExceeded},
		},
		{
			name: "connection closed mid-body is retried", handler: midBody,
			wantAttempts: 3, wantStatus: 200, wantMessage: "cut off",
			wantIs: []error{justap.ErrNoResponse}, wantCause: []error{io.ErrUnexpectedEOF},
		},
		{
			name: "connection reset mid-body is retried", handler: resetMidBody,
			wantAttempts: 3, wantStatus: 200, wantMessage: "cut off",
			wantIs: []error{justap.ErrNoResponse}, wantCause: []error{syscall.ECONNRESET},
		},
		{
			name: "connection reset mid-body on a create", handler: resetMidBody, create: true,
			wantAttempts: 3, wantStatus: 200, wantMessage: "cut off",
			wantIs: []error{justap.ErrNoResponse}, wantCause: []error{syscall.ECONNRESET},
		},
		{
			name: "connection closed mid-body then success", handler: failThenOK(1, midBody), ok: true, wantServer: 2,
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runFault(t, tc)
		})
	}
}

func runFault(t *testing.T, tc faultCase) {
	var served atomic.Int32
	var c *justap.Client
	if tc.client != nil {
		c = tc.client(t)
	} else {
		opts := append([]justap.Option{justap.WithMaxRetries(2), faultBackoff}, tc.opts...)
		var mux *http.ServeMux
		c, mux, _ = setup(t, opts...)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			n := int(served.Add(1))
			if tc.handler == nil {
				t.Errorf("unexpected request %s %s", r.Method, r.URL)
				return
			}
			tc.handler(t, w, r, n)
		})
	}
	ctx := context.Background()
	if tc.ctx != nil {
		ctx = tc.ctx(t)
	}

	var (
		got any
		err error
	)
	switch {
	case tc.create:
		// These cases are about the attempts; the lookups of a create's
		// recovery have tests of their own (outcome_test.go).
		call := append([]justap.Option{justap.WithRecovery(false)}, tc.call...)
		got, err = c.Charges.Create(ctx, faultCreateParams("order-1"), call...)
	case tc.list:
		got, err = c.Charges.List(ctx, nil, tc.call...)
	default:
		got, err = c.Charges.Get(ctx, "ch_1", tc.call...)
	}

	wantServer := tc.wantServer
	switch {
	case tc.sendsNothing:
		wantServer = 0
	case wantServer == 0 && tc.ok:
		wantServer = 1
	case wantServer == 0:
		wantServer = tc.wantAttempts
	}
	if wantServer >= 0 {
		if n := int(served.Load()); n != wantServer {
			t.Errorf("server saw %d requests, want %d", n, wantServer)
		}
	}
	if tc.ok {
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		if ch, ok := got.(*justap.Charge); ok && (ch == nil || ch.ID != "ch_1") {
			t.Fatalf("charge = %+v, want ch_1", ch)
		}
		return
	}
	if err == nil {
		t.Fatalf("err = nil (result %+v), want an error", got)
	}
	var e *justap.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %v, want a *justap.Error", err, err)
	}
	t.Logf("error: %v", err)
	if tc.wantAttempts >= 0 && e.Attempts != tc.wantAttempts {
		t.Errorf("Attempts = %d, want %d", e.Attempts, tc.wantAttempts)
	}
	if e.Attempts > 1 && !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts", e.Attempts)) {
		t.Errorf("error text does not say it made %d attempts: %v", e.Attempts, err)
	}
	if e.StatusCode != tc.wantStatus {
		t.Errorf("StatusCode = %d, want %d", e.StatusCode, tc.wantStatus)
	}
	if e.Code != tc.wantCode {
		t.Errorf("Code = %d, want %d", e.Code, tc.wantCode)
	}
	if !strings.Contains(e.Message, tc.wantMessage) {
		t.Errorf("Message = %q, want it to contain %q", e.Message, tc.wantMessage)
	}
	if e.RequestID != tc.wantRequestID {
		t.Errorf("RequestID = %q, want %q", e.RequestID, tc.wantRequestID)
	}
	wantMethod, wantPath := http.MethodGet, "/transaction/v1/charges/ch_1"
	switch {
	case tc.create:
		wantMethod, wantPath = http.MethodPost, "/transaction/v1/charges"
	case tc.list:
		wantPath = "/transaction/v1/charges"
	}
	if e.Method != wantMethod || e.Path != wantPath {
		t.Errorf("Method, Path = %s %s, want %s %s", e.Method, e.Path, wantMethod, wantPath)
	}
	if len(e.Body) > 4<<10 {
		t.Errorf("len(Body) = %d, want at most 4 KiB", len(e.Body))
	}
	for _, s := range faultSentinels {
		want := false
		for _, w := range tc.wantIs {
			want = want || w == s
		}
		if got := errors.Is(err, s); got != want {
			t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
		}
	}
	for _, cause := range tc.wantCause {
		if target, ok := cause.(*tls.CertificateVerificationError); ok {
			if !errors.As(err, &target) {
				t.Errorf("errors.As(err, %T) = false, want true", target)
			}
			continue
		}
		if !errors.Is(err, cause) {
			t.Errorf("errors.Is(err, %v) = false, want true (Err = %#v)", cause, e.Err)
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) && tc.ctx == nil && e.Err != nil &&
		errors.Is(e.Err, context.Canceled) {
		t.Errorf("a call without a context deadline or cancel reports %v", e.Err)
	}
	temporary := !tc.permanent &&
		(errors.Is(err, justap.ErrNoResponse) || errors.Is(err, justap.ErrServer) || errors.Is(err, justap.ErrRateLimited))
	if got := e.Retryable(); got != temporary {
		t.Errorf("Retryable() = %v, want %v", got, temporary)
	}
}

// TestNoRetryAfterCancel cancels the call's context while the server
// answers 503: the call must not try again.
func TestNoRetryAfterCancel(t *testing.T) {
	c, mux, _ := setup(t, justap.WithMaxRetries(5), faultBackoff)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var served atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		cancel()
		writeJSON(w, 503, `{"code":14,"message":"unavailable"}`)
	})
	_, err := c.Charges.Get(ctx, "ch_1")
	var e *justap.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *justap.Error", err)
	}
	if !errors.Is(err, context.Canceled) || e.Attempts != 1 || served.Load() != 1 {
		t.Errorf("err = %v (attempts %d, served %d), want context.Canceled after 1 attempt", err, e.Attempts, served.Load())
	}
}

// TestRetrySendsSameBody checks that every attempt of a create sends the
// same bytes and the same headers but for none that may change.
func TestRetrySendsSameBody(t *testing.T) {
	c, mux, _ := setup(t, justap.WithMaxRetries(3), faultBackoff)
	var (
		mu      sync.Mutex
		bodies  [][]byte
		headers []http.Header
	)
	mux.HandleFunc("/transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		mu.Lock()
		bodies = append(bodies, b)
		headers = append(headers, r.Header.Clone())
		n := len(bodies)
		mu.Unlock()
		switch n {
		case 1:
			hangUp(t, w, true, "")
		case 2:
			writeJSON(w, 502, "<html>bad gateway</html>")
		case 3:
			writeJSON(w, 429, "")
		default:
			writeJSON(w, 200, strings.Replace(faultChargeBody, `"ch_1"`, `"ch_9"`, 1))
		}
	})
	ch, err := c.Charges.Create(context.Background(), faultCreateParams("order-77"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if ch.ID != "ch_9" {
		t.Errorf("ID = %q, want ch_9", ch.ID)
	}
	if len(bodies) != 4 {
		t.Fatalf("server saw %d requests, want 4", len(bodies))
	}
	for i := 1; i < len(bodies); i++ {
		if !bytes.Equal(bodies[i], bodies[0]) {
			t.Errorf("attempt %d sent\n%s\nattempt 1 sent\n%s", i+1, bodies[i], bodies[0])
		}
		for _, k := range []string{"X-Justap-Api-Key", "Content-Type", "User-Agent", "Content-Length"} {
			if got, want := headers[i].Get(k), headers[0].Get(k); got != want {
				t.Errorf("attempt %d: %s = %q, attempt 1 sent %q", i+1, k, got, want)
			}
		}
	}
	if !bytes.Contains(bodies[0], []byte(`"merchant_trade_id":"order-77"`)) {
		t.Errorf("body lacks the idempotency key: %s", bodies[0])
	}
}

// TestRetriedCreateChargesOnce emulates the server's idempotency rule: it
// stores charges by merchant_trade_id, creates the first and drops the
// connection before answering, then refuses the retry as a duplicate. The
// retry must carry the same body, and exactly one charge must exist.
func TestRetriedCreateChargesOnce(t *testing.T) {
	c, mux, _ := setup(t, justap.WithMaxRetries(2), faultBackoff)
	var (
		mu      sync.Mutex
		charges = map[string][]byte{} // merchant_trade_id → body of the create
		bodies  [][]byte
	)
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req struct {
			MerchantTradeID string `json:"merchant_trade_id"`
		}
		if err := json.Unmarshal(b, &req); err != nil || req.MerchantTradeID == "" {
			writeJSON(w, 400, `{"code":3,"message":"merchant_trade_id is required"}`)
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		_, exists := charges[req.MerchantTradeID]
		if !exists {
			charges[req.MerchantTradeID] = b
		}
		mu.Unlock()
		if exists {
			w.Header().Set("X-Request-Id", "req-dup")
			writeJSON(w, 409, `{"code":6,"message":"charge with this merchant_trade_id already exists"}`)
			return
		}
		// Created, but the answer is lost on the way back.
		hangUp(t, w, true, "")
	})

	// With recovery off, the conflict is returned as it is (outcome_test.go
	// tests the recovery), saying that the outcome is unknown.
	_, err := c.Charges.Create(context.Background(), faultCreateParams("order-once"), justap.WithRecovery(false))
	var e *justap.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *justap.Error", err)
	}
	if !errors.Is(err, justap.ErrConflict) || e.Code != 6 || e.StatusCode != 409 || e.Attempts != 2 || e.RequestID != "req-dup" {
		t.Errorf("err = %v (status %d, code %d, attempts %d, request id %q), want a 409 conflict, code 6, after 2 attempts",
			err, e.StatusCode, e.Code, e.Attempts, e.RequestID)
	}
	if !e.OutcomeUnknown() || errors.Is(err, justap.ErrReusedID) {
		t.Errorf("OutcomeUnknown() = %v, ErrReusedID %v; want an unknown outcome, not a reused id",
			e.OutcomeUnknown(), errors.Is(err, justap.ErrReusedID))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(charges) != 1 {
		t.Errorf("%d charges exist, want exactly 1", len(charges))
	}
	if len(bodies) != 2 {
		t.Fatalf("server saw %d creates, want 2", len(bodies))
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Errorf("the retry sent\n%s\nthe first attempt sent\n%s", bodies[1], bodies[0])
	}
}

// TestRetriedRefundRefundsOnce is TestRetriedCreateChargesOnce for refunds
// and merchant_refund_id, with the answer lost as a 502 from a proxy.
func TestRetriedRefundRefundsOnce(t *testing.T) {
	c, mux, _ := setup(t, justap.WithMaxRetries(2), faultBackoff)
	var (
		mu      sync.Mutex
		refunds = map[string]bool{}
		bodies  [][]byte
	)
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req struct {
			MerchantRefundID string `json:"merchant_refund_id"`
		}
		if err := json.Unmarshal(b, &req); err != nil || req.MerchantRefundID == "" {
			writeJSON(w, 400, `{"code":3,"message":"merchant_refund_id is required"}`)
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		exists := refunds[req.MerchantRefundID]
		refunds[req.MerchantRefundID] = true
		mu.Unlock()
		if exists {
			writeJSON(w, 409, `{"code":6,"message":"refund already exists"}`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html>502 Bad Gateway</html>")
	})
	_, err := c.Refunds.Create(context.Background(), &justap.RefundCreateParams{
		ChargeID: "ch_1", MerchantRefundID: "refund-once", Description: "damaged", Amount: justap.Amount(100),
	}, justap.WithRecovery(false))
	var e *justap.Error
	if !errors.As(err, &e) || !errors.Is(err, justap.ErrConflict) || e.Attempts != 2 {
		t.Fatalf("err = %v, want a conflict after 2 attempts", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refunds) != 1 || len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Errorf("%d refunds from %d creates; bodies\n%s", len(refunds), len(bodies), bytes.Join(bodies, []byte("\n")))
	}
}

// TestFakeFaultMatrix injects every kind of fault of the stateful fake
// (justaptest) into every operation, once, and checks the outcome and the
// fake's state: a retried call succeeds on its second attempt, a create
// whose response was lost ends in ErrConflict with exactly one object made,
// and a malformed 200 is returned as it is, not retried.
func TestFakeFaultMatrix(t *testing.T) {
	type opCase struct {
		op     justaptest.Op
		create bool // a create: a lost response makes the retry a duplicate
		// run calls the operation; made reports how many objects with the
		// operation's merchant id exist afterwards (creates only).
		run  func(ctx context.Context, c *justap.Client, s *fakeState, opts ...justap.Option) error
		made func(srv *justaptest.Server, s *fakeState) int
	}
	ops := []opCase{
		{
			op: justaptest.OpCreateCharge, create: true,
			run: func(ctx context.Context, c *justap.Client, _ *fakeState, opts ...justap.Option) error {
				_, err := c.Charges.Create(ctx, faultCreateParams("order-new"), opts...)
				return err
			},
			made: func(srv *justaptest.Server, _ *fakeState) int {
				n := 0
				for _, ch := range srv.Charges() {
					if ch.MerchantTradeID == "order-new" {
						n++
					}
				}
				return n
			},
		},
		{
			op: justaptest.OpGetCharge,
			run: func(ctx context.Context, c *justap.Client, s *fakeState, opts ...justap.Option) error {
				ch, err := c.Charges.Get(ctx, s.paid.ID, opts...)
				if err == nil && ch.ID != s.paid.ID {
					return fmt.Errorf("got charge %s, want %s", ch.ID, s.paid.ID)
				}
				return err
			},
		},
		{
			op: justaptest.OpListCharges,
			run: func(ctx context.Context, c *justap.Client, _ *fakeState, opts ...justap.Option) error {
				l, err := c.Charges.List(ctx, nil, opts...)
				if err == nil && len(l.Data) != 2 {
					return fmt.Errorf("listed %d charges, want 2", len(l.Data))
				}
				return err
			},
		},
		{
			op: justaptest.OpReverseCharge,
			run: func(ctx context.Context, c *justap.Client, s *fakeState, opts ...justap.Option) error {
				ch, err := c.Charges.Reverse(ctx, s.unpaid.ID, opts...)
				if err == nil && !ch.Reversed {
					return fmt.Errorf("charge %s is not reversed", ch.ID)
				}
				return err
			},
		},
		{
			op: justaptest.OpCreateRefund, create: true,
			run: func(ctx context.Context, c *justap.Client, s *fakeState, opts ...justap.Option) error {
				_, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
					ChargeID: s.paid.ID, MerchantRefundID: "refund-new", Description: "returned", Amount: 100,
				}, opts...)
				return err
			},
			made: func(srv *justaptest.Server, s *fakeState) int {
				ch, _ := srv.Charge(s.paid.ID)
				n := 0
				for _, r := range ch.Refunds {
					if r.MerchantRefundID == "refund-new" {
						n++
					}
				}
				return n
			},
		},
		{
			op: justaptest.OpGetRefund,
			run: func(ctx context.Context, c *justap.Client, s *fakeState, opts ...justap.Option) error {
				_, err := c.Refunds.Get(ctx, s.paid.ID, s.refund.ID, opts...)
				return err
			},
		},
		{
			op: justaptest.OpListRefunds,
			run: func(ctx context.Context, c *justap.Client, s *fakeState, opts ...justap.Option) error {
				l, err := c.Refunds.List(ctx, s.paid.ID, nil, opts...)
				if err == nil && len(l.Data) != 1 {
					return fmt.Errorf("listed %d refunds, want 1", len(l.Data))
				}
				return err
			},
		},
	}
	faults := []struct {
		name  string
		fault justaptest.Fault
		opts  []justap.Option
	}{
		{"503 with Retry-After", justaptest.Fault{Status: 503, RetryAfter: "0"}, nil},
		{"HTML 502", justaptest.Fault{Status: 502, Body: "<html><body>502 Bad Gateway</body></html>"}, nil},
		{"429", justaptest.Fault{Status: 429}, nil},
		{"reset", justaptest.Fault{Kind: justaptest.FaultReset}, nil},
		{"hang", justaptest.Fault{Kind: justaptest.FaultHang}, []justap.Option{justap.WithRequestTimeout(500 * time.Millisecond)}},
		{"drop response", justaptest.Fault{Kind: justaptest.FaultDropResponse}, nil},
		{"malformed", justaptest.Fault{Kind: justaptest.FaultMalformed}, nil},
	}
	for _, o := range ops {
		for _, f := range faults {
			t.Run(string(o.op)+"/"+f.name, func(t *testing.T) {
				c, srv := fakeClient(t, justap.WithMaxRetries(2))
				ctx := context.Background()
				s := newFakeState(t, c, srv)
				before := srv.Count(o.op)
				f.fault.Op = o.op
				srv.FailNext(1, f.fault)

				err := o.run(ctx, c, s, f.opts...)
				requests := srv.Count(o.op) - before
				var e *justap.Error
				errors.As(err, &e)
				switch {
				case f.fault.Kind == justaptest.FaultMalformed:
					// A 200 that cannot be read is not retried. On a create
					// or a reverse it may have done the work, so the outcome
					// is unknown (here the fake did nothing, and a create's
					// lookup finds nothing); a read changes nothing.
					if !errors.Is(err, justap.ErrMalformedResponse) || e.Attempts != 1 || requests != 1 {
						t.Errorf("err = %v after %d requests, want ErrMalformedResponse after 1", err, requests)
					}
					changes := o.create || o.op == justaptest.OpReverseCharge
					if e != nil && e.OutcomeUnknown() != changes {
						t.Errorf("OutcomeUnknown() = %v, want %v", e.OutcomeUnknown(), changes)
					}
				case f.fault.Kind == justaptest.FaultDropResponse && o.create:
					// The first attempt made it; the retry is refused, and
					// the lookup by merchant id finds it.
					if err != nil || requests != 2 {
						t.Errorf("err = %v after %d requests, want success (recovered) after 2", err, requests)
					}
				default:
					if err != nil || requests != 2 {
						t.Errorf("err = %v after %d requests, want success on the second", err, requests)
					}
				}
				if o.made != nil {
					want := 1
					if f.fault.Kind == justaptest.FaultMalformed {
						want = 0 // the fake does not process a request it answers malformed
					}
					if got := o.made(srv, s); got != want {
						t.Errorf("%d objects made, want %d", got, want)
					}
				}
				if n := srv.PendingFaults(); n != 0 {
					t.Errorf("%d faults left unused", n)
				}
			})
		}
	}
}

// fakeState is what TestFakeFaultMatrix's operations work on: a paid
// charge with one refund, and an unpaid charge.
type fakeState struct {
	paid, unpaid *justap.Charge
	refund       *justap.Refund
}

func newFakeState(t *testing.T, c *justap.Client, srv *justaptest.Server) *fakeState {
	t.Helper()
	ctx := context.Background()
	paid, err := c.Charges.Create(ctx, faultCreateParams("order-paid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Pay(paid.ID); err != nil {
		t.Fatal(err)
	}
	unpaid, err := c.Charges.Create(ctx, faultCreateParams("order-unpaid"))
	if err != nil {
		t.Fatal(err)
	}
	refund, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: paid.ID, MerchantRefundID: "refund-setup", Description: "setup", Amount: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeState{paid: paid, unpaid: unpaid, refund: refund}
}

// TestCorruptGzip: a body whose gzip encoding is corrupt arrived whole but
// cannot be read. It is ErrMalformedResponse, not "no response", and a 200
// is not retried as a transport failure would be; an error status still
// decides the retry.
func TestCorruptGzip(t *testing.T) {
	var good bytes.Buffer
	zw := gzip.NewWriter(&good)
	zw.Write([]byte(faultChargeBody))
	zw.Close()
	valid := good.Bytes()
	badChecksum := bytes.Clone(valid)
	badChecksum[len(badChecksum)-8] ^= 0xff // the CRC-32 of the trailer
	badData := bytes.Clone(valid)
	badData[10] = 0xff // the first deflate block header: a reserved block type
	tests := []struct {
		name         string
		status       int
		body         []byte
		wantAttempts int
	}{
		{"not gzip at all", 200, []byte(faultChargeBody), 1},
		{"bad checksum", 200, badChecksum, 1},
		{"corrupt deflate data", 200, badData, 1},
		{"not gzip, on a 503", 503, []byte(`{"code":14}`), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t, justap.WithMaxRetries(2), faultBackoff)
			var calls atomic.Int32
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(tt.status)
				w.Write(tt.body)
			})
			ch, err := c.Charges.Get(context.Background(), "ch_1")
			var e *justap.Error
			if ch != nil || !errors.As(err, &e) {
				t.Fatalf("Get = %v, %v; want a *justap.Error", ch, err)
			}
			if !errors.Is(err, justap.ErrMalformedResponse) || errors.Is(err, justap.ErrNoResponse) {
				t.Errorf("err = %v; want ErrMalformedResponse and not ErrNoResponse", err)
			}
			if e.StatusCode != tt.status || e.Attempts != tt.wantAttempts || int(calls.Load()) != tt.wantAttempts {
				t.Errorf("status %d after %d attempts (%d requests); want %d after %d",
					e.StatusCode, e.Attempts, calls.Load(), tt.status, tt.wantAttempts)
			}
		})
	}
	// The control: the same body, well encoded, is read.
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(valid)
	})
	if ch, err := c.Charges.Get(context.Background(), "ch_1"); err != nil || ch.ID != "ch_1" {
		t.Fatalf("Get of a valid gzip body = %v, %v", ch, err)
	}
}
