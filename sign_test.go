package justap_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// The signing key of these tests: testdata/test-only-rsa2048-*.pem, made
// once with crypto/rsa for the tests and for nothing else.
const (
	testKeyPKCS1  = "testdata/test-only-rsa2048-pkcs1.pem"
	testKeyPKCS8  = "testdata/test-only-rsa2048-pkcs8.pem"
	testKeyPublic = "testdata/test-only-rsa2048-public.pem"
)

// secretTexts is what must never be printed: the secret numbers of the
// test key (see keyMaterial) and every 16-character piece of its PEM files'
// base64 lines.
func secretTexts(t testing.TB) []string {
	t.Helper()
	out := justap.KeyMaterialForTest(testKey(t))
	for _, name := range []string{testKeyPKCS1, testKeyPKCS8} {
		for _, line := range strings.Split(string(readTestdata(t, name)), "\n") {
			if strings.HasPrefix(line, "-----") {
				continue
			}
			for i := 0; i+16 <= len(line); i += 8 {
				out = append(out, line[i:i+16])
			}
		}
	}
	return out
}

func assertNoSecret(t testing.TB, secrets []string, what, text string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains private key material %q:\n%s", what, s, text)
			return
		}
	}
}

// signedRecord is one request as a verifying handler received it.
type signedRecord struct {
	method, path string
	header       http.Header
	body         []byte
	err          error // the verifier's verdict
}

// verifying wraps a handler: it reads the body, verifies the signature
// with v, records the request, and answers 401 with a google.rpc.Status
// body (code 16) when verification fails.
type verifying struct {
	v    *justaptest.Verifier
	mu   sync.Mutex
	recs []signedRecord
}

func (vh *verifying) wrap(t testing.TB, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		verr := vh.v.Verify(r.Header, body)
		vh.mu.Lock()
		vh.recs = append(vh.recs, signedRecord{r.Method, r.URL.Path, r.Header.Clone(), body, verr})
		vh.mu.Unlock()
		if verr != nil {
			writeJSON(w, http.StatusUnauthorized, fmt.Sprintf(`{"code":16,"message":%q}`, verr.Error()))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r)
	}
}

func (vh *verifying) records() []signedRecord {
	vh.mu.Lock()
	defer vh.mu.Unlock()
	return append([]signedRecord(nil), vh.recs...)
}

