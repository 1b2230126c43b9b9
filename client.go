package justap

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// Version is the version of this library, sent in the User-Agent header.
const Version = "0.1.0"

// DefaultBaseURL is the documented default gateway (Justap's self-hosted
// gateway). HostedBaseURL is Justap's hosted service.
const (
	DefaultBaseURL = "http://127.0.0.1:21011"
	HostedBaseURL  = "https://trade.justap.cn"
)

// Defaults of the options.
const (
	DefaultMaxRetries       = 2
	DefaultRequestTimeout   = 30 * time.Second
	DefaultMaxResponseBytes = 4 << 20
	DefaultRetryBaseDelay   = 500 * time.Millisecond
	DefaultRetryMaxDelay    = 8 * time.Second
	DefaultMaxRetryWait     = 60 * time.Second
	// MaxRetryBackoff is the longest backoff WithRetryBackoff accepts, and
	// the longest Retry-After a server can ask for: a longer one is read
	// as this long.
	MaxRetryBackoff = 24 * time.Hour
)

// Client talks to one Justap gateway with one API key. It is safe for
// concurrent use by many goroutines; create one and share it.
//
// Printing a Client (with any fmt verb) never shows its API key.
type Client struct {
	// Charges creates, reads, lists and reverses charges.
	Charges *ChargesService
	// Refunds creates, reads and lists refunds.
	Refunds *RefundsService
	// Notifications receives Justap's notifications.
	Notifications *NotificationsService

	cfg    config
	common service
}

type service struct{ client *Client }

// ChargesService is the charges part of the API. Use it as Client.Charges.
type ChargesService service

// RefundsService is the refunds part of the API. Use it as Client.Refunds.
type RefundsService service

// config is everything an Option can set. A Client's config is fixed at
// NewClient; a call with options works on a copy.
type config struct {
	apiKey           secret
	baseURL          string // absolute, ends in "/"
	httpClient       *http.Client
	appID            string
	userAgent        string
	logger           *slog.Logger
	maxRetries       int
	retryBaseDelay   time.Duration
	retryMaxDelay    time.Duration
	maxRetryWait     time.Duration
	requestTimeout   time.Duration
	maxResponseBytes int64
	noRecovery       bool // WithRecovery(false)
	// continuesFrom is the start of the call this one continues
	// (ContinuesFrom), or zero.
	continuesFrom time.Time
	// sign adds signature headers to an attempt, over the exact body bytes.
	sign func(h http.Header, body []byte) error
}

// secret holds the API key inside a closure, out of reach of every printer:
// fmt (any verb, at any depth) and reflection-based dumpers see a function
// pointer. A string in a struct is not safe: fmt's bad-verb path prints the
// struct a pointer field points to, so %s of a Client value showed the key.
type secret func() string

func newSecret(v string) secret { return func() string { return v } }

func (secret) String() string               { return "[redacted]" }
func (secret) GoString() string             { return "[redacted]" }
func (s secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// Option configures a Client (in NewClient) or one call (as the last
// arguments of any service method). A per-call option overrides the
// client's setting for that call only.
type Option func(*config) error

// WithBaseURL sets the gateway's URL, such as HostedBaseURL. It must be an
// absolute http or https URL without credentials, query or fragment; a path
// is kept as a prefix of every endpoint.
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(rawURL)
		if err != nil {
			return errors.New("justap: WithBaseURL: not a URL")
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("justap: WithBaseURL: scheme must be http or https, not %q", u.Scheme)
		case u.Host == "":
			return errors.New("justap: WithBaseURL: the URL has no host")
		case u.User != nil:
			return errors.New("justap: WithBaseURL: the URL must not carry credentials")
		case u.RawQuery != "" || u.Fragment != "":
			return errors.New("justap: WithBaseURL: the URL must not have a query or fragment")
		}
		s := u.String()
		if !strings.HasSuffix(s, "/") {
			s += "/"
		}
		c.baseURL = s
		return nil
	}
}

