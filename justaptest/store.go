package justaptest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/justap-go/justap"
)

// store is the fake's state. Every access holds Handler.mu.
type store struct {
	chargeSeq, refundSeq, txSeq int64

	charges    map[string]*chargeRec // by charge id
	order      []*chargeRec          // in creation order
	byTradeID  map[string]*chargeRec // by app id + "\x00" + merchant_trade_id
	refunds    map[string]*refundRec // by refund id
	byRefundID map[string]*refundRec // by app id + "\x00" + merchant_refund_id
}

type chargeRec struct {
	seq      int64
	c        justap.Charge // Refunds is filled when the charge is written out
	refunds  []*refundRec  // in creation order
	reserved justap.Amount // the sum of its refunds, pending ones included

	notifyURL      string // where its notifications go; "" for none
	expiryNotified bool   // its expiry is queued as a notification
}

type refundRec struct {
	seq       int64
	r         justap.Refund
	charge    *chargeRec
	notifyURL string // where its notification goes, if not the charge's
}

func newStore() *store {
	return &store{
		charges:    map[string]*chargeRec{},
		byTradeID:  map[string]*chargeRec{},
		refunds:    map[string]*refundRec{},
		byRefundID: map[string]*refundRec{},
	}
}

// sortKey orders objects newest first: by creation time, then by creation
// sequence (ids are sequential), so objects created in the same second
// keep a stable order.
type sortKey struct {
	t   time.Time
	seq int64
}

func (a sortKey) newer(b sortKey) bool {
	if !a.t.Equal(b.t) {
		return a.t.After(b.t)
	}
	return a.seq > b.seq
}

func (c *chargeRec) key() sortKey { return sortKey{c.c.CreatedAt, c.seq} }
func (r *refundRec) key() sortKey { return sortKey{r.r.CreatedAt, r.seq} }

func newestFirst[T interface{ key() sortKey }](items []T) {
	slices.SortFunc(items, func(a, b T) int {
		switch ka, kb := a.key(), b.key(); {
		case ka.newer(kb):
			return -1
		case kb.newer(ka):
			return 1
		}
		return 0
	})
}

// paginate cuts a page out of items (sorted newest first): the limit items
// just older than after, or just newer than before, or the newest.
func paginate[T any](items []T, key func(T) sortKey, limit int, after, before *sortKey) ([]T, bool) {
	switch {
	case after != nil:
		i := 0
		for i < len(items) && !after.newer(key(items[i])) {
			i++
		}
		rest := items[i:]
		return rest[:min(limit, len(rest))], len(rest) > limit
	case before != nil:
		j := 0
		for j < len(items) && key(items[j]).newer(*before) {
			j++
		}
		return items[max(0, j-limit):j], j > limit
	}
	return items[:min(limit, len(items))], len(items) > limit
}

// settle brings a charge up to date with the clock: an unpaid, open charge
// whose time_expire has passed is expired.
func settle(c *chargeRec, now time.Time) {
	ch := &c.c
	if !ch.Paid && !ch.Reversed && !ch.Closed && ch.ExpiredAt.IsZero() &&
		!ch.ExpiresAt.IsZero() && !now.Before(ch.ExpiresAt) {
		ch.ExpiredAt = ch.ExpiresAt
	}
}

// view is the charge as the gateway writes it, its refunds newest first.
// It shares memory with the store: marshal it while h.mu is held.
func (c *chargeRec) view() *justap.Charge {
	ch := c.c
	if len(c.refunds) > 0 {
		rs := slices.Clone(c.refunds)
		newestFirst(rs)
		ch.Refunds = make([]*justap.Refund, len(rs))
		for i, r := range rs {
			ch.Refunds[i] = &r.r
		}
	}
	return &ch
}

// object marshals a single-object response: {"object": …, "data": …}.
func object(name string, data any) ([]byte, *apiError) {
	b, err := json.Marshal(struct {
		Object string `json:"object"`
		Data   any    `json:"data"`
	}{name, data})
	if err != nil {
		return nil, errorf(codeInternal, "cannot encode the %s: %v", name, err)
	}
	return b, nil
}

func marshal(v any) ([]byte, *apiError) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errorf(codeInternal, "cannot encode the response: %v", err)
	}
	return b, nil
}

// checkApp checks a request's app_id: it must be the fake's app, and it
// must be present if required.
func (h *Handler) checkApp(appID string, required bool) *apiError {
	switch {
	case appID == "" && required:
		return errorf(codeInvalidArgument, "app_id: is required")
	case appID != "" && appID != h.opts.appID:
		return errorf(codePermissionDenied, "app_id %q: this API key has no access to that app", appID)
	}
	return nil
}

// param returns a query parameter that may appear at most once.
func param(q url.Values, key string) (string, *apiError) {
	v := q[key]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	}
	return "", errorf(codeInvalidArgument, "%s: given %d times; give it at most once", key, len(v))
}

func (h *Handler) queryApp(q url.Values, required bool) *apiError {
	app, err := param(q, "app_id")
	if err != nil {
		return err
	}
	return h.checkApp(app, required)
}

