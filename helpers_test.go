package justap_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
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

// chargeJSON is a charge as the gateway writes it.
const chargeJSON = `{"object":"Charge","data":{"charge_id":"ch_1","object":"Charge","app_id":"app_test_1",
	"merchant_trade_id":"order-1","channel":"AlipayQR","amount":131072.01,"currency":"CNY","paid":false}}`

// refundJSON is a refund as the gateway writes it.
const refundJSON = `{"object":"Refund","data":{"refund_id":"re_1","charge_id":"ch_1","amount":0.5,"status":"refunding"}}`

// cannedTransport answers every request with one canned response: the
// status, the header (a JSON content type when nil) and the body, announced
// as length bytes (the body's true length when length is 0).
type cannedTransport struct {
	status int
	header http.Header
	body   []byte
	length int64
}

func (f *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	header, length := f.header, f.length
	if header == nil {
		header = http.Header{"Content-Type": {"application/json"}}
	}
	if length == 0 {
		length = int64(len(f.body))
	}
	return &http.Response{
		Status:        strconv.Itoa(f.status) + " " + http.StatusText(f.status),
		StatusCode:    f.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(f.body)),
		ContentLength: length,
		Request:       r,
	}, nil
}

// cannedClient returns a client without retries whose every request gets
// tr's response: no network, no goroutines.
func cannedClient(t *testing.T, tr *cannedTransport, opts ...justap.Option) *justap.Client {
	t.Helper()
	all := append([]justap.Option{
		justap.WithBaseURL("http://127.0.0.1:1/api"),
		justap.WithAppID(testAppID),
		justap.WithMaxRetries(0),
		justap.WithHTTPClient(&http.Client{Transport: tr}),
	}, opts...)
	c, err := justap.NewClient(testAPIKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (h *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recorder) WithGroup(string) slog.Handler      { return h }

func (h *recorder) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.recs...)
}

// faultChargeBody is a valid get-charge response.
const faultChargeBody = `{"object":"Charge","data":{"charge_id":"ch_1","object":"Charge",` +
	`"app_id":"app_test_1","merchant_trade_id":"order-1","channel":"AlipayQR","amount":0.01,` +
	`"currency":"CNY","subject":"T-shirt","body":"One T-shirt","client_ip":"203.0.113.7",` +
	`"created_at":"2024-01-02T03:04:05Z","paid_ts":"0"}}`

// faultBackoff keeps retries fast in tests.
var faultBackoff = justap.WithRetryBackoff(time.Millisecond, 2*time.Millisecond)

// hangUp hijacks the connection and closes it without answering: with a
// FIN, or with a TCP reset when rst is set.
func hangUp(t testing.TB, w http.ResponseWriter, rst bool, raw string) {
	t.Helper()
	conn, bufrw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if raw != "" {
		bufrw.WriteString(raw)
		bufrw.Flush()
	}
	if rst {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		} else {
			t.Errorf("hijacked %T, want *net.TCPConn", conn)
		}
	}
	conn.Close()
}

// refusedURL returns the URL of a loopback address nothing listens on.
func refusedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// waitDone blocks a handler until the client goes away, never longer.
func waitDone(r *http.Request) { <-r.Context().Done() }

// fakeClient starts a fake and returns a client for it that retries
// quickly (opts may override).
func fakeClient(t *testing.T, opts ...justap.Option) (*justap.Client, *justaptest.Server) {
	t.Helper()
	srv := justaptest.NewServer(t)
	return fakeClientOf(t, srv, opts...), srv
}

// chargeParams returns valid params to create a charge of amount under
// merchantTradeID: the one builder the tests edit from.
func chargeParams(merchantTradeID string, amount justap.Amount) *justap.ChargeCreateParams {
	return &justap.ChargeCreateParams{
		MerchantTradeID: merchantTradeID,
		Amount:          amount,
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt",
		ClientIP:        "203.0.113.7",
	}
}

// refundParams returns valid params to refund amount of chargeID under
// merchantRefundID.
func refundParams(chargeID, merchantRefundID string, amount justap.Amount) *justap.RefundCreateParams {
	return &justap.RefundCreateParams{
		ChargeID: chargeID, MerchantRefundID: merchantRefundID, Description: "returned", Amount: amount,
	}
}

// readTestdata reads a file of testdata, failing the test if it cannot.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testKey returns the test-only signing key.
func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := justap.ParsePrivateKeyPEM(readTestdata(t, testKeyPKCS1))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jsonField returns the string at key in the JSON object b, or "".
func jsonField(b []byte, key string) string {
	var m map[string]any
	json.Unmarshal(b, &m)
	s, _ := m[key].(string)
	return s
}

// errorOf returns err as an *Error, failing the test if it is not one.
func errorOf(t *testing.T, err error) *justap.Error {
	t.Helper()
	var e *justap.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %v, want a *justap.Error", err, err)
	}
	return e
}

// fakeClock is a settable clock for justaptest.WithClock. It starts at the
// real time, so that the fake stamps objects inside a create's window.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// clockedFake is fakeClient on a fake whose clock the test moves.
func clockedFake(t *testing.T, opts ...justap.Option) (*justap.Client, *justaptest.Server, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	srv := justaptest.NewServer(t, justaptest.WithClock(clk.Now))
	return fakeClientOf(t, srv, opts...), srv, clk
}

// fakeClientOf returns a client of srv with a fast backoff.
func fakeClientOf(t *testing.T, srv *justaptest.Server, opts ...justap.Option) *justap.Client {
	t.Helper()
	c, err := justap.NewClient(srv.APIKey(), append([]justap.Option{
		justap.WithBaseURL(srv.URL),
		justap.WithAppID(srv.AppID()),
		justap.WithHTTPClient(srv.Client()),
		justap.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
