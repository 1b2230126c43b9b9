package justaptest

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/justap-go/justap"
)

// The charges: the four charge operations, and the helpers that move a
// charge as its customer or channel would.

// createCharge serves OpCreateCharge.
func (h *Handler) createCharge(body []byte, base string) ([]byte, *apiError) {
	n, err := parseChargeCreate(body)
	if err != nil {
		return nil, err
	}
	if err := h.checkApp(n.appID, true); err != nil {
		return nil, err
	}
	st := h.st
	tradeKey := n.appID + "\x00" + n.merchantTradeID
	if old := st.byTradeID[tradeKey]; old != nil {
		return nil, errorf(codeAlreadyExists, "merchant_trade_id %q already exists: it names charge %s", n.merchantTradeID, old.c.ID)
	}
	now := h.now()
	ttl := n.ttl
	if ttl == 0 {
		ttl = DefaultTTL
	}
	st.chargeSeq++
	c := &chargeRec{seq: st.chargeSeq, c: justap.Charge{
		ID:              "ch_" + pad(st.chargeSeq),
		Object:          "Charge",
		AppID:           n.appID,
		MerchantTradeID: n.merchantTradeID,
		Channel:         n.channel,
		Amount:          n.amount,
		Currency:        n.currency,
		Subject:         n.subject,
		Body:            n.body,
		Description:     n.description,
		ClientIP:        n.clientIP,
		LiveMode:        strings.HasPrefix(h.opts.apiKey, "sk_live_"),
		Metadata:        n.metadata,
		TTL:             ttl,
		CreatedAt:       now,
		ExpiresAt:       now.Add(ttl),
	}, notifyURL: n.notifyURL}
	c.extra = responseExtra(n.rawExtra, &c.c, base)
	st.charges[c.c.ID] = c
	st.order = append(st.order, c)
	st.byTradeID[tradeKey] = c
	return object("Charge", c.wire())
}

// getCharge serves OpGetCharge.
func (h *Handler) getCharge(q url.Values, id string) ([]byte, *apiError) {
	if err := h.queryApp(q, false); err != nil {
		return nil, err
	}
	c, err := h.findCharge(id)
	if err != nil {
		return nil, err
	}
	mtid, err := param(q, "merchant_trade_id")
	if err != nil {
		return nil, err
	}
	if mtid != "" && mtid != c.c.MerchantTradeID {
		return nil, errorf(codeNotFound, "no charge %q with merchant_trade_id %q", id, mtid)
	}
	return object("Charge", c.wire())
}

// chargeFilter is the selection of a charge list.
type chargeFilter struct {
	merchantTradeID                           string
	channel                                   justap.Channel
	gt, gte, lt, lte                          *int64
	paid, refunded, reversed, closed, expired *bool
}

func (f *chargeFilter) match(rec *chargeRec) bool {
	c := &rec.c
	created := c.CreatedAt.Unix()
	return (f.merchantTradeID == "" || c.MerchantTradeID == f.merchantTradeID) &&
		(f.channel == "" || c.Channel == f.channel) &&
		(f.gt == nil || created > *f.gt) && (f.gte == nil || created >= *f.gte) &&
		(f.lt == nil || created < *f.lt) && (f.lte == nil || created <= *f.lte) &&
		is(f.paid, c.Paid) && is(f.refunded, len(rec.refunds) > 0) && is(f.reversed, c.Reversed) &&
		is(f.closed, c.Closed) && is(f.expired, !c.ExpiredAt.IsZero())
}

func is(want *bool, v bool) bool { return want == nil || *want == v }

func parseChargeFilter(q url.Values, now time.Time) (*chargeFilter, *apiError) {
	f := &chargeFilter{}
	var err *apiError
	if f.merchantTradeID, err = param(q, "merchant_trade_id"); err != nil {
		return nil, err
	}
	ch, err := param(q, "channel")
	if err != nil {
		return nil, err
	}
	switch c := justap.Channel(ch); {
	case c == "" || c == justap.ChannelUnspecified: // no filter
	case !c.Valid():
		return nil, errorf(codeInvalidArgument, "channel: unknown channel %q", ch)
	default:
		f.channel = c
	}
	for _, b := range [...]struct {
		key string
		dst **int64
	}{{"created.gt", &f.gt}, {"created.gte", &f.gte}, {"created.lt", &f.lt}, {"created.lte", &f.lte}} {
		s, err := param(q, b.key)
		if err != nil {
			return nil, err
		}
		if s == "" {
			continue
		}
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return nil, errorf(codeInvalidArgument, "%s: %q is not a Unix time in seconds", b.key, s)
		}
		*b.dst = &v
	}
	if f.gt == nil && f.gte == nil && f.lt == nil && f.lte == nil {
		from := now.Add(-ListWindow).Unix()
		f.gte = &from
	}
	for _, b := range [...]struct {
		key string
		dst **bool
	}{{"paid", &f.paid}, {"refunded", &f.refunded}, {"reversed", &f.reversed}, {"closed", &f.closed}, {"expired", &f.expired}} {
		s, err := param(q, b.key)
		if err != nil {
			return nil, err
		}
		if s == "" {
			continue
		}
		v, perr := strconv.ParseBool(s)
		if perr != nil {
			return nil, errorf(codeInvalidArgument, "%s: %q is not true or false", b.key, s)
		}
		*b.dst = &v
	}
	return f, nil
}

