package justap

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/justap-go/justap/internal/rules"
)

// NotificationsService receives Justap's notifications. Use it as
// [Client.Notifications].
type NotificationsService service

// ChargeEvent is one event of a charge, as the handler of
// [NotificationsService] hands it to the merchant's function: the event, and
// the charge as the API reports it now.
type ChargeEvent struct {
	Type EventType
	// Charge is the charge as read from the API after the notification
	// arrived: the authority, whatever the notification said.
	Charge *Charge
	// Refunds are the charge's refunds as read from the API, for
	// [EventChargeRefunded] (which does not say which refund it is about);
	// nil for other events.
	Refunds []*Refund
	// Notification is the notification that announced the event, a hint
	// (see Notification); nil when the event comes from a sweep over the
	// charges rather than from a notification.
	Notification *Notification
	// Claim is the claim under which the handler calls the function: what
	// it passed to its [NotificationStore]'s Claim. A store on the
	// merchant's database can complete it inside the transaction that
	// applies the event, so that the effect and the record that the
	// notification was handled commit together (see package sqlstore's
	// Store.CompleteTx). Nil when the event does not come from the handler.
	Claim *NotificationClaim
}

// NotificationClaim names a claim on a notification in a
// [NotificationStore]: the key of the notification and the token of the
// caller that holds it.
type NotificationClaim struct {
	Key   string
	Token string
}

// ChargeEventFunc handles a charge event: ship the order, mark it
// refunded. It must be idempotent: the same event can arrive more than
// once (Justap resends until it is acknowledged, [EventChargeRefunded] comes
// once per refund, and a sweep may meet a charge a notification already
// announced). Return nil once the event is handled; an error (or a panic)
// makes the handler answer 500, so that Justap sends the notification
// again later.
type ChargeEventFunc func(ctx context.Context, ev *ChargeEvent) error

// NotificationStore decides which caller handles a notification, so that
// a copy or a resend, on this instance or another sharing the store, does
// not call the function again. Keys are opaque strings, one per
// notification, made from its authenticated object alone (its app and
// notify_id, or the digest of the object when it has no notify_id), never
// from the envelope's event. The default store is in memory (see
// [NewMemoryNotificationStore]); instances behind one notify_url share one
// with [WithNotificationStore].
//
// The handler claims a notification before reading the charge and calling
// the function, and completes the claim once the function returned nil, or
// releases it when the function failed. A store that fails makes the
// handler answer 500, so that Justap resends: the handler fails closed
// rather than call the function without knowing whether another instance
// is calling it.
type NotificationStore interface {
	// Claim atomically takes the notification with key for the caller
	// identified by token, until lease from now: ClaimWon if nobody holds
	// it and it was not completed; ClaimHeld if another token holds it and
	// its lease has not ended; ClaimDone if it was completed (and the store
	// still remembers it). At most one caller wins at a time.
	Claim(ctx context.Context, key, token string, lease time.Duration) (ClaimResult, error)
	// Complete records that the notification with key was handled: later
	// claims answer ClaimDone.
	Complete(ctx context.Context, key, token string) error
	// Release ends the claim token holds on key, if it still holds it, so
	// that the next copy may claim it at once.
	Release(ctx context.Context, key, token string) error
}

// ClaimResult is what [NotificationStore.Claim] decided.
type ClaimResult int

const (
	// ClaimWon: the caller holds the claim, and must complete or release it.
	ClaimWon ClaimResult = iota + 1
	// ClaimHeld: another caller holds an unexpired claim. The handler
	// answers 503, so that Justap resends later.
	ClaimHeld
	// ClaimDone: the notification was handled before. The handler
	// acknowledges it (200) without calling the function.
	ClaimDone
)

// DefaultNotificationLease is how long a handler's claim on a
// notification lasts (see [WithNotificationLease]).
const DefaultNotificationLease = 5 * time.Minute

// WithNotificationLease sets how long the handler's claim on a
// notification lasts (default [DefaultNotificationLease]): an instance
// that dies inside the function holds the notification that long, and a
// resend after it is handled by whichever instance claims it next. Keep it
// above the function's longest run; the handler's request context is
// not bounded by it.
func WithNotificationLease(d time.Duration) NotificationOption {
	return func(c *notifyConfig) error {
		if d <= 0 {
			return errors.New("justap: WithNotificationLease: the lease must be positive")
		}
		c.lease = d
		return nil
	}
}

