package justaptest

import (
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default credentials of a fake. They are test credentials: the fake moves
// no money, whatever the key says.
const (
	DefaultAPIKey = "sk_test_justaptest"
	DefaultAppID  = "app_justaptest"
)

// ListWindow is how far back a charge list reaches when the request sets no
// created.* bound: like Justap, the fake then returns about the last month
// only, measured from its clock.
const ListWindow = 30 * 24 * time.Hour

// DefaultTTL is how long a charge created without a ttl can be paid.
const DefaultTTL = 2 * time.Hour

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// Option configures a fake (NewServer or NewHandler), as justap.Option
// configures a client: an option that cannot be applied returns an error,
// and each option is applied once.
type Option func(*options) error

type options struct {
	apiKey         string
	appID          string
	now            func() time.Time
	pendingRefunds bool
	logger         *slog.Logger
	verifier       *Verifier // checks request signatures when set

	// Notifications (notify.go, deliveries.go).
	platformKey      *rsa.PrivateKey
	schedule         []time.Duration
	notifyClient     *http.Client
	notifyAnyAddress bool

	controlHosts []string // WithControlHosts
}

// WithAPIKey sets the API key the fake accepts (default DefaultAPIKey). A
// key starting with "sk_live_" makes its charges live_mode; the fake still
// moves no money. An empty key leaves the default.
func WithAPIKey(key string) Option {
	return func(o *options) error {
		if key != "" {
			o.apiKey = key
		}
		return nil
	}
}

// WithAppID sets the one app the fake serves (default DefaultAppID).
// Requests naming another app_id are refused with permission denied (403,
// code 7). An empty id leaves the default.
func WithAppID(appID string) Option {
	return func(o *options) error {
		if appID != "" {
			o.appID = appID
		}
		return nil
	}
}

// WithClock sets the fake's clock (default time.Now). Every time the fake
// records (created_at, paid_at, expiry, the list window) comes from it,
// truncated to whole seconds as Justap stores them. With a fixed clock and
// the fake's sequential ids, responses are deterministic, for golden tests.
// now must be safe for concurrent use if the fake is.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now != nil {
			o.now = now
		}
		return nil
	}
}

// WithPendingRefunds makes new refunds stay "refunding" (is_success false,
// the charge's amount_refund unchanged) until CompleteRefund is called, as
// a channel that refunds asynchronously does. By default a refund succeeds
// at once.
func WithPendingRefunds() Option {
	return func(o *options) error { o.pendingRefunds = true; return nil }
}

// WithLogger logs one record per request (method, path, operation, status,
// injected fault) at debug level. Never a body, never the API key.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// Handler is the fake Justap gateway as an http.Handler, with its state.
// Serve it wherever you like; NewServer serves one on a loopback port for
// a test. It is safe for concurrent use.
type Handler struct {
	opts options

	// done is closed by Close, ending requests held by FaultHang.
	done      chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	st     *store // the charges and refunds
	faults []*faultRule
	counts map[Op]int
	reqSeq int64

	// Notifications (notify.go, deliveries.go).
	nt           *notifier     // held by mu
	wake         chan struct{} // signalled when a notification is queued
	notifyClient *http.Client
	keyOnce      sync.Once
	key          *rsa.PrivateKey
}

// NewHandler returns a fake gateway with no charges, for serving outside
// a test (cmd/justap-mock serves one). It fails if an option does, such
// as WithPublicKey with an unusable key.
func NewHandler(opts ...Option) (*Handler, error) {
	o := options{apiKey: DefaultAPIKey, appID: DefaultAppID, now: time.Now, schedule: DefaultDeliverySchedule()}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	h := &Handler{
		opts:         o,
		done:         make(chan struct{}),
		st:           newStore(),
		counts:       map[Op]int{},
		nt:           newNotifier(0),
		wake:         make(chan struct{}, 1),
		notifyClient: o.notifyClient,
	}
	if h.notifyClient == nil {
		h.notifyClient = newNotifyClient(o.notifyAnyAddress)
	}
	return h, nil
}

// Close ends the requests held by FaultHang, now and later. The handler
// still serves other requests. It is safe to call more than once.
func (h *Handler) Close() { h.closeOnce.Do(func() { close(h.done) }) }

// APIKey returns the API key the fake accepts.
func (h *Handler) APIKey() string { return h.opts.apiKey }

// AppID returns the app the fake serves.
func (h *Handler) AppID() string { return h.opts.appID }