// listCharges serves OpListCharges.
func (h *Handler) listCharges(q url.Values, fault *Fault) ([]byte, *apiError) {
	if err := h.queryApp(q, true); err != nil {
		return nil, err
	}
	now := h.now()
	f, err := parseChargeFilter(q, now)
	if err != nil {
		return nil, err
	}
	limit, after, before, err := parsePage(q, func(id string) (sortKey, bool) {
		c := h.st.charges[id]
		if c == nil {
			return sortKey{}, false
		}
		return c.key(), true
	})
	if err != nil {
		return nil, err
	}
	var match []*chargeRec
	for _, c := range h.st.order {
		settle(c, now)
		if f.match(c) {
			match = append(match, c)
		}
	}
	newestFirst(match)
	page, more := paginate(match, (*chargeRec).key, limit, after, before, fault)
	l := chargeListJSON{Object: "ChargeList", Data: make([]*chargeJSON, len(page)), HasMore: more}
	for i, c := range page {
		l.Data[i] = c.wire()
	}
	return marshal(l)
}

// reverseCharge serves OpReverseCharge.
func (h *Handler) reverseCharge(q url.Values, id string) ([]byte, *apiError) {
	if err := h.queryApp(q, false); err != nil {
		return nil, err
	}
	c, err := h.findCharge(id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.c.Paid:
		return nil, errorf(codeFailedPrecondition, "charge %s is paid and cannot be reversed; refund it instead", id)
	case !c.c.Reversed:
		c.c.Reversed = true
		c.c.ReversedAt = h.now()
		h.notify(eventReversed, c, nil)
	}
	return object("Charge", c.wire())
}

// Pay simulates the customer paying the charge: it becomes paid, with
// paid_at (now, by the fake's clock) and a transaction_no. Pay fails if the
// charge does not exist, is already paid, or was reversed, closed or
// expired.
func (h *Handler) Pay(chargeID string) error { return h.helper("Pay", h.pay, chargeID) }

// Expire makes an unpaid, open charge expire now, as if its time_expire
// had passed: it can no longer be paid, and it lists with expired=true.
// (Charges also expire by themselves when the fake's clock passes their
// time_expire.)
func (h *Handler) Expire(chargeID string) error { return h.helper("Expire", h.expire, chargeID) }

// CloseCharge closes an unpaid charge, as a channel closes an order: it can
// no longer be paid, and it lists with closed=true.
func (h *Handler) CloseCharge(chargeID string) error {
	return h.helper("CloseCharge", h.closeCharge, chargeID)
}

// openCharge finds a charge that is still open to payment.
func (h *Handler) openCharge(id string) (*chargeRec, *apiError) {
	c, err := h.findCharge(id)
	if err != nil {
		return nil, err
	}
	ch := &c.c
	switch {
	case ch.Paid:
		return nil, errorf(codeFailedPrecondition, "charge %s is already paid", id)
	case ch.Reversed:
		return nil, errorf(codeFailedPrecondition, "charge %s was reversed", id)
	case ch.Closed:
		return nil, errorf(codeFailedPrecondition, "charge %s is closed", id)
	case !ch.ExpiredAt.IsZero():
		return nil, errorf(codeFailedPrecondition, "charge %s expired at %s", id, ch.ExpiredAt.Format(time.RFC3339))
	}
	return c, nil
}

func (h *Handler) pay(id string) *apiError {
	c, err := h.openCharge(id)
	if err != nil {
		return err
	}
	h.st.txSeq++
	c.c.Paid = true
	c.c.PaidAt = h.now()
	c.c.TransactionNo = "tx_" + pad(h.st.txSeq)
	h.notify(eventPaid, c, nil)
	return nil
}

func (h *Handler) expire(id string) *apiError {
	c, err := h.openCharge(id)
	if err != nil {
		return err
	}
	now := h.now()
	c.c.ExpiresAt, c.c.ExpiredAt = now, now
	return nil
}

func (h *Handler) closeCharge(id string) *apiError {
	c, err := h.findCharge(id)
	if err != nil {
		return err
	}
	switch {
	case c.c.Paid:
		return errorf(codeFailedPrecondition, "charge %s is paid; refund it instead", id)
	case c.c.Reversed:
		return errorf(codeFailedPrecondition, "charge %s was reversed", id)
	case c.c.Closed:
		return errorf(codeFailedPrecondition, "charge %s is already closed", id)
	}
	c.c.Closed = true
	c.c.ClosedAt = h.now()
	h.notify(eventClosed, c, nil)
	return nil
}

// Charge returns a copy of the charge as the API would return it now, and
// whether it exists.
func (h *Handler) Charge(chargeID string) (*justap.Charge, bool) {
	h.mu.Lock()
	c, err := h.findCharge(chargeID)
	var b []byte
	if err == nil {
		b, err = marshal(c.wire())
	}
	h.mu.Unlock()
	if err != nil {
		return nil, false
	}
	var ch justap.Charge
	if json.Unmarshal(b, &ch) != nil {
		return nil, false
	}
	return &ch, true
}

// Charges returns a copy of every charge the fake holds, newest first,
// however old (the API's list reaches back ListWindow only).
func (h *Handler) Charges() []*justap.Charge {
	h.mu.Lock()
	now := h.now()
	all := slices.Clone(h.st.order)
	newestFirst(all)
	views := make([]*chargeJSON, len(all))
	for i, c := range all {
		settle(c, now)
		views[i] = c.wire()
	}
	b, _ := marshal(views)
	h.mu.Unlock()
	var out []*justap.Charge
	if err := json.Unmarshal(b, &out); err != nil {
		panic("justaptest: cannot decode its own charges: " + err.Error())
	}
	return out
}
