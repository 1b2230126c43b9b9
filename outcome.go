package justap

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	r, _, err := s.byMerchantRefundID(ctx, cfg, "", chargeID, merchantRefundID)
	return r, err
}

// byMerchantRefundID walks a charge's refunds for the one with the
// merchant refund id, in appID or else the call's app. It also returns
// the sum of the refunds listed after it (older: the list is newest
// first) that did not fail.
func (s *RefundsService) byMerchantRefundID(ctx context.Context, cfg *config, appID, chargeID, merchantRefundID string) (*Refund, Amount, error) {
	p := RefundListParams{AppID: appID, Limit: 100}
	w := walker[Refund]{
		kind:    "refund",
		path:    "/" + refundsPath(chargeID),
		field:   "RefundListParams.",
		id:      func(r *Refund) string { return r.ID },
		created: func(r *Refund) time.Time { return r.CreatedAt },
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
	var found *Refund
	var older Amount
	for r, err := range walk(ctx, w) {
		if err != nil {
			return nil, 0, err
		}
		switch {
		case found == nil && r.hasMerchantRefundID(merchantRefundID):
			found = r
		case found != nil && !r.failed():
			older += r.Amount
		}
	}
	if found == nil {
		return nil, 0, lookupNotFound(w.path, "no refund of charge "+chargeID+" has merchant_refund_id "+strconv.Quote(merchantRefundID))
	}
	return found, older, nil
}

// ClockSkewAllowance is how far behind this machine's clock the gateway's
// may be. A create's recovery takes an object for this call's only if the
// gateway stamped it no earlier than the call began, less this allowance
// (see Outcomes in the package docs).
const ClockSkewAllowance = 5 * time.Minute

// ContinuesFrom says that this create continues a call of the same create
// (the same params, the same merchant id) that began at began: a retry
// after an unknown outcome, from a job that stored the params and the
// time of the first attempt (or [Error.Began]) beside them, perhaps
// across restarts. It is an option of one call of ChargesService.Create
// or RefundsService.Create; other calls only report it as their Began.
//
// With it, the object the merchant id names is this call's when it is
// what was asked and was created no earlier than began, less
// [ClockSkewAllowance]: the create then ends in that object with
// Recovered set, whether the gateway refused the first attempt as a
// duplicate or an answer was lost. A full refund continued this way is
// matched against the refund of the whole rest of the charge. Without it,
// an object created before the call began is never this call's.
//
// began must not be zero nor later than now plus ClockSkewAllowance.
func ContinuesFrom(began time.Time) Option {
	return func(c *config) error {
		switch {
		case began.IsZero():
			return invalid("ContinuesFrom", "is the zero time; pass the time the continued call began (Error.Began)")
		case began.After(time.Now().Add(ClockSkewAllowance)):
			return invalid("ContinuesFrom", began.Format(time.RFC3339)+" is in the future; pass the time the continued call began")
		}
		c.continuesFrom = began
		return nil
	}
}

// recovery describes how to settle a failed create of a T.
type recovery[T any] struct {
	kind    string // "charge" or "refund"
	idField string // "merchant_trade_id" or "merchant_refund_id"
	id      string // the merchant id
	began   time.Time
	// continued is set when the call continues an earlier one
	// (ContinuesFrom): an attempt before this call may have made the
	// object.
	continued bool
	// find looks the object up by its merchant id.
	find func(ctx context.Context) (*T, error)
	// differs says how the object found differs from the money asked for,
	// or "" when it is that money; an error when it could not tell.
	differs  func(ctx context.Context, obj *T) (string, error)
	objectID func(*T) string
	created  func(*T) time.Time
	// attach puts the object on the error; mark sets its Recovered.
	attach func(*Error, *T)
	mark   func(*T)
}

// inWindow reports whether an object created at created may have been made
// by a call that began at began.
func inWindow(created, began time.Time) bool {
	return !created.IsZero() && !created.Before(began.Add(-ClockSkewAllowance))
}

// settle turns the failure of a create into one of the outcomes of the
// package docs: the object, recovered; an ErrReusedID error; an error with
// OutcomeUnknown; or a refusal, returned as it is.
//
// The rule: an object is this call's only if it is the money asked for and
// was created inside the call's window (from its start, or from the start
// of the call it continues, less ClockSkewAllowance). A call that may have
// moved money and cannot prove which object is its own ends in
// OutcomeUnknown, never in a refusal.
func settle[T any](ctx context.Context, c *Client, cfg *config, err error, rc recovery[T]) (*T, error) {
	var e *Error
	if !errors.As(err, &e) {
		return nil, err
	}
	conflict := e.Is(ErrConflict)
	if !e.unknown && !rc.continued {
		if !conflict {
			return nil, e // refused: no attempt can have made anything
		}
		// No attempt of this call can have made it: the id was used
		// before. Code 6 (already exists) says so; a lookup shows what the
		// id names, and whether it is the money asked for.
		e.reused = e.Code == 6 || e.StatusCode == http.StatusConflict
		if cfg.noRecovery {
			return nil, e
		}
		obj, lerr := rc.find(ctx)
		if lerr != nil {
			return nil, e
		}
		d, derr := rc.differs(ctx, obj)
		if derr != nil {
			d = "it could not be compared with this create: " + derr.Error()
		}
		rc.reused(e, obj, d, "this call's first attempt was refused as a duplicate")
		c.logOutcome(ctx, cfg, slog.LevelWarn, "justap merchant id reused", e, rc.idField, rc.id,
			slog.String(rc.kind+"_id", rc.objectID(obj)), slog.Bool("same_money", e.sameMoney))
		return nil, e
	}
	// An attempt of this call, or of the call it continues, may have made
	// the object: only a lookup can settle the outcome.
	unsettled := func(note string) (*T, error) {
		if e.unknown || conflict {
			e.unknown = true
			if note != "" {
				e.Message = strings.TrimSpace(e.Message + " (" + note + ")")
			}
		}
		return nil, e
	}
	if cfg.noRecovery {
		return unsettled("")
	}
	obj, lerr := rc.find(ctx)
	if lerr != nil {
		if errors.Is(lerr, ErrNotFound) {
			if !e.unknown && !conflict {
				// Refused now, and the id names nothing: the call this
				// one continues made nothing either.
				return nil, e
			}
			return unsettled("the " + rc.kind + " with this " + rc.idField +
				" could not be found by looking it up, so whether an earlier attempt created it is unknown")
		}
		return unsettled("looking the " + rc.kind + " up by its " + rc.idField + " failed, so whether an earlier " +
			"attempt created it is unknown: " + lerr.Error())
	}
	d, derr := rc.differs(ctx, obj)
	created := rc.created(obj)
	switch {
	case derr != nil:
		e.unknown = true
		e.Message = strings.TrimSpace(e.Message + " (" + rc.kind + " " + rc.objectID(obj) + " has this " + rc.idField +
			", but it could not be compared with this create, so whether it is this call's is unknown: " + derr.Error() + ")")
		return nil, e
	case d != "":
		// The id names other money: no attempt can have made it.
		rc.reused(e, obj, d, "")
	case created.IsZero():
		e.unknown = true
		e.Message = strings.TrimSpace(e.Message + " (" + rc.kind + " " + rc.objectID(obj) + " has this " + rc.idField +
			" and is the money asked for, but the gateway sent no creation time, so that this call created it " +
			"cannot be proven; read it, and treat it as this call's only if you know no earlier call used the id)")
		return nil, e
	case !inWindow(created, rc.began):
		rc.reused(e, obj, "", "that is before this call began at "+rc.began.UTC().Format(time.RFC3339)+
			", less the clock-skew allowance of "+ClockSkewAllowance.String())
	default:
		rc.mark(obj)
		c.logOutcome(ctx, cfg, slog.LevelInfo, "justap create recovered", e, rc.idField, rc.id,
			slog.String(rc.kind+"_id", rc.objectID(obj)))
		return obj, nil
	}
	c.logOutcome(ctx, cfg, slog.LevelWarn, "justap merchant id reused", e, rc.idField, rc.id,
		slog.String(rc.kind+"_id", rc.objectID(obj)), slog.Bool("same_money", e.sameMoney))
	return nil, e
}

// reused marks e as ErrReusedID for obj, which differs from what was asked
// as d says ("" for the same money; why then says why this call did not
// create it), and words its message.
func (rc *recovery[T]) reused(e *Error, obj *T, d, why string) {
	rc.attach(e, obj)
	e.reused, e.unknown, e.sameMoney = true, false, d == ""
	last := suffix(e.Message, "the last attempt's answer: ")
	name := rc.idField + " " + strconv.Quote(rc.id) + " already names " + rc.kind + " " + rc.objectID(obj)
	if d != "" {
		e.Message = name + ", which is other money (" + d + "); this call moved no money" + last
		return
	}
	at := "at an unknown time"
	if t := rc.created(obj); !t.IsZero() {
		at = "at " + t.UTC().Format(time.RFC3339)
	}
	e.Message = name + ", which matches what was asked; it was created " + at + " and " + why +
		", so this call did not create it" + last
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
