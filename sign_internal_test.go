package justap

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The known answer. The key is testdata/test-only-rsa2048-pkcs1.pem, a key
// made once with crypto/rsa for these tests and for nothing else. The
// expected values were computed outside Go, in testdata/:
//
//	N=kat0Nonce0123456789abcdefGHIJKLm; TS=1700000000
//	B='{"app_id":"app_test_1","amount":0.01}'
//	H=$(printf '%s' "$B$TS$N" | md5sum | cut -d' ' -f1)            # katBodyHash
//	printf '%s' "$H$N" | openssl dgst -sha256 -sign test-only-rsa2048-pkcs1.pem | base64 -w0   # katSignature
//
// and the same with an empty body (B=) for the body-less request
// (katEmptyHash, katEmptySignature), using OpenSSL 3.0.
const (
	katTime           = 1700000000
	katNonce          = "kat0Nonce0123456789abcdefGHIJKLm"
	katBody           = `{"app_id":"app_test_1","amount":0.01}`
	katBodyHash       = "68afdad855ab0f78931a4f805b554805"
	katSignature      = "UwDQpujzux0o5YLKteXjy6cJips9HsIFahE7O+cK7mgqXiYsIjAxN4/4RHYuZmt2bfRYA5y/hOh0kE4QlTmYpNdDk1gaZ0rCdGC69Esb7IT8hJBP3KLpBGmPxX/E6vKpiOQfGbFIy5KfH3jtpfnk9edlMsMAb3OOoP1jVFjLqpN8fUJwgU16i1WkQ18zoLRokTaIzFIaHeEgOYLnq90Uy5pkFWIyfNQoTeYWePcZQkn5g7RGYbyqzXPtoe54jZ+m4CNWrwHe2VaNc4DbmvPkra5Ikkk3mJIMikJn28efZip9L8i+1uN3rnpbnlWfaefJKqI/YvAW+bFgP0ttKIAIHA=="
	katEmptyHash      = "163d99e4ee1a5f3552d05d3b3f2bf815"
	katEmptySignature = "at3nj+jbZGri4XA4Uvh9tJ5hN08YCzWJ7URTqT4oNFjB9O3QU4GN5kl18GOOwMajgqxoXvsFDhjws8ndLV+P/SBJYpqXQXOSngIiSclYa69nPWgbZYvLFSoA13dNCQ0k9Eovtqsk6VkdR2NgYdOPC3bKwvVGqMcxNfBShMKT5aA7OpCfmqYfGUHomsnUzmOBolpEb5ioqgArJZUosys09orDLevz3hTNIjfWb0Ifh0/ndFi628lxSkstjVVNBKesaVAM0njz5PTC8SRCX4DqHZV+7NMNr63OBE4WI5BYOMbfz8Ao/PGJzkZ2w4Wr3uie9UZfVqVZcH3NOD7+5EieBQ=="
)

func loadTestKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/test-only-rsa2048-pkcs1.pem")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKeyPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignKnownAnswer(t *testing.T) {
	key := loadTestKey(t)
	k, err := checkPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &signer{
		key:   k,
		now:   func() time.Time { return time.Unix(katTime, 0) },
		nonce: func() (string, error) { return katNonce, nil },
	}
	for _, tc := range []struct {
		name     string
		body     []byte
		hash     string
		sig      string
		hasNonce bool
	}{
		{"body", []byte(katBody), katBodyHash, katSignature, true},
		{"nil body", nil, katEmptyHash, katEmptySignature, true},
		{"empty body", []byte{}, katEmptyHash, katEmptySignature, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if err := s.sign(h, tc.body); err != nil {
				t.Fatal(err)
			}
			want := http.Header{
				"X-Justap-Signature":    {tc.sig},
				"X-Justap-Request-Time": {"1700000000"},
				"X-Justap-Nonce":        {katNonce},
				"X-Justap-Body-Hash":    {tc.hash},
			}
			for k, v := range want {
				if got := h[k]; len(got) != 1 || got[0] != v[0] {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if len(h) != len(want) {
				t.Errorf("headers = %v, want exactly %v", h, want)
			}
			// Independently of the expected text: the signature verifies
			// with the public key over SHA-256(bodyHash + nonce).
			sig, err := base64.StdEncoding.DecodeString(h.Get("X-Justap-Signature"))
			if err != nil {
				t.Fatal(err)
			}
			d := sha256.Sum256([]byte(tc.hash + katNonce))
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
				t.Errorf("VerifyPKCS1v15: %v", err)
			}
		})
	}
}