// WithNotificationStore sets where the handler remembers the notifications
// it handled (default: an in-memory store of [DefaultNotificationStoreSize]
// notifications). Instances behind one notify_url share one store; package
// sqlstore keeps it in the merchant's PostgreSQL, MySQL/MariaDB or SQLite
// database.
func WithNotificationStore(s NotificationStore) NotificationOption {
	return func(c *notifyConfig) error {
		if s == nil {
			return errors.New("justap: WithNotificationStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithNotificationLogger logs one record per notification the handler
// receives: debug when it was handled, warn when it was refused (4xx),
// error when it failed (5xx), with the status, the event, notify_id,
// merchant_trade_id and why. Never the body, never a key. Without it (or
// with nil) nothing is logged.
func WithNotificationLogger(l *slog.Logger) NotificationOption {
	return func(c *notifyConfig) error {
		c.logger = l
		return nil
	}
}

// ErrNotificationOtherApp: the notification is for another app than the
// client's ([WithAppID]).
var ErrNotificationOtherApp = errors.New("justap: the notification is for another app")

// ErrNotificationDisagrees: the API does not (yet) confirm what the
// notification says (a charge.paid notification for a charge the API
// reports unpaid). The handler answers 500, so Justap sends it again.
var ErrNotificationDisagrees = errors.New("justap: the API does not confirm the notification")

// Handler returns an http.Handler for the notify_url of charges: it
// receives Justap's notifications and calls fn only with what the API
// confirms. For each POST it
//
//  1. reads the body itself, up to [WithMaxNotificationBytes];
//  2. parses and authenticates it as [ParseNotification] does;
//  3. checks that it is for the client's app ([WithAppID], required);
//  4. acknowledges at once an event that is not about a charge, and
//     claims the notification in the [NotificationStore]: one already
//     handled (same notify_id) is acknowledged, one whose claim another
//     caller holds is answered 503;
//  5. reads the charge from the API by its merchant_trade_id
//     ([ChargesService.GetByMerchantTradeID]), and for charge.refunded its
//     refunds, and checks that the API agrees with the event: charge.paid
//     needs a paid charge, charge.refunded a refund that succeeded,
//     charge.reversed a reversed charge, charge.closed a closed or
//     expired one, and the other charge events (charge.created,
//     charge.pending, new ones) only that the charge exists;
//  6. calls fn with the charge (and refunds) beside the notification,
//     then completes the claim when fn returned nil, or releases it.
//
// It answers 200 with the body "success" when fn returns nil; 400 when the
// body is not a notification, does not authenticate, is for another app
// or names a charge the API does not know; 413 when the body is over the
// limit; 503 when another caller holds the notification's claim; 500 when
// fn fails or panics, the store fails, the API cannot be reached, or the
// API does not (yet) agree. Justap resends on anything but 2xx. A forged
// notification never reaches fn: at worst it makes the handler read a
// charge, and fn sees only the API's state.
//
// Concurrent notifications for the same charge share one API read, and
// concurrent copies of the same notification share one call of fn. The
// handler is safe for concurrent use.
func (s *NotificationsService) Handler(fn ChargeEventFunc, opts ...NotificationOption) (http.Handler, error) {
	if fn == nil {
		return nil, errors.New("justap: NotificationsService.Handler: nil function")
	}
	cfg, err := newNotifyConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(cfg.keys) == 0 && !cfg.allowUnencrypted {
		return nil, errors.New("justap: NotificationsService.Handler: no Justap public key " +
			"(use WithJustapPublicKey, or AllowUnencryptedNotifications, knowing what it risks)")
	}
	appID := s.client.cfg.appID
	if appID == "" {
		return nil, errors.New("justap: NotificationsService.Handler: the client has no app id " +
			"(use WithAppID): the handler accepts only that app's notifications")
	}
	if cfg.store == nil {
		cfg.store = NewMemoryNotificationStore(DefaultNotificationStoreSize)
	}
	if cfg.lease == 0 {
		cfg.lease = DefaultNotificationLease
	}
	return &notifyHandler{client: s.client, appID: appID, fn: fn, cfg: cfg}, nil
}

// notifyHandler is the http.Handler of [NotificationsService.Handler].
type notifyHandler struct {
	client *Client
	appID  string
	fn     ChargeEventFunc
	cfg    *notifyConfig
	reads  flight[*chargeState] // API reads, by charge
	calls  flight[int]          // calls of fn, by notification; the result is the status
}

// chargeState is what the API says about a charge.
type chargeState struct {
	Charge  *Charge   `json:"charge"`
	Refunds []*Refund `json:"refunds"`
}

// maxNotifyRefunds bounds the refunds read for one charge.refunded
// notification, against a server that pages without end.
const maxNotifyRefunds = 1000

func (h *notifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(ctx, w, http.StatusMethodNotAllowed, nil,
			notificationErr(ErrNotificationMalformed, "the method is %s; notifications are POSTed", r.Method))
		return
	}
	var body []byte
	var err error
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, h.cfg.maxBytes+1))
	}
	if err != nil {
		h.answer(ctx, w, http.StatusBadRequest, nil, notificationErr(ErrNotificationMalformed, "the body could not be read"))
		return
	}
	n, digest, err := h.cfg.parse(body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotificationTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		h.answer(ctx, w, status, nil, err)
		return
	}
	status, err := h.handle(ctx, n, digest)
	h.answer(ctx, w, status, n, err)
}

