package justaptest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultDeliverySchedule returns the waits between the attempts to
// deliver a notification that its receiver does not acknowledge: nine
// waits, so at most ten attempts, the last about 24.4 hours after the
// first. Justap says only "within 25 hours, at most 10 times"; these
// intervals are this package's assumption (Ping++'s published 2m, 10m,
// 10m, 1h, 2h, 6h, 15h, preceded by 15s and 1m to make ten attempts).
func DefaultDeliverySchedule() []time.Duration {
	return []time.Duration{
		15 * time.Second, time.Minute, 2 * time.Minute, 10 * time.Minute, 10 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
	}
}

// Bounds of a delivery.
const (
	deliveryTimeout  = 10 * time.Second // one post, answer included
	maxAnswerBytes   = 1 << 10          // of an answer, recorded
	defaultDelay     = time.Minute      // of a FaultDelay without Delay
	maxPostsInFlight = 8
)

// WithDeliverySchedule sets the waits between attempts to deliver a
// notification (default [DefaultDeliverySchedule]): a notification is
// attempted at most len(waits)+1 times, attempt n+1 becoming due waits[n-1]
// after attempt n, by the fake's clock. No waits means a single attempt.
// A negative wait is taken as zero.
func WithDeliverySchedule(waits ...time.Duration) Option {
	w := make([]time.Duration, len(waits))
	for i, d := range waits {
		w[i] = max(d, 0)
	}
	return func(o *options) error { o.schedule = w; return nil }
}

// WithNotifyClient sets the HTTP client notifications are posted with,
// for a receiver the default client cannot reach (an httptest TLS server,
// say: pass its Client). The client's transport then decides where posts
// may go. Redirects are never followed, whatever the client says.
func WithNotifyClient(c *http.Client) Option {
	return func(o *options) error {
		if c != nil {
			cc := *c
			cc.CheckRedirect = noRedirects
			o.notifyClient = &cc
		}
		return nil
	}
}

// WithNotifyAnyAddress lets the default notification client post to any
// address. Without it, a notify_url must resolve to a loopback address
// (checked when connecting, so a name that resolves elsewhere is refused
// too): a fake must not become a way to make its machine send requests
// elsewhere.
func WithNotifyAnyAddress() Option {
	return func(o *options) error { o.notifyAnyAddress = true; return nil }
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newNotifyClient returns the default notification client: a timeout, no
// proxy, no redirects, no kept-alive connections (nothing outlives a
// post), and connections to loopback addresses only unless anyAddress.
func newNotifyClient(anyAddress bool) *http.Client {
	d := &net.Dialer{Timeout: deliveryTimeout}
	if !anyAddress {
		d.Control = loopbackOnly
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            d.DialContext,
			DisableKeepAlives:      true,
			ResponseHeaderTimeout:  deliveryTimeout,
			MaxResponseHeaderBytes: 16 << 10,
		},
		Timeout:       deliveryTimeout,
		CheckRedirect: noRedirects,
	}
}

// deliveryHeader marks the fake's notification posts, so that a fake
// refuses one posted to itself: a notify_url naming a control endpoint
// (resend, say) would otherwise make it post to itself without end.
const deliveryHeader = "X-Justaptest-Notification"

// errNotLoopback refuses a connection to an address that is not loopback.
var errNotLoopback = errors.New("not a loopback address; the fake posts notifications to loopback addresses only")

// loopbackOnly is a net.Dialer Control function: it sees the address
// actually dialled, after name resolution.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%s: %w", ip, errNotLoopback)
	}
	return nil
}

// DeliveryState is where a notification's delivery stands.
type DeliveryState string

// The states of a delivery.
const (
	// DeliveryPending: not acknowledged yet; an attempt is due at NextAt
	// (or the delivery is held back by FaultOutOfOrder).
	DeliveryPending DeliveryState = "pending"
	// DeliveryDelivered: a post of the notification was answered 2xx.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryFailed: every scheduled attempt failed; the fake gave up.
	DeliveryFailed DeliveryState = "failed"
)

