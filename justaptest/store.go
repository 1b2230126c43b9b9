package justaptest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
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

// chargeRec is a charge's state. The fields of c that the fake keeps are
// the ones its wire form is built from (wire.go); c.Extra, c.Refunds and
// c.Refunded are unused: extra is kept as written, and refunds below.
type chargeRec struct {
	seq      int64
	c        justap.Charge
	extra    json.RawMessage // the charge's extra as the gateway writes it
	refunds  []*refundRec    // in creation order
	reserved justap.Amount   // the sum of its refunds, pending ones included

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
// just older than after, or just newer than before, or the newest. A page
// fault serves it wrong (see FaultOverlapPage and FaultReorderPage).
func paginate[T any](items []T, key func(T) sortKey, limit int, after, before *sortKey, fault *Fault) ([]T, bool) {
	overlap := 0
	if fault != nil && fault.Kind == FaultOverlapPage {
		overlap = max(fault.Overlap, 1)
	}
	var page []T
	var more bool
	switch {
	case after != nil:
		i := 0
		for i < len(items) && !after.newer(key(items[i])) {
			i++
		}
		rest := items[max(0, i-overlap):]
		page, more = rest[:min(limit, len(rest))], len(rest) > limit
	case before != nil:
		j := 0
		for j < len(items) && key(items[j]).newer(*before) {
			j++
		}
		j = min(len(items), j+overlap)
		page, more = items[max(0, j-limit):j], j > limit
	default:
		page, more = items[:min(limit, len(items))], len(items) > limit
	}
	if fault != nil && fault.Kind == FaultReorderPage {
		page = slices.Clone(page)
		slices.Reverse(page)
	}
	return page, more
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

// object marshals a single-object response: {"object": …, "data": …}.
func object(name string, data any) ([]byte, *apiError) {
	return marshal(envelope{Object: name, Data: data})
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

// helper runs a helper for test writers (Pay, CompleteRefund, …) under h.mu.
func (h *Handler) helper(name string, f func(string) *apiError, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := f(id); err != nil {
		return fmt.Errorf("justaptest: %s: %s", name, err.message)
	}
	return nil
}