// handle processes an authenticated notification and returns the status
// to answer.
func (h *notifyHandler) handle(ctx context.Context, n *Notification, digest [sha256.Size]byte) (int, error) {
	if !n.Event.IsCharge() {
		return http.StatusOK, nil // acknowledged; the answer's log says it was not handled
	}
	if n.AppID != h.appID {
		return http.StatusBadRequest, notificationErr(ErrNotificationOtherApp,
			"the notification is for app %q, the handler's is %q", n.AppID, h.appID)
	}
	if err := rules.CheckMerchantID(n.MerchantTradeID); err != nil {
		return http.StatusBadRequest, notificationErr(ErrNotificationMalformed, "the notification's merchant_trade_id %v", err)
	}
	key := notificationKey(h.appID, n, digest)
	status, err := h.calls.do(ctx, key, func() (int, error) { return h.claimAndDeliver(ctx, n, key) })
	if status == 0 { // gave up waiting for a copy of it: the context ended
		status = http.StatusInternalServerError
	}
	return status, err
}

// claimAndDeliver claims the notification in the store and, if won,
// delivers it: the claim is completed when fn succeeded, else released.
func (h *notifyHandler) claimAndDeliver(ctx context.Context, n *Notification, key string) (int, error) {
	token, err := claimToken()
	if err != nil {
		return http.StatusInternalServerError, err
	}
	res, err := h.cfg.store.Claim(ctx, key, token, h.cfg.lease)
	switch {
	case err != nil:
		return http.StatusInternalServerError, fmt.Errorf("justap: the notification store failed: %w", err)
	case res == ClaimDone:
		return http.StatusOK, nil
	case res == ClaimHeld:
		return http.StatusServiceUnavailable, errors.New("justap: another instance is handling the notification; Justap will resend it")
	case res != ClaimWon:
		return http.StatusInternalServerError, fmt.Errorf("justap: the notification store's Claim answered %d", res)
	}
	status, err := h.deliver(ctx, n, &NotificationClaim{Key: key, Token: token})
	if status == http.StatusOK {
		if cerr := h.cfg.store.Complete(context.WithoutCancel(ctx), key, token); cerr != nil {
			// fn has handled it; a resend calls fn again, which is safe.
			h.log(ctx, slog.LevelWarn, "justap notification handled but not remembered", n, http.StatusOK, cerr)
		}
		return status, err
	}
	if rerr := h.cfg.store.Release(context.WithoutCancel(ctx), key, token); rerr != nil {
		h.log(ctx, slog.LevelWarn, "justap notification claim not released; a resend waits for its lease", n, status, rerr)
	}
	return status, err
}