// WithHTTPClient sets the HTTP client that sends requests. The client is
// never modified: the option takes a copy of it, so later changes to hc's
// fields are not seen (its Transport is shared, as usual). Without it, a
// shared client tuned for many concurrent calls to one host is used.
//
// Redirects are never followed, whatever the client's CheckRedirect says:
// net/http would copy the API key header to wherever a redirect points, and
// turn a POST into a GET. A redirect is returned as an *Error with its 3xx
// status.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("justap: WithHTTPClient: nil client")
		}
		// A copy that refuses redirects, made once here rather than on
		// every call; the caller's client is untouched.
		cp := *hc
		cp.CheckRedirect = refuseRedirect
		c.httpClient = &cp
		return nil
	}
}

// WithAppID sets the app_id sent when a call's params leave AppID empty.
// It must be valid UTF-8 without control characters.
func WithAppID(appID string) Option {
	return func(c *config) error {
		if err := checkHeaderText("WithAppID", appID); err != nil {
			return err
		}
		if !utf8.ValidString(appID) {
			return errors.New("justap: WithAppID: the app id is not valid UTF-8")
		}
		c.appID = appID
		return nil
	}
}

// WithUserAgent puts a product token (such as "my-shop/2.1") in front of
// this library's own in the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if err := checkHeaderText("WithUserAgent", ua); err != nil {
			return err
		}
		c.userAgent = strings.TrimSpace(ua + " " + defaultUserAgent)
		return nil
	}
}

// WithLogger logs one debug record per attempt: method, path, status,
// attempt, duration and request id; and an info record when a create is
// recovered after a lost answer (a warning when its merchant id turns out
// to name other money; see Outcomes in the package docs). Never a body,
// never the key. Without a logger (or with nil) nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithMaxRetries sets how many times a failed attempt is retried (default
// 2, so at most 3 attempts). 0 turns retries off. See the package docs for
// what is retried and why retrying a create is safe.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("justap: WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryBackoff sets the backoff between attempts: a random wait
// between 0 and base·2^(retry-1), capped at max (defaults 500ms and 8s).
// It requires 0 < base <= max <= MaxRetryBackoff.
func WithRetryBackoff(base, max time.Duration) Option {
	return func(c *config) error {
		if base <= 0 || max < base || max > MaxRetryBackoff {
			return fmt.Errorf("justap: WithRetryBackoff: want 0 < base <= max <= %v, got %v and %v",
				MaxRetryBackoff, base, max)
		}
		c.retryBaseDelay, c.retryMaxDelay = base, max
		return nil
	}
}

// WithMaxRetryWait caps how long a server's Retry-After is honoured
// (default 60s). A response asking for a longer wait is returned as it is,
// without retrying.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("justap: WithMaxRetryWait: %v is negative", d)
		}
		c.maxRetryWait = d
		return nil
	}
}

// WithRequestTimeout bounds each attempt (default 30s); 0 means no bound
// besides the context's. The context's deadline bounds the whole call,
// retries and waits included. An attempt that times out is retried; when
// it was the last, the error wraps context.DeadlineExceeded just as when
// the context's own deadline ends the call (check ctx.Err() to tell which).
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("justap: WithRequestTimeout: %v is negative", d)
		}
		c.requestTimeout = d
		return nil
	}
}

// WithMaxResponseBytes bounds the size of a response body read into memory
// (default 4 MiB). A larger body fails the call with ErrMalformedResponse.
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("justap: WithMaxResponseBytes: %d is not positive", n)
		}
		c.maxResponseBytes = n
		return nil
	}
}

var defaultUserAgent = "justap-go/" + Version + " (" + runtime.Version() + ")"

// defaultHTTPClient is shared by every Client made without WithHTTPClient.
// http.DefaultTransport keeps 2 idle connections per host, so concurrent
// callers would open a new connection for most requests; this one keeps
// enough for a busy backend. Attempts are bounded by WithRequestTimeout, so
// the client itself sets no Timeout.
var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, CheckRedirect: refuseRedirect}
})