// TestSignFreshPerCall: each call reads the clock and draws a nonce again.
func TestSignFreshPerCall(t *testing.T) {
	k, err := checkPrivateKey(loadTestKey(t))
	if err != nil {
		t.Fatal(err)
	}
	now := int64(katTime)
	s := &signer{key: k, now: func() time.Time { now++; return time.Unix(now, 0) }, nonce: newNonce}
	h1, h2 := http.Header{}, http.Header{}
	if err := s.sign(h1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.sign(h2, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{HeaderRequestTime, HeaderNonce, HeaderBodyHash, HeaderSignature} {
		if h1.Get(k) == h2.Get(k) {
			t.Errorf("%s is %q in both calls", k, h1.Get(k))
		}
	}
}

func TestNonceFromRejectsBiasedBytes(t *testing.T) {
	// 248..255 must be skipped (they would favour A-H); 0..61 map in order.
	src := []byte{248, 249, 250, 251, 252, 253, 254, 255}
	for i := 0; i < 64; i++ {
		src = append(src, byte(i+62*(i%4))%248) // i, i+62, i+124, i+186 all map to i%62
	}
	got, err := nonceFrom(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 0; i < nonceLen; i++ {
		want.WriteByte(nonceAlphabet[byte(i+62*(i%4))%248%62])
	}
	if got != want.String() {
		t.Errorf("nonce = %q, want %q", got, want.String())
	}
	if _, err := nonceFrom(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("a short random source gave no error")
	}
}

// TestNonceUniform draws many nonces and checks that every character of
// the alphabet is about equally frequent. With a plain b%62 the first 8
// characters would come 25% more often, and the statistic would be in the
// thousands; with uniform characters it stays near 61 (the degrees of
// freedom). 250 is beyond any chance result (p < 1e-20).
func TestNonceUniform(t *testing.T) {
	const n = 20000
	var counts [256]int
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		s, err := newNonce()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != nonceLen || strings.Trim(s, nonceAlphabet) != "" {
			t.Fatalf("nonce %q is not 32 characters of [A-Za-z0-9]", s)
		}
		if seen[s] {
			t.Fatalf("nonce %q drawn twice", s)
		}
		seen[s] = true
		for j := 0; j < len(s); j++ {
			counts[s[j]]++
		}
	}
	expected := float64(n*nonceLen) / float64(len(nonceAlphabet))
	var chi2 float64
	for i := 0; i < len(nonceAlphabet); i++ {
		d := float64(counts[nonceAlphabet[i]]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 250 || math.IsNaN(chi2) {
		t.Errorf("chi-square of character counts = %.1f, want < 250 (61 degrees of freedom)", chi2)
	}
}

// TestSigningKeyNotPrinted prints the client and its configuration, as
// copied for a call, with every verb, and looks for the key's numbers.
func TestSigningKeyNotPrinted(t *testing.T) {
	key := loadTestKey(t)
	c, err := NewClient("sk_test_printing", WithPrivateKey(key))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.callConfig([]Option{WithAppID("app_x")})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.sign == nil || cfg.sign == nil {
		t.Fatal("WithPrivateKey did not set the signer")
	}
	secrets := keyMaterial(key)
	for _, v := range []any{c, *c, c.cfg, cfg, *cfg} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Fatalf("fmt %s of %T prints private key material", verb, v)
				}
			}
		}
	}
}

// keyMaterial returns 24-character pieces of each secret number of key
// (D, the primes and the CRT values) in decimal and in hex, lower and upper
// case: text that must never be printed.
func keyMaterial(key *rsa.PrivateKey) []string {
	nums := append([]*big.Int{key.D}, key.Primes...)
	for _, n := range []*big.Int{key.Precomputed.Dp, key.Precomputed.Dq, key.Precomputed.Qinv} {
		if n != nil {
			nums = append(nums, n)
		}
	}
	var out []string
	for _, n := range nums {
		for _, s := range []string{n.String(), n.Text(16), strings.ToUpper(n.Text(16))} {
			out = append(out, s[len(s)/2:len(s)/2+24])
		}
	}
	return out
}

// KeyMaterialForTest gives the black-box tests keyMaterial.
var KeyMaterialForTest = keyMaterial
