package justap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

// secretKey is the key of the secrets tests: no part of it may leak.
const secretKey = "sk_live_Zq8Xv3Lm9Pw2Rt7Ny4Kb6Hc1Jd5"

// leakCheck collects text the package produced and fails the test if any
// of it holds the key or any 8 consecutive bytes of it.
type leakCheck struct {
	t     *testing.T
	key   string
	texts []string
}

func (l *leakCheck) add(what, text string) {
	l.t.Helper()
	if text == "" {
		l.t.Errorf("%s: empty text, nothing checked", what)
		return
	}
	l.texts = append(l.texts, what+": "+text)
	for i := 0; i+8 <= len(l.key); i++ {
		if part := l.key[i : i+8]; strings.Contains(text, part) {
			l.t.Errorf("%s leaks %q of the API key:\n%s", what, part, text)
			return
		}
	}
}

// addFormatted prints v with every verb a caller might use.
func (l *leakCheck) addFormatted(what string, v any) {
	l.t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		l.add(what+" "+verb, fmt.Sprintf(verb, v))
	}
}

// syncBuffer is a bytes.Buffer for log handlers written from many
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fanout sends every record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if err := h.Handle(ctx, r.Clone()); err != nil {
			return err
		}
	}
	return nil
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithAttrs(as)
	}
	return g
}

func (f fanout) WithGroup(name string) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithGroup(name)
	}
	return g
}