// claimToken is a random token naming one claim.
func claimToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("justap: a claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// notificationKey identifies a notification among its resends, from the
// authenticated object alone: its app and notify_id, or when it has no
// notify_id the digest of the object's bytes. The envelope's event is not
// in it, since nothing authenticates it: a notification relabelled with
// another event is the same notification. Nor is the order: blocks of two
// authentic notifications spliced together carry the notify_id of one of
// them, and so are that one.
func notificationKey(appID string, n *Notification, digest [sha256.Size]byte) string {
	if n.NotifyID != "" {
		return strconv.Quote(appID) + " notify_id " + strconv.Quote(n.NotifyID)
	}
	return strconv.Quote(appID) + " sha256 " + hex.EncodeToString(digest[:])
}

// deliver reads the charge, checks it against the event and calls fn.
func (h *notifyHandler) deliver(ctx context.Context, n *Notification, claim *NotificationClaim) (int, error) {
	withRefunds := n.Event == EventChargeRefunded
	readKey := strconv.Quote(n.MerchantTradeID) + " " + strconv.FormatBool(withRefunds)
	shared, err := h.reads.do(ctx, readKey, func() (*chargeState, error) {
		return h.read(ctx, n.MerchantTradeID, withRefunds)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return http.StatusBadRequest, fmt.Errorf("justap: the API does not know the notification's charge: %w", err)
		}
		return http.StatusInternalServerError, fmt.Errorf("justap: reading the notification's charge: %w", err)
	}
	// Each event gets its own copy: fn may change it, and other events of
	// the charge share the read.
	st, err := shared.clone()
	if err != nil {
		return http.StatusInternalServerError, err
	}
	if err := h.agrees(n, st); err != nil {
		return http.StatusInternalServerError, err
	}
	ev := &ChargeEvent{Type: n.Event, Charge: st.Charge, Refunds: st.Refunds, Notification: n, Claim: claim}
	if err := callSafely(ctx, h.fn, ev); err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusOK, nil
}

// read fetches the charge, and its refunds when asked.
func (h *notifyHandler) read(ctx context.Context, merchantTradeID string, withRefunds bool) (*chargeState, error) {
	ch, err := h.client.Charges.GetByMerchantTradeID(ctx, merchantTradeID)
	if err != nil {
		return nil, err
	}
	st := &chargeState{Charge: ch}
	if !withRefunds {
		return st, nil
	}
	for rf, err := range h.client.Refunds.All(ctx, ch.ID, &RefundListParams{Limit: 100}) {
		if err != nil {
			return nil, err
		}
		if len(st.Refunds) == maxNotifyRefunds {
			return nil, fmt.Errorf("justap: charge %s has more than %d refunds; the handler reads no more", ch.ID, maxNotifyRefunds)
		}
		st.Refunds = append(st.Refunds, rf)
	}
	return st, nil
}

// clone returns a deep copy of s.
func (s *chargeState) clone() (*chargeState, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("justap: copying the charge: %w", err)
	}
	var c chargeState
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("justap: copying the charge: %w", err)
	}
	return &c, nil
}

// agrees checks that the API's charge is the notification's, and in the
// state its event announces.
func (h *notifyHandler) agrees(n *Notification, st *chargeState) error {
	ch := st.Charge
	if ch.MerchantTradeID != n.MerchantTradeID || ch.AppID != h.appID {
		return notificationErr(ErrNotificationDisagrees, "the API answered with another charge (%q of app %q)",
			ch.MerchantTradeID, ch.AppID)
	}
	var state string
	switch n.Event {
	case EventChargePaid:
		if !ch.Paid {
			state = "paid"
		}
	case EventChargeReversed:
		if !ch.Reversed {
			state = "reversed"
		}
	case EventChargeClosed: // a closed charge, or one that expired unpaid
		if !ch.Closed && ch.ExpiredAt.IsZero() {
			state = "closed"
		}
	case EventChargeRefunded:
		state = "refunded (no refund of it succeeded)"
		for _, rf := range st.Refunds {
			if rf.Succeeded {
				state = ""
				break
			}
		}
	}
	if state != "" {
		return notificationErr(ErrNotificationDisagrees, "the event is %s but the API does not report charge %s as %s (yet); "+
			"Justap will send it again", n.Event, ch.ID, state)
	}
	return nil
}

// callSafely calls fn, turning a panic into an error.
func callSafely(ctx context.Context, fn ChargeEventFunc, ev *ChargeEvent) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	if err := fn(ctx, ev); err != nil {
		return fmt.Errorf("justap: the notification function failed: %w", err)
	}
	return nil
}

// panicError is a panic of the merchant's function.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("justap: the notification function panicked: %v", e.value)
}