// refuseRedirect stops a client at the first redirect, which then comes
// back as the response. Following it would send the X-Justap-Api-Key header
// (net/http only strips its own sensitive headers) to another host.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient returns a Client that authenticates with apiKey (sk_live_… or
// sk_test_…). With no options it talks to DefaultBaseURL.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if apiKey == "" {
		return nil, errors.New("justap: NewClient: the API key is empty")
	}
	if err := checkHeaderText("NewClient: the API key", apiKey); err != nil {
		return nil, err
	}
	c := &Client{cfg: config{
		apiKey:           newSecret(apiKey),
		baseURL:          DefaultBaseURL + "/",
		userAgent:        defaultUserAgent,
		maxRetries:       DefaultMaxRetries,
		retryBaseDelay:   DefaultRetryBaseDelay,
		retryMaxDelay:    DefaultRetryMaxDelay,
		maxRetryWait:     DefaultMaxRetryWait,
		requestTimeout:   DefaultRequestTimeout,
		maxResponseBytes: DefaultMaxResponseBytes,
	}}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c.cfg); err != nil {
			return nil, err
		}
	}
	if !c.cfg.continuesFrom.IsZero() {
		return nil, errors.New("justap: NewClient: ContinuesFrom is an option of one call (a create that continues " +
			"an earlier one), not of a client")
	}
	c.common.client = c
	c.Charges = (*ChargesService)(&c.common)
	c.Refunds = (*RefundsService)(&c.common)
	c.Notifications = (*NotificationsService)(&c.common)
	return c, nil
}

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("justap.Client{BaseURL: %q, AppID: %q, APIKey: [redacted]}", c.cfg.baseURL, c.cfg.appID)
}

// Format prints the client as String does, for every verb, so that %v,
// %+v and %#v never print the API key.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// BaseURL returns the gateway URL the client talks to, ending in "/".
func (c *Client) BaseURL() string { return c.cfg.baseURL }

// checkHeaderText rejects text that would break or inject an HTTP header.
// The error never repeats the text (it may be a key).
func checkHeaderText(what, s string) error {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f {
			return fmt.Errorf("justap: %s contains a control character at byte %d", what, i)
		}
	}
	return nil
}

// callConfig returns the configuration of one call: the client's, or a copy
// with the call's options applied.
func (c *Client) callConfig(opts []Option) (*config, error) {
	if len(opts) == 0 {
		return &c.cfg, nil
	}
	cfg := c.cfg
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// request is one API call, as the services describe it.
type request struct {
	method string
	path   string     // below the base URL, escaped, without a leading "/"
	query  url.Values // nil for none
	body   any        // marshalled as JSON; nil for no body
	// began is when the call began, for Error.Began; zero means now, or
	// the time of ContinuesFrom.
	began time.Time
}

// began returns when a call with this config begins, if it begins now:
// the time of ContinuesFrom when the call continues an earlier one.
func (cfg *config) began() time.Time {
	if !cfg.continuesFrom.IsZero() {
		return cfg.continuesFrom
	}
	return time.Now()
}

// envelope is the wrapper of a single-object response: {"object", "data"}.
type envelope[T any] struct {
	Object string `json:"object"`
	Data   *T     `json:"data"`
}

func (e *envelope[T]) check() error {
	if e.Data == nil {
		return errors.New(`the response has no "data" object`)
	}
	if ck, ok := any(e.Data).(checker); ok {
		return ck.check()
	}
	return nil
}

// checker is a decoded response that finishes itself: it refuses what is
// incomplete, and decodes what the first pass kept raw.
type checker interface{ check() error }

// The checks below refuse a null in an array of objects, which would reach
// the caller as a nil pointer (and a nil last item would break paging),
// and decode the charges' extras.

func (c *chargeWire) check() error {
	if err := c.checkRefunds(); err != nil {
		return err
	}
	return decodeExtras([]*chargeWire{c})
}

func (c *chargeWire) checkRefunds() error {
	return noNulls("the charge", "refund", "refunds", c.Refunds)
}

func (l *chargeListWire) check() error {
	if err := noNulls("the page", "charge", "data", l.Data); err != nil {
		return err
	}
	for i, c := range l.Data {
		if err := c.checkRefunds(); err != nil {
			return fmt.Errorf("data[%d]: %w", i, err)
		}
	}
	return decodeExtras(l.Data)
}

func (l *refundListWire) check() error { return noNulls("the page", "refund", "data", l.Data) }

func noNulls[T any](where, kind, field string, items []*T) error {
	for i, v := range items {
		if v == nil {
			return fmt.Errorf("%s holds a null %s at %s[%d]", where, kind, field, i)
		}
	}
	return nil
}

// getObject makes a call whose response wraps one object, and returns it
// converted from its wire form W.
func getObject[W, T any](ctx context.Context, c *Client, cfg *config, r request, convert func(*W) *T) (*T, error) {
	var env envelope[W]
	if err := c.do(ctx, cfg, r, &env); err != nil {
		return nil, err
	}
	return convert(env.Data), nil
}

// do sends r, retrying as configured, and decodes a 2xx body into out. Every
// failure after validation is an *Error.
func (c *Client) do(ctx context.Context, cfg *config, r request, out any) error {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("justap: encode request: %w", err)
		}
	}
	target := cfg.baseURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	began := r.began
	if began.IsZero() {
		began = cfg.began()
	}

	// reached is set once an attempt may have been processed without its
	// answer saying how: the call's outcome is unknown from then on, unless
	// a later attempt succeeds. A later refusal proves nothing (the earlier
	// attempt may have done the work), so it does not clear it.
	reached := false
	for attempt := 1; ; attempt++ {
		res := c.attempt(ctx, cfg, hc, r.method, target, body, out)
		if cfg.logger != nil {
			c.log(ctx, cfg, r.method, "/"+r.path, attempt, res)
		}
		if res.err == nil {
			return nil
		}
		reached = reached || (res.reached && r.method != http.MethodGet) // a GET changes nothing
		e := res.err
		e.Method, e.Path, e.Attempts, e.unknown, e.Began = r.method, "/"+r.path, attempt, reached, began
		if attempt > cfg.maxRetries || !res.retry || ctx.Err() != nil {
			return withCause(e, ctx.Err())
		}
		wait, ok := cfg.backoff(attempt, res.retryAfter)
		if !ok {
			return e
		}
		if err := sleep(ctx, wait); err != nil {
			return withCause(e, err)
		}
	}
}