// TestSecretsNeverPrinted prints every value the package hands out, with
// every verb, after failures of every kind, including a server that echoes
// the key back; and logs every attempt through JSON and text handlers. The
// key appears nowhere.
func TestSecretsNeverPrinted(t *testing.T) {
	l := &leakCheck{t: t, key: secretKey}
	var jsonLog, textLog syncBuffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	logger := slog.New(fanout{slog.NewJSONHandler(&jsonLog, opts), slog.NewTextHandler(&textLog, opts)})

	mux := http.NewServeMux()
	var flaky atomic.Int32
	mux.HandleFunc("GET /api/transaction/v1/charges/ch_401", func(w http.ResponseWriter, r *http.Request) {
		// A careless gateway that quotes the key it refused, everywhere.
		key := r.Header.Get("X-Justap-Api-Key")
		w.Header().Set("X-Request-Id", key)
		writeJSON(w, 401, `{"code":16,"message":"unknown API key `+key+`","details":[{"@type":"x","key":"`+key+`"}]}`)
	})
	mux.HandleFunc("GET /api/transaction/v1/charges/ch_422", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Justap-Api-Key")
		writeJSON(w, 422, `{"error_code":"`+key+`","error_message":"bad","error_reason":"`+key+`"}`)
	})
	mux.HandleFunc("GET /api/transaction/v1/charges/ch_html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html>proxy error for "+r.Header.Get("X-Justap-Api-Key")+"</html>")
	})
	mux.HandleFunc("GET /api/transaction/v1/charges/ch_bad_amount", func(w http.ResponseWriter, r *http.Request) {
		// A success whose amount quotes the key: the decoding error must
		// not repeat it.
		writeJSON(w, 200, `{"object":"Charge","data":{"charge_id":"ch_1","amount":"`+r.Header.Get("X-Justap-Api-Key")+`"}}`)
	})
	mux.HandleFunc("GET /api/transaction/v1/charges/ch_flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1)%2 == 1 {
			writeJSON(w, 503, `{"code":14,"message":"try again"}`)
			return
		}
		writeJSON(w, 200, faultChargeBody)
	})
	mux.HandleFunc("GET /api/transaction/v1/charges/ch_reset", func(w http.ResponseWriter, _ *http.Request) {
		hangUp(t, w, true, "")
	})
	mux.HandleFunc("POST /api/transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 409, `{"code":6,"message":"exists"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	withHTTP := justap.WithHTTPClient(srv.Client())
	options := []justap.Option{
		justap.WithBaseURL(srv.URL + "/api"), justap.WithAppID("app_1"), withHTTP, justap.WithLogger(logger),
		justap.WithUserAgent("shop/1.0"), justap.WithMaxRetries(2), faultBackoff,
	}
	c, err := justap.NewClient(secretKey, options...)
	if err != nil {
		t.Fatal(err)
	}
	l.addFormatted("client", c)
	l.addFormatted("*client", *c)
	l.addFormatted("Charges", c.Charges)
	l.addFormatted("Refunds", c.Refunds)
	l.addFormatted("*Charges", *c.Charges)
	l.addFormatted("options", options)
	l.add("BaseURL", c.BaseURL())

	ctx := context.Background()
	var apiErrs []error
	for _, id := range []string{"ch_401", "ch_422", "ch_html", "ch_bad_amount", "ch_reset"} {
		_, err := c.Charges.Get(ctx, id)
		apiErrs = append(apiErrs, err)
	}
	if _, err := c.Charges.Get(ctx, "ch_flaky"); err != nil {
		t.Errorf("Get(ch_flaky): %v", err)
	}
	_, err = c.Charges.Create(ctx, faultCreateParams("order-1"))
	apiErrs = append(apiErrs, err)
	// A transport error from a closed gateway.
	refused, err := justap.NewClient(secretKey, justap.WithBaseURL(refusedURL(t)), faultBackoff, justap.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	l.addFormatted("refused client", refused)
	_, err = refused.Refunds.List(ctx, "ch_1", nil, justap.WithAppID("app_1"))
	apiErrs = append(apiErrs, err)
	// A context that is done.
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Refunds.Get(done, "ch_1", "re_1")
	apiErrs = append(apiErrs, err)

	for i, err := range apiErrs {
		var e *justap.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %d = %T %v, want a *justap.Error", i, err, err)
		}
		what := fmt.Sprintf("error %d (%s %s)", i, e.Method, e.Path)
		l.addFormatted(what, err)
		l.addFormatted(what+" deref", *e)
		l.add(what+" Error()", e.Error())
		l.add(what+" Message", e.Message)
		if len(e.Body) > 0 {
			l.add(what+" Body", string(e.Body))
		}
		if e.RequestID != "" {
			l.add(what+" RequestID", e.RequestID)
		}
		if e.Reason != "" {
			l.add(what+" Reason", e.Reason)
		}
		if e.Err != nil {
			l.addFormatted(what+" Err", e.Err)
		}
	}
	// The server's own words survive, with the key cut out.
	var e401 *justap.Error
	if errors.As(apiErrs[0], &e401) && (e401.Code != 16 || !strings.Contains(e401.Message, "unknown API key [redacted]")) {
		t.Errorf("401: code %d, message %q; want code 16 and the message with the key redacted", e401.Code, e401.Message)
	}
	if !errors.Is(apiErrs[3], justap.ErrMalformedResponse) {
		t.Errorf("bad amount: %v, want ErrMalformedResponse", apiErrs[3])
	}

	// Validation errors, of the params and of options.
	_, err = c.Charges.Create(ctx, &justap.ChargeCreateParams{MerchantTradeID: "x"})
	var ve *justap.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Create without fields: %v, want a *ValidationError", err)
	}
	l.addFormatted("validation error", err)
	l.addFormatted("validation error deref", *ve)
	_, err = c.Charges.Get(ctx, "ch_1", justap.WithMaxRetries(-1))
	l.addFormatted("option error", err)

	l.add("JSON log", jsonLog.String())
	l.add("text log", textLog.String())
	if n := strings.Count(jsonLog.String(), "\n"); n < 10 {
		t.Errorf("JSON log has %d records; the test meant to log every attempt:\n%s", n, jsonLog.String())
	}
}