// answer writes the response and logs the notification's outcome.
func (h *notifyHandler) answer(ctx context.Context, w http.ResponseWriter, status int, n *Notification, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, "success")
	} else {
		io.WriteString(w, http.StatusText(status))
	}
	level, msg := slog.LevelDebug, "justap notification handled"
	switch {
	case status >= 500:
		level, msg = slog.LevelError, "justap notification failed; Justap will resend it"
	case status >= 400:
		level, msg = slog.LevelWarn, "justap notification refused"
	case n != nil && !n.Event.IsCharge():
		level, msg = slog.LevelInfo, "justap notification acknowledged, not handled: not a charge event"
	}
	h.log(ctx, level, msg, n, status, err)
}

func (h *notifyHandler) log(ctx context.Context, level slog.Level, msg string, n *Notification, status int, err error) {
	l := h.cfg.logger
	if l == nil || !l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.Int("status", status)}
	if n != nil {
		attrs = append(attrs, slog.String("event", string(n.Event)), slog.String("notify_id", n.NotifyID),
			slog.String("merchant_trade_id", n.MerchantTradeID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		var pe *panicError
		if errors.As(err, &pe) {
			attrs = append(attrs, slog.String("stack", string(pe.stack)))
		}
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

// flight runs one call per key at a time: a caller that comes while a call
// with its key is running waits for that call's result instead of making
// its own. Each waiter gives up when its own context ends.
type flight[T any] struct {
	mu      sync.Mutex
	calls   map[string]*flightCall[T]
	waiting int // callers waiting for another's call
}

type flightCall[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (f *flight[T]) do(ctx context.Context, key string, fn func() (T, error)) (T, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.waiting++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.waiting--
			f.mu.Unlock()
		}()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	if f.calls == nil {
		f.calls = map[string]*flightCall[T]{}
	}
	c := &flightCall[T]{done: make(chan struct{}), err: errors.New("justap: the shared call did not finish")}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
	return c.val, c.err
}

// waiters returns how many callers are waiting for another's call.
func (f *flight[T]) waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting
}

// DefaultNotificationStoreSize is how many notifications the default
// store remembers.
const DefaultNotificationStoreSize = 10_000

// NewMemoryNotificationStore returns a [NotificationStore] in memory that
// remembers the last size notifications completed (at least one): a fixed
// amount of memory, 32 bytes a key, however long the keys, beside the
// claims held at the moment. It is safe for concurrent use. It is not
// shared between processes, and forgets on restart.
func NewMemoryNotificationStore(size int) NotificationStore {
	return &memoryStore{size: max(size, 1), seen: map[[sha256.Size]byte]struct{}{}, held: map[[sha256.Size]byte]memoryClaim{}}
}

// memoryStore remembers a bounded number of completed keys, by hash,
// forgetting the oldest first, and the claims held.
type memoryStore struct {
	mu   sync.Mutex
	size int
	seen map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte // keys in the order remembered, from next on
	next int                 // the oldest key, once the ring is full
	held map[[sha256.Size]byte]memoryClaim
}

// memoryClaim is a claim held: by token, until a time.
type memoryClaim struct {
	token string
	until time.Time
}

func (s *memoryStore) Claim(_ context.Context, key, token string, lease time.Duration) (ClaimResult, error) {
	k := sha256.Sum256([]byte(key))
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[k]; ok {
		return ClaimDone, nil
	}
	if c, ok := s.held[k]; ok && c.token != token && now.Before(c.until) {
		return ClaimHeld, nil
	}
	s.held[k] = memoryClaim{token: token, until: now.Add(lease)}
	return ClaimWon, nil
}

func (s *memoryStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(sha256.Sum256([]byte(key)), token)
	return nil
}

// release drops the claim on k if token holds it; s.mu is held.
func (s *memoryStore) release(k [sha256.Size]byte, token string) {
	if c, ok := s.held[k]; ok && c.token == token {
		delete(s.held, k)
	}
}

func (s *memoryStore) Complete(_ context.Context, key, token string) error {
	k := sha256.Sum256([]byte(key))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(k, token)
	if _, ok := s.seen[k]; ok {
		return nil
	}
	if len(s.ring) < s.size {
		s.ring = append(s.ring, k)
	} else {
		delete(s.seen, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % len(s.ring)
	}
	s.seen[k] = struct{}{}
	return nil
}