// Reset forgets every charge, refund, pending fault and count, and restarts
// the id sequences, as if the fake were new.
func (h *Handler) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st = newStore()
	h.nt = newNotifier(h.nt.gen + 1)
	h.faults = nil
	h.counts = map[Op]int{}
	h.reqSeq = 0
}

// now reads the clock: UTC, whole seconds.
func (h *Handler) now() time.Time { return h.opts.now().UTC().Truncate(time.Second) }

// Server is a fake Justap gateway listening on a loopback port: a Handler
// behind an *httptest.Server. Point a client at URL with APIKey and AppID.
type Server struct {
	// URL is the base URL of the fake, such as "http://127.0.0.1:41234".
	URL string
	*Handler

	hs *httptest.Server
}

// NewServer starts a fake Justap gateway on a loopback port for the test
// t, and closes it when the test ends. An option that fails (an unusable
// WithPublicKey, say) fails the test. Outside a test, use StartServer.
func NewServer(t testing.TB, opts ...Option) *Server {
	if t == nil {
		panic("justaptest: NewServer needs the test's testing.TB; outside a test, use StartServer")
	}
	t.Helper()
	s, err := StartServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartServer starts a fake Justap gateway on a loopback port, for
// programs and examples; the caller must Close it. It fails if an option
// does. In a test, NewServer does the same and closes it for you.
func StartServer(opts ...Option) (*Server, error) {
	h, err := NewHandler(opts...)
	if err != nil {
		return nil, err
	}
	hs := httptest.NewServer(h)
	return &Server{URL: hs.URL, Handler: h, hs: hs}, nil
}

// Client returns an HTTP client for the server, whose idle connections
// Close closes. Passing it to justap.WithHTTPClient is optional.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Close ends requests held by FaultHang, shuts the server down and waits
// for its requests to finish. It is safe to call more than once; the test's
// cleanup calls it.
func (s *Server) Close() {
	s.Handler.Close()
	s.hs.Close()
}

// apiError is a google.rpc.Status, as the gateway answers errors.
type apiError struct {
	code    int
	message string
}

// gRPC codes the fake answers with.
const (
	codeInvalidArgument    = 3
	codeNotFound           = 5
	codeAlreadyExists      = 6
	codePermissionDenied   = 7
	codeFailedPrecondition = 9
	codeUnimplemented      = 12
	codeInternal           = 13
	codeUnavailable        = 14
	codeUnauthenticated    = 16
)

func errorf(code int, format string, args ...any) *apiError {
	return &apiError{code: code, message: fmt.Sprintf(format, args...)}
}

// httpStatus maps a gRPC code to the HTTP status grpc-gateway answers with.
func httpStatus(code int) int {
	switch code {
	case 0:
		return http.StatusOK
	case 1:
		return 499 // client closed request
	case 3, 9, 11:
		return http.StatusBadRequest
	case 4:
		return http.StatusGatewayTimeout
	case 5:
		return http.StatusNotFound
	case 6, 10:
		return http.StatusConflict
	case 7:
		return http.StatusForbidden
	case 8:
		return http.StatusTooManyRequests
	case 12:
		return http.StatusNotImplemented
	case 14:
		return http.StatusServiceUnavailable
	case 16:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError // 2, 13, 15 and unknown codes
}

// grpcCode maps an HTTP status back to the gRPC code whose status it is,
// for the bodies of injected failures.
func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return codeInvalidArgument
	case http.StatusUnauthorized:
		return codeUnauthenticated
	case http.StatusForbidden:
		return codePermissionDenied
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusConflict:
		return codeAlreadyExists
	case http.StatusTooManyRequests:
		return 8
	case http.StatusNotImplemented:
		return codeUnimplemented
	case http.StatusServiceUnavailable:
		return codeUnavailable
	case http.StatusGatewayTimeout:
		return 4
	}
	return codeInternal
}

// errorBody is the JSON of a google.rpc.Status.
func (e *apiError) body() []byte {
	b, _ := json.Marshal(statusJSON{e.code, e.message, []any{}})
	return b
}

