package justaptest_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// signingKey is the module's test-only key pair (../testdata).
func signingKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("../testdata/test-only-rsa2048-pkcs1.pem")
	if err != nil {
		t.Fatal(err)
	}
	k, err := justap.ParsePrivateKeyPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedFixture is a fake that checks signatures with the test key's public
// key, with an unsigned client (f.c) and a signed one.
func signedFixture(t *testing.T, opts ...justaptest.Option) (*fixture, *justap.Client) {
	t.Helper()
	key := signingKey(t)
	if len(opts) == 0 {
		opts = []justaptest.Option{justaptest.WithPublicKey(&key.PublicKey)}
	}
	f := newFixture(t, opts...)
	return f, newClient(t, f.srv, justap.WithPrivateKey(key))
}

// sevenOps calls each operation once: on charge (paid) for the charge and
// refund reads, and on toReverse for Reverse.
func sevenOps(c *justap.Client, charge, toReverse, refund string) map[justaptest.Op]error {
	ctx := context.Background()
	errs := map[justaptest.Op]error{}
	_, errs[justaptest.OpCreateCharge] = c.Charges.Create(ctx, params("order-seven", 100))
	_, errs[justaptest.OpGetCharge] = c.Charges.Get(ctx, charge)
	_, errs[justaptest.OpListCharges] = c.Charges.List(ctx, nil)
	_, errs[justaptest.OpReverseCharge] = c.Charges.Reverse(ctx, toReverse)
	_, errs[justaptest.OpCreateRefund] = c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: charge, MerchantRefundID: "refund-seven", Description: "d", Amount: 1,
	})
	_, errs[justaptest.OpGetRefund] = c.Refunds.Get(ctx, charge, refund)
	_, errs[justaptest.OpListRefunds] = c.Refunds.List(ctx, charge, nil)
	return errs
}

// setUpObjects makes a paid charge with a refund, and an unpaid charge,
// through the signed client.
func setUpObjects(t *testing.T, f *fixture, c *justap.Client) (paid, unpaid, refund string) {
	t.Helper()
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, params("order-paid", 1000))
	if err != nil {
		t.Fatalf("signed create: %v", err)
	}
	if err := f.srv.Pay(ch.ID); err != nil {
		t.Fatal(err)
	}
	un, err := c.Charges.Create(ctx, params("order-unpaid", 1000))
	if err != nil {
		t.Fatalf("signed create: %v", err)
	}
	re, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "refund-1", Description: "d", Amount: 1,
	})
	if err != nil {
		t.Fatalf("signed refund: %v", err)
	}
	return ch.ID, un.ID, re.ID
}

func TestSignedOperationsPass(t *testing.T) {
	f, signed := signedFixture(t)
	paid, unpaid, refund := setUpObjects(t, f, signed)
	before := f.srv.Counts()
	for op, err := range sevenOps(signed, paid, unpaid, refund) {
		if err != nil {
			t.Errorf("%s: %v", op, err)
		}
		if n := f.srv.Count(op) - before[op]; n != 1 {
			t.Errorf("%s: the fake saw %d requests, want 1", op, n)
		}
	}
	if ch, _ := f.srv.Charge(unpaid); !ch.Reversed {
		t.Error("the signed Reverse did not reverse the charge")
	}
}

func TestUnsignedOperationsRefused(t *testing.T) {
	f, signed := signedFixture(t)
	paid, unpaid, refund := setUpObjects(t, f, signed)
	charges := len(f.srv.Charges())
	for op, err := range sevenOps(f.c, paid, unpaid, refund) {
		if !errors.Is(err, justap.ErrAuthentication) {
			t.Errorf("%s unsigned: %v, want ErrAuthentication", op, err)
			continue
		}
		if e := apiError(t, err); e.StatusCode != http.StatusUnauthorized || e.Code != 16 ||
			!strings.Contains(e.Message, "not signed") {
			t.Errorf("%s unsigned: status %d code %d message %q, want 401, 16, not signed", op, e.StatusCode, e.Code, e.Message)
		}
	}
	if n := len(f.srv.Charges()); n != charges {
		t.Errorf("unsigned requests changed the charges: %d, want %d", n, charges)
	}
	if ch, _ := f.srv.Charge(unpaid); ch.Reversed {
		t.Error("an unsigned Reverse reversed the charge")
	}
	// Raw: a google.rpc.Status body.
	msg := raw(t, f.srv, "GET", "/transaction/v1/charges?app_id="+f.srv.AppID(), "").wantError(t, http.StatusUnauthorized, 16)
	if !strings.Contains(msg, "X-Justap-Signature") {
		t.Errorf("message %q does not name the missing header", msg)
	}
}

// tamperTransport changes the amount in a body after it was signed.
type tamperTransport struct{ base http.RoundTripper }

func (tr tamperTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		return tr.base.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte(`"amount":10`), []byte(`"amount":99`), 1)
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.ContentLength = int64(len(b))
	return tr.base.RoundTrip(r2)
}

func TestTamperedRequestRefused(t *testing.T) {
	f, _ := signedFixture(t)
	c := newClient(t, f.srv, justap.WithPrivateKey(signingKey(t)),
		justap.WithHTTPClient(&http.Client{Transport: tamperTransport{f.srv.Client().Transport}}))
	_, err := c.Charges.Create(context.Background(), params("order-t", 1000)) // "amount":10
	if !errors.Is(err, justap.ErrAuthentication) {
		t.Fatalf("tampered create: %v, want ErrAuthentication", err)
	}
	if e := apiError(t, err); !strings.Contains(e.Message, "Body-Hash does not match") {
		t.Errorf("message %q, want a body hash mismatch", e.Message)
	}
	if n := len(f.srv.Charges()); n != 0 {
		t.Errorf("the tampered create made %d charges", n)
	}
}

