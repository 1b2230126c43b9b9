package justap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/internal/testutil"
	"go.uber.org/goleak"
)

// announceClient returns a client whose every call gets body, announced
// as length bytes as a lying or hostile server may, under a response limit.
func announceClient(t *testing.T, length int64, body string, limit int64) *justap.Client {
	return cannedClient(t, &cannedTransport{status: http.StatusOK, body: []byte(body), length: length},
		justap.WithMaxResponseBytes(limit))
}

// TestResponseLengthNotTrusted: the announced Content-Length sizes nothing.
// A small body announced as 1 GiB under a 1 GiB limit costs what the body
// does, and a length as large as an int64 holds neither panics nor
// allocates.
func TestResponseLengthNotTrusted(t *testing.T) {
	const body = `{"object":"Charge","data":{"charge_id":"ch_1","amount":"0.01"}}`
	for _, tt := range []struct {
		name          string
		length, limit int64
	}{
		{"1GiB announced, 1GiB limit", 1 << 30, 1 << 30},
		{"MaxInt64 announced, MaxInt64 limit", math.MaxInt64, math.MaxInt64},
		{"MaxInt64 announced, default limit", math.MaxInt64, justap.DefaultMaxResponseBytes},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := announceClient(t, tt.length, body, tt.limit)
			get := func() {
				ch, err := c.Charges.Get(context.Background(), "ch_1")
				if err != nil || ch.ID != "ch_1" || ch.Amount != 1 {
					t.Fatalf("Get = %+v, %v", ch, err)
				}
			}
			get() // warm up
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			get()
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("one call allocated %d bytes for a %d-byte body; want well under 1 MiB", n, len(body))
			}
		})
	}
}

// TestResponseOverLimit: a body one byte over the limit fails as
// malformed, and a body at the limit is read whole.
func TestResponseOverLimit(t *testing.T) {
	t.Parallel()
	const body = `{"object":"Charge","data":{"charge_id":"ch_1"}}`
	n := int64(len(body))
	for _, length := range []int64{-1, n} { // unknown length, and the true one
		if _, err := announceClient(t, length, body, n).Charges.Get(context.Background(), "ch_1"); err != nil {
			t.Errorf("length %d, body at the limit: %v", length, err)
		}
		_, err := announceClient(t, length, body, n-1).Charges.Get(context.Background(), "ch_1")
		var e *justap.Error
		if !errors.As(err, &e) || !errors.Is(err, justap.ErrMalformedResponse) || !bytes.HasPrefix([]byte(body), e.Body) {
			t.Errorf("length %d, body over the limit: err = %v, want a malformed-response *Error", length, err)
		}
	}
}

// attrs returns a record's attributes by key.
func attrs(r slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value
		return true
	})
	return m
}

// TestLogOneRecordPerAttempt: a call retried twice logs three debug
// records with method, path, status, attempt, duration and request id, the
// failures with their error; and no body, no key, no query.
func TestLogOneRecordPerAttempt(t *testing.T) {
	t.Parallel()
	rec := &recorder{level: slog.LevelDebug}
	c, mux, _ := setup(t, justap.WithLogger(slog.New(rec)), justap.WithMaxRetries(2), faultBackoff)
	var n int
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n++
		w.Header().Set("X-Request-Id", "req-"+string(rune('0'+n)))
		switch n {
		case 1:
			writeJSON(w, 503, `{"code":14,"message":"RESPONSE-BODY-MARKER busy"}`)
		case 2:
			writeJSON(w, 429, `{"code":8,"message":"RESPONSE-BODY-MARKER slow down"}`)
		default:
			writeJSON(w, 200, strings.Replace(faultChargeBody, `"T-shirt"`, `"RESPONSE-BODY-MARKER"`, 1))
		}
	})
	p := chargeParams("order-log", 1999)
	p.Subject = "REQUEST-BODY-MARKER"
	if _, err := c.Charges.Create(context.Background(), p); err != nil {
		t.Fatalf("Create: %v", err)
	}

	recs := rec.records()
	if len(recs) != 3 {
		t.Fatalf("%d records, want one per attempt (3)", len(recs))
	}
	for i, r := range recs {
		a := attrs(r)
		if r.Level != slog.LevelDebug {
			t.Errorf("record %d: level %v, want debug", i+1, r.Level)
		}
		wantStatus := []int64{503, 429, 200}[i]
		checks := []struct {
			key  string
			want any
		}{
			{"method", "POST"},
			{"path", "/transaction/v1/charges"},
			{"status", wantStatus},
			{"attempt", int64(i + 1)},
			{"request_id", "req-" + string(rune('1'+i))},
		}
		for _, ch := range checks {
			v, ok := a[ch.key]
			if !ok {
				t.Errorf("record %d: no %q", i+1, ch.key)
				continue
			}
			if got := v.Any(); got != ch.want {
				t.Errorf("record %d: %s = %v (%T), want %v", i+1, ch.key, got, got, ch.want)
			}
		}
		if d, ok := a["duration"]; !ok || d.Kind() != slog.KindDuration || d.Duration() <= 0 {
			t.Errorf("record %d: duration = %v, want a positive duration", i+1, d)
		}
		// A failed attempt logs the server's code and whether it is
		// retried, not the server's message.
		if i < 2 {
			if code, retry := a["code"], a["retry"]; code.Int64() != []int64{14, 8}[i] || !retry.Bool() {
				t.Errorf("record %d: code = %v, retry = %v; want %d, true", i+1, code, retry, []int64{14, 8}[i])
			}
		} else if _, ok := a["retry"]; ok {
			t.Errorf("record 3 (a success) has retry")
		}
		var all strings.Builder
		all.WriteString(r.Message)
		for k, v := range a {
			all.WriteString(" " + k + "=" + v.String())
		}
		for _, bad := range []string{"REQUEST-BODY-MARKER", "RESPONSE-BODY-MARKER", testAPIKey, "app_id", testAppID} {
			if strings.Contains(all.String(), bad) {
				t.Errorf("record %d logs %q: %s", i+1, bad, all.String())
			}
		}
	}
}

