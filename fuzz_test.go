package justap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/justap-go/justap"
)

// The fuzz targets feed arbitrary responses through the client's whole
// response path (size limit, error building, decoding, checks) by way of an
// in-memory transport: no network, no goroutines. The seed corpus, with
// realistic bodies from the wire reference, is in testdata/fuzz/<target>/.
//
//	go test -run '^$' -fuzz '^FuzzDecodeCharge$' -fuzztime 10s .

// fuzzTransport answers every request with one canned response.
type fuzzTransport struct {
	status int
	header http.Header
	body   []byte
}

func (f *fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		Status:        strconv.Itoa(f.status) + " " + http.StatusText(f.status),
		StatusCode:    f.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        f.header,
		Body:          io.NopCloser(bytes.NewReader(f.body)),
		ContentLength: int64(len(f.body)),
		Request:       r,
	}, nil
}

// fuzzClient returns a client whose every request gets the response.
func fuzzClient(t *testing.T, status int, header http.Header, body []byte, opts ...justap.Option) *justap.Client {
	t.Helper()
	if header == nil {
		header = http.Header{"Content-Type": {"application/json"}}
	}
	all := append([]justap.Option{
		justap.WithBaseURL("http://127.0.0.1:1/api"),
		justap.WithAppID(testAppID),
		justap.WithMaxRetries(0),
		justap.WithHTTPClient(&http.Client{Transport: &fuzzTransport{status, header, body}}),
	}, opts...)
	c, err := justap.NewClient(testAPIKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkDecoded checks the outcome of a 200: a value and no error, or no
// value and a malformed-response *Error, never both or neither.
func checkDecoded[T any](t *testing.T, body []byte, v *T, err error) {
	t.Helper()
	if err != nil {
		if v != nil {
			t.Fatalf("both a value and an error: %v", err)
		}
		var e *justap.Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %T %v, want a *justap.Error", err, err)
		}
		if !errors.Is(err, justap.ErrMalformedResponse) || e.StatusCode != 200 || e.Attempts != 1 {
			t.Fatalf("err = %v (status %d, attempts %d), want a malformed 200 after 1 attempt", err, e.StatusCode, e.Attempts)
		}
		if len(e.Body) > 4<<10 || !bytes.HasPrefix(body, e.Body) {
			t.Fatalf("Body is %d bytes, not a prefix of the response (at most 4 KiB)", len(e.Body))
		}
		_ = e.Error()
		return
	}
	if v == nil {
		t.Fatal("neither a value nor an error")
	}
	if !json.Valid(body) {
		t.Fatalf("invalid JSON decoded without error: %q", body)
	}
	// No nil pointer reaches the caller.
	var charges []*justap.Charge
	var refunds []*justap.Refund
	switch v := any(v).(type) {
	case *justap.Charge:
		charges = append(charges, v)
	case *justap.Refund:
		refunds = append(refunds, v)
	case *justap.ChargeList:
		charges = v.Data
	case *justap.RefundList:
		refunds = v.Data
	}
	for i, ch := range charges {
		if ch == nil {
			t.Fatalf("charge %d is nil", i)
		}
		refunds = append(refunds, ch.Refunds...)
	}
	for i, re := range refunds {
		if re == nil {
			t.Fatalf("refund %d is nil", i)
		}
	}
}

func FuzzDecodeCharge(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := fuzzClient(t, 200, nil, body).Charges.Get(context.Background(), "ch_1")
		checkDecoded(t, body, ch, err)
	})
}

func FuzzDecodeRefund(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		re, err := fuzzClient(t, 200, nil, body).Refunds.Get(context.Background(), "ch_1", "re_1")
		checkDecoded(t, body, re, err)
	})
}

func FuzzDecodeChargeList(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := fuzzClient(t, 200, nil, body).Charges.List(context.Background(), nil)
		checkDecoded(t, body, l, err)
	})
}

func FuzzDecodeRefundList(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := fuzzClient(t, 200, nil, body).Refunds.List(context.Background(), "ch_1", nil)
		checkDecoded(t, body, l, err)
	})
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
		c := fuzzClient(t, status, h, body, justap.WithMaxResponseBytes(int64(limit)+1))
		ch, err := c.Charges.Create(context.Background(), faultCreateParams("order-1"))
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
