package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/justap-go/justap"
)

// shop is the merchant's backend: orders, each paid by one Justap charge.
// Its routes:
//
//	POST /orders              {"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}
//	GET  /orders/{id}         the order's payment status, read from Justap
//	POST /orders/{id}/refund  {"amount": "5.00"}, or {} for the whole rest
//	POST /orders/{id}/cancel  reverse the unpaid charge
//	POST /justap/notify       Justap's notifications (with notifyAt)
type shop struct {
	c      *justap.Client
	prefix string // of order ids, so that they are new on every start
	log    *slog.Logger

	notifyURL  string           // the notify_url of its charges; "" for none
	justapKeys []*rsa.PublicKey // Justap's public keys, which authenticate notifications

	mu     sync.Mutex
	orders map[string]*order
	seq    int
}

// order is what the shop keeps: Justap keeps the rest.
type order struct {
	id       string // also the charge's merchant_trade_id
	chargeID string
	refunds  int // refunds asked for so far, to number the next one
	// pendingRefund is the merchant_refund_id of a refund whose outcome is
	// unknown: the next refund request reuses it, so that it cannot refund
	// twice.
	pendingRefund string
	// shipped: the goods went out, once, when Justap's notification
	// (confirmed by its API) said the charge was paid.
	shipped atomic.Bool
}

// shopOption configures the shop.
type shopOption func(*shop)

// notifyAt makes the shop receive Justap's notifications at url (which
// must reach its POST /justap/notify route), authenticated with Justap's
// public keys, and ship an order when its charge is paid.
func notifyAt(url string, justapKeys ...*rsa.PublicKey) shopOption {
	return func(s *shop) { s.notifyURL, s.justapKeys = url, justapKeys }
}

func newShop(c *justap.Client, prefix string, log *slog.Logger, opts ...shopOption) http.Handler {
	s := &shop{c: c, prefix: prefix, log: log, orders: map[string]*order{}}
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
		// confirms: a forged "paid" never ships anything.
		h, err := c.Notifications.Handler(s.onEvent,
			justap.WithJustapPublicKey(s.justapKeys...), justap.WithNotificationLogger(log))
		if err != nil {
			log.Error("notifications are off: the shop learns of payments by reading the charge", "err", err)
			s.notifyURL = ""
		} else {
			mux.Handle("POST /justap/notify", h)
		}
	}
	return mux
}

// onEvent handles a charge event that Justap's API has confirmed. It is
// idempotent: Justap resends, and a duplicate must not ship twice.
func (s *shop) onEvent(ctx context.Context, ev *justap.ChargeEvent) error {
	s.mu.Lock()
	o := s.orders[ev.Charge.MerchantTradeID]
	s.mu.Unlock()
	if o == nil {
		// Not an order of this shop (or of an earlier run): acknowledge,
		// or Justap would resend it for a day.
		s.log.Warn("notification for an unknown order", "order", ev.Charge.MerchantTradeID, "event", ev.Type)
		return nil
	}
	if ev.Type == justap.EventChargePaid && ev.Charge.Paid && o.shipped.CompareAndSwap(false, true) {
		s.log.Info("shipping order", "order", o.id, "charge", ev.Charge.ID)
	}
	return nil
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
		Shipped: o.shipped.Load()}
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

	s.mu.Lock()
	s.seq++
	o := &order{id: s.prefix + strconv.Itoa(s.seq)}
	s.mu.Unlock()

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
	s.mu.Lock()
	s.orders[o.id] = o
	s.mu.Unlock()
	reply(w, http.StatusCreated, view(o, charge))
}

// lookup finds the order of the request's {id}.
func (s *shop) lookup(w http.ResponseWriter, r *http.Request) (*order, bool) {
	s.mu.Lock()
	o := s.orders[r.PathValue("id")]
	s.mu.Unlock()
	if o == nil {
		fail(w, http.StatusNotFound, "no such order")
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
	if o.pendingRefund == "" {
		o.refunds++
		o.pendingRefund = o.id + "-r" + strconv.Itoa(o.refunds)
	}
	p.MerchantRefundID = o.pendingRefund
	s.mu.Unlock()
	rf, err := s.c.Refunds.Create(r.Context(), p)
	var e *justap.Error
	if errors.Is(err, justap.ErrReusedID) && errors.As(err, &e) && e.Refund != nil &&
		(p.FullRefund || e.Refund.Amount == p.Amount) {
		// The id was used by the earlier request whose outcome was unknown,
		// for this same refund: it did happen.
		rf, err = e.Refund, nil
	}
	if !errors.As(err, &e) || !e.OutcomeUnknown() {
		s.mu.Lock()
		o.pendingRefund = "" // settled: the next refund is a new one
		s.mu.Unlock()
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