// TestLogTransportFailure: an attempt without a response logs status 0 and
// its error; a per-call logger works and replaces the client's.
func TestLogTransportFailure(t *testing.T) {
	t.Parallel()
	clientRec := &recorder{level: slog.LevelDebug}
	callRec := &recorder{level: slog.LevelDebug}
	c, err := justap.NewClient(testAPIKey, justap.WithBaseURL(refusedURL(t)), justap.WithAppID(testAppID),
		justap.WithLogger(slog.New(clientRec)), justap.WithMaxRetries(1), faultBackoff)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Charges.Get(context.Background(), "ch_1", justap.WithLogger(slog.New(callRec))); err == nil {
		t.Fatal("want an error")
	}
	if n := len(clientRec.records()); n != 0 {
		t.Errorf("the client's logger got %d records, want 0 (the call has its own)", n)
	}
	recs := callRec.records()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for i, r := range recs {
		a := attrs(r)
		if a["status"].Int64() != 0 || a["attempt"].Int64() != int64(i+1) ||
			!strings.Contains(a["error"].String(), "connection refused") || !a["retry"].Bool() {
			t.Errorf("record %d = %v, want status 0, attempt %d, a connection refused error", i+1, a, i+1)
		}
		if _, ok := a["request_id"]; ok {
			t.Errorf("record %d has a request id without a response", i+1)
		}
	}
}

// TestLogNotAtInfo: a logger whose level is above debug gets nothing.
func TestLogNotAtInfo(t *testing.T) {
	t.Parallel()
	rec := &recorder{level: slog.LevelInfo}
	c, mux, _ := setup(t, justap.WithLogger(slog.New(rec)), justap.WithRequestTimeout(time.Minute))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, faultChargeBody) })
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.records()); n != 0 {
		t.Errorf("%d records at info level, want 0", n)
	}
	// A nil logger is no logger.
	if _, err := c.Charges.Get(context.Background(), "ch_1", justap.WithLogger(nil)); err != nil {
		t.Fatal(err)
	}
}