// TestHeaderInjectionRejected: a key, user agent or app id that would
// break the request's headers is refused when the client or the call is
// configured, and the error does not repeat the key.
func TestHeaderInjectionRejected(t *testing.T) {
	for _, key := range []string{
		secretKey + "\r\nX-Evil: 1",
		secretKey + "\n",
		"\r" + secretKey,
		secretKey + "\x00",
		secretKey + "\x7f",
	} {
		c, err := justap.NewClient(key)
		if err == nil || c != nil {
			t.Errorf("NewClient(%q) = %v, %v; want an error", key, c, err)
			continue
		}
		l := &leakCheck{t: t, key: secretKey}
		l.addFormatted("NewClient error", err)
	}
	for name, opt := range map[string]justap.Option{
		"WithUserAgent CRLF": justap.WithUserAgent("shop/1.0\r\nX-Evil: 1"),
		"WithUserAgent LF":   justap.WithUserAgent("shop/1.0\nX-Evil: 1"),
		"WithAppID CRLF":     justap.WithAppID("app_1\r\nX-Evil: 1"),
		"WithAppID NUL":      justap.WithAppID("app_1\x00"),
	} {
		if _, err := justap.NewClient(secretKey, opt); err == nil {
			t.Errorf("NewClient with %s: no error", name)
		} else {
			(&leakCheck{t: t, key: secretKey}).addFormatted(name, err)
		}
		// The same option on a call fails the call before anything is sent.
		c, mux, _ := setup(t)
		mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) {
			t.Errorf("%s: a request was sent", name)
		})
		if _, err := c.Charges.Get(context.Background(), "ch_1", opt); err == nil {
			t.Errorf("Get with %s: no error", name)
		}
	}
}

// TestPathInjectionEscaped: an id never becomes more than one path segment,
// a query or a fragment.
func TestPathInjectionEscaped(t *testing.T) {
	c, mux, _ := setup(t)
	var got []string
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath()+" query="+r.URL.RawQuery)
		writeJSON(w, 200, faultChargeBody)
	})
	for _, id := range []string{"../refunds", "ch_1/reverse", "ch_1?app_id=other", "ch_1#x", "ch 1\r\nX: y", "%2e%2e"} {
		if _, err := c.Charges.Get(context.Background(), id); err != nil {
			t.Errorf("Get(%q): %v", id, err)
		}
	}
	want := []string{
		"/transaction/v1/charges/..%2Frefunds query=app_id=app_test_1",
		"/transaction/v1/charges/ch_1%2Freverse query=app_id=app_test_1",
		"/transaction/v1/charges/ch_1%3Fapp_id=other query=app_id=app_test_1",
		"/transaction/v1/charges/ch_1%23x query=app_id=app_test_1",
		"/transaction/v1/charges/ch%201%0D%0AX:%20y query=app_id=app_test_1",
		"/transaction/v1/charges/%252e%252e query=app_id=app_test_1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRedirectNotFollowed: a gateway (or anything in front of it) that
// redirects must not get the key sent to another host, nor a create turned
// into a GET. The redirect comes back as an error.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if k := r.Header.Get("X-Justap-Api-Key"); k != "" {
			t.Errorf("the key reached another host: %s %s", r.Method, r.URL)
		}
		writeJSON(w, 200, faultChargeBody)
	}))
	defer other.Close()

	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, client := range []string{"default client", "caller's client"} {
			t.Run(fmt.Sprintf("%d %s", code, client), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, other.URL+r.URL.Path, code)
				}))
				defer srv.Close()
				hc := &http.Client{Transport: &http.Transport{}}
				defer hc.CloseIdleConnections()
				opts := []justap.Option{justap.WithBaseURL(srv.URL), justap.WithMaxRetries(0)}
				if client == "caller's client" {
					opts = append(opts, justap.WithHTTPClient(hc))
				}
				c, err := justap.NewClient(testAPIKey, opts...)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Charges.Create(context.Background(), faultCreateParams("order-1"), justap.WithAppID("app_1"))
				var e *justap.Error
				if !errors.As(err, &e) || e.StatusCode != code || e.Attempts != 1 {
					t.Fatalf("err = %v, want a *justap.Error with status %d after 1 attempt", err, code)
				}
				if !strings.Contains(err.Error(), "redirect") {
					t.Errorf("error does not mention the redirect: %v", err)
				}
				if hc.CheckRedirect != nil {
					t.Error("the caller's http.Client was modified")
				}
			})
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

// TestNoLoggerNoLogs: without WithLogger nothing is logged, not even to
// slog's default logger.
func TestNoLoggerNoLogs(t *testing.T) {
	var buf syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	c, mux, _ := setup(t, justap.WithMaxRetries(1), faultBackoff, justap.WithRequestTimeout(time.Minute))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 503, "") })
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err == nil {
		t.Fatal("want an error")
	}
	if s := buf.String(); s != "" {
		t.Errorf("logged without a logger:\n%s", s)
	}
}

