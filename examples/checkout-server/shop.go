package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/justap-go/justap"
)

// shop is the merchant's backend: orders, each paid by one Justap charge,
// kept in its database. Its routes:
//
//	POST /orders              {"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}
//	GET  /orders/{id}         the order's payment status, read from Justap
//	POST /orders/{id}/refund  {"amount": "5.00"}, or {} for the whole rest
//	POST /orders/{id}/cancel  reverse the unpaid charge
//	POST /justap/notify       Justap's notifications (with notifyAt)
type shop struct {
	c      *justap.Client
	db     *shopDB
	prefix string // of order ids
	log    *slog.Logger

	notifyURL  string           // the notify_url of its charges; "" for none
	justapKeys []*rsa.PublicKey // Justap's public keys, which authenticate notifications
	lease      time.Duration    // of a notification's claim; 0 for the SDK's default
	crashAt    string           // a step at which the process dies, for the crash test

	mu sync.Mutex // orders the refund requests of this instance
}

// order is what the shop keeps: Justap keeps the rest.
type order struct {
	id       string // also the charge's merchant_trade_id
	chargeID string
	status   string // unpaid, or paid once Justap's notification said so
	refunds  int    // refunds asked for so far, to number the next one
	// pendingRefund is the merchant_refund_id of a refund whose outcome is
	// unknown: the next refund request reuses it, so that it cannot refund
	// twice.
	pendingRefund string
	// shipped: the goods went out, once, when Justap's notification
	// (confirmed by its API) said the charge was paid.
	shipped bool
}

// shopOption configures the shop.
type shopOption func(*shop)

// notifyAt makes the shop receive Justap's notifications at url (which
// must reach its POST /justap/notify route), authenticated with Justap's
// public keys, and ship an order when its charge is paid.
func notifyAt(url string, justapKeys ...*rsa.PublicKey) shopOption {
	return func(s *shop) { s.notifyURL, s.justapKeys = url, justapKeys }
}

// withLease sets how long the shop's claim on a notification lasts.
func withLease(d time.Duration) shopOption { return func(s *shop) { s.lease = d } }

// crashingAt makes the process die (exit 3, nothing cleaned up, nothing
// answered) when the notification function reaches step: for the test
// that the order ends paid and shipped once whatever the moment of a crash.
func crashingAt(step string) shopOption { return func(s *shop) { s.crashAt = step } }