func TestStaleRequestRefused(t *testing.T) {
	key := signingKey(t)
	for _, tc := range []struct {
		name  string
		ahead time.Duration // the fake's verifier clock ahead of the wall clock
		ok    bool
	}{
		{"10 minutes late", 10 * time.Minute, false},
		{"10 minutes early", -10 * time.Minute, false},
		{"within the skew", 2 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := justaptest.NewVerifier(&key.PublicKey, &justaptest.VerifierOptions{
				Now: func() time.Time { return time.Now().Add(tc.ahead) },
			})
			if err != nil {
				t.Fatal(err)
			}
			_, c := signedFixture(t, justaptest.WithVerifier(v))
			_, err = c.Charges.List(context.Background(), nil)
			if tc.ok {
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				return
			}
			if !errors.Is(err, justap.ErrAuthentication) {
				t.Fatalf("List: %v, want ErrAuthentication", err)
			}
			if e := apiError(t, err); !strings.Contains(e.Message, "clock skew") {
				t.Errorf("message %q, want it to say the time is outside the clock skew", e.Message)
			}
		})
	}
}

// replayTransport records the signature headers of the first request it
// sends and puts them on every later one: a replay of the first.
type replayTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	sig  http.Header
}

func (tr *replayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.sig == nil {
		tr.sig = http.Header{}
		for _, k := range []string{justap.HeaderSignature, justap.HeaderRequestTime, justap.HeaderNonce, justap.HeaderBodyHash} {
			tr.sig[k] = req.Header[k]
		}
		return tr.base.RoundTrip(req)
	}
	r2 := req.Clone(req.Context())
	for k, v := range tr.sig {
		r2.Header[k] = v
	}
	return tr.base.RoundTrip(r2)
}

func TestReplayedRequestRefused(t *testing.T) {
	f, signed := signedFixture(t)
	paid, _, _ := setUpObjects(t, f, signed)

	// Through the SDK: the second Get carries the first one's signature.
	c := newClient(t, f.srv, justap.WithPrivateKey(signingKey(t)),
		justap.WithHTTPClient(&http.Client{Transport: &replayTransport{base: f.srv.Client().Transport}}))
	ctx := context.Background()
	if _, err := c.Charges.Get(ctx, paid); err != nil {
		t.Fatalf("first Get: %v", err)
	}
	_, err := c.Charges.Get(ctx, paid)
	if !errors.Is(err, justap.ErrAuthentication) {
		t.Fatalf("replayed Get: %v, want ErrAuthentication", err)
	}
	if e := apiError(t, err); !strings.Contains(e.Message, "replay") {
		t.Errorf("message %q, want it to say replay", e.Message)
	}

	// Raw: a signed create sent twice, byte for byte, is refused before it
	// reaches the charges.
	var sent *http.Request
	var body []byte
	rec := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent = req.Clone(req.Context())
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		return f.srv.Client().Transport.RoundTrip(req)
	})
	c2 := newClient(t, f.srv, justap.WithPrivateKey(signingKey(t)), justap.WithHTTPClient(&http.Client{Transport: rec}))
	if _, err := c2.Charges.Create(ctx, params("order-replay", 500)); err != nil {
		t.Fatalf("create: %v", err)
	}
	charges := len(f.srv.Charges())
	again, err := http.NewRequest(sent.Method, sent.URL.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	again.Header = sent.Header.Clone()
	resp, err := f.srv.Client().Do(again)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	response{resp.StatusCode, resp.Header, b}.wantError(t, http.StatusUnauthorized, 16)
	if n := len(f.srv.Charges()); n != charges {
		t.Errorf("the replayed create changed the charges: %d, want %d", n, charges)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSignedRetryAfterLostResponse: the first attempt is processed and its
// response lost; the retry, signed afresh, passes the signature check (a
// reused nonce would be a 401) and is refused only as a duplicate.
func TestSignedRetryAfterLostResponse(t *testing.T) {
	f, _ := signedFixture(t)
	c := newClient(t, f.srv, justap.WithPrivateKey(signingKey(t)),
		justap.WithMaxRetries(1), justap.WithRetryBackoff(time.Millisecond, time.Millisecond))
	f.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	_, err := c.Charges.Create(context.Background(), params("order-lost", 700), justap.WithRecovery(false))
	if !errors.Is(err, justap.ErrConflict) || apiError(t, err).Attempts != 2 {
		t.Fatalf("create: %v, want ErrConflict after 2 attempts", err)
	}
	if n := len(f.srv.Charges()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

func TestUnusableSigningOptionsFail(t *testing.T) {
	for name, opt := range map[string]justaptest.Option{
		"nil public key":  justaptest.WithPublicKey(nil),
		"even exponent":   justaptest.WithPublicKey(&rsa.PublicKey{N: signingKey(t).N, E: 4}),
		"nil verifier":    justaptest.WithVerifier(nil),
		"empty publickey": justaptest.WithPublicKey(&rsa.PublicKey{}),
	} {
		h, err := justaptest.NewHandler(opt)
		if err == nil || h != nil {
			t.Errorf("%s: NewHandler = %v, %v; want an error", name, h, err)
		} else if !strings.Contains(err.Error(), "justaptest: With") {
			t.Errorf("%s: error %v does not name the option", name, err)
		}
	}
}