// withCause adds the context's error to e's cause unless it is there, so
// errors.Is(err, context.DeadlineExceeded) holds when the deadline ended the
// call, wherever it struck.
func withCause(e *Error, ctxErr error) *Error {
	if ctxErr != nil && !errors.Is(e.Err, ctxErr) {
		e.Err = errors.Join(e.Err, ctxErr)
	}
	return e
}

// result is the outcome of one attempt.
type result struct {
	status     int
	requestID  string
	duration   time.Duration
	err        *Error        // nil on success
	retry      bool          // the failure may pass on another attempt
	retryAfter time.Duration // the server's Retry-After, or -1
	// reached is set when the request may have been processed although
	// the failure does not say so: its answer was lost, was a 5xx (a proxy's
	// 502 or 504 hides whether the gateway acted), or was a 2xx whose body
	// could not be read.
	reached bool
}

// attempt sends the request once and reads the response.
func (c *Client) attempt(ctx context.Context, cfg *config, hc *http.Client, method, target string, body []byte, out any) (res result) {
	res.retryAfter = -1
	start := time.Now()
	defer func() { res.duration = time.Since(start) }()
	// A gateway may echo the key back ("unknown key sk_live_…"); it goes
	// no further, into an error or a log record. The server's text is
	// bounded only after the key is gone, so the cut keeps none of it.
	defer func() {
		key := cfg.apiKey()
		res.requestID = clipText(redactText(res.requestID, key), maxServerText)
		res.err.redact(key)
		res.err.clip()
	}()

	actx := ctx
	if cfg.requestTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, cfg.requestTimeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, target, rd)
	if err != nil {
		res.err = &Error{Message: "cannot build the request", Err: err, notSent: true}
		return res
	}
	req.Header.Set("X-Justap-Api-Key", cfg.apiKey())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", cfg.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cfg.sign != nil {
		if err := cfg.sign(req.Header, body); err != nil {
			res.err = &Error{Message: "cannot sign the request", Err: err, notSent: true}
			return res
		}
	}

	doneBefore := actx.Err() != nil
	resp, err := hc.Do(req)
	if err != nil {
		res.err = &Error{Message: "the request failed before a response arrived", Err: unwrapURLError(err)}
		if why := permanentTransportError(err); why != "" {
			res.err.Message, res.err.notSent = why, true
		}
		res.retry = retryableTransportError(ctx, err)
		// A context done before sending, or a refused connection, never
		// carried the request; any other failure may have.
		res.reached = !res.err.notSent && !doneBefore && !errors.Is(err, syscall.ECONNREFUSED)
		return res
	}
	defer resp.Body.Close()
	res.status = resp.StatusCode
	res.requestID = requestID(resp.Header)
	res.reached = resp.StatusCode >= 500 || (resp.StatusCode >= 200 && resp.StatusCode <= 299)

	// One byte over the limit shows the body is too large. The announced
	// Content-Length is not trusted: io.ReadAll grows with what arrives.
	limit := min(cfg.maxResponseBytes, math.MaxInt64-1)
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(data)) > limit {
		data, err = data[:limit], errTooLarge
	}
	// Every error below is built from the body with the API key replaced
	// before anything cuts it, so no cut can keep a part of it.
	if err != nil {
		safe, _ := redactBody(data, cfg.apiKey(), true)
		e := newResponseError(resp, safe)
		e.Err = err
		if errors.Is(err, errTooLarge) {
			e.class = ErrMalformedResponse
			e.Message = "the response body is larger than the limit (see WithMaxResponseBytes)"
			// An error status still says what happened and whether to retry.
			res.retry, res.retryAfter = retryableStatus(resp)
		} else if corruptEncoding(err) {
			// The bytes arrived but cannot be read: sending again brings the
			// same bytes, so only an error status says whether to retry.
			e.class = ErrMalformedResponse
			e.Message = "the response body's content encoding (" + resp.Header.Get("Content-Encoding") + ") is corrupt"
			if resp.Uncompressed {
				e.Message = "the response body's gzip encoding is corrupt"
			}
			res.retry, res.retryAfter = retryableStatus(resp)
		} else {
			e.class = ErrNoResponse
			e.Message = "the response body was cut off"
			res.retry = retryableTransportError(ctx, err)
		}
		res.err = e
		return res
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		safe, _ := redactBody(data, cfg.apiKey(), false)
		res.err = newResponseError(resp, safe)
		res.retry, res.retryAfter = retryableStatus(resp)
		return res
	}

	if err := json.Unmarshal(data, out); err == nil {
		if ck, ok := out.(checker); ok {
			err = ck.check()
		}
		if err == nil {
			return res
		}
		safe, _ := redactBody(data, cfg.apiKey(), false)
		res.err = malformed(resp, safe, err)
	} else {
		safe, hadKey := redactBody(data, cfg.apiKey(), false)
		if hadKey {
			// A decoding error may quote the body, cut short, and so a part
			// of the key; take the error of the redacted body instead.
			if err2 := json.Unmarshal(safe, out); err2 != nil {
				err = err2
			} else {
				err = errors.New("the response body does not decode as the API's JSON")
			}
		}
		res.err = malformed(resp, safe, err)
	}
	return res
}