// TestLogNoBodyText: a response that cannot be decoded is logged as
// malformed, without the decoding error that quotes the body.
func TestLogNoBodyText(t *testing.T) {
	t.Parallel()
	rec := &recorder{level: slog.LevelDebug}
	c, mux, _ := setup(t, justap.WithLogger(slog.New(rec)))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"object":"Charge","data":{"charge_id":"ch_1","amount":"RESPONSE-BODY-MARKER"}}`)
	})
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err == nil {
		t.Fatal("want an error")
	}
	recs := rec.records()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	a := attrs(recs[0])
	if got := a["error"].String(); got != justap.ErrMalformedResponse.Error() {
		t.Errorf("error = %q, want %q", got, justap.ErrMalformedResponse.Error())
	}
	for k, v := range a {
		if strings.Contains(v.String(), "MARKER") {
			t.Errorf("%s = %q quotes the body", k, v)
		}
	}
}

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
	t.Parallel()
	l := &leakCheck{t: t, key: secretKey}
	var jsonLog, textLog testutil.SyncBuffer
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
	_, err = c.Charges.Create(ctx, chargeParams("order-1", 1999))
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
				_, err = c.Charges.Create(context.Background(), chargeParams("order-1", 1999), justap.WithAppID("app_1"))
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
	var buf testutil.SyncBuffer
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
	t.Parallel()
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
			var logs testutil.SyncBuffer
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

// TestConcurrentSharedClient runs 50 goroutines through one client, every
// operation mixed with per-call options, retried failures (a third of the
// requests fail once, with a 503 or a reset connection) and calls cancelled
// while the server hangs. Run it with -race; goleak checks that nothing
// outlives it.
func TestConcurrentSharedClient(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })

	rec := &recorder{level: slog.LevelDebug}
	c, mux, _ := setup(t, justap.WithMaxRetries(2), faultBackoff, justap.WithLogger(slog.New(rec)))

	var (
		mu       sync.Mutex
		seen     = map[string]int{} // request identity → attempts
		requests atomic.Int64
	)
	// flaky fails the first attempt of a third of the requests, chosen by
	// a hash of the request, so every call succeeds by its second attempt.
	flaky := func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		requests.Add(1)
		id := r.Method + " " + r.URL.String() + " " + string(body)
		mu.Lock()
		seen[id]++
		first := seen[id] == 1
		mu.Unlock()
		h := fnv.New32a()
		io.WriteString(h, id)
		switch sum := h.Sum32(); {
		case !first || sum%3 != 0:
			return false
		case sum%2 == 0:
			writeJSON(w, 503, `{"code":14,"message":"unavailable"}`)
		default:
			hangUp(t, w, true, "")
		}
		return true
	}
	chargeData := func(id, appID string) string {
		return fmt.Sprintf(`{"charge_id":%q,"app_id":%q,"amount":"19.99","channel":"AlipayQR"}`, id, appID)
	}
	charge := func(id, appID string) string { return `{"object":"Charge","data":` + chargeData(id, appID) + `}` }
	refund := func(id, chargeID string) string {
		return fmt.Sprintf(`{"object":"Refund","data":{"refund_id":%q,"charge_id":%q,"amount":1,"created":"1700000123"}}`, id, chargeID)
	}
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !flaky(w, r, b) {
			writeJSON(w, 200, charge("ch_"+jsonField(b, "merchant_trade_id"), jsonField(b, "app_id")))
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "ch_hang" {
			waitDone(r)
			return
		}
		if !flaky(w, r, nil) {
			writeJSON(w, 200, charge(r.PathValue("id"), r.URL.Query().Get("app_id")))
		}
	})
	mux.HandleFunc("POST /transaction/v1/charges/{id}/reverse", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			writeJSON(w, 200, charge(r.PathValue("id"), r.URL.Query().Get("app_id")))
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			q := r.URL.Query()
			data := chargeData("ch_"+q.Get("merchant_trade_id"), q.Get("app_id"))
			writeJSON(w, 200, `{"object":"ChargeList","has_more":false,"data":[`+data+`]}`)
		}
	})
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !flaky(w, r, b) {
			writeJSON(w, 200, refund("re_"+jsonField(b, "merchant_refund_id"), jsonField(b, "charge_id")))
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds/{rid}", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			writeJSON(w, 200, refund(r.PathValue("rid"), r.PathValue("id")))
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			writeJSON(w, 200, `{"object":"RefundList","has_more":false,"total":"1","data":[{"refund_id":"re_1","charge_id":"`+r.PathValue("id")+`"}]}`)
		}
	})

	const goroutines, rounds = 50, 3
	var calls atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := range rounds {
				fail := func(op string, err error) {
					t.Errorf("goroutine %d round %d: %s: %v", g, i, op, err)
				}
				key := fmt.Sprintf("g%d-r%d", g, i)
				app := testAppID
				var opts []justap.Option
				if (g+i)%2 == 0 {
					app = "app_" + key
					opts = append(opts, justap.WithAppID(app), justap.WithMaxRetries(3))
				}
				calls.Add(8)
				ch, err := c.Charges.Create(ctx, chargeParams(key, 1999), opts...)
				if err != nil {
					fail("Create", err)
				} else if ch.ID != "ch_"+key || ch.AppID != app || ch.Amount != 1999 {
					t.Errorf("Create: got %s in %s for %s, amount %v", ch.ID, ch.AppID, key, ch.Amount)
				}
				if ch, err := c.Charges.Get(ctx, "ch_"+key, opts...); err != nil {
					fail("Get", err)
				} else if ch.ID != "ch_"+key || ch.AppID != app {
					t.Errorf("Get: got %s in %s, want ch_%s in %s", ch.ID, ch.AppID, key, app)
				}
				if l, err := c.Charges.List(ctx, &justap.ChargeListParams{MerchantTradeID: key}, opts...); err != nil {
					fail("List", err)
				} else if len(l.Data) != 1 || l.Data[0].ID != "ch_"+key {
					t.Errorf("List: %+v", l)
				}
				if _, err := c.Charges.Reverse(ctx, "ch_"+key, opts...); err != nil {
					fail("Reverse", err)
				}
				re, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
					ChargeID: "ch_" + key, MerchantRefundID: key, Description: "returned", FullRefund: true,
				}, opts...)
				if err != nil {
					fail("Refunds.Create", err)
				} else if re.ID != "re_"+key || re.ChargeID != "ch_"+key || re.Amount != 100 {
					t.Errorf("Refunds.Create: %+v", re)
				}
				if re, err := c.Refunds.Get(ctx, "ch_"+key, "re_"+key, opts...); err != nil {
					fail("Refunds.Get", err)
				} else if re.ID != "re_"+key {
					t.Errorf("Refunds.Get: %+v", re)
				}
				if l, err := c.Refunds.List(ctx, "ch_"+key, nil, opts...); err != nil {
					fail("Refunds.List", err)
				} else if l.Total != 1 || len(l.Data) != 1 || l.Data[0].ChargeID != "ch_"+key {
					t.Errorf("Refunds.List: %+v", l)
				}
				// A call cancelled while the server hangs.
				hctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				_, err = c.Charges.Get(hctx, "ch_hang", opts...)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, justap.ErrNoResponse) {
					fail("Get(ch_hang)", err)
				}
			}
		}()
	}
	wg.Wait()

	mu.Lock()
	var failedOnce int
	for _, n := range seen {
		if n > 1 {
			failedOnce++
		}
	}
	distinct := len(seen)
	mu.Unlock()
	if want := goroutines * rounds * 7; distinct != want {
		t.Errorf("server saw %d distinct requests, want %d", distinct, want)
	}
	if failedOnce == 0 {
		t.Error("no request was retried; the test meant to retry a third of them")
	}
	// Every attempt that reached a handler but the hanging ones was logged.
	if got := int64(len(rec.records())); got < requests.Load() {
		t.Errorf("%d log records for %d requests", got, requests.Load())
	}
	t.Logf("%d calls, %d requests, %d retried", calls.Load(), requests.Load(), failedOnce)
}

// TestOperationsWire checks, for each of the seven operations, the method,
// the escaped path, the query, the body and the headers of the request, and
// that the response is decoded.
func TestOperationsWire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name      string
		method    string
		path      string // escaped, below the base URL
		query     url.Values
		body      string // "" for none
		response  string
		call      func(c *justap.Client) (any, error)
		checkResp func(t *testing.T, v any)
	}{
		{
			name: "create charge", method: "POST", path: "/transaction/v1/charges",
			body: `{"app_id":"app_test_1","merchant_trade_id":"order-1","amount":131072.01,"channel":"AlipayQR",
				"subject":"T-shirt","body":"One T-shirt","client_ip":"203.0.113.7"}`,
			response: chargeJSON,
			call:     func(c *justap.Client) (any, error) { return c.Charges.Create(ctx, chargeParams("order-1", 13107201)) },
			checkResp: func(t *testing.T, v any) {
				if ch := v.(*justap.Charge); ch.ID != "ch_1" || ch.Amount != 13107201 || ch.Channel != justap.ChannelAlipayQR {
					t.Errorf("charge = %+v", ch)
				}
			},
		},
		{
			name: "get charge", method: "GET", path: "/transaction/v1/charges/ch_1",
			query: url.Values{"app_id": {testAppID}}, response: chargeJSON,
			call: func(c *justap.Client) (any, error) { return c.Charges.Get(ctx, "ch_1") },
			checkResp: func(t *testing.T, v any) {
				if ch := v.(*justap.Charge); ch.ID != "ch_1" {
					t.Errorf("charge = %+v", ch)
				}
			},
		},
		{
			name: "get charge, id with a slash", method: "GET", path: "/transaction/v1/charges/a%2F..%2Fb",
			query: url.Values{"app_id": {testAppID}}, response: chargeJSON,
			call: func(c *justap.Client) (any, error) { return c.Charges.Get(ctx, "a/../b") },
		},
		{
			name: "get charge, id with query and fragment characters", method: "GET",
			path:  "/transaction/v1/charges/a%20b%3Fc=d%23e%25",
			query: url.Values{"app_id": {testAppID}}, response: chargeJSON,
			call: func(c *justap.Client) (any, error) { return c.Charges.Get(ctx, "a b?c=d#e%") },
		},
		{
			name: "list charges", method: "GET", path: "/transaction/v1/charges",
			query:    url.Values{"app_id": {testAppID}},
			response: `{"object":"ChargeList","data":[{"charge_id":"ch_2"},{"charge_id":"ch_1"}],"has_more":true}`,
			call:     func(c *justap.Client) (any, error) { return c.Charges.List(ctx, nil) },
			checkResp: func(t *testing.T, v any) {
				l := v.(*justap.ChargeList)
				if len(l.Data) != 2 || l.Data[0].ID != "ch_2" || l.Data[1].ID != "ch_1" || !l.HasMore {
					t.Errorf("list = %+v", l)
				}
			},
		},
		{
			// No app_id: the API lists none for reverse (its official
			// clients stopped sending it in 3.0).
			name: "reverse charge", method: "POST", path: "/transaction/v1/charges/ch_1/reverse",
			response: chargeJSON,
			call:     func(c *justap.Client) (any, error) { return c.Charges.Reverse(ctx, "ch_1") },
		},
		{
			name: "create refund", method: "POST", path: "/transaction/v1/refunds",
			body: `{"app_id":"app_test_1","charge_id":"ch_1","merchant_refund_id":"refund-1",
				"description":"returned","amount":0.50,"metadata":{"justap_merchant_refund_id":"refund-1"}}`,
			response: refundJSON,
			call: func(c *justap.Client) (any, error) {
				return c.Refunds.Create(ctx, refundParams("ch_1", "refund-1", 50))
			},
			checkResp: func(t *testing.T, v any) {
				r := v.(*justap.Refund)
				if r.ID != "re_1" || r.Amount != 50 || !r.Status.Is(justap.RefundStatusRefunding) {
					t.Errorf("refund = %+v", r)
				}
			},
		},
		{
			name: "get refund", method: "GET", path: "/transaction/v1/charges/ch_1/refunds/re%2F1",
			query: url.Values{"app_id": {testAppID}}, response: refundJSON,
			call: func(c *justap.Client) (any, error) { return c.Refunds.Get(ctx, "ch_1", "re/1") },
		},
		{
			name: "list refunds", method: "GET", path: "/transaction/v1/charges/ch_1/refunds",
			query:    url.Values{"app_id": {testAppID}, "limit": {"5"}, "starting_after": {"re_9"}},
			response: `{"object":"RefundList","data":[{"refund_id":"re_1"}],"has_more":false,"total":"7"}`,
			call: func(c *justap.Client) (any, error) {
				return c.Refunds.List(ctx, "ch_1", &justap.RefundListParams{Limit: 5, StartingAfter: "re_9"})
			},
			checkResp: func(t *testing.T, v any) {
				if l := v.(*justap.RefundList); len(l.Data) != 1 || l.Total != 7 || l.HasMore {
					t.Errorf("list = %+v", l)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				testMethod(t, r, tt.method)
				if got := r.URL.EscapedPath(); got != tt.path {
					t.Errorf("path = %s, want %s", got, tt.path)
				}
				testQuery(t, r, tt.query)
				if got := r.Header.Get("X-JUSTAP-API-KEY"); got != testAPIKey {
					t.Errorf("X-JUSTAP-API-KEY = %q, want the client's key", got)
				}
				if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "justap-go/"+justap.Version) {
					t.Errorf("User-Agent = %q, want it to name justap-go/%s", ua, justap.Version)
				}
				if got := r.Header.Get("Accept"); got != "application/json" {
					t.Errorf("Accept = %q", got)
				}
				if tt.body != "" {
					if got := r.Header.Get("Content-Type"); got != "application/json" {
						t.Errorf("Content-Type = %q, want application/json", got)
					}
					testJSONBody(t, r, tt.body)
				} else if r.ContentLength > 0 {
					t.Errorf("unexpected body of %d bytes", r.ContentLength)
				}
				writeJSON(w, http.StatusOK, tt.response)
			})
			v, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if calls.Load() != 1 {
				t.Errorf("requests = %d, want 1", calls.Load())
			}
			if tt.checkResp != nil {
				tt.checkResp(t, v)
			}
		})
	}
}

// TestAppIDPrecedence: the params' AppID, else the call's WithAppID, else
// the client's.
func TestAppIDPrecedence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, mux, _ := setup(t)
	var got string
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		got = decodeExact(t, readAll(t, r)).(map[string]any)["app_id"].(string)
		writeJSON(w, 200, chargeJSON)
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("app_id")
		writeJSON(w, 200, `{"data":[]}`)
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("app_id")
		writeJSON(w, 200, chargeJSON)
	})
	withApp := func(app string) *justap.ChargeCreateParams {
		p := chargeParams("order-1", 13107201)
		p.AppID = app
		return p
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"create: client default", func() error { _, err := c.Charges.Create(ctx, chargeParams("order-1", 13107201)); return err }, testAppID},
		{"create: per call", func() error {
			_, err := c.Charges.Create(ctx, chargeParams("order-1", 13107201), justap.WithAppID("app_call"))
			return err
		}, "app_call"},
		{"create: params win", func() error {
			_, err := c.Charges.Create(ctx, withApp("app_params"), justap.WithAppID("app_call"))
			return err
		}, "app_params"},
		{"list: per call", func() error { _, err := c.Charges.List(ctx, nil, justap.WithAppID("app_call")); return err }, "app_call"},
		{"list: params win", func() error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{AppID: "app_params"}, justap.WithAppID("app_call"))
			return err
		}, "app_params"},
		{"get: per call", func() error { _, err := c.Charges.Get(ctx, "ch_1", justap.WithAppID("app_call")); return err }, "app_call"},
		{"get: client default after a per-call override", func() error { _, err := c.Charges.Get(ctx, "ch_1"); return err }, testAppID},
	}
	for _, tc := range cases {
		got = ""
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: app_id = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestValidation: bad input is a *ValidationError naming the field, and no
// request is sent.
func TestValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	charge := func(edit func(p *justap.ChargeCreateParams)) func(c *justap.Client) error {
		return func(c *justap.Client) error {
			p := chargeParams("order-1", 13107201)
			edit(p)
			_, err := c.Charges.Create(ctx, p)
			return err
		}
	}
	refund := func(edit func(p *justap.RefundCreateParams)) func(c *justap.Client) error {
		return func(c *justap.Client) error {
			p := refundParams("ch_1", "refund-1", 50)
			edit(p)
			_, err := c.Refunds.Create(ctx, p)
			return err
		}
	}
	long := strings.Repeat("x", 33)
	tests := []struct {
		name  string
		call  func(c *justap.Client) error
		field string
	}{
		{"nil charge params", func(c *justap.Client) error { _, err := c.Charges.Create(ctx, nil); return err }, "ChargeCreateParams"},
		{"no app id", func(c *justap.Client) error {
			_, err := c.Charges.Create(ctx, chargeParams("order-1", 13107201), justap.WithAppID(""))
			return err
		}, "ChargeCreateParams.AppID"},
		{"no merchant trade id", charge(func(p *justap.ChargeCreateParams) { p.MerchantTradeID = "" }), "ChargeCreateParams.MerchantTradeID"},
		{"merchant trade id of 33", charge(func(p *justap.ChargeCreateParams) { p.MerchantTradeID = long }), "ChargeCreateParams.MerchantTradeID"},
		{"zero amount", charge(func(p *justap.ChargeCreateParams) { p.Amount = 0 }), "ChargeCreateParams.Amount"},
		{"negative amount", charge(func(p *justap.ChargeCreateParams) { p.Amount = -1 }), "ChargeCreateParams.Amount"},
		{"no channel", charge(func(p *justap.ChargeCreateParams) { p.Channel = "" }), "ChargeCreateParams.Channel"},
		{"unknown channel", charge(func(p *justap.ChargeCreateParams) { p.Channel = "alipayqr" }), "ChargeCreateParams.Channel"},
		{"unspecified channel", charge(func(p *justap.ChargeCreateParams) { p.Channel = justap.ChannelUnspecified }), "ChargeCreateParams.Channel"},
		{"no subject", charge(func(p *justap.ChargeCreateParams) { p.Subject = "" }), "ChargeCreateParams.Subject"},
		{"no body", charge(func(p *justap.ChargeCreateParams) { p.Body = "" }), "ChargeCreateParams.Body"},
		{"no client ip", charge(func(p *justap.ChargeCreateParams) { p.ClientIP = "" }), "ChargeCreateParams.ClientIP"},
		{"bad client ip", charge(func(p *justap.ChargeCreateParams) { p.ClientIP = "localhost" }), "ChargeCreateParams.ClientIP"},
		{"negative ttl", charge(func(p *justap.ChargeCreateParams) { p.TTL = -time.Second }), "ChargeCreateParams.TTL"},
		{"fractional ttl", charge(func(p *justap.ChargeCreateParams) { p.TTL = 1500 * time.Millisecond }), "ChargeCreateParams.TTL"},
		{"extra raw not JSON", charge(func(p *justap.ChargeCreateParams) {
			p.Extra = &justap.ChargeExtra{Raw: []byte(`{"alipay_face":`)}
		}), "ChargeCreateParams.Extra.Raw"},
		{"extra raw not an object", charge(func(p *justap.ChargeCreateParams) {
			p.Extra = &justap.ChargeExtra{Raw: []byte(`[1]`)}
		}), "ChargeCreateParams.Extra.Raw"},
		// A GBK order number ("订单1" in GBK) would be altered on the wire.
		{"merchant trade id in GBK", charge(func(p *justap.ChargeCreateParams) { p.MerchantTradeID = "\xb6\xa9\xb5\xa51" }), "ChargeCreateParams.MerchantTradeID"},
		{"subject not UTF-8", charge(func(p *justap.ChargeCreateParams) { p.Subject = "T\xff" }), "ChargeCreateParams.Subject"},
		{"app id not UTF-8", charge(func(p *justap.ChargeCreateParams) { p.AppID = "app\xff" }), "ChargeCreateParams.AppID"},
		{"metadata not UTF-8", charge(func(p *justap.ChargeCreateParams) { p.Metadata = map[string]string{"k": "\xc0"} }), "ChargeCreateParams.Metadata"},

		{"nil refund params", func(c *justap.Client) error { _, err := c.Refunds.Create(ctx, nil); return err }, "RefundCreateParams"},
		{"refund without charge", refund(func(p *justap.RefundCreateParams) { p.ChargeID = "" }), "RefundCreateParams.ChargeID"},
		{"refund without merchant id", refund(func(p *justap.RefundCreateParams) { p.MerchantRefundID = "" }), "RefundCreateParams.MerchantRefundID"},
		{"merchant refund id of 33", refund(func(p *justap.RefundCreateParams) { p.MerchantRefundID = long }), "RefundCreateParams.MerchantRefundID"},
		{"no description", refund(func(p *justap.RefundCreateParams) { p.Description = "" }), "RefundCreateParams.Description"},
		{"description of 256 characters", refund(func(p *justap.RefundCreateParams) { p.Description = strings.Repeat("退", 256) }), "RefundCreateParams.Description"},
		{"negative refund", refund(func(p *justap.RefundCreateParams) { p.Amount = -1 }), "RefundCreateParams.Amount"},
		{"zero refund without FullRefund", refund(func(p *justap.RefundCreateParams) { p.Amount = 0 }), "RefundCreateParams.Amount"},
		{"amount and FullRefund", refund(func(p *justap.RefundCreateParams) { p.FullRefund = true }), "RefundCreateParams.Amount"},
		{"refund extra not JSON", refund(func(p *justap.RefundCreateParams) { p.Extra = []byte("{") }), "RefundCreateParams.Extra"},
		{"merchant refund id in GBK", refund(func(p *justap.RefundCreateParams) { p.MerchantRefundID = "\xcd\xcb\xbf\xee" }), "RefundCreateParams.MerchantRefundID"},
		{"refund charge id not UTF-8", refund(func(p *justap.RefundCreateParams) { p.ChargeID = "ch_\xff" }), "RefundCreateParams.ChargeID"},
		{"refund description not UTF-8", refund(func(p *justap.RefundCreateParams) { p.Description = "\xff" }), "RefundCreateParams.Description"},
		{"get: id not UTF-8", func(c *justap.Client) error { _, err := c.Charges.Get(ctx, "ch_\xff"); return err }, "chargeID"},
		{"list charges: merchant trade id not UTF-8", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{MerchantTradeID: "\xb6\xa9"})
			return err
		}, "ChargeListParams.MerchantTradeID"},
		{"list refunds: cursor not UTF-8", func(c *justap.Client) error {
			_, err := c.Refunds.List(ctx, "ch_1", &justap.RefundListParams{StartingAfter: "re_\xff"})
			return err
		}, "RefundListParams.StartingAfter"},

		{"get: empty id", func(c *justap.Client) error { _, err := c.Charges.Get(ctx, ""); return err }, "chargeID"},
		{"get: dot-dot id", func(c *justap.Client) error { _, err := c.Charges.Get(ctx, ".."); return err }, "chargeID"},
		{"reverse: empty id", func(c *justap.Client) error { _, err := c.Charges.Reverse(ctx, ""); return err }, "chargeID"},
		{"get refund: empty charge", func(c *justap.Client) error { _, err := c.Refunds.Get(ctx, "", "re_1"); return err }, "chargeID"},
		{"get refund: empty refund", func(c *justap.Client) error { _, err := c.Refunds.Get(ctx, "ch_1", ""); return err }, "refundID"},
		{"list refunds: empty charge", func(c *justap.Client) error { _, err := c.Refunds.List(ctx, "", nil); return err }, "chargeID"},
		{"list charges: limit 0 is fine, 101 is not", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{Limit: 101})
			return err
		}, "ChargeListParams.Limit"},
		{"list charges: limit -1", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{Limit: -1})
			return err
		}, "ChargeListParams.Limit"},
		{"list charges: unknown channel", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{Channel: "Cash"})
			return err
		}, "ChargeListParams.Channel"},
		{"list charges: no app id", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, nil, justap.WithAppID(""))
			return err
		}, "ChargeListParams.AppID"},
		{"list refunds: limit 101", func(c *justap.Client) error {
			_, err := c.Refunds.List(ctx, "ch_1", &justap.RefundListParams{Limit: 101})
			return err
		}, "RefundListParams.Limit"},
	}
	c, mux, _ := setup(t)
	var requests atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeJSON(w, 500, `{}`)
	})
	for _, tt := range tests {
		err := tt.call(c)
		var ve *justap.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a *ValidationError", tt.name, err)
			continue
		}
		if ve.Field != tt.field {
			t.Errorf("%s: Field = %q, want %q", tt.name, ve.Field, tt.field)
		}
		if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "not sent") {
			t.Errorf("%s: message %q should name the field and say nothing was sent", tt.name, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests were sent for invalid input, want 0", n)
	}
}

// TestValidationLimits: the longest allowed values pass.
func TestValidationLimits(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chargeJSON) })
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, refundJSON) })
	ctx := context.Background()
	p := chargeParams("order-1", 13107201)
	p.MerchantTradeID = strings.Repeat("订", 32) // 32 characters, 96 bytes
	if _, err := c.Charges.Create(ctx, p); err != nil {
		t.Errorf("32-character merchant trade id: %v", err)
	}
	r := refundParams("ch_1", "refund-1", 50)
	r.Description = strings.Repeat("退", 255)
	r.MerchantRefundID = strings.Repeat("r", 32)
	if _, err := c.Refunds.Create(ctx, r); err != nil {
		t.Errorf("255-character description: %v", err)
	}
}

// TestParamsNotMutated: calls leave the caller's params as they were, even
// when the app id or other defaults come from options.
func TestParamsNotMutated(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/refunds") && r.Method == "POST":
			writeJSON(w, 200, refundJSON)
		case strings.HasSuffix(r.URL.Path, "/charges") && r.Method == "GET":
			writeJSON(w, 200, `{"data":[]}`)
		default:
			writeJSON(w, 200, chargeJSON)
		}
	})
	ctx := context.Background()
	cp := chargeParams("order-1", 13107201)
	cp.Metadata = map[string]string{"k": "v"}
	cp.Extra = &justap.ChargeExtra{AlipayQR: &justap.QRCodeExtra{}}
	before := *cp
	beforeExtra := *cp.Extra
	if _, err := c.Charges.Create(ctx, cp, justap.WithAppID("app_x")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, *cp) + cmp.Diff(beforeExtra, *cp.Extra); diff != "" {
		t.Errorf("charge params changed:\n%s", diff)
	}
	rp := refundParams("ch_1", "refund-1", 50)
	rb := *rp
	if _, err := c.Refunds.Create(ctx, rp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rb, *rp); diff != "" {
		t.Errorf("refund params changed:\n%s", diff)
	}
	lp := &justap.ChargeListParams{Paid: justap.Bool(false)}
	if _, err := c.Charges.List(ctx, lp); err != nil {
		t.Fatal(err)
	}
	if lp.AppID != "" || lp.Paid == nil || *lp.Paid || lp.Limit != 0 {
		t.Errorf("list params changed: %+v", lp)
	}
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name string
		key  string
		opts []justap.Option
	}{
		{"empty key", "", nil},
		{"key with newline", "sk_test_abc\r\nX-Evil: 1", nil},
		{"key with NUL", "sk_test_\x00", nil},
		{"ftp base URL", "sk_test_1", []justap.Option{justap.WithBaseURL("ftp://h/")}},
		{"relative base URL", "sk_test_1", []justap.Option{justap.WithBaseURL("/api")}},
		{"base URL with credentials", "sk_test_1", []justap.Option{justap.WithBaseURL("https://u:p@h/")}},
		{"base URL with query", "sk_test_1", []justap.Option{justap.WithBaseURL("https://h/?a=1")}},
		{"nil HTTP client", "sk_test_1", []justap.Option{justap.WithHTTPClient(nil)}},
		{"user agent with CRLF", "sk_test_1", []justap.Option{justap.WithUserAgent("shop\r\nX-Evil: 1")}},
		{"app id with LF", "sk_test_1", []justap.Option{justap.WithAppID("app\n")}},
		{"app id not UTF-8", "sk_test_1", []justap.Option{justap.WithAppID("app\xff")}},
		{"negative retries", "sk_test_1", []justap.Option{justap.WithMaxRetries(-1)}},
		{"backoff base above max", "sk_test_1", []justap.Option{justap.WithRetryBackoff(time.Second, time.Millisecond)}},
		{"negative timeout", "sk_test_1", []justap.Option{justap.WithRequestTimeout(-1)}},
		{"backoff of MaxInt64", "sk_test_1", []justap.Option{justap.WithRetryBackoff(math.MaxInt64, math.MaxInt64)}},
		{"backoff max above MaxRetryBackoff", "sk_test_1", []justap.Option{justap.WithRetryBackoff(time.Second, justap.MaxRetryBackoff+1)}},
		{"backoff zero base", "sk_test_1", []justap.Option{justap.WithRetryBackoff(0, time.Second)}},
		{"backoff negative", "sk_test_1", []justap.Option{justap.WithRetryBackoff(-time.Second, -time.Second)}},
		{"negative retry wait", "sk_test_1", []justap.Option{justap.WithMaxRetryWait(-1)}},
		{"negative response limit", "sk_test_1", []justap.Option{justap.WithMaxResponseBytes(-1)}},
		{"zero response limit", "sk_test_1", []justap.Option{justap.WithMaxResponseBytes(0)}},
	}
	for _, tt := range bad {
		c, err := justap.NewClient(tt.key, tt.opts...)
		if err == nil || c != nil {
			t.Errorf("%s: NewClient = %v, %v; want an error", tt.name, c, err)
			continue
		}
		if tt.key != "" && strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: error %q repeats the key", tt.name, err)
		}
	}
	c, err := justap.NewClient("sk_test_1")
	if err != nil || c.BaseURL() != justap.DefaultBaseURL+"/" {
		t.Errorf("default base URL = %v, %v", c, err)
	}
	c, err = justap.NewClient("sk_test_1", justap.WithBaseURL(justap.HostedBaseURL+"/v2"))
	if err != nil || c.BaseURL() != justap.HostedBaseURL+"/v2/" {
		t.Errorf("base URL with a path = %v, %v", c, err)
	}
}

// TestPerCallOptionError: a bad per-call option fails that call before
// sending, and does not change the client.
func TestPerCallOptionError(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var requests atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeJSON(w, 200, chargeJSON)
	})
	if _, err := c.Charges.Get(context.Background(), "ch_1", justap.WithMaxRetries(-1)); err == nil {
		t.Error("want an error for WithMaxRetries(-1)")
	}
	if requests.Load() != 0 {
		t.Error("a request was sent")
	}
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil || requests.Load() != 1 {
		t.Errorf("next call: %v, %d requests", err, requests.Load())
	}
}

// TestUserAgent: WithUserAgent goes in front of the library's own token.
func TestUserAgent(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, justap.WithUserAgent("my-shop/2.1"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "my-shop/2.1 justap-go/"+justap.Version+" ") {
			t.Errorf("User-Agent = %q", ua)
		}
		writeJSON(w, 200, chargeJSON)
	})
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatal(err)
	}
}

// TestExtremeOptions: the largest values every option accepts work on a
// real call, retry and Retry-After included, without a panic or overflow.
func TestExtremeOptions(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t,
		justap.WithMaxRetries(math.MaxInt),
		justap.WithRetryBackoff(justap.MaxRetryBackoff, justap.MaxRetryBackoff),
		justap.WithMaxRetryWait(math.MaxInt64),
		justap.WithRequestTimeout(math.MaxInt64),
		justap.WithMaxResponseBytes(math.MaxInt64))
	var calls atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusServiceUnavailable, `{}`)
			return
		}
		writeJSON(w, http.StatusOK, chargeJSON)
	})
	ch, err := c.Charges.Get(context.Background(), "ch_1")
	if err != nil || ch.ID != "ch_1" || calls.Load() != 2 {
		t.Fatalf("Get = %v, %v after %d requests; want the charge after 2", ch, err, calls.Load())
	}
	// The smallest accepted values too.
	c0, mux0, _ := setup(t, justap.WithRetryBackoff(1, 1), justap.WithMaxRetryWait(0),
		justap.WithRequestTimeout(0), justap.WithMaxResponseBytes(int64(len(chargeJSON))), justap.WithMaxRetries(1))
	mux0.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, chargeJSON) })
	if _, err := c0.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatalf("Get with the smallest options: %v", err)
	}
}