func newVerifier(t testing.TB, pub *rsa.PublicKey, opts *justaptest.VerifierOptions) *justaptest.Verifier {
	t.Helper()
	v, err := justaptest.NewVerifier(pub, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const (
	sigChargeJSON     = `{"object":"Charge","data":{"charge_id":"ch_1","amount":"0.01"}}`
	sigRefundJSON     = `{"object":"Refund","data":{"refund_id":"re_1","charge_id":"ch_1"}}`
	sigChargeListJSON = `{"object":"ChargeList","data":[],"has_more":false}`
	sigRefundListJSON = `{"object":"RefundList","data":[],"has_more":false,"total":0}`
)

// routeAllSigned serves the seven operations behind a verifier of the test
// key's signatures, checking each request as the server receives it after
// verification, and returns the verifier.
func routeAllSigned(t testing.TB, mux *http.ServeMux) *verifying {
	vh := &verifying{v: newVerifier(t, &testKey(t).PublicKey, nil)}
	answer := func(method string, query url.Values, body, resp string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			testMethod(t, r, method)
			testQuery(t, r, query)
			if body != "" {
				testJSONBody(t, r, body)
			}
			writeJSON(w, http.StatusOK, resp)
		}
	}
	app := url.Values{"app_id": {testAppID}}
	mux.HandleFunc("POST /transaction/v1/charges", vh.wrap(t, answer("POST", nil, sigChargeBody, sigChargeJSON)))
	mux.HandleFunc("GET /transaction/v1/charges", vh.wrap(t, answer("GET", app, "", sigChargeListJSON)))
	mux.HandleFunc("GET /transaction/v1/charges/{id}", vh.wrap(t, answer("GET", app, "", sigChargeJSON)))
	mux.HandleFunc("POST /transaction/v1/charges/{id}/reverse", vh.wrap(t, answer("POST", nil, "", sigChargeJSON)))
	mux.HandleFunc("POST /transaction/v1/refunds", vh.wrap(t, answer("POST", nil, sigRefundBody, sigRefundJSON)))
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds", vh.wrap(t, answer("GET", app, "", sigRefundListJSON)))
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds/{rid}", vh.wrap(t, answer("GET", app, "", sigRefundJSON)))
	return vh
}

// The bodies that chargeParams("order-1", 1) and refundParams("ch_1",
// "refund-1", 1) send.
const (
	sigChargeBody = `{"app_id":"app_test_1","merchant_trade_id":"order-1","amount":0.01,"channel":"AlipayQR",` +
		`"subject":"T-shirt","body":"One T-shirt","client_ip":"203.0.113.7"}`
	sigRefundBody = `{"app_id":"app_test_1","charge_id":"ch_1","merchant_refund_id":"refund-1","description":"returned","amount":0.01,` +
		`"metadata":{"justap_merchant_refund_id":"refund-1"}}`
)

// allOperationsSigned calls each of the seven operations once.
func allOperationsSigned(ctx context.Context, c *justap.Client) []error {
	_, e1 := c.Charges.Create(ctx, chargeParams("order-1", 1))
	_, e2 := c.Charges.Get(ctx, "ch_1")
	_, e3 := c.Charges.List(ctx, nil)
	_, e4 := c.Charges.Reverse(ctx, "ch_1")
	_, e5 := c.Refunds.Create(ctx, refundParams("ch_1", "refund-1", 1))
	_, e6 := c.Refunds.Get(ctx, "ch_1", "re_1")
	_, e7 := c.Refunds.List(ctx, "ch_1", nil)
	return []error{e1, e2, e3, e4, e5, e6, e7}
}

func TestSigningEveryOperation(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, justap.WithPrivateKey(testKey(t)))
	vh := routeAllSigned(t, mux)

	for i, err := range allOperationsSigned(context.Background(), c) {
		if err != nil {
			t.Errorf("operation %d: %v", i+1, err)
		}
	}
	want := []struct {
		method, path string
		hasBody      bool
	}{
		{"POST", "/transaction/v1/charges", true},
		{"GET", "/transaction/v1/charges/ch_1", false},
		{"GET", "/transaction/v1/charges", false},
		{"POST", "/transaction/v1/charges/ch_1/reverse", false},
		{"POST", "/transaction/v1/refunds", true},
		{"GET", "/transaction/v1/charges/ch_1/refunds/re_1", false},
		{"GET", "/transaction/v1/charges/ch_1/refunds", false},
	}
	recs := vh.records()
	if len(recs) != len(want) {
		t.Fatalf("%d requests reached the server, want %d", len(recs), len(want))
	}
	nonces := map[string]bool{}
	for i, r := range recs {
		w := want[i]
		if r.method != w.method || r.path != w.path || (len(r.body) > 0) != w.hasBody {
			t.Errorf("request %d = %s %s with %d body bytes, want %s %s (body: %v)",
				i+1, r.method, r.path, len(r.body), w.method, w.path, w.hasBody)
		}
		if r.err != nil {
			t.Errorf("%s %s: verify: %v", r.method, r.path, r.err)
		}
		if got := r.header.Get(justap.HeaderBodyHash); got != md5Hex(r.body, r.header) {
			t.Errorf("%s %s: body hash %s, want MD5 of the bytes received + time + nonce", r.method, r.path, got)
		}
		nonces[r.header.Get(justap.HeaderNonce)] = true
	}
	if len(nonces) != len(want) {
		t.Errorf("%d distinct nonces in %d requests", len(nonces), len(want))
	}
}

// md5Hex computes the body hash of a received request independently:
// MD5(body + time + nonce) in lowercase hex.
func md5Hex(body []byte, h http.Header) string {
	sum := md5.Sum([]byte(string(body) + h.Get("X-Justap-Request-Time") + h.Get("X-Justap-Nonce")))
	return hex.EncodeToString(sum[:])
}