// redactBody returns body with every occurrence of key replaced, and
// whether there was one; body itself when there was none. When the body
// was cut short (cut), a partial key at its end is dropped too. Redacting
// the whole body first means no later cut (of Error.Body, of a decoding
// error's quote) can keep a part of the key.
func redactBody(body []byte, key string, cut bool) ([]byte, bool) {
	if key == "" {
		return body, false
	}
	had := bytes.Contains(body, []byte(key))
	if had {
		body = bytes.ReplaceAll(body, []byte(key), []byte(redacted))
	}
	if cut {
		if n := partialKeySuffix(body, key); n > 0 {
			body = slices.Clone(body[:len(body)-n])
			had = true
		}
	}
	return body, had
}

// partialKeySuffix returns the length of the longest end of b that is a
// beginning of key, shorter than key: what is left of a key cut short.
func partialKeySuffix(b []byte, key string) int {
	for n := min(len(b), len(key)-1); n > 0; n-- {
		if string(b[len(b)-n:]) == key[:n] {
			return n
		}
	}
	return 0
}

// corruptEncoding reports whether reading a body failed because its
// content encoding (gzip, which the transport undoes) is corrupt, rather
// than because the connection broke.
func corruptEncoding(err error) bool {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	return errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.As(err, &corrupt) || errors.As(err, &internal)
}

// retryableStatus reports whether a response's status is worth another
// attempt, and the wait its Retry-After asks for (-1 for none).
func retryableStatus(resp *http.Response) (bool, time.Duration) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return false, -1
}

func malformed(resp *http.Response, data []byte, err error) *Error {
	return &Error{
		StatusCode: resp.StatusCode,
		RequestID:  requestID(resp.Header),
		Message:    "cannot decode the response: " + err.Error(),
		Body:       bytes.Clone(data[:min(len(data), maxErrorBody)]),
		Err:        err,
		class:      ErrMalformedResponse,
	}
}

