package justap_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/justap-go/justap"
)

// TestErrorBodies: each error shape the gateway and its proxies answer
// with is an *Error with the status, code, message and a bounded raw body.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		header      map[string]string
		wantCode    int
		wantReason  string
		wantMessage string // substring
		wantIs      []error
		wantNot     []error
	}{
		{
			name: "google.rpc.Status not found", status: 404, contentType: "application/json",
			body:     `{"code":5,"message":"charge ch_x not found","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"NOT_FOUND"}]}`,
			wantCode: 5, wantMessage: "charge ch_x not found", wantIs: []error{justap.ErrNotFound},
			wantNot: []error{justap.ErrServer, justap.ErrAuthentication, justap.ErrNoResponse},
		},
		{
			name: "google.rpc.Status invalid argument", status: 400, contentType: "application/json",
			body:     `{"code":3,"message":"amount: must be > 0","details":[]}`,
			wantCode: 3, wantMessage: "amount: must be > 0", wantIs: []error{justap.ErrInvalidRequest},
		},
		{
			name: "already exists", status: 409, contentType: "application/json",
			body:     `{"code":6,"message":"merchant_trade_id exists"}`,
			wantCode: 6, wantIs: []error{justap.ErrConflict},
		},
		{
			name: "unauthenticated", status: 401, contentType: "application/json",
			body:     `{"code":16,"message":"bad key"}`,
			wantCode: 16, wantIs: []error{justap.ErrAuthentication}, wantMessage: "check the API key",
		},
		{
			name: "permission denied", status: 403, contentType: "application/json",
			body: `{"code":7,"message":"no"}`, wantCode: 7, wantIs: []error{justap.ErrPermission},
		},
		{
			name: "error_code shape, numeric", status: 400, contentType: "application/json",
			body:     `{"error_code":"40001","error_message":"invalid app","error_reason":"APP_INVALID"}`,
			wantCode: 40001, wantReason: "APP_INVALID", wantMessage: "invalid app", wantIs: []error{justap.ErrInvalidRequest},
		},
		{
			name: "error_code shape, symbolic", status: 429, contentType: "application/json",
			body:       `{"error_code":"RATE_LIMIT","error_message":"slow down"}`,
			wantReason: "RATE_LIMIT", wantMessage: "slow down", wantIs: []error{justap.ErrRateLimited},
		},
		{
			name: "HTML from a proxy", status: 502, contentType: "text/html",
			body:        "<html><body><h1>502 Bad Gateway</h1></body></html>",
			wantMessage: "HTML", wantIs: []error{justap.ErrServer}, wantNot: []error{justap.ErrNoResponse},
		},
		{
			name: "empty body", status: 504, wantMessage: "empty response body", wantIs: []error{justap.ErrServer},
		},
		{
			name: "request id header", status: 500, contentType: "application/json", body: `{"code":13,"message":"internal"}`,
			header: map[string]string{"X-Request-Id": "req-42"}, wantCode: 13, wantMessage: "request_id=req-42",
			wantIs: []error{justap.ErrServer},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			ch, err := c.Charges.Get(context.Background(), "ch_x")
			if ch != nil {
				t.Errorf("charge = %+v, want nil", ch)
			}
			var e *justap.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T %v, want *justap.Error", err, err)
			}
			if e.StatusCode != tt.status || e.Code != tt.wantCode || e.Reason != tt.wantReason {
				t.Errorf("StatusCode, Code, Reason = %d, %d, %q; want %d, %d, %q",
					e.StatusCode, e.Code, e.Reason, tt.status, tt.wantCode, tt.wantReason)
			}
			if string(e.Body) != tt.body {
				t.Errorf("Body = %q, want %q", e.Body, tt.body)
			}
			if e.Method != "GET" || e.Path != "/transaction/v1/charges/ch_x" || e.Attempts != 1 {
				t.Errorf("Method, Path, Attempts = %s %s %d", e.Method, e.Path, e.Attempts)
			}
			if !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("Error() = %q, want it to contain %q", err, tt.wantMessage)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = true", target)
				}
			}
		})
	}
}

// TestErrorBodyBounded: the raw body kept in an Error is bounded.
func TestErrorBodyBounded(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	})
	_, err := c.Charges.Get(context.Background(), "ch_x")
	var e *justap.Error
	if !errors.As(err, &e) || len(e.Body) != 4<<10 {
		t.Fatalf("err = %v, body of %d bytes; want 4 KiB", err, len(e.Body))
	}
}

