package justaptest_test

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap/justaptest"
)

func newVerifier(t testing.TB, pub *rsa.PublicKey, opts *justaptest.VerifierOptions) *justaptest.Verifier {
	t.Helper()
	v, err := justaptest.NewVerifier(pub, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signAt signs a request the way Justap's recipe says, independently of
// the package: for verifier tests that need a chosen time and nonce.
func signAt(t testing.TB, key *rsa.PrivateKey, body []byte, ts int64, nonce string) http.Header {
	t.Helper()
	tsText := strconv.FormatInt(ts, 10)
	sum := md5.Sum(append(append(append([]byte(nil), body...), tsText...), nonce...))
	hash := hex.EncodeToString(sum[:])
	d := sha256.Sum256([]byte(hash + nonce))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-Justap-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("X-Justap-Request-Time", tsText)
	h.Set("X-Justap-Nonce", nonce)
	h.Set("X-Justap-Body-Hash", hash)
	return h
}

// nonceN is a valid nonce made from n.
func nonceN(n int) string { return fmt.Sprintf("testNonce%023d", n) }

// sigClock is a settable clock for Verifier.
type sigClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sigClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *sigClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestVerifierKnownAnswer verifies the values computed with md5sum and
// openssl (see the root package's sign_internal_test.go).
func TestVerifierKnownAnswer(t *testing.T) {
	const (
		nonce = "kat0Nonce0123456789abcdefGHIJKLm"
		body  = `{"app_id":"app_test_1","amount":0.01}`
		hash  = "68afdad855ab0f78931a4f805b554805"
		sig   = "UwDQpujzux0o5YLKteXjy6cJips9HsIFahE7O+cK7mgqXiYsIjAxN4/4RHYuZmt2bfRYA5y/hOh0kE4QlTmYpNdDk1gaZ0rCdGC69Esb7IT8hJBP3KLpBGmPxX/E6vKpiOQfGbFIy5KfH3jtpfnk9edlMsMAb3OOoP1jVFjLqpN8fUJwgU16i1WkQ18zoLRokTaIzFIaHeEgOYLnq90Uy5pkFWIyfNQoTeYWePcZQkn5g7RGYbyqzXPtoe54jZ+m4CNWrwHe2VaNc4DbmvPkra5Ikkk3mJIMikJn28efZip9L8i+1uN3rnpbnlWfaefJKqI/YvAW+bFgP0ttKIAIHA=="
	)
	v := newVerifier(t, &signingKey(t).PublicKey, &justaptest.VerifierOptions{Now: func() time.Time { return time.Unix(1700000000, 0) }})
	h := http.Header{
		"X-Justap-Signature":    {sig},
		"X-Justap-Request-Time": {"1700000000"},
		"X-Justap-Nonce":        {nonce},
		"X-Justap-Body-Hash":    {hash},
	}
	if err := v.Verify(h, []byte(body)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifierRefuses(t *testing.T) {
	key := signingKey(t)
	const now = 1700000000
	body := []byte(`{"amount":0.01}`)
	good := func() http.Header { return signAt(t, key, body, now, nonceN(1)) }
	with := func(k, v string) http.Header { h := good(); h.Set(k, v); return h }
	without := func(k string) http.Header { h := good(); h.Del(k); return h }
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024) // any other key will do
	if err != nil {
		t.Fatal(err)
	}
	sigOf := func(h http.Header) string { return h.Get("X-Justap-Signature") }
	hashOf := func(h http.Header) string { return h.Get("X-Justap-Body-Hash") }
	resign := signAt(t, key, body, now, nonceN(2)) // a valid signature for another nonce

	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		skew time.Duration // the verifier's clock minus the request time
		want error
	}{
		{"no signature", without("X-Justap-Signature"), body, 0, justaptest.ErrSignatureMissing},
		{"no time", without("X-Justap-Request-Time"), body, 0, justaptest.ErrSignatureMissing},
		{"no nonce", without("X-Justap-Nonce"), body, 0, justaptest.ErrSignatureMissing},
		{"no body hash", without("X-Justap-Body-Hash"), body, 0, justaptest.ErrSignatureMissing},
		{"nothing", http.Header{}, body, 0, justaptest.ErrSignatureMissing},
		{"body altered", good(), []byte(`{"amount":9.99}`), 0, justaptest.ErrSignatureInvalid},
		{"body dropped", good(), nil, 0, justaptest.ErrSignatureInvalid},
		{"time altered", with("X-Justap-Request-Time", strconv.Itoa(now+1)), body, 0, justaptest.ErrSignatureInvalid},
		{"nonce altered", with("X-Justap-Nonce", nonceN(3)), body, 0, justaptest.ErrSignatureInvalid},
		{"hash replaced", with("X-Justap-Body-Hash", hashOf(resign)), body, 0, justaptest.ErrSignatureInvalid},
		{"signature of another request", with("X-Justap-Signature", sigOf(resign)), body, 0, justaptest.ErrSignatureInvalid},
		{"signature by another key", signAt(t, otherKey, body, now, nonceN(1)), body, 0, justaptest.ErrSignatureInvalid},
		{"signature not base64", with("X-Justap-Signature", "!!!"), body, 0, justaptest.ErrSignatureInvalid},
		{"signature unpadded", with("X-Justap-Signature", strings.TrimRight(sigOf(good()), "=")), body, 0, justaptest.ErrSignatureInvalid},
		{"short nonce", signAt(t, key, body, now, "abc"), body, 0, justaptest.ErrSignatureInvalid},
		{"nonce with symbols", signAt(t, key, body, now, "testNonce-0000000000000000000001"), body, 0, justaptest.ErrSignatureInvalid},
		{"time not digits", with("X-Justap-Request-Time", "+1700000000"), body, 0, justaptest.ErrSignatureInvalid},
		{"two nonces", func() http.Header { h := good(); h.Add("X-Justap-Nonce", nonceN(1)); return h }(), body, 0, justaptest.ErrSignatureInvalid},
		{"stale", good(), body, 5*time.Minute + time.Second, justaptest.ErrRequestStale},
		{"from the future", good(), body, -5*time.Minute - time.Second, justaptest.ErrRequestStale},
		{"at the skew limit", good(), body, 5 * time.Minute, nil},
		{"at the future limit", good(), body, -5 * time.Minute, nil},
		{"good", good(), body, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, &key.PublicKey, &justaptest.VerifierOptions{
				Now: func() time.Time { return time.Unix(now, 0).Add(tc.skew) },
			})
			err := v.Verify(tc.h, tc.body)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			// A refused request claims no nonce: the genuine one still passes.
			if err := v.Verify(good(), body); err != nil && tc.skew == 0 {
				t.Errorf("the genuine request after a refused one: %v", err)
			}
		})
	}
}