func newShop(c *justap.Client, db *shopDB, prefix string, log *slog.Logger, opts ...shopOption) http.Handler {
	s := &shop{c: c, db: db, prefix: prefix, log: log}
	for _, opt := range opts {
		opt(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.create)
	mux.HandleFunc("GET /orders/{id}", s.status)
	mux.HandleFunc("POST /orders/{id}/refund", s.refund)
	mux.HandleFunc("POST /orders/{id}/cancel", s.cancel)
	if s.notifyURL != "" {
		// The SDK's handler authenticates each notification, reads the
		// charge back from Justap and calls onEvent only with what Justap
		// confirms: a forged "paid" never ships anything. The store in the
		// shop's database lets several instances share the notify_url.
		opts := []justap.NotificationOption{justap.WithJustapPublicKey(s.justapKeys...),
			justap.WithNotificationLogger(log), justap.WithNotificationStore(db.store)}
		if s.lease > 0 {
			opts = append(opts, justap.WithNotificationLease(s.lease))
		}
		h, err := c.Notifications.Handler(s.onEvent, opts...)
		if err != nil {
			log.Error("notifications are off: the shop learns of payments by reading the charge", "err", err)
			s.notifyURL = ""
		} else {
			mux.Handle("POST /justap/notify", h)
		}
	}
	return mux
}

// The steps of onEvent at which crashingAt can kill the process.
var crashSteps = []string{"called", "begun", "marked-paid", "shipped", "completed", "committed"}

// crash kills the process if it is to die at step: os.Exit runs no
// deferred call, so the transaction is neither committed nor rolled back
// by the shop (the database drops it with the connection) and the claim
// is neither completed nor released.
func (s *shop) crash(step string) {
	if s.crashAt == step {
		fmt.Fprintln(os.Stderr, "checkout-server: crashing at", step)
		os.Exit(3)
	}
}

// onEvent handles a charge event that Justap's API has confirmed. On
// charge.paid it marks the order paid and queues its shipment in one
// transaction, which also records that the notification was handled
// (sqlstore's CompleteTx): a crash at any point leaves all three or none,
// and the resend that follows finds the notification done, or does the
// whole of it. The order's own state guards it too: an order is marked
// paid, and shipped, only from unpaid.
func (s *shop) onEvent(ctx context.Context, ev *justap.ChargeEvent) error {
	s.crash("called")
	if ev.Type != justap.EventChargePaid || !ev.Charge.Paid {
		return nil // the shop acts on payments only; refunds it reads from Justap
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // after Commit, a no-op
	s.crash("begun")
	res, err := tx.ExecContext(ctx, s.db.q("UPDATE orders SET status = 'paid' WHERE id = ? AND status = 'unpaid'"),
		ev.Charge.MerchantTradeID)
	if err != nil {
		return err
	}
	marked, err := res.RowsAffected()
	if err != nil {
		return err
	}
	s.crash("marked-paid")
	if marked == 1 {
		if _, err := tx.ExecContext(ctx, s.db.q("INSERT INTO shipments (order_id, charge_id) VALUES (?, ?)"),
			ev.Charge.MerchantTradeID, ev.Charge.ID); err != nil {
			return err
		}
		s.crash("shipped")
	}
	if err := s.db.store.CompleteTx(ctx, tx, ev); err != nil {
		return err // another instance took the notification over: it applies it
	}
	s.crash("completed")
	if err := tx.Commit(); err != nil {
		return err
	}
	s.crash("committed")
	switch {
	case marked == 1:
		s.log.Info("shipping order", "order", ev.Charge.MerchantTradeID, "charge", ev.Charge.ID)
	case !s.known(ctx, ev.Charge.MerchantTradeID):
		// Not an order of this shop: acknowledged, or Justap would resend
		// it for a day.
		s.log.Warn("notification for an unknown order", "order", ev.Charge.MerchantTradeID, "event", ev.Type)
	}
	return nil
}

// known reports whether the shop has the order.
func (s *shop) known(ctx context.Context, id string) bool {
	_, err := s.load(ctx, id)
	return err == nil
}

// load reads an order.
func (s *shop) load(ctx context.Context, id string) (*order, error) {
	o := &order{id: id}
	var shipments int
	err := s.db.QueryRowContext(ctx, s.db.q(`SELECT charge_id, status, refunds, pending_refund,
		(SELECT COUNT(*) FROM shipments WHERE order_id = orders.id) FROM orders WHERE id = ?`), id).
		Scan(&o.chargeID, &o.status, &o.refunds, &o.pendingRefund, &shipments)
	o.shipped = shipments > 0
	return o, err
}

// orderView is the JSON the shop answers with.
type orderView struct {
	OrderID  string `json:"order_id"`
	ChargeID string `json:"charge_id"`
	Amount   string `json:"amount"`
	Refunded string `json:"refunded"`
	// Status is unpaid, paid, partly_refunded, refunded, cancelled, closed
	// or expired.
	Status string `json:"status"`
	// Shipped is whether the goods went out: once Justap's notification,
	// confirmed by the API, said the charge was paid.
	Shipped bool `json:"shipped"`
	// Pay is what the front end shows or opens to take the payment, while
	// the order is unpaid.
	Pay map[string]string `json:"pay,omitempty"`
}

func view(o *order, ch *justap.Charge) orderView {
	v := orderView{OrderID: o.id, ChargeID: ch.ID, Amount: ch.Amount.String(), Refunded: ch.AmountRefunded.String(),
		Shipped: o.shipped}
	switch {
	case ch.Paid && ch.AmountRefunded >= ch.Amount: // Refunded means "has refunds", not "in full"
		v.Status = "refunded"
	case ch.Paid && ch.AmountRefunded > 0:
		v.Status = "partly_refunded"
	case ch.Paid:
		v.Status = "paid"
	case ch.Reversed:
		v.Status = "cancelled"
	case ch.Closed:
		v.Status = "closed"
	case !ch.ExpiredAt.IsZero():
		v.Status = "expired"
	default:
		v.Status = "unpaid"
		v.Pay = payDetails(ch)
	}
	return v
}

// payDetails picks what the front end needs from the charge's extra.
func payDetails(ch *justap.Charge) map[string]string {
	e := ch.Extra
	if e == nil {
		return nil
	}
	switch {
	case e.AlipayQR != nil && e.AlipayQR.QRCode != "":
		return map[string]string{"qr_code": e.AlipayQR.QRCode}
	case e.WechatpayNative != nil && e.WechatpayNative.QRCode != "":
		return map[string]string{"qr_code": e.WechatpayNative.QRCode}
	case e.AlipayWap != nil && e.AlipayWap.PayURL != "":
		return map[string]string{"pay_url": e.AlipayWap.PayURL}
	case e.AlipayPage != nil && e.AlipayPage.PayURL != "":
		return map[string]string{"pay_url": e.AlipayPage.PayURL}
	case e.WechatpayH5 != nil && e.WechatpayH5.PayURL != "":
		return map[string]string{"pay_url": e.WechatpayH5.PayURL}
	}
	return nil
}

// takes reports whether the shop takes a channel: it takes those whose
// front end is a QR code or a pay URL.
func takes(ch justap.Channel) bool {
	switch ch {
	case justap.ChannelAlipayQR, justap.ChannelWechatpayNative,
		justap.ChannelAlipayWap, justap.ChannelAlipayPage, justap.ChannelWechatpayH5:
		return true
	}
	return false
}

// create opens an order and its charge.
func (s *shop) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Amount  string `json:"amount"`
		Channel string `json:"channel"`
		Subject string `json:"subject"`
	}
	if !decode(w, r, &req) {
		return
	}
	amount, err := justap.ParseAmount(req.Amount)
	if err != nil || amount <= 0 {
		fail(w, http.StatusBadRequest, "amount must be a positive number of yuan, such as \"19.99\"")
		return
	}
	ch := justap.Channel(req.Channel)
	if !takes(ch) {
		fail(w, http.StatusBadRequest, "channel must be one of AlipayQR, WechatpayNative, AlipayWap, AlipayPage, WechatpayH5")
		return
	}
	if req.Subject == "" {
		fail(w, http.StatusBadRequest, "subject is required")
		return
	}

	o := &order{id: s.prefix + newID()}
	// The order is in the database before its charge exists, so that the
	// charge's notification always finds it.
	if _, err := s.db.ExecContext(r.Context(), s.db.q("INSERT INTO orders (id) VALUES (?)"), o.id); err != nil {
		s.dbError(w, err)
		return
	}

	params := &justap.ChargeCreateParams{
		MerchantTradeID: o.id,
		Amount:          amount,
		Channel:         ch,
		Subject:         req.Subject,
		Body:            req.Subject,
		ClientIP:        clientIP(r),
		TTL:             15 * time.Minute,
		NotifyURL:       s.notifyURL,
	}
	// A lost answer is the SDK's to settle: Create finds the charge by its
	// merchant_trade_id and returns it (charge.Recovered is then set).
	charge, err := s.c.Charges.Create(r.Context(), params)
	if err != nil {
		s.providerError(w, "create the charge", err)
		return
	}
	o.chargeID = charge.ID
	if _, err := s.db.ExecContext(r.Context(), s.db.q("UPDATE orders SET charge_id = ? WHERE id = ?"), o.chargeID, o.id); err != nil {
		s.dbError(w, err)
		return
	}
	reply(w, http.StatusCreated, view(o, charge))
}