// TestMissingData: a 200 without its object is an error, not a nil charge.
func TestMissingData(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"object":"Charge"}`) })
	ch, err := c.Charges.Get(context.Background(), "ch_1")
	if ch != nil || !errors.Is(err, justap.ErrMalformedResponse) {
		t.Fatalf("Get = %v, %v; want ErrMalformedResponse", ch, err)
	}
}

// TestErrorHintByMethod: the advice about resending a create with its
// merchant id is given on a create only.
func TestErrorHintByMethod(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method, path string
		create       bool
	}{
		{http.MethodPost, "/transaction/v1/charges", true},
		{http.MethodPost, "/transaction/v1/refunds", true},
		{http.MethodGet, "/transaction/v1/charges/ch_1", false},
		{http.MethodGet, "/transaction/v1/charges", false},
		{http.MethodPost, "/transaction/v1/charges/ch_1/reverse", false},
	} {
		for _, status := range []int{0, http.StatusBadGateway} {
			e := &justap.Error{Method: tt.method, Path: tt.path, StatusCode: status}
			msg := e.Error()
			if got := strings.Contains(msg, "merchant id"); got != tt.create {
				t.Errorf("%s %s (status %d): %q; create advice %v, want %v", tt.method, tt.path, status, msg, got, tt.create)
			}
			if !strings.Contains(msg, "retrying") {
				t.Errorf("%s %s (status %d): %q says nothing of retrying", tt.method, tt.path, status, msg)
			}
		}
	}
}

// TestServerTextBounded: the server's message, reason and request id are
// kept up to 512 bytes each, marked as cut, in the error and in the log
// record; a 1 MiB message no longer makes a 1 MiB err.Error().
func TestServerTextBounded(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("m", 1<<20)
	hugeID := strings.Repeat("退", 20000) // 60,000 bytes, cut on a character boundary
	tests := []struct {
		name   string
		status int
		body   string
		header string
	}{
		{"google.rpc.Status message", 400, `{"code":3,"message":"` + huge + `"}`, ""},
		{"error_message and error_reason", 409, `{"error_code":"` + huge + `","error_message":"` + huge + `"}`, ""},
		{"request id", 503, `{"code":14,"message":"later"}`, hugeID},
		{"request id of a malformed 200", 200, `{"object":"Charge"}`, hugeID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{level: slog.LevelDebug}
			c, mux, _ := setup(t, justap.WithLogger(slog.New(rec)))
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("X-Request-Id", tt.header)
				}
				writeJSON(w, tt.status, tt.body)
			})
			_, err := c.Charges.Get(context.Background(), "ch_1")
			var e *justap.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *justap.Error", err)
			}
			for what, s := range map[string]string{"Message": e.Message, "Reason": e.Reason, "RequestID": e.RequestID} {
				if len(s) > 512 || !utf8.ValidString(s) {
					t.Errorf("%s is %d bytes (valid UTF-8: %v), want at most 512", what, len(s), utf8.ValidString(s))
				}
				if len(s) > 400 && !strings.HasSuffix(s, "…[cut]") {
					t.Errorf("%s does not say it was cut: …%s", what, s[len(s)-20:])
				}
			}
			if n := len(err.Error()); n > 2<<10 {
				t.Errorf("err.Error() is %d bytes, want at most 2 KiB", n)
			}
			recs := rec.records()
			if len(recs) != 1 {
				t.Fatalf("%d log records, want 1", len(recs))
			}
			size := 0
			recs[0].Attrs(func(a slog.Attr) bool { size += len(a.Key) + len(a.Value.String()); return true })
			if size > 1<<10 {
				t.Errorf("the log record is %d bytes, want at most 1 KiB", size)
			}
		})
	}
}

// FuzzErrorResponse builds the error of any non-2xx status, content type,
// request id and body, under a response size limit of 1 to 65536 bytes.
func FuzzErrorResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, contentType, requestID string, limit uint16, body []byte) {
		if status < 0 {
			status = -status
		}
		status = 300 + status%300 // 300–599
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		if requestID != "" {
			h.Set("X-Request-Id", requestID)
		}
		c := cannedClient(t, &cannedTransport{status: status, header: h, body: body}, justap.WithMaxResponseBytes(int64(limit)+1))
		ch, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
		if ch != nil {
			t.Fatalf("status %d gave a charge", status)
		}
		var e *justap.Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %T %v, want a *justap.Error", err, err)
		}
		if e.StatusCode != status || e.Attempts != 1 || e.Method != "POST" || e.Path != "/transaction/v1/charges" {
			t.Fatalf("status %d, attempts %d, %s %s; want %d, 1, POST /transaction/v1/charges",
				e.StatusCode, e.Attempts, e.Method, e.Path, status)
		}
		if e.Message == "" {
			t.Fatal("empty Message")
		}
		if len(e.Body) > 4<<10 || !bytes.HasPrefix(body, e.Body) {
			t.Fatalf("Body is %d bytes, not a prefix of the response (at most 4 KiB)", len(e.Body))
		}
		if requestID != "" && e.RequestID == "" {
			t.Fatalf("RequestID lost: header %q", requestID)
		}
		text := e.Error()
		if !strings.Contains(text, strconv.Itoa(status)) {
			t.Fatalf("error text lacks the status %d: %s", status, text)
		}
		if strings.Contains(text, testAPIKey) {
			t.Fatalf("error text holds the key: %s", text)
		}
		// The status alone places the error in its category, whatever the
		// body says.
		for code, s := range map[int]error{
			401: justap.ErrAuthentication, 403: justap.ErrPermission, 404: justap.ErrNotFound,
			409: justap.ErrConflict, 429: justap.ErrRateLimited, 500: justap.ErrServer, 503: justap.ErrServer,
		} {
			if status == code && !errors.Is(err, s) {
				t.Fatalf("status %d is not %v: %v", status, s, err)
			}
		}
		if status >= 500 && !e.Retryable() {
			t.Fatalf("status %d is not Retryable: %v", status, err)
		}
	})
}