func TestSigningUnsignedRefused(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t) // no WithPrivateKey
	vh := routeAllSigned(t, mux)
	for i, err := range allOperationsSigned(context.Background(), c) {
		if !errors.Is(err, justap.ErrAuthentication) {
			t.Errorf("operation %d: err = %v, want ErrAuthentication", i+1, err)
		}
	}
	for _, r := range vh.records() {
		if !errors.Is(r.err, justaptest.ErrSignatureMissing) {
			t.Errorf("%s %s: verify = %v, want ErrSignatureMissing", r.method, r.path, r.err)
		}
		for _, h := range []string{"X-Justap-Signature", "X-Justap-Request-Time", "X-Justap-Nonce", "X-Justap-Body-Hash"} {
			if _, ok := r.header[h]; ok {
				t.Errorf("%s %s: unsigned client sent %s", r.method, r.path, h)
			}
		}
	}
}

// tamperBody changes the body on its way to the server, after signing.
type tamperBody struct{ base http.RoundTripper }

func (tr tamperBody) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		return tr.base.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte(`"amount":0.01`), []byte(`"amount":9.99`), 1)
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.ContentLength = int64(len(b))
	return tr.base.RoundTrip(r2)
}

func TestSigningTamperedBodyRefused(t *testing.T) {
	t.Parallel()
	c, mux, srv := setup(t, justap.WithPrivateKey(testKey(t)))
	vh := routeAllSigned(t, mux)

	_, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1),
		justap.WithHTTPClient(&http.Client{Transport: tamperBody{srv.Client().Transport}}))
	if !errors.Is(err, justap.ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
	recs := vh.records()
	if len(recs) != 1 {
		t.Fatalf("%d requests, want 1", len(recs))
	}
	if !bytes.Contains(recs[0].body, []byte(`"amount":9.99`)) {
		t.Fatalf("the body was not tampered with: %s", recs[0].body)
	}
	if !errors.Is(recs[0].err, justaptest.ErrSignatureInvalid) {
		t.Errorf("verify = %v, want ErrSignatureInvalid", recs[0].err)
	}
}

func TestSigningRetryIsSignedAfresh(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	c, mux, _ := setup(t, justap.WithPrivateKey(key),
		justap.WithMaxRetries(1), justap.WithRetryBackoff(time.Millisecond, time.Millisecond))
	v := newVerifier(t, &key.PublicKey, nil)
	var (
		mu   sync.Mutex
		recs []signedRecord
	)
	handler := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		recs = append(recs, signedRecord{r.Method, r.URL.Path, r.Header.Clone(), body, v.Verify(r.Header, body)})
		n := len(recs)
		mu.Unlock()
		if n%2 == 1 {
			writeJSON(w, http.StatusServiceUnavailable, `{"code":14,"message":"try again"}`)
			return
		}
		writeJSON(w, http.StatusOK, sigChargeJSON)
	}
	mux.HandleFunc("POST /transaction/v1/charges", handler)
	mux.HandleFunc("POST /transaction/v1/charges/{id}/reverse", handler)

	ctx := context.Background()
	if _, err := c.Charges.Create(ctx, chargeParams("order-1", 1)); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := c.Charges.Reverse(ctx, "ch_1"); err != nil {
		t.Fatalf("Reverse: %v", err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d attempts, want 4 (two calls, one retry each)", len(recs))
	}
	for i := 0; i < 4; i += 2 {
		first, retry := recs[i], recs[i+1]
		name := first.method + " " + first.path
		if !bytes.Equal(first.body, retry.body) {
			t.Errorf("%s: the retry sent a different body:\n%s\n%s", name, first.body, retry.body)
		}
		if first.header.Get("X-Justap-Nonce") == retry.header.Get("X-Justap-Nonce") {
			t.Errorf("%s: the retry reused nonce %s", name, first.header.Get("X-Justap-Nonce"))
		}
		if first.header.Get("X-Justap-Signature") == retry.header.Get("X-Justap-Signature") {
			t.Errorf("%s: the retry reused the signature", name)
		}
		for j, r := range []signedRecord{first, retry} {
			if got, want := r.header.Get("X-Justap-Body-Hash"), md5Hex(r.body, r.header); got != want {
				t.Errorf("%s attempt %d: body hash %s, want %s (MD5 of the bytes received + time + nonce)", name, j+1, got, want)
			}
			if r.err != nil {
				t.Errorf("%s attempt %d: verify: %v", name, j+1, r.err)
			}
		}
	}
}

func TestSigningKeyNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	secrets := secretTexts(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux, _ := setup(t, justap.WithPrivateKey(key), justap.WithLogger(logger),
		justap.WithMaxRetries(1), justap.WithRetryBackoff(time.Millisecond, time.Millisecond))
	mux.HandleFunc("GET /transaction/v1/charges/ok", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, sigChargeJSON)
	})
	mux.HandleFunc("GET /transaction/v1/charges/unauthorized", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusUnauthorized, `{"code":16,"message":"bad signature"}`)
	})
	mux.HandleFunc("GET /transaction/v1/charges/down", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, `{"code":14,"message":"down"}`)
	})
	ctx := context.Background()
	var texts []string
	for _, id := range []string{"ok", "unauthorized", "down"} {
		_, err := c.Charges.Get(ctx, id)
		if (err == nil) != (id == "ok") {
			t.Fatalf("Get %s: err = %v", id, err)
		}
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	if !strings.Contains(logs.String(), "justap request") {
		t.Fatalf("nothing was logged: %q", logs.String())
	}
	texts = append(texts, logs.String())
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		texts = append(texts, fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c))
	}
	texts = append(texts, fmt.Sprintf("%s", c))
	// Errors of the option and the loader, on bad keys made from this one.
	bad := *key
	bad.D = new(big.Int).Add(key.D, big.NewInt(2))
	bad.Precomputed = rsa.PrecomputedValues{}
	if _, err := justap.NewClient("sk_test_x", justap.WithPrivateKey(&bad)); err == nil {
		t.Error("WithPrivateKey accepted an inconsistent key")
	} else {
		texts = append(texts, err.Error())
	}
	der := pemBytes(t, testKeyPKCS1)
	der[len(der)/2] ^= 0xff
	corrupt := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	truncated := readTestdata(t, testKeyPKCS8)[:900]
	for _, in := range [][]byte{corrupt, truncated, bytes.ReplaceAll(readTestdata(t, testKeyPKCS1), []byte("RSA PRIVATE"), []byte("EC PRIVATE"))} {
		if _, err := justap.ParsePrivateKeyPEM(in); err == nil {
			t.Errorf("ParsePrivateKeyPEM accepted a damaged key")
		} else {
			texts = append(texts, err.Error())
		}
	}
	for i, s := range texts {
		assertNoSecret(t, secrets, fmt.Sprintf("text %d", i), s)
		if strings.Contains(s, testAPIKey) {
			t.Errorf("text %d contains the API key: %s", i, s)
		}
	}
}

// pemBytes returns the DER inside the first PEM block of a file.
func pemBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, _ := pem.Decode(readTestdata(t, name))
	if b == nil {
		t.Fatalf("%s: no PEM block", name)
		return nil
	}
	return b.Bytes
}