func (h *Handler) findCharge(id string) (*chargeRec, *apiError) {
	c := h.st.charges[id]
	if c == nil {
		return nil, errorf(codeNotFound, "no charge %q in app %s", id, h.opts.appID)
	}
	settle(c, h.now())
	return c, nil
}

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
	c.c.Extra = responseExtra(n.extra, &c.c, base)
	st.charges[c.c.ID] = c
	st.order = append(st.order, c)
	st.byTradeID[tradeKey] = c
	return object("Charge", c.view())
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
	return object("Charge", c.view())
}

// chargeFilter is the selection of a charge list.
type chargeFilter struct {
	merchantTradeID                           string
	channel                                   justap.Channel
	gt, gte, lt, lte                          *int64
	paid, refunded, reversed, closed, expired *bool
}

func (f *chargeFilter) match(c *justap.Charge) bool {
	created := c.CreatedAt.Unix()
	return (f.merchantTradeID == "" || c.MerchantTradeID == f.merchantTradeID) &&
		(f.channel == "" || c.Channel == f.channel) &&
		(f.gt == nil || created > *f.gt) && (f.gte == nil || created >= *f.gte) &&
		(f.lt == nil || created < *f.lt) && (f.lte == nil || created <= *f.lte) &&
		is(f.paid, c.Paid) && is(f.refunded, c.Refunded) && is(f.reversed, c.Reversed) &&
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

// parsePage reads limit, starting_after and ending_before; find turns a
// cursor id into its object's sort key.
func parsePage(q url.Values, find func(id string) (sortKey, bool)) (limit int, after, before *sortKey, _ *apiError) {
	s, err := param(q, "limit")
	if err != nil {
		return 0, nil, nil, err
	}
	limit = defaultListLimit
	if s != "" {
		n, perr := strconv.Atoi(s)
		switch {
		case perr != nil || n < 0 || n > maxListLimit:
			return 0, nil, nil, errorf(codeInvalidArgument, "limit: %q is not a page size from 1 to %d", s, maxListLimit)
		case n > 0:
			limit = n
		}
	}
	var cursors [2]*sortKey
	for i, key := range [...]string{"starting_after", "ending_before"} {
		id, err := param(q, key)
		if err != nil {
			return 0, nil, nil, err
		}
		if id == "" {
			continue
		}
		k, ok := find(id)
		if !ok {
			return 0, nil, nil, errorf(codeInvalidArgument, "%s: no object %q in this list", key, id)
		}
		cursors[i] = &k
	}
	if cursors[0] != nil && cursors[1] != nil {
		return 0, nil, nil, errorf(codeInvalidArgument, "starting_after and ending_before: give at most one of them")
	}
	return limit, cursors[0], cursors[1], nil
}

// listCharges serves OpListCharges.
func (h *Handler) listCharges(q url.Values) ([]byte, *apiError) {
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
		if f.match(&c.c) {
			match = append(match, c)
		}
	}
	newestFirst(match)
	page, more := paginate(match, (*chargeRec).key, limit, after, before)
	l := justap.ChargeList{Object: "ChargeList", Data: make([]*justap.Charge, len(page)), HasMore: more}
	for i, c := range page {
		l.Data[i] = c.view()
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
	return object("Charge", c.view())
}

// createRefund serves OpCreateRefund.
func (h *Handler) createRefund(body []byte) ([]byte, *apiError) {
	n, err := parseRefundCreate(body)
	if err != nil {
		return nil, err
	}
	if err := h.checkApp(n.appID, true); err != nil {
		return nil, err
	}
	st := h.st
	refundKey := n.appID + "\x00" + n.merchantRefundID
	if old := st.byRefundID[refundKey]; old != nil {
		return nil, errorf(codeAlreadyExists, "merchant_refund_id %q already exists: it names refund %s of charge %s",
			n.merchantRefundID, old.r.ID, old.charge.c.ID)
	}
	c, err := h.findCharge(n.chargeID)
	if err != nil {
		return nil, err
	}
	ch := &c.c
	rest := ch.Amount - c.reserved
	switch {
	case ch.Reversed:
		return nil, errorf(codeFailedPrecondition, "charge %s was reversed and never paid; there is nothing to refund", ch.ID)
	case !ch.Paid:
		return nil, errorf(codeFailedPrecondition, "charge %s is not paid; only a paid charge can be refunded", ch.ID)
	case rest <= 0:
		return nil, errorf(codeFailedPrecondition, "charge %s is already refunded in full", ch.ID)
	case n.amount != nil && *n.amount > rest:
		return nil, errorf(codeFailedPrecondition, "amount %s exceeds what is left to refund of charge %s: %s", *n.amount, ch.ID, rest)
	}
	amount := rest
	if n.amount != nil {
		amount = *n.amount
	}
	st.refundSeq++
	r := &refundRec{seq: st.refundSeq, charge: c, r: justap.Refund{
		ID:                    "re_" + pad(st.refundSeq),
		Object:                "Refund",
		ChargeID:              ch.ID,
		ChargeMerchantTradeID: ch.MerchantTradeID,
		MerchantRefundID:      n.merchantRefundID,
		Amount:                amount,
		Description:           n.description,
		Status:                justap.RefundStatusRefunding,
		TransactionNo:         ch.TransactionNo,
		Metadata:              n.metadata,
		CreatedAt:             h.now(),
	}, notifyURL: n.notifyURL}
	c.refunds = append(c.refunds, r)
	c.reserved += amount
	st.refunds[r.r.ID] = r
	st.byRefundID[refundKey] = r
	if !h.opts.pendingRefunds {
		h.completeRefund(r)
	}
	return object("Refund", &r.r)
}

// completeRefund makes a pending refund succeed.
func (h *Handler) completeRefund(r *refundRec) {
	r.r.Status = justap.RefundStatusRefunded
	r.r.Succeeded = true
	r.r.SucceededAt = h.now()
	r.r.RefundNo = "rn_" + r.r.ID[len("re_"):]
	ch := &r.charge.c
	ch.AmountRefunded += r.r.Amount
	ch.Refunded = ch.AmountRefunded == ch.Amount
	h.notify(eventRefunded, r.charge, r)
}

func (h *Handler) findRefund(chargeID, refundID string) (*refundRec, *apiError) {
	if _, err := h.findCharge(chargeID); err != nil {
		return nil, err
	}
	r := h.st.refunds[refundID]
	if r == nil || r.charge.c.ID != chargeID {
		return nil, errorf(codeNotFound, "no refund %q of charge %s", refundID, chargeID)
	}
	return r, nil
}

// getRefund serves OpGetRefund.
func (h *Handler) getRefund(q url.Values, chargeID, refundID string) ([]byte, *apiError) {
	if err := h.queryApp(q, false); err != nil {
		return nil, err
	}
	r, err := h.findRefund(chargeID, refundID)
	if err != nil {
		return nil, err
	}
	return object("Refund", &r.r)
}

// listRefunds serves OpListRefunds.
func (h *Handler) listRefunds(q url.Values, chargeID string) ([]byte, *apiError) {
	if err := h.queryApp(q, false); err != nil {
		return nil, err
	}
	c, err := h.findCharge(chargeID)
	if err != nil {
		return nil, err
	}
	limit, after, before, err := parsePage(q, func(id string) (sortKey, bool) {
		r := h.st.refunds[id]
		if r == nil || r.charge != c {
			return sortKey{}, false
		}
		return r.key(), true
	})
	if err != nil {
		return nil, err
	}
	all := slices.Clone(c.refunds)
	newestFirst(all)
	page, more := paginate(all, (*refundRec).key, limit, after, before)
	l := justap.RefundList{Object: "RefundList", Data: make([]*justap.Refund, len(page)), HasMore: more, Total: int64(len(all))}
	for i, r := range page {
		l.Data[i] = &r.r
	}
	return marshal(l)
}

// The helpers for test writers. Each takes h.mu.

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

// CompleteRefund makes a refund left "refunding" (see WithPendingRefunds)
// succeed: its status becomes "refunded" and its amount counts in the
// charge's amount_refund.
func (h *Handler) CompleteRefund(refundID string) error {
	return h.helper("CompleteRefund", h.completeRefundID, refundID)
}

func (h *Handler) helper(name string, f func(string) *apiError, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := f(id); err != nil {
		return fmt.Errorf("justaptest: %s: %s", name, err.message)
	}
	return nil
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

func (h *Handler) completeRefundID(id string) *apiError {
	r := h.st.refunds[id]
	switch {
	case r == nil:
		return errorf(codeNotFound, "no refund %q", id)
	case r.r.Succeeded:
		return errorf(codeFailedPrecondition, "refund %s has already succeeded", id)
	}
	h.completeRefund(r)
	return nil
}

// Charge returns a copy of the charge as the API would return it now, and
// whether it exists.
func (h *Handler) Charge(chargeID string) (*justap.Charge, bool) {
	h.mu.Lock()
	c, err := h.findCharge(chargeID)
	var b []byte
	if err == nil {
		b, err = marshal(c.view())
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

// Refund returns a copy of the refund as the API would return it now, and
// whether it exists.
func (h *Handler) Refund(refundID string) (*justap.Refund, bool) {
	h.mu.Lock()
	var b []byte
	r := h.st.refunds[refundID]
	if r != nil {
		b, _ = marshal(&r.r)
	}
	h.mu.Unlock()
	var rf justap.Refund
	if r == nil || json.Unmarshal(b, &rf) != nil {
		return nil, false
	}
	return &rf, true
}

// Charges returns a copy of every charge the fake holds, newest first,
// however old (the API's list reaches back ListWindow only).
func (h *Handler) Charges() []*justap.Charge {
	h.mu.Lock()
	now := h.now()
	all := slices.Clone(h.st.order)
	newestFirst(all)
	views := make([]*justap.Charge, len(all))
	for i, c := range all {
		settle(c, now)
		views[i] = c.view()
	}
	b, _ := marshal(views)
	h.mu.Unlock()
	var out []*justap.Charge
	if err := json.Unmarshal(b, &out); err != nil {
		panic("justaptest: cannot decode its own charges: " + err.Error())
	}
	return out
}
