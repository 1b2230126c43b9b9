package justap

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// WithRecovery turns the recovery of creates on (the default) or off.
//
// With recovery on, a create whose outcome is unknown (an attempt may have
// been processed and its answer was lost) looks its object up by its
// merchant id before returning, and a create refused with ErrConflict on
// its first attempt attaches the object that the id already names to the
// error: see Outcomes in the package docs. With recovery off, Create
// returns the error of its last attempt as it is, and a retry that finds
// the object already created ends in ErrConflict with OutcomeUnknown set:
// look the object up yourself.
func WithRecovery(on bool) Option {
	return func(c *config) error {
		c.noRecovery = !on
		return nil
	}
}

// MerchantRefundIDMetadataKey is the metadata key under which
// [RefundsService.Create] records a refund's MerchantRefundID: Justap's
// Refund object has no merchant_refund_id field, but it echoes metadata,
// so this is how [RefundsService.GetByMerchantRefundID] finds a refund
// again. The key is reserved: a RefundCreateParams.Metadata that sets it
// is refused.
const MerchantRefundIDMetadataKey = "justap_merchant_refund_id"

// refundMetadata returns the metadata a refund is created with: the
// caller's keys, untouched, and the merchant refund id under the reserved
// key. The caller's map is not modified.
func refundMetadata(md map[string]string, merchantRefundID string) (map[string]string, error) {
	if _, taken := md[MerchantRefundIDMetadataKey]; taken {
		return nil, invalid("RefundCreateParams.Metadata", "the key "+strconv.Quote(MerchantRefundIDMetadataKey)+
			" is reserved: Create records MerchantRefundID under it; use another key")
	}
	out := make(map[string]string, len(md)+1)
	for k, v := range md {
		out[k] = v
	}
	out[MerchantRefundIDMetadataKey] = merchantRefundID
	return out, nil
}

// hasMerchantRefundID reports whether r is the refund with that merchant
// refund id: by the reserved metadata key, or by a merchant_refund_id
// field if the gateway sends one.
func (r *Refund) hasMerchantRefundID(id string) bool {
	return r.Metadata[MerchantRefundIDMetadataKey] == id || r.MerchantRefundID == id
}

// GetByMerchantRefundID returns the refund of the charge whose
// MerchantRefundID is merchantRefundID. It walks the charge's refunds and
// matches the id that [RefundsService.Create] records in each refund's
// metadata (see MerchantRefundIDMetadataKey), so it finds refunds created
// by this package, or by any client that records the id the same way.
// When no refund of the charge has that id, the error is an *Error
// matching ErrNotFound.
func (s *RefundsService) GetByMerchantRefundID(ctx context.Context, chargeID, merchantRefundID string, opts ...Option) (*Refund, error) {
	if err := checkID("chargeID", chargeID); err != nil {
		return nil, err
	}
	if err := checkMerchantID("merchantRefundID", merchantRefundID); err != nil {
		return nil, err
	}
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return s.byMerchantRefundID(ctx, cfg, "", chargeID, merchantRefundID)
}

// byMerchantRefundID walks a charge's refunds for the one with the
// merchant refund id, in appID or else the call's app.
func (s *RefundsService) byMerchantRefundID(ctx context.Context, cfg *config, appID, chargeID, merchantRefundID string) (*Refund, error) {
	p := RefundListParams{AppID: appID, Limit: 100}
	w := walker[Refund]{
		kind:  "refund",
		path:  "/" + refundsPath(chargeID),
		field: "RefundListParams.",
		id:    func(r *Refund) string { return r.ID },
		page: func(ctx context.Context, startingAfter, endingBefore string) ([]*Refund, bool, error) {
			q := p
			q.StartingAfter, q.EndingBefore = startingAfter, endingBefore
			l, err := s.list(ctx, cfg, chargeID, &q)
			if err != nil {
				return nil, false, err
			}
			return l.Data, l.HasMore, nil
		},
	}
	for r, err := range walk(ctx, w) {
		if err != nil {
			return nil, err
		}
		if r.hasMerchantRefundID(merchantRefundID) {
			return r, nil
		}
	}
	return nil, lookupNotFound(w.path, "no refund of charge "+chargeID+" has merchant_refund_id "+strconv.Quote(merchantRefundID))
}

// recovery describes how to settle a failed create of a T.
type recovery[T any] struct {
	kind    string // "charge" or "refund"
	idField string // "merchant_trade_id" or "merchant_refund_id"
	id      string // the merchant id
	// find looks the object up by its merchant id.
	find func(ctx context.Context) (*T, error)
	// differs says how the object found differs from what was asked, or
	// "" when it is what was asked.
	differs  func(*T) string
	objectID func(*T) string
	// attach puts the object on the error; mark sets its Recovered.
	attach func(*Error, *T)
	mark   func(*T)
}

// settle turns the failure of a create into one of the outcomes of the
// package docs: the object, recovered; an ErrReusedID error; an error with
// OutcomeUnknown; or a refusal, returned as it is.
func settle[T any](ctx context.Context, c *Client, cfg *config, err error, rc recovery[T]) (*T, error) {
	var e *Error
	if !errors.As(err, &e) {
		return nil, err
	}
	conflict := e.Is(ErrConflict)
	if !e.unknown {
		if conflict {
			// No earlier attempt can have made it: the id was used before
			// this call. Code 6 (already exists) says so; a lookup shows
			// what the id names.
			e.reused = e.Code == 6 || e.StatusCode == http.StatusConflict
			if !cfg.noRecovery {
				if obj, lerr := rc.find(ctx); lerr == nil {
					rc.attach(e, obj)
					e.reused = true
				}
			}
		}
		return nil, e
	}
	if cfg.noRecovery {
		return nil, e
	}
	obj, lerr := rc.find(ctx)
	switch {
	case lerr == nil && rc.differs(obj) == "":
		rc.mark(obj)
		c.logOutcome(ctx, cfg, slog.LevelInfo, "justap create recovered", e, rc.idField, rc.id,
			slog.String(rc.kind+"_id", rc.objectID(obj)))
		return obj, nil
	case lerr == nil:
		// The id names other money: every attempt of this call was refused.
		rc.attach(e, obj)
		e.reused, e.unknown = true, false
		e.Message = rc.idField + " " + strconv.Quote(rc.id) + " already names " + rc.kind + " " + rc.objectID(obj) +
			", which differs from this create (" + rc.differs(obj) + "); nothing was created" +
			suffix(e.Message, "the last attempt's answer: ")
		c.logOutcome(ctx, cfg, slog.LevelWarn, "justap merchant id reused", e, rc.idField, rc.id,
			slog.String(rc.kind+"_id", rc.objectID(obj)))
	case conflict && errors.Is(lerr, ErrNotFound):
		e.Message = strings.TrimSpace(e.Message + " (the " + rc.kind + " with this " + rc.idField +
			" could not be found by looking it up, so whether an earlier attempt created it is unknown)")
	}
	return nil, e
}

func suffix(s, prefix string) string {
	if s == "" {
		return ""
	}
	return "; " + prefix + s
}

// logOutcome writes the record of a create settled by a lookup.
func (c *Client) logOutcome(ctx context.Context, cfg *config, level slog.Level, msg string, e *Error, idField, id string, attrs ...slog.Attr) {
	l := cfg.logger
	if l == nil || !l.Enabled(ctx, level) {
		return
	}
	attrs = append([]slog.Attr{
		slog.String("method", e.Method),
		slog.String("path", e.Path),
		slog.Int("attempts", e.Attempts),
		slog.String(idField, id),
	}, attrs...)
	l.LogAttrs(ctx, level, msg, attrs...)
}