func TestWithPrivateKeyRejects(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	key := testKey(t)
	inconsistent := *key
	inconsistent.Primes = []*big.Int{key.Primes[1], new(big.Int).Add(key.Primes[0], big.NewInt(2))}
	inconsistent.Precomputed = rsa.PrecomputedValues{}
	for _, tc := range []struct {
		name string
		key  *rsa.PrivateKey
		want string
	}{
		{"nil", nil, "nil"},
		{"empty", &rsa.PrivateKey{}, "incomplete"},
		{"1024 bits", small, "1024 bits; at least 2048"},
		{"inconsistent", &inconsistent, "not a valid RSA private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := justap.NewClient("sk_test_x", justap.WithPrivateKey(tc.key))
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want an error", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "justap: WithPrivateKey: ") {
				t.Errorf("err = %q, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestWithPrivateKeyDoesNotModifyKey: the key as given, without
// precomputed values, is left as it was.
func TestWithPrivateKeyDoesNotModifyKey(t *testing.T) {
	t.Parallel()
	k := testKey(t)
	bare := &rsa.PrivateKey{PublicKey: k.PublicKey, D: k.D, Primes: k.Primes}
	c, mux, _ := setup(t, justap.WithPrivateKey(bare))
	routeAllSigned(t, mux)
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatal(err)
	}
	if bare.Precomputed.Dp != nil || bare.Precomputed.Qinv != nil {
		t.Error("WithPrivateKey precomputed values into the caller's key")
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	t.Parallel()
	want := testKey(t)
	p1, p8 := readTestdata(t, testKeyPKCS1), readTestdata(t, testKeyPKCS8)
	cert := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	for name, in := range map[string][]byte{
		"PKCS#1":                  p1,
		"PKCS#8":                  p8,
		"PKCS#8 labelled PKCS#1":  relabel(t, p8, "RSA PRIVATE KEY"),
		"PKCS#1 labelled PKCS#8":  relabel(t, p1, "PRIVATE KEY"),
		"after another block":     append(append([]byte("comment line\n"), cert...), p8...),
		"with blank lines around": append(append([]byte("\n\n"), p1...), "\n\n"...),
	} {
		got, err := justap.ParsePrivateKeyPEM(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s: a different key came back", name)
		}
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	legacy, _ := pem.Decode(p1)
	legacy.Headers = map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}
	secrets := secretTexts(t)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no PEM block found"},
		{"garbage", []byte("not a key at all"), "no PEM block found"},
		{"DER without PEM", pemBytes(t, testKeyPKCS1), "no PEM block found"},
		{"public key only", readTestdata(t, testKeyPublic), `only PEM blocks of type "PUBLIC KEY"`},
		{"legacy encrypted", pem.EncodeToMemory(legacy), "encrypted (Proc-Type: ENCRYPTED)"},
		{"PKCS#8 encrypted", relabel(t, p8, "ENCRYPTED PRIVATE KEY"), "encrypted (ENCRYPTED PRIVATE KEY)"},
		{"ECDSA PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "*ecdsa.PrivateKey, not an RSA key"},
		{"Ed25519 PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}), "ed25519.PrivateKey, not an RSA key"},
		{"garbage in the block", []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAABBBBCCCC\n-----END RSA PRIVATE KEY-----\n"), "not a valid PKCS#1 or PKCS#8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := justap.ParsePrivateKeyPEM(tc.in)
			if err == nil || k != nil {
				t.Fatalf("got %v, %v; want an error", k != nil, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to say %q", err, tc.want)
			}
			assertNoSecret(t, secrets, "error", err.Error())
		})
	}
}

// relabel returns the first PEM block of in with another type.
func relabel(t testing.TB, in []byte, typ string) []byte {
	t.Helper()
	b, _ := pem.Decode(in)
	if b == nil {
		t.Fatal("no PEM block")
		return nil
	}
	b.Type = typ
	return pem.EncodeToMemory(b)
}

func TestParsePublicKeyPEM(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	for name, in := range map[string][]byte{"PKIX": readTestdata(t, testKeyPublic), "PKCS#1": pkcs1} {
		got, err := justap.ParsePublicKeyPEM(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !got.Equal(&key.PublicKey) {
			t.Errorf("%s: a different key came back", name)
		}
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	for name, in := range map[string][]byte{
		"empty":       nil,
		"private key": readTestdata(t, testKeyPKCS1),
		"ECDSA":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}),
		"garbage":     []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
	} {
		if k, err := justap.ParsePublicKeyPEM(in); err == nil || k != nil {
			t.Errorf("%s: got a key, want an error", name)
		}
	}
}
