package justap_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/justap-go/justap"
)

// announceTransport answers with body but announces length as its
// Content-Length, as a lying or hostile server may.
type announceTransport struct {
	length int64
	body   string
}

func (a announceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(a.body)),
		ContentLength: a.length,
		Request:       r,
	}, nil
}

func announceClient(t *testing.T, length int64, body string, limit int64) *justap.Client {
	t.Helper()
	c, err := justap.NewClient(testAPIKey, justap.WithBaseURL("http://127.0.0.1:1"), justap.WithAppID(testAppID),
		justap.WithMaxRetries(0), justap.WithMaxResponseBytes(limit),
		justap.WithHTTPClient(&http.Client{Transport: announceTransport{length, body}}))
	if err != nil {
		t.Fatal(err)
	}
	return c
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