// Delivery is one notification and the record of its delivery.
type Delivery struct {
	// ID is the notification's notify_id: nt_0000000001, …
	ID       string    `json:"id"`
	Event    string    `json:"event"`
	ChargeID string    `json:"charge_id"`
	RefundID string    `json:"refund_id,omitempty"` // of a charge.refunded
	URL      string    `json:"url"`
	Created  time.Time `json:"created"` // the event's time, the notify_time
	// Object is the notification object, unencrypted, as the fake
	// encrypts it into every genuine post.
	Object json.RawMessage `json:"object"`

	State DeliveryState `json:"state"`
	// NextAt is when the next scheduled attempt is due, by the fake's
	// clock; zero unless State is DeliveryPending.
	NextAt time.Time `json:"next_at,omitzero"`
	// Held reports a delivery held back by FaultOutOfOrder until the
	// charge's next notification is posted.
	Held bool `json:"held,omitempty"`
	// Faults lists the delivery faults applied to it, in order.
	Faults []FaultKind `json:"faults,omitempty"`
	// Attempts lists every post, in order.
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one post of a notification and its answer.
type Attempt struct {
	DeliveryID string `json:"delivery_id"`
	// N is the scheduled attempt this post belongs to: 1 for the first.
	// The extra posts of a fault share their attempt's N; a resend has
	// N 0.
	N      int       `json:"n"`
	At     time.Time `json:"at"` // by the fake's clock
	Resent bool      `json:"resent,omitempty"`
	// Fault is the delivery fault that made this post, if any: a
	// FaultDuplicate's second post, or the hostile post of a
	// FaultUnencrypted, FaultForged, FaultTampered or FaultOtherApp.
	Fault *FaultKind `json:"fault,omitempty"`
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int `json:"status"`
	// Answer is the start of the answer's body (at most 1 KiB).
	Answer string `json:"answer,omitempty"`
	// Err says why there was no answer.
	Err string `json:"error,omitempty"`
}

// OK reports whether the receiver acknowledged the post (any 2xx).
func (a *Attempt) OK() bool { return a.Status >= 200 && a.Status < 300 }

// delivery is a Delivery with the fake's bookkeeping. Every access holds
// Handler.mu.
type delivery struct {
	d        Delivery
	seq      int64
	n        int  // scheduled attempts made
	inFlight bool // claimed by a DeliverDue
	held     bool
}

// notifier is the fake's notification state. Every access holds
// Handler.mu.
type notifier struct {
	seq  int64
	all  []*delivery
	byID map[string]*delivery
	gen  int64 // bumped by Reset: posts of an older generation are not recorded
}

func newNotifier(gen int64) *notifier {
	return &notifier{byID: map[string]*delivery{}, gen: gen}
}

// notify queues a notification of event about c (and r, for a refund
// event), if it has somewhere to go. h.mu is held.
func (h *Handler) notify(event string, c *chargeRec, r *refundRec) {
	u := c.notifyURL
	if r != nil && r.notifyURL != "" {
		u = r.notifyURL
	}
	if u == "" {
		return
	}
	now := h.now()
	nt := h.nt
	nt.seq++
	id := "nt_" + pad(nt.seq)
	ch := c.c
	obj := ChargeNotification(&ch)
	obj.NotifyID, obj.NotifyTime = id, notifyTime(now)
	plain, err := json.Marshal(obj)
	if err != nil { // cannot happen: the object is plain data
		panic("justaptest: cannot encode a notification: " + err.Error())
	}
	d := &delivery{seq: nt.seq, d: Delivery{
		ID: id, Event: event, ChargeID: c.c.ID, URL: u, Created: now,
		Object: plain, State: DeliveryPending, NextAt: now,
	}}
	if r != nil {
		d.d.RefundID = r.r.ID
	}
	nt.all = append(nt.all, d)
	nt.byID[id] = d
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// sweepExpired queues the notification of every charge that expired
// since the last sweep (charges expire lazily, as the clock passes their
// time_expire). h.mu is held.
func (h *Handler) sweepExpired() {
	now := h.now()
	for _, c := range h.st.order {
		if c.notifyURL == "" || c.expiryNotified {
			continue
		}
		settle(c, now)
		if !c.c.ExpiredAt.IsZero() {
			c.expiryNotified = true
			h.notify(eventClosed, c, nil)
		}
	}
}

// a post to make: one delivery's due attempt, with its faults.
type post struct {
	d     *delivery
	id    string
	url   string
	plain []byte
	event string
	n     int // the scheduled attempt; 0 for a resend
	extra *Fault
	gen   int64
}

// DeliverDue posts every notification whose attempt is due by the fake's
// clock, waits for the answers, records them, and returns the posts made.
// A test calls it after the event (Pay, a refund, …) to have the
// notification delivered before it goes on; after a failed attempt, it
// advances the fake's clock ([WithClock]) to when the next one is due
// ([Handler.NextDeliveryAt]) and calls DeliverDue again. Each call makes each due
// attempt once. Posts to different charges' receivers go out
// concurrently; a charge's own notifications go one after the other, in
// the order of their events. Concurrent calls never post the same attempt
// twice.
func (h *Handler) DeliverDue(ctx context.Context) []Attempt {
	h.mu.Lock()
	h.sweepExpired()
	now := h.now()
	var due []*delivery
	for _, d := range h.nt.all {
		if d.d.State == DeliveryPending && !d.inFlight && !d.held && !d.d.NextAt.After(now) {
			due = append(due, d)
		}
	}
	// Faults are taken in the order of the events, then out-of-order ones
	// are held back and released by the charge's next notification.
	var posts []post
	for _, d := range due {
		p := post{d: d, id: d.d.ID, url: d.d.URL, plain: d.d.Object, event: d.d.Event, n: d.n + 1, gen: h.nt.gen}
		f := h.takeDeliveryFault(d)
		if f != nil {
			d.d.Faults = append(d.d.Faults, f.Kind)
			switch f.Kind {
			case FaultDelay:
				delay := f.Delay
				if delay <= 0 {
					delay = defaultDelay
				}
				d.d.NextAt = now.Add(delay)
				continue
			case FaultOutOfOrder:
				d.held, d.d.Held = true, true
				continue
			}
			p.extra = f
		}
		d.inFlight = true
		posts = append(posts, p)
		// The charge's held notifications go right after this one.
		for _, o := range h.nt.all {
			if o.held && o != d && o.d.ChargeID == d.d.ChargeID && o.seq < d.seq {
				o.held, o.d.Held, o.inFlight = false, false, true
				posts = append(posts, post{d: o, id: o.d.ID, url: o.d.URL, plain: o.d.Object, event: o.d.Event, n: o.n + 1, gen: h.nt.gen})
			}
		}
	}
	appID := h.opts.appID
	h.mu.Unlock()

	// One worker per charge, in order; charges concurrently.
	var groups [][]post
	index := map[string]int{}
	for _, p := range posts {
		i, ok := index[p.d.d.ChargeID]
		if !ok {
			i = len(groups)
			index[p.d.d.ChargeID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], p)
	}
	results := make([][]Attempt, len(groups))
	sem := make(chan struct{}, maxPostsInFlight)
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, p := range g {
				results[i] = append(results[i], h.attempt(ctx, p, appID)...)
			}
		}()
	}
	wg.Wait()
	var out []Attempt
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

// attempt makes the posts of one scheduled attempt (the genuine one, and
// the extra one of a fault), records them and updates the delivery.
func (h *Handler) attempt(ctx context.Context, p post, appID string) []Attempt {
	genuine, err := encodeNotification(h.platformKey(), p.event, p.plain)
	if err != nil {
		panic("justaptest: cannot encrypt a notification: " + err.Error())
	}
	var atts []Attempt
	if p.extra != nil && p.extra.Kind != FaultDuplicate {
		kind := p.extra.Kind
		a := h.post(ctx, p, hostileBody(h.platformKey(), p, appID, genuine))
		a.Fault = &kind
		atts = append(atts, a)
	}
	a := h.post(ctx, p, genuine)
	atts = append(atts, a)
	ok := a.OK()
	if p.extra != nil && p.extra.Kind == FaultDuplicate {
		kind := FaultDuplicate
		a := h.post(ctx, p, genuine)
		a.Fault = &kind
		atts = append(atts, a)
		ok = ok || a.OK()
	}
	h.record(p, atts, ok)
	return atts
}

// hostileBody is the body of a fault's hostile post.
func hostileBody(key *rsa.PrivateKey, p post, appID string, genuine []byte) []byte {
	var b []byte
	var err error
	switch p.extra.Kind {
	case FaultUnencrypted:
		b, err = encodeNotification(nil, p.event, p.plain)
	case FaultForged:
		b, err = encodeNotification(forgerKey(), p.event, p.plain)
	case FaultOtherApp:
		var obj map[string]json.RawMessage
		if err = json.Unmarshal(p.plain, &obj); err == nil {
			obj["app_id"], _ = json.Marshal(otherApp(appID))
			var plain []byte
			if plain, err = json.Marshal(obj); err == nil {
				b, err = encodeNotification(key, p.event, plain)
			}
		}
	case FaultTampered:
		b, err = tamper(genuine)
	}
	if err != nil {
		panic("justaptest: cannot make a " + p.extra.Kind.String() + " notification: " + err.Error())
	}
	return b
}

// otherApp names an app that is not appID.
func otherApp(appID string) string { return appID + "_other" }

// tamper flips one bit in the middle of the first block of an encrypted
// body.
func tamper(body []byte) ([]byte, error) {
	var env notifyEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(env.Data, &s); err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	ct[min(len(ct)-1, 128)] ^= 0x01
	env.Data, _ = json.Marshal(base64.StdEncoding.EncodeToString(ct))
	return json.Marshal(env)
}

// post sends one body to the delivery's URL and returns the attempt.
func (h *Handler) post(ctx context.Context, p post, body []byte) Attempt {
	a := Attempt{DeliveryID: p.id, N: p.n, At: h.now(), Resent: p.n == 0}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		a.Err = err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "justaptest")
	req.Header.Set(deliveryHeader, p.id)
	defer h.logPost(ctx, p, &a)
	resp, err := h.notifyClient.Do(req)
	if err != nil {
		a.Err = describePostError(err)
		return a
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	a.Status, a.Answer = resp.StatusCode, strings.ToValidUTF8(string(ans), "\uFFFD")
	return a
}

// logPost logs a post at debug level (WithLogger): never a body or a URL.
func (h *Handler) logPost(ctx context.Context, p post, a *Attempt) {
	l := h.opts.logger
	if l == nil {
		return
	}
	attrs := []slog.Attr{slog.String("notify_id", p.id), slog.String("event", p.event), slog.Int("attempt", p.n)}
	if p.extra != nil {
		attrs = append(attrs, slog.String("fault", p.extra.Kind.String()))
	}
	if a.Err != "" {
		attrs = append(attrs, slog.String("error", a.Err))
	} else {
		attrs = append(attrs, slog.Int("status", a.Status))
	}
	l.LogAttrs(ctx, slog.LevelDebug, "justaptest notification", attrs...)
}

// describePostError says why a post got no answer, without the URL's
// query (which may carry a merchant's token).
func describePostError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// record files the posts of one attempt and moves the delivery on.
func (h *Handler) record(p post, atts []Attempt, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.gen != h.nt.gen {
		return // Reset since
	}
	d := p.d
	d.d.Attempts = append(d.d.Attempts, atts...)
	if p.n == 0 { // a resend
		if ok && d.d.State != DeliveryDelivered {
			d.d.State, d.d.NextAt, d.held, d.d.Held = DeliveryDelivered, time.Time{}, false, false
		}
		return
	}
	d.inFlight = false
	d.n = p.n
	switch {
	case d.d.State != DeliveryPending: // a resend settled it meanwhile
	case ok:
		d.d.State, d.d.NextAt = DeliveryDelivered, time.Time{}
	case d.n > len(h.opts.schedule):
		d.d.State, d.d.NextAt = DeliveryFailed, time.Time{}
	default:
		d.d.NextAt = atts[len(atts)-1].At.Add(h.opts.schedule[d.n-1])
	}
}

// Deliveries returns a copy of every notification the fake has queued,
// with the record of its delivery, in the order of their events.
func (h *Handler) Deliveries() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweepExpired()
	out := make([]Delivery, len(h.nt.all))
	for i, d := range h.nt.all {
		out[i] = d.copy()
	}
	return out
}