// lookup finds the order of the request's {id}.
func (s *shop) lookup(w http.ResponseWriter, r *http.Request) (*order, bool) {
	o, err := s.load(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		fail(w, http.StatusNotFound, "no such order")
		return nil, false
	case err != nil:
		s.dbError(w, err)
		return nil, false
	case o.chargeID == "":
		fail(w, http.StatusConflict, "the order's charge could not be created; open a new order")
		return nil, false
	}
	return o, true
}

// status reads the order's charge from Justap: the source of truth for
// whether it is paid.
func (s *shop) status(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ch, err := s.c.Charges.Get(r.Context(), o.chargeID)
	if err != nil {
		s.providerError(w, "read the charge", err)
		return
	}
	reply(w, http.StatusOK, view(o, ch))
}

// refund refunds part of a paid order, or the whole rest.
func (s *shop) refund(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var req struct {
		Amount string `json:"amount"`
	}
	if !decode(w, r, &req) {
		return
	}
	p := &justap.RefundCreateParams{ChargeID: o.chargeID, Description: "refund of order " + o.id}
	if req.Amount == "" {
		p.FullRefund = true
	} else {
		a, err := justap.ParseAmount(req.Amount)
		if err != nil || a <= 0 {
			fail(w, http.StatusBadRequest, "amount must be a positive number of yuan, such as \"5.00\", or left out to refund the rest")
			return
		}
		p.Amount = a
	}
	// Each refund request is a new refund with its own merchant_refund_id;
	// the SDK's retries within this call reuse it, so they never refund
	// twice. After an unknown outcome, the next request reuses it too.
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if o, err = s.load(r.Context(), o.id); err != nil { // as of now, under the lock
		s.dbError(w, err)
		return
	}
	if o.pendingRefund == "" {
		o.refunds++
		o.pendingRefund = o.id + "-r" + strconv.Itoa(o.refunds)
		if _, err := s.db.ExecContext(r.Context(), s.db.q("UPDATE orders SET refunds = ?, pending_refund = ? WHERE id = ?"),
			o.refunds, o.pendingRefund, o.id); err != nil {
			s.dbError(w, err)
			return
		}
	}
	p.MerchantRefundID = o.pendingRefund
	rf, err := s.c.Refunds.Create(r.Context(), p)
	var e *justap.Error
	if errors.Is(err, justap.ErrReusedID) && errors.As(err, &e) && e.Refund != nil &&
		(p.FullRefund || e.Refund.Amount == p.Amount) {
		// The id was used by the earlier request whose outcome was unknown,
		// for this same refund: it did happen.
		rf, err = e.Refund, nil
	}
	if !errors.As(err, &e) || !e.OutcomeUnknown() {
		// Settled: the next refund is a new one.
		if _, derr := s.db.ExecContext(r.Context(), s.db.q("UPDATE orders SET pending_refund = '' WHERE id = ?"), o.id); derr != nil {
			s.dbError(w, derr)
			return
		}
	}
	if err != nil {
		s.providerError(w, "refund", err)
		return
	}
	reply(w, http.StatusOK, map[string]string{
		"refund_id": rf.ID, "amount": rf.Amount.String(), "status": string(rf.Status),
	})
}

