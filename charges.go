package justap

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/justap-go/justap/internal/rules"
)

// ChargeCreateParams describes a charge to create. AppID may be left empty
// when the client or the call has WithAppID. Optional fields left at their
// zero value are not sent, and the server applies its defaults.
type ChargeCreateParams struct {
	AppID string
	// MerchantTradeID is the merchant's own order number, unique per app,
	// at most 32 characters of UTF-8 (convert a GBK order number first). It is the idempotency key of the charge:
	// sending the same create again can never charge twice, the server
	// refuses the second (ErrConflict, and ErrReusedID).
	MerchantTradeID string
	Amount          Amount // must be greater than zero
	Channel         Channel
	Subject         string // the product's title, shown to the customer
	Body            string // the product's description
	ClientIP        string // the customer's IP address, v4 or v6

	Currency    string // "CNY", the only currency, or empty for it
	Description string // the merchant's note
	// Extra holds the channel's inputs. WechatpayJSAPI and WechatpayLite
	// need the payer's openid (Extra.WechatpayJSAPI.Payer), AlipayScan and
	// WechatpayScan the code scanned from the customer's phone
	// (Extra.AlipayScan.AuthCode); a create without them is refused.
	Extra            *ChargeExtra
	Metadata         map[string]string
	NotifyURL        string        // where Justap posts this charge's events; absolute http(s)
	CallbackURL      string        // where the customer returns after paying; absolute http(s)
	NotificationArea string        // country code of the notification area, default "CN"
	TTL              time.Duration // how long the charge can be paid: whole seconds, at most 366 days
	Source           string
}

