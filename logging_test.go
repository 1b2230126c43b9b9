package justap_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (h *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recorder) WithGroup(string) slog.Handler      { return h }

func (h *recorder) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.recs...)
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
	p := faultCreateParams("order-log")
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
