package justap

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/justap-go/justap/internal/rules"
)

// RefundCreateParams describes a refund of a paid charge.
//
// The amount is explicit on purpose: set Amount for a partial (or exact)
// refund, or FullRefund to refund whatever is left of the charge. A zero
// Amount without FullRefund is refused, so that a computed amount of zero
// can never turn into a full refund.
type RefundCreateParams struct {
	AppID    string
	ChargeID string
	// MerchantRefundID is the merchant's own refund number, unique, at most
	// 32 characters of UTF-8. It is the idempotency key of the refund: reuse the same
	// id when retrying, and a retry can never refund twice. Create also
	// records it in the refund's metadata (see MerchantRefundIDMetadataKey).
	MerchantRefundID string
	// Description says why, at most 255 characters. Required.
	Description string
	// Amount is how much to refund; must be greater than zero unless
	// FullRefund is set.
	Amount Amount
	// FullRefund refunds the rest of the charge; Amount must then be zero.
	FullRefund bool

	Metadata         map[string]string
	NotifyURL        string // where Justap posts this refund's events
	NotificationArea string // country code of the notification area, default "CN"
	// Extra is the channel's refund input, sent as given: a JSON object.
	Extra json.RawMessage
}

// refundCreateBody is the wire form of RefundCreateParams.
type refundCreateBody struct {
	AppID            string            `json:"app_id"`
	ChargeID         string            `json:"charge_id"`
	MerchantRefundID string            `json:"merchant_refund_id"`
	Description      string            `json:"description"`
	Amount           *refundMoney      `json:"amount,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	NotifyURL        string            `json:"notify_url,omitempty"`
	NotificationArea string            `json:"notification_area,omitempty"`
	Extra            json.RawMessage   `json:"extra,omitempty"`
}

// wire validates p and returns its wire form. p is not modified.
func (p *RefundCreateParams) wire(appID string) (*refundCreateBody, error) {
	const t = "RefundCreateParams."
	if p == nil {
		return nil, invalid("RefundCreateParams", "is nil")
	}
	if p.AppID != "" {
		appID = p.AppID
	}
	if appID == "" {
		return nil, invalid(t+"AppID", "is required (set it, or use WithAppID on the client or the call)")
	}
	if err := checkID(t+"ChargeID", p.ChargeID); err != nil {
		return nil, err
	}
	if err := checkMerchantID(t+"MerchantRefundID", p.MerchantRefundID); err != nil {
		return nil, err
	}
	if err := checkUTF8(t, "AppID", appID, "ChargeID", p.ChargeID, "Description", p.Description,
		"NotificationArea", p.NotificationArea); err != nil {
		return nil, err
	}
	switch n := utf8.RuneCountInString(p.Description); {
	case n == 0:
		return nil, invalid(t+"Description", "is required")
	case n > rules.MaxRefundDescriptionLen:
		return nil, invalid(t+"Description", "is "+strconv.Itoa(n)+" characters long; at most "+
			strconv.Itoa(rules.MaxRefundDescriptionLen)+" are allowed")
	}
	if err := rules.CheckURL(p.NotifyURL); err != nil {
		return nil, invalid(t+"NotifyURL", err.Error())
	}
	if err := checkMetadata(t+"Metadata", p.Metadata); err != nil {
		return nil, err
	}
	var amount *refundMoney
	switch {
	case p.Amount < 0:
		return nil, invalid(t+"Amount", "must not be negative, got "+p.Amount.String()+" yuan")
	case p.FullRefund && p.Amount != 0:
		return nil, invalid(t+"Amount", "must be zero when FullRefund is set")
	case !p.FullRefund && p.Amount == 0:
		return nil, invalid(t+"Amount", "must be greater than zero; set FullRefund to refund the whole rest")
	case !p.FullRefund:
		m := refundMoney(p.Amount)
		amount = &m
	}
	if err := rules.CheckExtraObject(p.Extra); err != nil {
		return nil, invalid(t+"Extra", err.Error())
	}
	md, err := refundMetadata(p.Metadata, p.MerchantRefundID)
	if err != nil {
		return nil, err
	}
	return &refundCreateBody{
		AppID:            appID,
		ChargeID:         p.ChargeID,
		MerchantRefundID: p.MerchantRefundID,
		Description:      p.Description,
		Amount:           amount,
		Metadata:         md,
		NotifyURL:        p.NotifyURL,
		NotificationArea: p.NotificationArea,
		Extra:            p.Extra,
	}, nil
}

// Create refunds a paid charge, in full or in part, and returns the refund.
// The refund may still be in progress (Status "refunding"); read it again
// with Get to follow it.
//
// Create is retried on failures where the outcome is unknown:
// MerchantRefundID makes that safe. Create records MerchantRefundID in the
// refund's metadata (see MerchantRefundIDMetadataKey), and when an earlier
// attempt may have created the refund and no attempt's answer says so, it
// looks the refund up by that id among the charge's refunds and returns it,
// with Recovered set, if it is the refund asked for. Every other end is one
// of the outcomes of the package docs: a refusal, OutcomeUnknown, or
// ErrReusedID.
func (s *RefundsService) Create(ctx context.Context, params *RefundCreateParams, opts ...Option) (*Refund, error) {
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	body, err := params.wire(cfg.appID)
	if err != nil {
		return nil, err
	}
	began := cfg.began()
	rf, err := getObject(ctx, s.client, cfg, request{
		method: http.MethodPost, path: "transaction/v1/refunds", body: body, began: began,
	}, (*refundWire).refund)
	if err == nil {
		return rf, nil
	}
	// older is what the charge's refunds listed after the one found (the
	// list is newest first) have taken from the charge: the rest of the
	// charge when that refund was made is its amount less this.
	var older Amount
	return settle(ctx, s.client, cfg, err, recovery[Refund]{
		kind: "refund", idField: "merchant_refund_id", id: body.MerchantRefundID,
		began: began, continued: !cfg.continuesFrom.IsZero(),
		find: func(ctx context.Context) (*Refund, error) {
			r, o, err := s.byMerchantRefundID(ctx, cfg, body.AppID, body.ChargeID, body.MerchantRefundID)
			older = o
			return r, err
		},
		differs: func(ctx context.Context, r *Refund) (string, error) {
			if d := body.differs(r); d != "" || body.Amount != nil {
				return d, nil
			}
			// A full refund is of the whole rest: the refund found must
			// have left nothing of the charge to refund.
			ch, err := s.client.Charges.byID(ctx, http.MethodGet, body.ChargeID, "", []Option{WithAppID(body.AppID)})
			if err != nil {
				return "", err
			}
			if rest := ch.Amount - older; r.Amount != rest {
				return "amount " + r.Amount.String() + ", not the whole rest of the charge, " + rest.String() +
					" when it was made; " + (ch.Amount - ch.AmountRefunded).String() + " of charge " + ch.ID +
					" is still refundable", nil
			}
			return "", nil
		},
		objectID: func(r *Refund) string { return r.ID },
		created:  func(r *Refund) time.Time { return r.CreatedAt },
		attach:   func(e *Error, r *Refund) { e.Refund = r },
		mark:     func(r *Refund) { r.Recovered = true },
	})
}

// differs says how r differs from the refund b asks for (its charge, and
// its amount unless b refunds the whole rest), or "" when it does not.
func (b *refundCreateBody) differs(r *Refund) string {
	var d []string
	if r.ChargeID != "" && r.ChargeID != b.ChargeID {
		d = append(d, "charge "+r.ChargeID+", not "+b.ChargeID)
	}
	if b.Amount != nil && r.Amount != Amount(*b.Amount) {
		d = append(d, "amount "+r.Amount.String()+", not "+Amount(*b.Amount).String())
	}
	return strings.Join(d, "; ")
}

// failed reports whether the refund failed, so that it took nothing from
// the charge: it did not succeed and carries a failure code.
func (r *Refund) failed() bool { return !r.Succeeded && r.FailureCode != "" }

// Get returns one refund of a charge.
func (s *RefundsService) Get(ctx context.Context, chargeID, refundID string, opts ...Option) (*Refund, error) {
	if err := checkID("chargeID", chargeID); err != nil {
		return nil, err
	}
	if err := checkID("refundID", refundID); err != nil {
		return nil, err
	}
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return getObject(ctx, s.client, cfg, request{
		method: http.MethodGet,
		path:   refundsPath(chargeID) + "/" + escapeID(refundID),
		query:  appQuery(cfg.appID),
	}, (*refundWire).refund)
}

func refundsPath(chargeID string) string {
	return "transaction/v1/charges/" + escapeID(chargeID) + "/refunds"
}

// RefundListParams pages through a charge's refunds.
type RefundListParams struct {
	AppID string
	// Limit is the page size, 1 to 100; 0 leaves it to the server.
	Limit int
	// StartingAfter lists the refunds after the refund with this id (the
	// next page); EndingBefore those before it (the previous page).
	StartingAfter string
	EndingBefore  string
}

func (p *RefundListParams) query(appID string) (url.Values, error) {
	if p == nil {
		p = &RefundListParams{}
	}
	if p.AppID != "" {
		appID = p.AppID
	}
	if err := checkLimit("RefundListParams.Limit", p.Limit); err != nil {
		return nil, err
	}
	if err := checkUTF8("RefundListParams.", "AppID", appID, "StartingAfter", p.StartingAfter,
		"EndingBefore", p.EndingBefore); err != nil {
		return nil, err
	}
	q := appQuery(appID)
	if q == nil {
		q = url.Values{}
	}
	setCursor(q, p.Limit, p.StartingAfter, p.EndingBefore)
	return q, nil
}

// List returns one page of a charge's refunds. To walk every page, use All.
// A page of more refunds than Limit (or than 100 when Limit is 0) is
// refused as ErrMalformedResponse.
func (s *RefundsService) List(ctx context.Context, chargeID string, params *RefundListParams, opts ...Option) (*RefundList, error) {
	if err := checkID("chargeID", chargeID); err != nil {
		return nil, err
	}
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, cfg, chargeID, params)
}

// list reads one page of a charge's refunds with the call's config.
func (s *RefundsService) list(ctx context.Context, cfg *config, chargeID string, params *RefundListParams) (*RefundList, error) {
	q, err := params.query(cfg.appID)
	if err != nil {
		return nil, err
	}
	var l refundListWire
	if err := s.client.do(ctx, cfg, request{method: http.MethodGet, path: refundsPath(chargeID), query: q}, &l); err != nil {
		return nil, err
	}
	limit := 0
	if params != nil {
		limit = params.Limit
	}
	if err := checkPageSize("/"+refundsPath(chargeID), "refund", len(l.Data), limit); err != nil {
		return nil, err
	}
	return l.list(), nil
}