// cancel reverses the order's unpaid charge.
func (s *shop) cancel(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ch, err := s.c.Charges.Reverse(r.Context(), o.chargeID)
	if err != nil {
		s.providerError(w, "cancel", err)
		return
	}
	reply(w, http.StatusOK, view(o, ch))
}

// providerError answers a failed Justap call: the shop's request was
// refused (409: the order's state does not allow it), or Justap could not
// be reached or may have acted without saying so (502). The details go to
// the log, not to the customer.
func (s *shop) providerError(w http.ResponseWriter, what string, err error) {
	s.log.Error("justap call failed", "what", what, "err", err)
	var e *justap.Error
	switch {
	case errors.As(err, &e) && e.OutcomeUnknown():
		// It may have happened: never report this as refused.
		fail(w, http.StatusBadGateway, "cannot tell whether the payment provider managed to "+what+
			"; try again in a moment (a refund is retried with the same refund id, so it never happens twice)")
	case errors.As(err, &e) && (errors.Is(err, justap.ErrInvalidRequest) || errors.Is(err, justap.ErrConflict)):
		fail(w, http.StatusConflict, "cannot "+what+": "+e.Message)
	default:
		fail(w, http.StatusBadGateway, "cannot "+what+" now: the payment provider is unavailable; try again")
	}
}

// dbError answers a failure of the shop's own database.
func (s *shop) dbError(w http.ResponseWriter, err error) {
	s.log.Error("database failed", "err", err)
	fail(w, http.StatusServiceUnavailable, "the shop cannot reach its database; try again")
}

// newID is a random order number.
func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "the body must be a JSON object")
		return false
	}
	return true
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"error": msg})
}

// clientIP is the customer's address, which Justap wants on each charge.
// Behind a proxy, take it from the proxy's header instead.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || net.ParseIP(host) == nil {
		return "127.0.0.1"
	}
	return host
}