// ServeHTTP serves one request. Every API request passes the same steps:
// it is matched to its operation and counted, its body is read, an
// injected fault may take it over, it is authenticated, and then its
// operation runs. Paths under /justaptest/ are the fake's control
// endpoints (see the package docs): they are not counted, faulted or
// authenticated.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(deliveryHeader) != "" {
		controlError(w, errorf(codePermissionDenied, "a notification of a fake cannot be posted to a fake: point notify_url at your handler"))
		return
	}
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		h.serveControl(w, r)
		return
	}
	rt := route(r.Method, r.URL.EscapedPath())

	h.mu.Lock()
	h.reqSeq++
	reqID := "req_" + pad(h.reqSeq)
	if rt.op != "" {
		h.counts[rt.op]++
	}
	f := h.takeFault(r.Method, r.URL.Path, rt.op)
	h.mu.Unlock()
	w.Header().Set("X-Request-Id", reqID)

	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))

	var page *Fault // a page fault: the request is served, wrong
	if f != nil && f.Kind.page() {
		page, f = f, nil
	}
	if f != nil && f.Kind != FaultDropResponse {
		h.log(r, rt.op, 0, f)
		h.injectFault(w, r, f)
		return
	}

	resp, aerr := h.serveAPI(r, rt, body, readErr, page)

	if f != nil { // FaultDropResponse: done, but the client never hears of it
		h.log(r, rt.op, 0, f)
		resetConn(w)
		return
	}
	status := http.StatusOK
	if aerr != nil {
		status = httpStatus(aerr.code)
		resp = aerr.body()
		if aerr.code == codeUnimplemented {
			w.Header().Set("Allow", rt.allow)
		}
	}
	h.log(r, rt.op, status, nil)
	writeJSON(w, status, resp)
}

// serveAPI authenticates the request and runs its operation, returning the
// response body or the error to answer.
func (h *Handler) serveAPI(r *http.Request, rt routed, body []byte, readErr error, page *Fault) ([]byte, *apiError) {
	if readErr != nil {
		var tooBig *http.MaxBytesError
		if errors.As(readErr, &tooBig) {
			return nil, errorf(codeInvalidArgument, "the request body is larger than %d bytes", maxBodyBytes)
		}
		return nil, errorf(codeInvalidArgument, "cannot read the request body: %v", readErr)
	}
	if err := h.authenticate(r, body); err != nil {
		return nil, err
	}
	switch {
	case rt.op == "" && rt.allow != "":
		return nil, errorf(codeUnimplemented, "Method Not Allowed")
	case rt.op == "":
		return nil, errorf(codeNotFound, "Not Found")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.run(r, rt, body, page)
}

// authenticate is where every API request is checked before it is routed:
// the API key, then the signature when the fake has a verifier.
func (h *Handler) authenticate(r *http.Request, body []byte) *apiError {
	got := r.Header.Get("X-Justap-Api-Key")
	if got == "" {
		return errorf(codeUnauthenticated, "missing API key: send it in the X-Justap-Api-Key header")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(h.opts.apiKey)) != 1 {
		return errorf(codeUnauthenticated, "invalid API key")
	}
	return h.verifySignature(r, body)
}

// run dispatches a routed, authenticated request; page, when set, is the
// page fault a list is served with. h.mu is held.
func (h *Handler) run(r *http.Request, rt routed, body []byte, page *Fault) ([]byte, *apiError) {
	q := r.URL.Query()
	switch rt.op {
	case OpCreateCharge:
		return h.createCharge(body, baseURL(r))
	case OpGetCharge:
		return h.getCharge(q, rt.chargeID)
	case OpListCharges:
		return h.listCharges(q, page)
	case OpReverseCharge:
		return h.reverseCharge(q, rt.chargeID)
	case OpCreateRefund:
		return h.createRefund(body)
	case OpGetRefund:
		return h.getRefund(q, rt.chargeID, rt.refundID)
	case OpListRefunds:
		return h.listRefunds(q, rt.chargeID, page)
	}
	return nil, errorf(codeInternal, "no handler for %s", rt.op)
}

// baseURL is the fake's own URL as the client reached it, for the links it
// hands out (pay pages).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// resetConn closes the request's connection without an answer, abortively
// (TCP RST) where it can, so the client sees a reset connection.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not hijackable (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func (h *Handler) log(r *http.Request, op Op, status int, f *Fault) {
	l := h.opts.logger
	if l == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("op", string(op)),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if f != nil {
		attrs = append(attrs, slog.String("fault", f.Kind.String()))
	}
	l.LogAttrs(r.Context(), slog.LevelDebug, "justaptest request", attrs...)
}

// pad formats a sequence number as the fake's ids do: ten digits.
func pad(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) < 10 {
		s = strings.Repeat("0", 10-len(s)) + s
	}
	return s
}