func TestVerifierReplay(t *testing.T) {
	key := signingKey(t)
	clock := &sigClock{t: time.Unix(1700000000, 0)}
	v := newVerifier(t, &key.PublicKey, &justaptest.VerifierOptions{Now: clock.Now, MaxClockSkew: time.Minute})
	h := signAt(t, key, nil, 1700000000, nonceN(1))
	if err := v.Verify(h, nil); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Unix(1700000000+60, 0)) // still within the skew
	if err := v.Verify(h, nil); !errors.Is(err, justaptest.ErrRequestReplayed) {
		t.Fatalf("replay: %v, want ErrRequestReplayed", err)
	}
	clock.Set(time.Unix(1700000000+61, 0)) // now stale, so refused as such
	if err := v.Verify(h, nil); !errors.Is(err, justaptest.ErrRequestStale) {
		t.Fatalf("late replay: %v, want ErrRequestStale", err)
	}
}

// TestVerifierReplayConcurrent sends one signed request from many
// goroutines at once: exactly one is accepted.
func TestVerifierReplayConcurrent(t *testing.T) {
	key := signingKey(t)
	v := newVerifier(t, &key.PublicKey, nil)
	body := []byte(`{"x":1}`)
	h := signAt(t, key, body, time.Now().Unix(), nonceN(7))
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = v.Verify(h, body)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, justaptest.ErrRequestReplayed):
			t.Errorf("Verify: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d identical requests accepted, want 1", ok, n)
	}
}

