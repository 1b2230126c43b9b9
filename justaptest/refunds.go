package justaptest

import (
	"encoding/json"
	"net/url"
	"slices"

	"github.com/justap-go/justap"
)

// The refunds: the three refund operations, and the helper that completes
// a pending refund.

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
	return object("Refund", r.wire())
}

// completeRefund makes a pending refund succeed.
func (h *Handler) completeRefund(r *refundRec) {
	r.r.Status = justap.RefundStatusRefunded
	r.r.Succeeded = true
	r.r.SucceededAt = h.now()
	r.r.RefundNo = "rn_" + r.r.ID[len("re_"):]
	ch := &r.charge.c
	ch.AmountRefunded += r.r.Amount
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
	return object("Refund", r.wire())
}

// listRefunds serves OpListRefunds.
func (h *Handler) listRefunds(q url.Values, chargeID string, fault *Fault) ([]byte, *apiError) {
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
	page, more := paginate(all, (*refundRec).key, limit, after, before, fault)
	l := refundListJSON{Object: "RefundList", Data: make([]*refundJSON, len(page)), HasMore: more, Total: int64(len(all))}
	for i, r := range page {
		l.Data[i] = r.wire()
	}
	return marshal(l)
}

// CompleteRefund makes a refund left "refunding" (see WithPendingRefunds)
// succeed: its status becomes "refunded" and its amount counts in the
// charge's amount_refund.
func (h *Handler) CompleteRefund(refundID string) error {
	return h.helper("CompleteRefund", h.completeRefundID, refundID)
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

// Refund returns a copy of the refund as the API would return it now, and
// whether it exists.
func (h *Handler) Refund(refundID string) (*justap.Refund, bool) {
	h.mu.Lock()
	var b []byte
	r := h.st.refunds[refundID]
	if r != nil {
		b, _ = marshal(r.wire())
	}
	h.mu.Unlock()
	var rf justap.Refund
	if r == nil || json.Unmarshal(b, &rf) != nil {
		return nil, false
	}
	return &rf, true
}

// Refunds returns a copy of every refund of the charge, newest first, as
// the API would return them now; nil when there is no such charge.
func (h *Handler) Refunds(chargeID string) []*justap.Refund {
	h.mu.Lock()
	c, err := h.findCharge(chargeID)
	var b []byte
	if err == nil {
		all := slices.Clone(c.refunds)
		newestFirst(all)
		views := make([]*refundJSON, len(all))
		for i, r := range all {
			views[i] = r.wire()
		}
		b, err = marshal(views)
	}
	h.mu.Unlock()
	if err != nil {
		return nil
	}
	var out []*justap.Refund
	if err := json.Unmarshal(b, &out); err != nil {
		panic("justaptest: cannot decode its own refunds: " + err.Error())
	}
	return out
}