var errTooLarge = errors.New("response body too large")

// unwrapURLError drops the *url.Error layer, whose text repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryableTransportError reports whether a failure to get (or finish
// reading) a response is worth another attempt: not when the caller's
// context is done, and not when the server's certificate was refused.
func retryableTransportError(ctx context.Context, err error) bool {
	return ctx.Err() == nil && permanentTransportError(err) == ""
}

// permanentTransportError says why a transport failure will recur on every
// attempt, and that the request was not sent; "" when it may pass.
func permanentTransportError(err error) string {
	var (
		unknownAuthority *x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		hostname         x509.HostnameError
		verify           *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &invalidCert) || errors.As(err, &hostname) ||
		errors.As(err, &verify) {
		return "the server's TLS certificate was refused, so the request was not sent"
	}
	if errors.As(err, &recordHeader) {
		return "the server does not speak TLS (check the base URL's scheme), so the request was not sent"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return "the gateway's host name does not exist (check the base URL), so the request was not sent"
	}
	return ""
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date, as a wait from now of at most MaxRetryBackoff (a date in the past
// is no wait). It returns -1 when there is none or it cannot be read.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// ParseInt returns MaxInt64 (or MinInt64) on overflow.
		if s < 0 {
			return -1
		}
		if s > int64(MaxRetryBackoff/time.Second) {
			return MaxRetryBackoff
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		// Sub saturates rather than overflowing for a date far away.
		return min(max(t.Sub(now), 0), MaxRetryBackoff)
	}
	return -1
}

// backoff returns the wait before the next attempt after the given number
// of attempts, and false when the server's Retry-After exceeds the cap.
func (cfg *config) backoff(attempts int, retryAfter time.Duration) (time.Duration, bool) {
	if retryAfter >= 0 {
		return retryAfter, retryAfter <= cfg.maxRetryWait
	}
	// base·2^(attempts-1), unless that reaches the cap (checked without
	// shifting base so far that it overflows).
	ceiling := cfg.retryMaxDelay
	if shift := max(attempts, 1) - 1; shift < 63 && cfg.retryBaseDelay <= ceiling>>shift {
		ceiling = cfg.retryBaseDelay << shift
	}
	// Full jitter: a uniform wait in [0, ceiling]. The options keep the
	// ceiling far below math.MaxInt64; the guards keep rand.N's argument
	// positive whatever the configuration.
	if ceiling <= 0 {
		return 0, true
	}
	return rand.N(min(ceiling, math.MaxInt64-1) + 1), true
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// log writes the debug record of one attempt.
func (c *Client) log(ctx context.Context, cfg *config, method, path string, attempt int, res result) {
	l := cfg.logger
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", res.status),
		slog.Int("attempt", attempt),
		slog.Duration("duration", res.duration),
	}
	if res.requestID != "" {
		attrs = append(attrs, slog.String("request_id", res.requestID))
	}
	if e := res.err; e != nil {
		// Only text this package or the transport wrote: the server's
		// message and a decoding error (which quotes the body) stay out.
		var msg string
		switch {
		case e.Is(ErrMalformedResponse):
			msg = ErrMalformedResponse.Error()
		case e.Err != nil && (e.StatusCode == 0 || e.class == ErrNoResponse):
			msg = clipText(e.Err.Error(), maxServerText) // the transport's error, which may quote the server
		case e.StatusCode == 0:
			msg = e.Message
		}
		if msg != "" {
			attrs = append(attrs, slog.String("error", msg))
		}
		if e.Code != 0 {
			attrs = append(attrs, slog.Int("code", e.Code))
		}
		attrs = append(attrs, slog.Bool("retry", res.retry))
	}
	l.LogAttrs(ctx, slog.LevelDebug, "justap request", attrs...)
}

// escapeID makes an id one path segment. Ids are chosen by the server, but
// an id is never allowed to be a path: "/" and every other reserved byte
// are escaped, and "." or ".." are refused by the callers' validation.
func escapeID(id string) string { return url.PathEscape(id) }

// checkID validates an id that goes into a path.
func checkID(field, id string) error {
	switch id {
	case "":
		return invalid(field, "is required")
	case ".", "..":
		return invalid(field, "must be an id, not a path segment like "+strconv.Quote(id))
	}
	return checkUTF8("", field, id)
}