// TestKeyRedactedBeforeEveryCut: text is cut in several places (a decoding
// error quotes 40 bytes, Error.Body keeps 4 KiB, the body read stops at
// WithMaxResponseBytes, the server's message and request id are bounded).
// A long key the server echoes across any of those cuts leaves no part of
// itself in an error, its formatted forms, or a log record.
func TestKeyRedactedBeforeEveryCut(t *testing.T) {
	const longKey = "sk_live_" + "Q7mV2xK9pL4wR8tN3bH6cJ1dF5gZ0sYaEeUu" // 44 characters
	pad := func(n int) string { return strings.Repeat("p", n) }
	tests := []struct {
		name    string
		opts    []justap.Option
		status  int
		header  string // X-Request-Id
		body    string
		refunds bool // call Refunds.Get rather than Charges.Get
	}{
		{name: "key as a charge amount (quoted 40 bytes)", status: 200,
			body: `{"object":"Charge","data":{"charge_id":"ch_1","amount":"` + longKey + `"}}`},
		{name: "key as a bare amount", status: 200,
			body: `{"object":"Charge","data":{"charge_id":"ch_1","amount":` + longKey + `}}`},
		{name: "key as a refund amount", status: 200, refunds: true,
			body: `{"object":"Refund","data":{"refund_id":"re_1","amount":"` + longKey + `"}}`},
		{name: "key as a time", status: 200,
			body: `{"object":"Charge","data":{"charge_id":"ch_1","created_at":"` + longKey + `"}}`},
		{name: "key as a count of seconds", status: 200,
			body: `{"object":"Charge","data":{"charge_id":"ch_1","ttl":"` + longKey + `"}}`},
		{name: "key crossing the 4 KiB cut of Body", status: 400,
			body: `{"message":"x","pad":"` + pad(4096-len(`{"message":"x","pad":"`)-10) + longKey + `"}`},
		{name: "key crossing the 4 KiB cut of a 200's Body", status: 200,
			body: `{"object":"Charge","data":null,"pad":"` + pad(4096-len(`{"object":"Charge","data":null,"pad":"`)-20) + longKey + `"}`},
		{name: "key crossing the response limit", status: 500, opts: []justap.Option{justap.WithMaxResponseBytes(1000)},
			body: `{"message":"` + pad(1000-len(`{"message":"`)-15) + longKey + `"}`},
		{name: "key crossing the response limit of a 200", status: 200, opts: []justap.Option{justap.WithMaxResponseBytes(1000)},
			body: `{"object":"Charge","data":{"description":"` + pad(1000-len(`{"object":"Charge","data":{"description":"`)-30) + longKey + `"}}`},
		{name: "key crossing the cut of the message", status: 400,
			body: `{"code":3,"message":"` + pad(500) + longKey + `"}`},
		{name: "key crossing the cut of the reason", status: 400,
			body: `{"error_code":"` + pad(505) + longKey + `"}`},
		{name: "key crossing the cut of the request id", status: 503, header: pad(490) + longKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			logger := slog.New(fanout{slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
				slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
			mux := http.NewServeMux()
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("X-Request-Id", tt.header)
				}
				writeJSON(w, tt.status, tt.body)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c, err := justap.NewClient(longKey, append([]justap.Option{justap.WithBaseURL(srv.URL),
				justap.WithAppID(testAppID), justap.WithMaxRetries(0), justap.WithLogger(logger)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.refunds {
				_, err = c.Refunds.Get(context.Background(), "ch_1", "re_1")
			} else {
				_, err = c.Charges.Get(context.Background(), "ch_1")
			}
			var e *justap.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *justap.Error", err)
			}
			l := &leakCheck{t: t, key: longKey}
			l.addFormatted("the error", err)
			l.add("Message", e.Message+" ")
			l.add("Reason", e.Reason+" ")
			l.add("RequestID", e.RequestID+" ")
			l.add("Body", string(e.Body)+" ")
			if e.Err != nil {
				l.add("Err", e.Err.Error())
			}
			l.add("logs", logs.String())
		})
	}
}
