package justap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"testing"
	"testing/iotest"
)

// readBodyReference is readBody as it was before it was made to allocate
// once: the oracle the faster one must match.
func readBodyReference(resp *http.Response, limit int64) ([]byte, error) {
	n := int64(512)
	if cl := resp.ContentLength; cl > 0 && cl <= limit {
		n = cl + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, min(limit, math.MaxInt64-1)+1))
	if err != nil {
		return buf.Bytes(), err
	}
	if int64(buf.Len()) > limit {
		return buf.Bytes()[:limit], errTooLarge
	}
	return buf.Bytes(), nil
}

// TestReadBodyMatchesReference reads bodies of sizes around the limit,
// with and without a Content-Length (right or wrong), in one read or byte
// by byte, ending cleanly or with an error, both ways.
func TestReadBodyMatchesReference(t *testing.T) {
	errCut := errors.New("connection reset")
	for _, limit := range []int64{1000, math.MaxInt64 - 1, math.MaxInt64} {
		testReadBody(t, errCut, limit)
	}
}

func testReadBody(t *testing.T, errCut error, limit int64) {
	for _, size := range []int{0, 1, 511, 512, 513, 999, 1000, 1001, 1002, 5000} {
		body := bytes.Repeat([]byte("0123456789"), size/10+1)[:size]
		for _, cl := range []int64{-1, 0, int64(size), int64(size) + 7, int64(size) / 2, 1500} {
			for _, wrap := range []struct {
				name string
				r    func(io.Reader) io.Reader
			}{
				{"whole", func(r io.Reader) io.Reader { return r }},
				{"byte by byte", iotest.OneByteReader},
				{"data with EOF", iotest.DataErrReader},
				{"error at the end", func(r io.Reader) io.Reader { return io.MultiReader(r, iotest.ErrReader(errCut)) }},
				{"error in the middle", func(r io.Reader) io.Reader {
					return io.MultiReader(io.LimitReader(r, int64(size/2)), iotest.ErrReader(errCut))
				}},
			} {
				name := fmt.Sprintf("limit %d, size %d, Content-Length %d, %s", limit, size, cl, wrap.name)
				resp := func() *http.Response {
					return &http.Response{ContentLength: cl, Body: io.NopCloser(wrap.r(bytes.NewReader(body)))}
				}
				got, gotErr := readBody(resp(), limit)
				want, wantErr := readBodyReference(resp(), limit)
				if !errors.Is(gotErr, wantErr) || !bytes.Equal(got, want) {
					t.Errorf("%s: got %d bytes, %v; want %d bytes, %v", name, len(got), gotErr, len(want), wantErr)
				}
			}
		}
	}
}

// TestReadBodyAllocatesOnce: with a Content-Length, one allocation.
func TestReadBodyAllocatesOnce(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1300)
	r := bytes.NewReader(body)
	resp := &http.Response{ContentLength: int64(len(body)), Body: io.NopCloser(r)}
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(body)
		if b, err := readBody(resp, DefaultMaxResponseBytes); err != nil || len(b) != len(body) {
			t.Fatalf("read %d bytes, %v", len(b), err)
		}
	})
	if allocs != 1 {
		t.Errorf("readBody allocated %v times per body, want 1", allocs)
	}
}