// chargeCreateBody is the wire form of ChargeCreateParams.
type chargeCreateBody struct {
	AppID            string            `json:"app_id"`
	MerchantTradeID  string            `json:"merchant_trade_id"`
	Amount           Amount            `json:"amount"`
	Channel          Channel           `json:"channel"`
	Subject          string            `json:"subject"`
	Body             string            `json:"body"`
	ClientIP         string            `json:"client_ip"`
	Currency         string            `json:"currency,omitempty"`
	Description      string            `json:"description,omitempty"`
	Extra            json.RawMessage   `json:"extra,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	NotifyURL        string            `json:"notify_url,omitempty"`
	CallbackURL      string            `json:"callback_url,omitempty"`
	NotificationArea string            `json:"notification_area,omitempty"`
	TTL              int64             `json:"ttl,omitempty"`
	Source           string            `json:"source,omitempty"`
}

// wire validates p and returns its wire form, with appID filling an empty
// AppID. p is not modified.
func (p *ChargeCreateParams) wire(appID string) (*chargeCreateBody, error) {
	const t = "ChargeCreateParams."
	if p == nil {
		return nil, invalid("ChargeCreateParams", "is nil")
	}
	if p.AppID != "" {
		appID = p.AppID
	}
	switch {
	case appID == "":
		return nil, invalid(t+"AppID", "is required (set it, or use WithAppID on the client or the call)")
	case p.Amount <= 0:
		return nil, invalid(t+"Amount", "must be greater than zero, got "+p.Amount.String()+" yuan")
	case p.Channel == "":
		return nil, invalid(t+"Channel", "is required")
	case !p.Channel.Valid():
		return nil, invalid(t+"Channel", strconv.Quote(string(p.Channel))+" is not a known channel (use a Channel… constant)")
	case p.Subject == "":
		return nil, invalid(t+"Subject", "is required")
	case p.Body == "":
		return nil, invalid(t+"Body", "is required")
	case p.ClientIP == "":
		return nil, invalid(t+"ClientIP", "is required")
	case rules.CheckClientIP(p.ClientIP) != nil:
		return nil, invalid(t+"ClientIP", rules.CheckClientIP(p.ClientIP).Error())
	case p.TTL < 0:
		return nil, invalid(t+"TTL", "must not be negative")
	case p.TTL%time.Second != 0:
		return nil, invalid(t+"TTL", "must be whole seconds, got "+p.TTL.String())
	}
	if err := rules.CheckTTLSeconds(int64(p.TTL / time.Second)); err != nil {
		return nil, invalid(t+"TTL", err.Error())
	}
	if err := checkMerchantID(t+"MerchantTradeID", p.MerchantTradeID); err != nil {
		return nil, err
	}
	if p.Extra != nil && len(p.Extra.Raw) > 0 {
		var m map[string]json.RawMessage
		if json.Unmarshal(p.Extra.Raw, &m) != nil || m == nil {
			return nil, invalid(t+"Extra.Raw", "is not a JSON object")
		}
	}
	if err := rules.CheckCurrency(p.Currency); err != nil {
		return nil, invalid(t+"Currency", err.Error())
	}
	for _, u := range [...]struct{ field, url string }{{"NotifyURL", p.NotifyURL}, {"CallbackURL", p.CallbackURL}} {
		if err := rules.CheckURL(u.url); err != nil {
			return nil, invalid(t+u.field, err.Error())
		}
	}
	if err := checkUTF8(t, "AppID", appID, "Subject", p.Subject, "Body", p.Body, "Description", p.Description,
		"NotificationArea", p.NotificationArea, "Source", p.Source); err != nil {
		return nil, err
	}
	if err := checkMetadata(t+"Metadata", p.Metadata); err != nil {
		return nil, err
	}
	var extra json.RawMessage
	if p.Extra != nil {
		var err error
		if extra, err = json.Marshal(p.Extra); err != nil {
			// An entry that cannot be written as JSON.
			return nil, invalid(t+"Extra", "cannot be sent as JSON: "+err.Error())
		}
	}
	if err := rules.CheckChannelInputs(string(p.Channel), extra); err != nil {
		return nil, invalid(t+"Extra", err.Error())
	}
	return &chargeCreateBody{
		AppID:            appID,
		MerchantTradeID:  p.MerchantTradeID,
		Amount:           p.Amount,
		Channel:          p.Channel,
		Subject:          p.Subject,
		Body:             p.Body,
		ClientIP:         p.ClientIP,
		Currency:         p.Currency,
		Description:      p.Description,
		Extra:            extra,
		Metadata:         p.Metadata,
		NotifyURL:        p.NotifyURL,
		CallbackURL:      p.CallbackURL,
		NotificationArea: p.NotificationArea,
		TTL:              int64(p.TTL / time.Second),
		Source:           p.Source,
	}, nil
}

func checkMerchantID(field, id string) error {
	if err := rules.CheckMerchantID(id); err != nil {
		return invalid(field, err.Error())
	}
	return nil
}

// checkUTF8 refuses text that is not valid UTF-8, which JSON and the
// server would replace, so that what is stored is not what was asked.
// fieldsAndValues alternates a field's name (below the type prefix t) and
// its value.
func checkUTF8(t string, fieldsAndValues ...string) error {
	for i := 0; i+1 < len(fieldsAndValues); i += 2 {
		if err := rules.CheckUTF8(fieldsAndValues[i+1]); err != nil {
			return invalid(t+fieldsAndValues[i], err.Error())
		}
	}
	return nil
}

// checkMetadata refuses metadata whose keys or values are not valid UTF-8.
func checkMetadata(field string, m map[string]string) error {
	for k, v := range m {
		if rules.CheckUTF8(k) != nil || rules.CheckUTF8(v) != nil {
			return invalid(field, "has a key or value that is not valid UTF-8 (other encodings are altered on the wire)")
		}
	}
	return nil
}

// Create creates a charge and returns it, unpaid, with the channel's
// payment details in Extra (a QR code, a pay URL, a WeChat config) to hand
// to the customer's front end.
//
// Create is retried on failures where the outcome is unknown (see the
// package docs): MerchantTradeID makes that safe. When an earlier attempt
// may have created the charge and no attempt's answer says so (the answer
// was lost, or a retry found the id taken), Create looks the charge up by
// its MerchantTradeID and returns it, with Recovered set, if it is the
// charge asked for. Every other end is one of the outcomes of the package
// docs: a refusal, OutcomeUnknown, or ErrReusedID.
func (s *ChargesService) Create(ctx context.Context, params *ChargeCreateParams, opts ...Option) (*Charge, error) {
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	body, err := params.wire(cfg.appID)
	if err != nil {
		return nil, err
	}
	began := cfg.began()
	ch, err := getObject(ctx, s.client, cfg, request{
		method: http.MethodPost, path: "transaction/v1/charges", body: body, began: began,
	}, (*chargeWire).charge)
	if err == nil {
		return ch, nil
	}
	return settle(ctx, s.client, cfg, err, recovery[Charge]{
		kind: "charge", idField: "merchant_trade_id", id: body.MerchantTradeID,
		began: began, continued: !cfg.continuesFrom.IsZero(),
		find: func(ctx context.Context) (*Charge, error) {
			return s.byMerchantTradeID(ctx, cfg, body.AppID, body.MerchantTradeID)
		},
		differs:  func(_ context.Context, ch *Charge) (string, error) { return body.differs(ch), nil },
		objectID: func(ch *Charge) string { return ch.ID },
		created:  func(ch *Charge) time.Time { return ch.CreatedAt },
		attach:   func(e *Error, ch *Charge) { e.Charge = ch },
		mark:     func(ch *Charge) { ch.Recovered = true },
	})
}

// differs says how ch differs from the charge b asks for, in what matters
// for money (app, amount, channel, currency), or "" when it does not.
func (b *chargeCreateBody) differs(ch *Charge) string {
	want := b.Currency
	if want == "" {
		want = "CNY"
	}
	got := ch.Currency
	if got == "" {
		got = "CNY"
	}
	var d []string
	if ch.AppID != "" && ch.AppID != b.AppID {
		d = append(d, "app_id "+strconv.Quote(ch.AppID)+", not "+strconv.Quote(b.AppID))
	}
	if ch.Amount != b.Amount {
		d = append(d, "amount "+ch.Amount.String()+", not "+b.Amount.String())
	}
	if ch.Channel != b.Channel {
		d = append(d, "channel "+string(ch.Channel)+", not "+string(b.Channel))
	}
	if !strings.EqualFold(got, want) {
		d = append(d, "currency "+got+", not "+want)
	}
	return strings.Join(d, "; ")
}

// Get returns the charge with the given id.
func (s *ChargesService) Get(ctx context.Context, chargeID string, opts ...Option) (*Charge, error) {
	return s.byID(ctx, http.MethodGet, chargeID, "", opts)
}

// Reverse cancels an unpaid charge so that it can no longer be paid (a
// customer who scanned the code is refused). A paid charge cannot be
// reversed; refund it instead. Reverse is safe to retry. It sends no
// app_id: the API takes none for reverse.
func (s *ChargesService) Reverse(ctx context.Context, chargeID string, opts ...Option) (*Charge, error) {
	return s.byID(ctx, http.MethodPost, chargeID, "/reverse", opts)
}

// byID calls an endpoint of one charge. A GET carries app_id in the query;
// reverse takes no query parameter at all.
func (s *ChargesService) byID(ctx context.Context, method, chargeID, suffix string, opts []Option) (*Charge, error) {
	if err := checkID("chargeID", chargeID); err != nil {
		return nil, err
	}
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if method == http.MethodGet {
		q = appQuery(cfg.appID)
	}
	return getObject(ctx, s.client, cfg, request{
		method: method,
		path:   "transaction/v1/charges/" + escapeID(chargeID) + suffix,
		query:  q,
	}, (*chargeWire).charge)
}

// appQuery is the query of a call whose only parameter is the app.
func appQuery(appID string) url.Values {
	if appID == "" {
		return nil
	}
	return url.Values{"app_id": {appID}}
}

// ChargeListParams selects the charges to list. Every filter left at its
// zero value (nil for the three-state booleans) is not sent.
//
// Without a Created… bound the server returns about the last month only;
// set CreatedGTE to reach further back.
type ChargeListParams struct {
	AppID string
	// Limit is the page size, 1 to 100; 0 leaves it to the server (10).
	Limit int
	// StartingAfter lists the charges older than the charge with this id
	// (the next page). EndingBefore lists those newer (the previous page).
	StartingAfter string
	EndingBefore  string

	MerchantTradeID string
	Channel         Channel
	// Created bounds: charges created after (GT), from (GTE), before (LT)
	// or up to (LTE) a time, sent as Unix seconds. Zero times are not sent.
	CreatedGT, CreatedGTE, CreatedLT, CreatedLTE time.Time
	// Three-state filters: nil sends nothing, Bool(true) selects the
	// charges that are, Bool(false) those that are not.
	Paid, Refunded, Reversed, Closed, Expired *bool
}

// Bool returns a pointer to v, for the three-state filters of
// ChargeListParams: Paid: justap.Bool(false) lists only unpaid charges.
func Bool(v bool) *bool { return &v }

// query validates p and returns its query string.
func (p *ChargeListParams) query(appID string) (url.Values, error) {
	const t = "ChargeListParams."
	if p == nil {
		p = &ChargeListParams{}
	}
	if p.AppID != "" {
		appID = p.AppID
	}
	if appID == "" {
		return nil, invalid(t+"AppID", "is required (set it, or use WithAppID on the client or the call)")
	}
	if err := checkLimit(t+"Limit", p.Limit); err != nil {
		return nil, err
	}
	if err := checkUTF8(t, "AppID", appID, "StartingAfter", p.StartingAfter, "EndingBefore", p.EndingBefore,
		"MerchantTradeID", p.MerchantTradeID); err != nil {
		return nil, err
	}
	if p.Channel != "" && !p.Channel.Valid() {
		return nil, invalid(t+"Channel", strconv.Quote(string(p.Channel))+" is not a known channel")
	}
	q := url.Values{"app_id": {appID}}
	setCursor(q, p.Limit, p.StartingAfter, p.EndingBefore)
	setText(q, "merchant_trade_id", p.MerchantTradeID)
	setText(q, "channel", string(p.Channel))
	for _, c := range [...]struct {
		key string
		t   time.Time
	}{{"created.gt", p.CreatedGT}, {"created.gte", p.CreatedGTE}, {"created.lt", p.CreatedLT}, {"created.lte", p.CreatedLTE}} {
		if !c.t.IsZero() {
			q.Set(c.key, strconv.FormatInt(c.t.Unix(), 10))
		}
	}
	for _, f := range [...]struct {
		key string
		v   *bool
	}{{"paid", p.Paid}, {"refunded", p.Refunded}, {"reversed", p.Reversed}, {"closed", p.Closed}, {"expired", p.Expired}} {
		if f.v != nil {
			q.Set(f.key, strconv.FormatBool(*f.v))
		}
	}
	return q, nil
}

func checkLimit(field string, limit int) error {
	if limit != 0 && (limit < 1 || limit > rules.MaxListLimit) {
		return invalid(field, strconv.Itoa(limit)+" is outside 1–100 (0 leaves the page size to the server)")
	}
	return nil
}

// setCursor adds the page size and cursors that are set.
func setCursor(q url.Values, limit int, startingAfter, endingBefore string) {
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	setText(q, "starting_after", startingAfter)
	setText(q, "ending_before", endingBefore)
}

func setText(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

// pageSize is the Limit asked for, 0 when unset.
func (p *ChargeListParams) pageSize() int {
	if p == nil {
		return 0
	}
	return p.Limit
}

// List returns one page of charges, newest first. To walk every page, use
// All. A page of more charges than Limit (or than 100, the largest page,
// when Limit is 0) is refused as ErrMalformedResponse.
func (s *ChargesService) List(ctx context.Context, params *ChargeListParams, opts ...Option) (*ChargeList, error) {
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, cfg, params)
}

// list reads one page of charges with the call's config.
func (s *ChargesService) list(ctx context.Context, cfg *config, params *ChargeListParams) (*ChargeList, error) {
	q, err := params.query(cfg.appID)
	if err != nil {
		return nil, err
	}
	var l chargeListWire
	if err := s.client.do(ctx, cfg, request{method: http.MethodGet, path: "transaction/v1/charges", query: q}, &l); err != nil {
		return nil, err
	}
	if err := checkPageSize("/transaction/v1/charges", "charge", len(l.Data), params.pageSize()); err != nil {
		return nil, err
	}
	return l.list(), nil
}

// GetByMerchantTradeID returns the charge whose MerchantTradeID is
// merchantTradeID, in the app of the call (see the package docs, App ids),
// however long ago it was created. When no charge has that id, the error
// is an *Error matching ErrNotFound.
//
// It lists charges filtered by merchant_trade_id, from the start of time:
// a list without a Created… bound reaches back only about a month.
func (s *ChargesService) GetByMerchantTradeID(ctx context.Context, merchantTradeID string, opts ...Option) (*Charge, error) {
	if err := checkMerchantID("merchantTradeID", merchantTradeID); err != nil {
		return nil, err
	}
	cfg, err := s.client.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return s.byMerchantTradeID(ctx, cfg, "", merchantTradeID)
}

// allTime is the lower bound that makes a charge list reach back to the
// first charge: grpc-gateway cannot tell created.gte=0 from no bound.
var allTime = time.Unix(1, 0)

// byMerchantTradeID finds a charge by its merchant_trade_id, in appID or
// else the call's app. The server's filter is not trusted to be exact: only
// a charge carrying exactly that id is returned.
func (s *ChargesService) byMerchantTradeID(ctx context.Context, cfg *config, appID, merchantTradeID string) (*Charge, error) {
	l, err := s.list(ctx, cfg, &ChargeListParams{AppID: appID, MerchantTradeID: merchantTradeID, CreatedGTE: allTime})
	if err != nil {
		return nil, err
	}
	for _, ch := range l.Data {
		if ch.MerchantTradeID == merchantTradeID {
			return ch, nil
		}
	}
	return nil, lookupNotFound("/transaction/v1/charges", "no charge has merchant_trade_id "+strconv.Quote(merchantTradeID))
}
