package justap_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testAPIKey is the key setup's client sends; tests search output for it.
const testAPIKey = "sk_test_SECRET0123456789abcdef"

// testAppID is the default app of setup's client.
const testAppID = "app_test_1"

// apiPrefix is the path prefix of setup's base URL: a path built without
// the base URL misses the mux and fails loudly.
const apiPrefix = "/api"

// setup returns a client pointed at an httptest server on loopback, and the
// mux that serves it under apiPrefix. Retries are off unless opts turn
// them on, so a handler's failure is seen once.
func setup(t testing.TB, opts ...justap.Option) (*justap.Client, *http.ServeMux, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	api := http.NewServeMux()
	api.Handle(apiPrefix+"/", http.StripPrefix(apiPrefix, mux))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base URL: %s %s", r.Method, r.URL.EscapedPath())
		http.Error(w, "outside the base URL", http.StatusBadGateway)
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	all := append([]justap.Option{
		justap.WithBaseURL(srv.URL + apiPrefix),
		justap.WithAppID(testAppID),
		justap.WithMaxRetries(0),
		justap.WithHTTPClient(srv.Client()),
	}, opts...)
	c, err := justap.NewClient(testAPIKey, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, mux, srv
}

// testMethod checks the request's method.
func testMethod(t testing.TB, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

// testQuery checks the request's whole query: every key, every value.
func testQuery(t testing.TB, r *http.Request, want url.Values) {
	t.Helper()
	got := r.URL.Query()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

// testJSONBody checks the request body against want, a JSON document:
// the same keys and the same values, numbers compared as their exact text.
func testJSONBody(t testing.TB, r *http.Request, want string) {
	t.Helper()
	body := readAll(t, r)
	if diff := cmp.Diff(decodeExact(t, []byte(want)), decodeExact(t, body)); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s\nbody: %s", diff, body)
	}
}

// readAll reads the request body.
func readAll(t testing.TB, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

// decodeExact decodes JSON keeping numbers as their text.
func decodeExact(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// writeJSON answers with status and a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// Notifications: Justap's test-only keys (testdata/notifications/make.sh),
// and bodies encrypted the way Justap's gateway encrypts them.
const (
	justapKey2048 = "testdata/test-only-justap-rsa2048.pem"
	justapKey4096 = "testdata/test-only-justap-rsa4096.pem"
)

// justapKey loads one of Justap's test-only private keys.
func justapKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := justap.ParsePrivateKeyPEM(readTestdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encryptBlocks encrypts plain as Justap's gateway does (PHP's
// openssl_private_encrypt): blocks of at most key size - 11 bytes, each
// padded with PKCS#1 v1.5 type 1 and raised to the private exponent, which
// is what rsa.SignPKCS1v15 does with hash 0.
func encryptBlocks(t testing.TB, key *rsa.PrivateKey, plain []byte) []byte {
	t.Helper()
	out, err := encryptAsJustap(key, plain)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func encryptAsJustap(key *rsa.PrivateKey, plain []byte) ([]byte, error) {
	var out []byte
	for step := key.Size() - 11; len(plain) > 0; {
		n := min(step, len(plain))
		b, err := rsa.SignPKCS1v15(nil, key, 0, plain[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		plain = plain[n:]
	}
	return out, nil
}

// exampleNotification is notificationBody for the examples, which have
// no testing.TB: it panics on failure.
func exampleNotification(keyFile, event string, object []byte) []byte {
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		panic(err)
	}
	key, err := justap.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		panic(err)
	}
	ct, err := encryptAsJustap(key, object)
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(map[string]any{"event": event, "is_encrypted": true, "data": ct}) // []byte: base64
	if err != nil {
		panic(err)
	}
	return b
}

// notificationBody returns the body of an encrypted notification of event
// whose object is the JSON text object.
func notificationBody(t testing.TB, key *rsa.PrivateKey, event string, object []byte) []byte {
	t.Helper()
	return envelopeBody(t, event, true, base64.StdEncoding.EncodeToString(encryptBlocks(t, key, object)))
}

// envelopeBody returns a notification body with data as given: a string
// (base64) or a JSON object's text ([]byte or json.RawMessage).
func envelopeBody(t testing.TB, event string, encrypted bool, data any) []byte {
	t.Helper()
	if b, ok := data.([]byte); ok {
		data = json.RawMessage(b)
	}
	b, err := json.Marshal(map[string]any{"event": event, "is_encrypted": encrypted, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