// TestVerifierNonceCacheBounded: the cache holds at most MaxNonces live
// nonces, refuses more, and forgets nonces once they could only be stale.
func TestVerifierNonceCacheBounded(t *testing.T) {
	key := signingKey(t)
	const t0 = 1700000000
	clock := &sigClock{t: time.Unix(t0, 0)}
	v := newVerifier(t, &key.PublicKey, &justaptest.VerifierOptions{Now: clock.Now, MaxClockSkew: time.Minute, MaxNonces: 2})
	verify := func(ts int64, n int) error { return v.Verify(signAt(t, key, nil, ts, nonceN(n)), nil) }
	for n := 1; n <= 2; n++ {
		if err := verify(t0, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := verify(t0, 3); !errors.Is(err, justaptest.ErrReplayCacheFull) {
		t.Fatalf("third nonce: %v, want ErrReplayCacheFull", err)
	}
	// Past t0 + skew, nonces 1 and 2 can only come back stale: they are
	// dropped and two new ones fit.
	t1 := int64(t0 + 61)
	clock.Set(time.Unix(t1, 0))
	for n := 4; n <= 5; n++ {
		if err := verify(t1, n); err != nil {
			t.Fatalf("nonce %d after expiry: %v", n, err)
		}
	}
	if err := verify(t1, 6); !errors.Is(err, justaptest.ErrReplayCacheFull) {
		t.Fatalf("nonce 6: %v, want ErrReplayCacheFull", err)
	}
	if err := verify(t1, 4); !errors.Is(err, justaptest.ErrRequestReplayed) {
		t.Fatalf("replay of nonce 4: %v, want ErrRequestReplayed", err)
	}
}

func TestNewVerifierRejects(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub := &signingKey(t).PublicKey
	for _, tc := range []struct {
		name string
		pub  *rsa.PublicKey
		opts *justaptest.VerifierOptions
	}{
		{"nil key", nil, nil},
		{"empty key", &rsa.PublicKey{}, nil},
		{"1024 bits", &small.PublicKey, nil},
		{"even exponent", &rsa.PublicKey{N: pub.N, E: 65536}, nil},
		{"negative skew", pub, &justaptest.VerifierOptions{MaxClockSkew: -time.Second}},
		{"negative cache", pub, &justaptest.VerifierOptions{MaxNonces: -1}},
	} {
		if v, err := justaptest.NewVerifier(tc.pub, tc.opts); err == nil || v != nil {
			t.Errorf("%s: NewVerifier succeeded", tc.name)
		}
	}
}

// steppingClock is a scripted clock that steps back and forth around a
// moment: each reading is the next offset of a cycle, in seconds.
type steppingClock struct {
	base    time.Time
	offsets []int64
	i       atomic.Int64
}

func (c *steppingClock) Now() time.Time {
	n := c.i.Add(1) - 1
	return c.base.Add(time.Duration(c.offsets[n%int64(len(c.offsets))]) * time.Second)
}

// TestVerifierReplayAtExpiryClockSteppingBack (D2): many goroutines send
// one accepted request again, among fresh requests that make the verifier
// forget expired nonces, while its clock steps back and forth across the
// moment the replayed nonce may be forgotten. Every replay is refused, as a
// replay or as stale: a clock that steps back never revives a forgotten
// nonce, and one caller's early reading never undoes another's forgetting.
func TestVerifierReplayAtExpiryClockSteppingBack(t *testing.T) {
	key := signingKey(t)
	const t0 = 1700000000
	skew := time.Minute
	body := []byte(`{"x":1}`)
	replay := signAt(t, key, body, t0, nonceN(9))

	// The request is accepted at t0, then replayed around t0 + skew.
	clock := &steppingClock{base: time.Unix(t0, 0), offsets: []int64{0}}
	v := newVerifier(t, &key.PublicKey, &justaptest.VerifierOptions{Now: clock.Now, MaxClockSkew: skew})
	if err := v.Verify(replay, body); err != nil {
		t.Fatalf("first Verify: %v", err)
	}

	// Fresh requests, sent at t0 + skew: valid at every reading below.
	const goroutines, each = 8, 12
	fresh := make([][]http.Header, goroutines)
	for g := range fresh {
		for i := range each {
			fresh[g] = append(fresh[g], signAt(t, key, body, t0+int64(skew/time.Second), nonceN(1000+g*each+i)))
		}
	}
	clock.base = time.Unix(t0, 0).Add(skew)
	clock.offsets = []int64{-2, 1, -1, 0, 2, -30, 1, -3, 0, 3, -1}
	clock.i.Store(0)

	var accepted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := v.Verify(fresh[g][i], body); err != nil {
					t.Errorf("fresh request: %v", err)
				}
				for range 4 {
					err := v.Verify(replay, body)
					switch {
					case err == nil:
						accepted.Add(1)
					case !errors.Is(err, justaptest.ErrRequestReplayed) && !errors.Is(err, justaptest.ErrRequestStale):
						t.Errorf("Verify: %v, want a replay or stale refusal", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d of %d replays accepted, want none", n, goroutines*each*4)
	}
}
