package justap_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

// The signing key of these tests: testdata/test-only-rsa2048-*.pem, made
// once with crypto/rsa for the tests and for nothing else.
const (
	testKeyPKCS1  = "testdata/test-only-rsa2048-pkcs1.pem"
	testKeyPKCS8  = "testdata/test-only-rsa2048-pkcs8.pem"
	testKeyPublic = "testdata/test-only-rsa2048-public.pem"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := justap.ParsePrivateKeyPEM(readTestdata(t, testKeyPKCS1))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

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
	v    *justap.Verifier
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

func newVerifier(t testing.TB, pub *rsa.PublicKey, opts *justap.VerifierOptions) *justap.Verifier {
	t.Helper()
	v, err := justap.NewVerifier(pub, opts)
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

// routeAllSigned serves the seven operations behind vh, checking each request
// as the server receives it after verification.
func routeAllSigned(t testing.TB, mux *http.ServeMux, vh *verifying) {
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
}

// The bodies that sigChargeParams and sigRefundParams send.
const (
	sigChargeBody = `{"app_id":"app_test_1","merchant_trade_id":"order-1","amount":0.01,"channel":"AlipayQR",` +
		`"subject":"s","body":"b","client_ip":"127.0.0.1"}`
	sigRefundBody = `{"app_id":"app_test_1","charge_id":"ch_1","merchant_refund_id":"refund-1","description":"d","amount":0.01}`
)

var (
	sigChargeParams = &justap.ChargeCreateParams{
		MerchantTradeID: "order-1", Amount: 1, Channel: justap.ChannelAlipayQR,
		Subject: "s", Body: "b", ClientIP: "127.0.0.1",
	}
	sigRefundParams = &justap.RefundCreateParams{
		ChargeID: "ch_1", MerchantRefundID: "refund-1", Description: "d", Amount: 1,
	}
)

// allOperationsSigned calls each of the seven operations once.
func allOperationsSigned(ctx context.Context, c *justap.Client) []error {
	_, e1 := c.Charges.Create(ctx, sigChargeParams)
	_, e2 := c.Charges.Get(ctx, "ch_1")
	_, e3 := c.Charges.List(ctx, nil)
	_, e4 := c.Charges.Reverse(ctx, "ch_1")
	_, e5 := c.Refunds.Create(ctx, sigRefundParams)
	_, e6 := c.Refunds.Get(ctx, "ch_1", "re_1")
	_, e7 := c.Refunds.List(ctx, "ch_1", nil)
	return []error{e1, e2, e3, e4, e5, e6, e7}
}

func TestSigningEveryOperation(t *testing.T) {
	key := testKey(t)
	c, mux, _ := setup(t, justap.WithPrivateKey(key))
	vh := &verifying{v: newVerifier(t, &key.PublicKey, nil)}
	routeAllSigned(t, mux, vh)

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
	key := testKey(t)
	c, mux, _ := setup(t) // no WithPrivateKey
	vh := &verifying{v: newVerifier(t, &key.PublicKey, nil)}
	routeAllSigned(t, mux, vh)
	for i, err := range allOperationsSigned(context.Background(), c) {
		if !errors.Is(err, justap.ErrAuthentication) {
			t.Errorf("operation %d: err = %v, want ErrAuthentication", i+1, err)
		}
	}
	for _, r := range vh.records() {
		if !errors.Is(r.err, justap.ErrSignatureMissing) {
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
	key := testKey(t)
	c, mux, srv := setup(t, justap.WithPrivateKey(key))
	vh := &verifying{v: newVerifier(t, &key.PublicKey, nil)}
	routeAllSigned(t, mux, vh)

	_, err := c.Charges.Create(context.Background(), sigChargeParams,
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
	if !errors.Is(recs[0].err, justap.ErrSignatureInvalid) {
		t.Errorf("verify = %v, want ErrSignatureInvalid", recs[0].err)
	}
}

func TestSigningRetryIsSignedAfresh(t *testing.T) {
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
	if _, err := c.Charges.Create(ctx, sigChargeParams); err != nil {
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
	k := testKey(t)
	bare := &rsa.PrivateKey{PublicKey: k.PublicKey, D: k.D, Primes: k.Primes}
	c, mux, _ := setup(t, justap.WithPrivateKey(bare))
	vh := &verifying{v: newVerifier(t, &k.PublicKey, nil)}
	routeAllSigned(t, mux, vh)
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatal(err)
	}
	if bare.Precomputed.Dp != nil || bare.Precomputed.Qinv != nil {
		t.Error("WithPrivateKey precomputed values into the caller's key")
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
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
// openssl (see sign_internal_test.go).
func TestVerifierKnownAnswer(t *testing.T) {
	const (
		nonce = "kat0Nonce0123456789abcdefGHIJKLm"
		body  = `{"app_id":"app_test_1","amount":0.01}`
		hash  = "68afdad855ab0f78931a4f805b554805"
		sig   = "UwDQpujzux0o5YLKteXjy6cJips9HsIFahE7O+cK7mgqXiYsIjAxN4/4RHYuZmt2bfRYA5y/hOh0kE4QlTmYpNdDk1gaZ0rCdGC69Esb7IT8hJBP3KLpBGmPxX/E6vKpiOQfGbFIy5KfH3jtpfnk9edlMsMAb3OOoP1jVFjLqpN8fUJwgU16i1WkQ18zoLRokTaIzFIaHeEgOYLnq90Uy5pkFWIyfNQoTeYWePcZQkn5g7RGYbyqzXPtoe54jZ+m4CNWrwHe2VaNc4DbmvPkra5Ikkk3mJIMikJn28efZip9L8i+1uN3rnpbnlWfaefJKqI/YvAW+bFgP0ttKIAIHA=="
	)
	v := newVerifier(t, &testKey(t).PublicKey, &justap.VerifierOptions{Now: func() time.Time { return time.Unix(1700000000, 0) }})
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
	key := testKey(t)
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
		{"no signature", without("X-Justap-Signature"), body, 0, justap.ErrSignatureMissing},
		{"no time", without("X-Justap-Request-Time"), body, 0, justap.ErrSignatureMissing},
		{"no nonce", without("X-Justap-Nonce"), body, 0, justap.ErrSignatureMissing},
		{"no body hash", without("X-Justap-Body-Hash"), body, 0, justap.ErrSignatureMissing},
		{"nothing", http.Header{}, body, 0, justap.ErrSignatureMissing},
		{"body altered", good(), []byte(`{"amount":9.99}`), 0, justap.ErrSignatureInvalid},
		{"body dropped", good(), nil, 0, justap.ErrSignatureInvalid},
		{"time altered", with("X-Justap-Request-Time", strconv.Itoa(now+1)), body, 0, justap.ErrSignatureInvalid},
		{"nonce altered", with("X-Justap-Nonce", nonceN(3)), body, 0, justap.ErrSignatureInvalid},
		{"hash replaced", with("X-Justap-Body-Hash", hashOf(resign)), body, 0, justap.ErrSignatureInvalid},
		{"signature of another request", with("X-Justap-Signature", sigOf(resign)), body, 0, justap.ErrSignatureInvalid},
		{"signature by another key", signAt(t, otherKey, body, now, nonceN(1)), body, 0, justap.ErrSignatureInvalid},
		{"signature not base64", with("X-Justap-Signature", "!!!"), body, 0, justap.ErrSignatureInvalid},
		{"signature unpadded", with("X-Justap-Signature", strings.TrimRight(sigOf(good()), "=")), body, 0, justap.ErrSignatureInvalid},
		{"short nonce", signAt(t, key, body, now, "abc"), body, 0, justap.ErrSignatureInvalid},
		{"nonce with symbols", signAt(t, key, body, now, "testNonce-0000000000000000000001"), body, 0, justap.ErrSignatureInvalid},
		{"time not digits", with("X-Justap-Request-Time", "+1700000000"), body, 0, justap.ErrSignatureInvalid},
		{"two nonces", func() http.Header { h := good(); h.Add("X-Justap-Nonce", nonceN(1)); return h }(), body, 0, justap.ErrSignatureInvalid},
		{"stale", good(), body, 5*time.Minute + time.Second, justap.ErrRequestStale},
		{"from the future", good(), body, -5*time.Minute - time.Second, justap.ErrRequestStale},
		{"at the skew limit", good(), body, 5 * time.Minute, nil},
		{"at the future limit", good(), body, -5 * time.Minute, nil},
		{"good", good(), body, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, &key.PublicKey, &justap.VerifierOptions{
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
	key := testKey(t)
	clock := &sigClock{t: time.Unix(1700000000, 0)}
	v := newVerifier(t, &key.PublicKey, &justap.VerifierOptions{Now: clock.Now, MaxClockSkew: time.Minute})
	h := signAt(t, key, nil, 1700000000, nonceN(1))
	if err := v.Verify(h, nil); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Unix(1700000000+60, 0)) // still within the skew
	if err := v.Verify(h, nil); !errors.Is(err, justap.ErrRequestReplayed) {
		t.Fatalf("replay: %v, want ErrRequestReplayed", err)
	}
	clock.Set(time.Unix(1700000000+61, 0)) // now stale, so refused as such
	if err := v.Verify(h, nil); !errors.Is(err, justap.ErrRequestStale) {
		t.Fatalf("late replay: %v, want ErrRequestStale", err)
	}
}

// TestVerifierReplayConcurrent sends one signed request from many
// goroutines at once: exactly one is accepted.
func TestVerifierReplayConcurrent(t *testing.T) {
	key := testKey(t)
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
		case !errors.Is(err, justap.ErrRequestReplayed):
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
	key := testKey(t)
	const t0 = 1700000000
	clock := &sigClock{t: time.Unix(t0, 0)}
	v := newVerifier(t, &key.PublicKey, &justap.VerifierOptions{Now: clock.Now, MaxClockSkew: time.Minute, MaxNonces: 2})
	verify := func(ts int64, n int) error { return v.Verify(signAt(t, key, nil, ts, nonceN(n)), nil) }
	for n := 1; n <= 2; n++ {
		if err := verify(t0, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := verify(t0, 3); !errors.Is(err, justap.ErrReplayCacheFull) {
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
	if err := verify(t1, 6); !errors.Is(err, justap.ErrReplayCacheFull) {
		t.Fatalf("nonce 6: %v, want ErrReplayCacheFull", err)
	}
	if err := verify(t1, 4); !errors.Is(err, justap.ErrRequestReplayed) {
		t.Fatalf("replay of nonce 4: %v, want ErrRequestReplayed", err)
	}
}

func TestNewVerifierRejects(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub := &testKey(t).PublicKey
	for _, tc := range []struct {
		name string
		pub  *rsa.PublicKey
		opts *justap.VerifierOptions
	}{
		{"nil key", nil, nil},
		{"empty key", &rsa.PublicKey{}, nil},
		{"1024 bits", &small.PublicKey, nil},
		{"even exponent", &rsa.PublicKey{N: pub.N, E: 65536}, nil},
		{"negative skew", pub, &justap.VerifierOptions{MaxClockSkew: -time.Second}},
		{"negative cache", pub, &justap.VerifierOptions{MaxNonces: -1}},
	} {
		if v, err := justap.NewVerifier(tc.pub, tc.opts); err == nil || v != nil {
			t.Errorf("%s: NewVerifier succeeded", tc.name)
		}
	}
}