// Delivery returns a copy of one notification's delivery, by its id (the
// notify_id), and whether it exists.
func (h *Handler) Delivery(id string) (Delivery, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.nt.byID[id]
	if d == nil {
		return Delivery{}, false
	}
	return d.copy(), true
}

func (d *delivery) copy() Delivery {
	c := d.d
	c.Object = slices.Clone(c.Object)
	c.Faults = slices.Clone(c.Faults)
	c.Attempts = slices.Clone(c.Attempts)
	return c
}

// NextDeliveryAt returns when the next scheduled attempt is due, by the
// fake's clock, and false when none is pending. Advance the clock to it
// and call [Handler.DeliverDue].
func (h *Handler) NextDeliveryAt() (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweepExpired()
	var next time.Time
	for _, d := range h.nt.all {
		if d.d.State == DeliveryPending && !d.held && (next.IsZero() || d.d.NextAt.Before(next)) {
			next = d.d.NextAt
		}
	}
	return next, !next.IsZero()
}

// Resend posts a notification again, now, whatever its state (a replay, as
// Justap's dashboard offers), records the post with Resent set, and
// returns it. An acknowledged resend settles a pending or failed delivery;
// otherwise the schedule goes on as before.
func (h *Handler) Resend(ctx context.Context, id string) (Attempt, error) {
	h.mu.Lock()
	d := h.nt.byID[id]
	if d == nil {
		h.mu.Unlock()
		return Attempt{}, fmt.Errorf("justaptest: Resend: no notification %q", id)
	}
	p := post{d: d, id: d.d.ID, url: d.d.URL, plain: d.d.Object, event: d.d.Event, gen: h.nt.gen}
	h.mu.Unlock()
	atts := h.attempt(ctx, p, h.opts.appID)
	return atts[len(atts)-1], nil
}

// RunDeliveries delivers notifications as they fall due, until ctx ends or
// the server is closed: it calls [Handler.DeliverDue] at once after each event and
// every tick (a quarter second if tick <= 0) otherwise. It is for a fake
// on the real clock, such as cmd/justap-mock's; a test calls DeliverDue
// itself instead, to stay deterministic.
func (h *Handler) RunDeliveries(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-h.wake:
		case <-t.C:
		}
		h.DeliverDue(ctx)
	}
}
