package justap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Wire units of money. Every amount is yuan on the wire, as Justap's own
// plugins and webhooks write it, although the spec's prose gives the refund
// amount in fen. Each money field reads its unit from here, so one line
// switches it.
const (
	yuanScale = 2 // the wire says yuan; Amount counts fen: ×10^2
	fenScale  = 0 // the wire says fen, as Amount does

	// refundAmountScale is the wire unit of a refund's amount, in requests
	// and responses. Charge amounts use Amount's own JSON form (yuan).
	refundAmountScale = yuanScale
)

// Channel is a Justap payment channel, such as ChannelAlipayQR. Values the
// server sends that this package does not know decode without error.
type Channel string

// The payment channels, spelled as on the wire.
const (
	ChannelBalance                   Channel = "BALANCE"
	ChannelAlipayQR                  Channel = "AlipayQR"
	ChannelAlipayScan                Channel = "AlipayScan"
	ChannelAlipayApp                 Channel = "AlipayApp"
	ChannelAlipayWap                 Channel = "AlipayWap"
	ChannelAlipayPage                Channel = "AlipayPage"
	ChannelAlipayFace                Channel = "AlipayFace"
	ChannelAlipayLite                Channel = "AlipayLite"
	ChannelAlipayJSAPI               Channel = "AlipayJSAPI"
	ChannelWechatpayApp              Channel = "WechatpayApp"
	ChannelWechatpayJSAPI            Channel = "WechatpayJSAPI"
	ChannelWechatpayH5               Channel = "WechatpayH5"
	ChannelWechatpayNative           Channel = "WechatpayNative"
	ChannelWechatpayLite             Channel = "WechatpayLite"
	ChannelWechatpayFace             Channel = "WechatpayFace"
	ChannelWechatpayScan             Channel = "WechatpayScan"
	ChannelUnionPayQR                Channel = "UnionPayQr" // spelled "UnionPayQr" on the wire
	ChannelUnionPayCardlessQuickPay  Channel = "UnionPayCardlessQuickPay"
	ChannelUnionPayAgreementQuickPay Channel = "UnionPayAgreementQuickPay"

	// ChannelUnspecified is the protocol's zero value. It is never valid in
	// a request.
	ChannelUnspecified Channel = "CHANNEL_INVALID_UNSPECIFIED"
)

var knownChannels = map[Channel]bool{
	ChannelBalance: true, ChannelAlipayQR: true, ChannelAlipayScan: true, ChannelAlipayApp: true,
	ChannelAlipayWap: true, ChannelAlipayPage: true, ChannelAlipayFace: true, ChannelAlipayLite: true,
	ChannelAlipayJSAPI: true, ChannelWechatpayApp: true, ChannelWechatpayJSAPI: true, ChannelWechatpayH5: true,
	ChannelWechatpayNative: true, ChannelWechatpayLite: true, ChannelWechatpayFace: true,
	ChannelWechatpayScan: true, ChannelUnionPayQR: true, ChannelUnionPayCardlessQuickPay: true,
	ChannelUnionPayAgreementQuickPay: true,
}

// Valid reports whether c is one of the channels a request may name.
func (c Channel) Valid() bool { return knownChannels[c] }

// Charge is a payment request and its state: what the customer is asked to
// pay, through which channel, and whether it was paid, refunded, reversed or
// closed. Its JSON form is Justap's wire form.
//
// Times are zero when the server has not set them. Where the wire carries a
// time twice (paid_at and paid_ts), the RFC 3339 text wins and the Unix
// seconds fill in when it is absent.
type Charge struct {
	ID              string  // wire "charge_id"
	Object          string  // "Charge"
	AppID           string  // the app the charge belongs to
	MerchantTradeID string  // the merchant's order number, unique per app
	Channel         Channel // the payment channel
	Amount          Amount  // what the customer pays
	AmountFee       Amount  // the channel's fee
	AmountRefunded  Amount  // refunded so far (wire "amount_refund")
	AmountRoyalty   Amount  // shared out as royalties
	AmountSettle    Amount  // settled to the merchant
	Currency        string  // "CNY"
	Subject         string  // the product's title
	Body            string  // the product's description
	Description     string  // the merchant's note
	ClientIP        string  // the customer's IP address
	Paid            bool    // the customer paid
	Refunded        bool    // has refunds, failed ones included; AmountRefunded says how much
	Reversed        bool    // reversed (cancelled, or refunded if it was paid)
	Closed          bool    // closed unpaid
	LiveMode        bool    // false for charges made with a test key
	TransactionNo   string  // the channel's transaction number
	FailureCode     string  // why the payment failed, as a code
	FailureMessage  string  // why the payment failed (wire "failure_msg")

	Metadata map[string]string
	// Extra holds the channel's inputs and what the front end needs to take
	// the payment (a QR code, a pay URL, a WeChat config).
	Extra *ChargeExtra
	// Credential is the channel credential as the server sent it (a protobuf
	// Any: "@type" and every other key, untouched).
	Credential json.RawMessage
	Refunds    []*Refund

	TTL        time.Duration // wire "ttl", whole seconds
	CreatedAt  time.Time     // wire "created_at"
	PaidAt     time.Time     // wire "paid_at", else "paid_ts"
	ClosedAt   time.Time     // wire "closed_at", else "closed_ts"
	ReversedAt time.Time     // wire "reversed_at"
	ExpiresAt  time.Time     // wire "time_expire": when an unpaid charge expires
	ExpiredAt  time.Time     // wire "expired_ts": when it did expire

	// Recovered is set on the charge [ChargesService.Create] returns when
	// the answer to its create was lost and the charge was found by its
	// MerchantTradeID instead (see Outcomes in the package docs). It is
	// never on the wire, and always false on a charge read any other way.
	Recovered bool
}

// chargeWire is a Charge as the gateway writes it.
type chargeWire struct {
	ID              string            `json:"charge_id"`
	Object          string            `json:"object,omitempty"`
	AppID           string            `json:"app_id"`
	MerchantTradeID string            `json:"merchant_trade_id"`
	Channel         Channel           `json:"channel"`
	Amount          Amount            `json:"amount"`
	AmountFee       Amount            `json:"amount_fee"`
	AmountRefund    Amount            `json:"amount_refund"`
	AmountRoyalty   Amount            `json:"amount_royalty"`
	AmountSettle    Amount            `json:"amount_settle"`
	Currency        string            `json:"currency"`
	Subject         string            `json:"subject"`
	Body            string            `json:"body"`
	Description     string            `json:"description,omitempty"`
	ClientIP        string            `json:"client_ip"`
	Paid            bool              `json:"paid"`
	Refunded        bool              `json:"refunded"`
	Reversed        bool              `json:"reversed"`
	Closed          bool              `json:"closed"`
	LiveMode        bool              `json:"live_mode"`
	TransactionNo   string            `json:"transaction_no,omitempty"`
	FailureCode     string            `json:"failure_code,omitempty"`
	FailureMsg      string            `json:"failure_msg,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Extra           wireObject        `json:"extra,omitempty"` // decoded and copied out by decodeExtras
	Credential      json.RawMessage   `json:"credential,omitempty"`
	Refunds         []*refundWire     `json:"refunds,omitempty"`
	TTL             wireInt64         `json:"ttl"`
	CreatedAt       wireTime          `json:"created_at"`
	PaidAt          wireTime          `json:"paid_at"`
	PaidTS          wireTime          `json:"paid_ts"`
	ClosedAt        wireTime          `json:"closed_at"`
	ClosedTS        wireTime          `json:"closed_ts"`
	ReversedAt      wireTime          `json:"reversed_at"`
	TimeExpire      wireTime          `json:"time_expire"`
	ExpiredTS       wireTime          `json:"expired_ts"`

	extra *ChargeExtra // Extra decoded
}

// charge converts the wire form. A null refund stays a nil pointer, for
// the response checks to refuse.
func (w *chargeWire) charge() *Charge {
	c := &Charge{
		ID:              w.ID,
		Object:          w.Object,
		AppID:           w.AppID,
		MerchantTradeID: w.MerchantTradeID,
		Channel:         w.Channel,
		Amount:          w.Amount,
		AmountFee:       w.AmountFee,
		AmountRefunded:  w.AmountRefund,
		AmountRoyalty:   w.AmountRoyalty,
		AmountSettle:    w.AmountSettle,
		Currency:        w.Currency,
		Subject:         w.Subject,
		Body:            w.Body,
		Description:     w.Description,
		ClientIP:        w.ClientIP,
		Paid:            w.Paid,
		Refunded:        w.Refunded,
		Reversed:        w.Reversed,
		Closed:          w.Closed,
		LiveMode:        w.LiveMode,
		TransactionNo:   w.TransactionNo,
		FailureCode:     w.FailureCode,
		FailureMessage:  w.FailureMsg,
		Metadata:        w.Metadata,
		Extra:           w.extra,
		Credential:      w.Credential,
		TTL:             time.Duration(w.TTL) * time.Second,
		CreatedAt:       w.CreatedAt.t,
		PaidAt:          orTime(w.PaidAt.t, w.PaidTS.t),
		ClosedAt:        orTime(w.ClosedAt.t, w.ClosedTS.t),
		ReversedAt:      w.ReversedAt.t,
		ExpiresAt:       w.TimeExpire.t,
		ExpiredAt:       w.ExpiredTS.t,
	}
	c.Refunds = convertAll(w.Refunds, (*refundWire).refund)
	return c
}

// wire returns the charge's wire form, as the gateway writes it: int64
// seconds as strings, times as RFC 3339.
func (c *Charge) wire() (*chargeWire, error) {
	var extra wireObject
	if c.Extra != nil {
		var err error
		if extra, err = json.Marshal(c.Extra); err != nil {
			return nil, err
		}
	}
	w := &chargeWire{
		ID:              c.ID,
		Object:          c.Object,
		AppID:           c.AppID,
		MerchantTradeID: c.MerchantTradeID,
		Channel:         c.Channel,
		Amount:          c.Amount,
		AmountFee:       c.AmountFee,
		AmountRefund:    c.AmountRefunded,
		AmountRoyalty:   c.AmountRoyalty,
		AmountSettle:    c.AmountSettle,
		Currency:        c.Currency,
		Subject:         c.Subject,
		Body:            c.Body,
		Description:     c.Description,
		ClientIP:        c.ClientIP,
		Paid:            c.Paid,
		Refunded:        c.Refunded,
		Reversed:        c.Reversed,
		Closed:          c.Closed,
		LiveMode:        c.LiveMode,
		TransactionNo:   c.TransactionNo,
		FailureCode:     c.FailureCode,
		FailureMsg:      c.FailureMessage,
		Metadata:        c.Metadata,
		Extra:           extra,
		Credential:      c.Credential,
		TTL:             wireInt64(c.TTL / time.Second),
		CreatedAt:       wireTime{c.CreatedAt, rfc3339},
		PaidAt:          wireTime{c.PaidAt, rfc3339},
		PaidTS:          wireTime{c.PaidAt, unixText},
		ClosedAt:        wireTime{c.ClosedAt, rfc3339},
		ClosedTS:        wireTime{c.ClosedAt, unixText},
		ReversedAt:      wireTime{c.ReversedAt, rfc3339},
		TimeExpire:      wireTime{c.ExpiresAt, rfc3339},
		ExpiredTS:       wireTime{c.ExpiredAt, unixText},
	}
	w.Refunds = convertAll(c.Refunds, (*Refund).wire)
	return w, nil
}

// UnmarshalJSON decodes a charge in Justap's wire format.
func (c *Charge) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var w chargeWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if err := decodeExtras([]*chargeWire{&w}); err != nil {
		return err
	}
	*c = *w.charge()
	return nil
}

// MarshalJSON encodes a charge in Justap's wire format (the form the
// gateway itself writes: int64 seconds as strings, times as RFC 3339).
func (c Charge) MarshalJSON() ([]byte, error) {
	w, err := c.wire()
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// RefundStatus is a refund's state as the server words it. The server's
// spelling varies; compare with [RefundStatus.Is], which ignores case.
type RefundStatus string

// Refund states seen from Justap.
const (
	RefundStatusRefunding RefundStatus = "refunding"
	RefundStatusRefunded  RefundStatus = "refunded"
)

// Is reports whether s and t are the same status, ignoring case.
func (s RefundStatus) Is(t RefundStatus) bool { return strings.EqualFold(string(s), string(t)) }

// Refund is money returned from a paid charge, in full or in part. Its JSON
// form is Justap's wire form.
type Refund struct {
	ID                    string       // wire "refund_id"
	Object                string       // "Refund"
	ChargeID              string       // the refunded charge
	ChargeMerchantTradeID string       // the charge's merchant order number
	MerchantRefundID      string       // the merchant's refund number, unique per app; else from Metadata[MerchantRefundIDMetadataKey]
	Amount                Amount       // the amount refunded (yuan on the wire)
	Description           string       // the reason given
	Status                RefundStatus // compare with RefundStatus.Is
	Succeeded             bool         // wire "is_success"
	RefundNo              string       // the channel's refund number
	TransactionNo         string       // the channel's transaction number
	FailureCode           string       // why the refund failed, as a code
	FailureMessage        string       // why the refund failed (wire "failure_msg")

	Metadata map[string]string
	// Account is the channel's refund detail, as the server sent it.
	Account json.RawMessage

	CreatedAt   time.Time // wire "created_at", else "created"
	SucceededAt time.Time // wire "success_at", else "succeed_ts"

	// Recovered is set on the refund [RefundsService.Create] returns when
	// the answer to its create was lost and the refund was found by its
	// MerchantRefundID instead (see Outcomes in the package docs). It is
	// never on the wire, and always false on a refund read any other way.
	Recovered bool
}

// refundWire is a Refund as the gateway writes it.
type refundWire struct {
	ID                    string            `json:"refund_id"`
	Object                string            `json:"object,omitempty"`
	ChargeID              string            `json:"charge_id"`
	ChargeMerchantTradeID string            `json:"charge_merchant_trade_id,omitempty"`
	MerchantRefundID      string            `json:"merchant_refund_id,omitempty"`
	Amount                refundMoney       `json:"amount"`
	Description           string            `json:"description,omitempty"`
	Status                RefundStatus      `json:"status"`
	IsSuccess             bool              `json:"is_success"`
	RefundNo              string            `json:"refund_no,omitempty"`
	TransactionNo         string            `json:"transaction_no,omitempty"`
	FailureCode           string            `json:"failure_code,omitempty"`
	FailureMsg            string            `json:"failure_msg,omitempty"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	Account               json.RawMessage   `json:"account,omitempty"`
	CreatedAt             wireTime          `json:"created_at"`
	Created               wireTime          `json:"created"`
	SuccessAt             wireTime          `json:"success_at"`
	SucceedTS             wireTime          `json:"succeed_ts"`
}

// refund converts the wire form. A refund whose wire form has no
// merchant_refund_id takes it from the metadata key Create records it under.
func (w *refundWire) refund() *Refund {
	id := w.MerchantRefundID
	if id == "" {
		id = w.Metadata[MerchantRefundIDMetadataKey]
	}
	return &Refund{
		ID:                    w.ID,
		Object:                w.Object,
		ChargeID:              w.ChargeID,
		ChargeMerchantTradeID: w.ChargeMerchantTradeID,
		MerchantRefundID:      id,
		Amount:                Amount(w.Amount),
		Description:           w.Description,
		Status:                w.Status,
		Succeeded:             w.IsSuccess,
		RefundNo:              w.RefundNo,
		TransactionNo:         w.TransactionNo,
		FailureCode:           w.FailureCode,
		FailureMessage:        w.FailureMsg,
		Metadata:              w.Metadata,
		Account:               w.Account,
		CreatedAt:             orTime(w.CreatedAt.t, w.Created.t),
		SucceededAt:           orTime(w.SuccessAt.t, w.SucceedTS.t),
	}
}

// wire returns the refund's wire form.
func (r *Refund) wire() *refundWire {
	return &refundWire{
		ID:                    r.ID,
		Object:                r.Object,
		ChargeID:              r.ChargeID,
		ChargeMerchantTradeID: r.ChargeMerchantTradeID,
		MerchantRefundID:      r.MerchantRefundID,
		Amount:                refundMoney(r.Amount),
		Description:           r.Description,
		Status:                r.Status,
		IsSuccess:             r.Succeeded,
		RefundNo:              r.RefundNo,
		TransactionNo:         r.TransactionNo,
		FailureCode:           r.FailureCode,
		FailureMsg:            r.FailureMessage,
		Metadata:              r.Metadata,
		Account:               r.Account,
		CreatedAt:             wireTime{r.CreatedAt, rfc3339},
		Created:               wireTime{r.CreatedAt, unixNumber},
		SuccessAt:             wireTime{r.SucceededAt, rfc3339},
		SucceedTS:             wireTime{r.SucceededAt, unixNumber},
	}
}

// UnmarshalJSON decodes a refund in Justap's wire format.
func (r *Refund) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var w refundWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = *w.refund()
	return nil
}

// MarshalJSON encodes a refund in Justap's wire format.
func (r Refund) MarshalJSON() ([]byte, error) { return json.Marshal(r.wire()) }

// ChargeList is one page of charges, newest first.
type ChargeList struct {
	Object  string // "ChargeList"
	Data    []*Charge
	HasMore bool // more charges lie beyond this page
}

type chargeListWire struct {
	Object  string        `json:"object,omitempty"`
	Data    []*chargeWire `json:"data"`
	HasMore bool          `json:"has_more"`
}

// list converts the wire form. A null charge stays a nil pointer, for the
// response checks to refuse.
func (w *chargeListWire) list() *ChargeList {
	return &ChargeList{Object: w.Object, Data: convertAll(w.Data, (*chargeWire).charge), HasMore: w.HasMore}
}

// UnmarshalJSON decodes a page of charges in Justap's wire format.
func (l *ChargeList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var w chargeListWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if err := decodeExtras(w.Data); err != nil {
		return err
	}
	*l = *w.list()
	return nil
}

// MarshalJSON encodes a page of charges in Justap's wire format.
func (l ChargeList) MarshalJSON() ([]byte, error) {
	w := chargeListWire{Object: l.Object, HasMore: l.HasMore}
	if l.Data != nil {
		w.Data = make([]*chargeWire, len(l.Data))
		for i, c := range l.Data {
			if c != nil {
				var err error
				if w.Data[i], err = c.wire(); err != nil {
					return nil, err
				}
			}
		}
	}
	return json.Marshal(w)
}

// RefundList is one page of a charge's refunds.
type RefundList struct {
	Object  string // "RefundList"
	Data    []*Refund
	HasMore bool  // more refunds lie beyond this page
	Total   int64 // refunds of the charge in all
}

type refundListWire struct {
	Object  string        `json:"object,omitempty"`
	Data    []*refundWire `json:"data"`
	HasMore bool          `json:"has_more"`
	Total   wireInt64     `json:"total"`
}

// list converts the wire form. A null refund stays a nil pointer, for the
// response checks to refuse.
func (w *refundListWire) list() *RefundList {
	return &RefundList{Object: w.Object, Data: convertAll(w.Data, (*refundWire).refund), HasMore: w.HasMore, Total: int64(w.Total)}
}

// UnmarshalJSON decodes a page of refunds; "total" may be a number or a
// string.
func (l *RefundList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var w refundListWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*l = *w.list()
	return nil
}

// MarshalJSON encodes a page of refunds in Justap's wire format.
func (l RefundList) MarshalJSON() ([]byte, error) {
	return json.Marshal(refundListWire{Object: l.Object, Data: convertAll(l.Data, (*Refund).wire), HasMore: l.HasMore,
		Total: wireInt64(l.Total)})
}

// The leaves: the only wire types with JSON methods of their own.

// refundMoney is a refund amount in its wire unit (refundAmountScale).
type refundMoney Amount

func (m refundMoney) MarshalJSON() ([]byte, error) {
	if refundAmountScale == fenScale {
		return strconv.AppendInt(nil, int64(m), 10), nil
	}
	return Amount(m).MarshalJSON()
}

func (m *refundMoney) UnmarshalJSON(b []byte) error {
	v, null, err := decodeMoney(b, refundAmountScale)
	if err != nil {
		return fmt.Errorf("justap: refund amount %s: %w", truncate(b, 40), err)
	}
	if !null {
		*m = refundMoney(v)
	}
	return nil
}

// wireInt64 is an int64 written as a JSON number (123) or, as grpc-gateway
// writes int64, as a JSON string ("123"). "" and null are 0. It is written
// as a number.
type wireInt64 int64

func (n wireInt64) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(n), 10), nil }

func (n *wireInt64) UnmarshalJSON(b []byte) error {
	v, err := parseInt64JSON(b)
	if err != nil {
		return err
	}
	*n = wireInt64(v)
	return nil
}

func parseInt64JSON(b []byte) (int64, error) {
	s := string(b)
	if s == "null" {
		return 0, nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		if s == "" {
			return 0, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Accept integral numbers in other spellings (1e3, 5.0), exactly.
		if w, err2 := parseDecimal(s, 0); err2 == nil {
			return w, nil
		}
		return 0, fmt.Errorf("justap: %s is not an int64", truncate(b, 40))
	}
	return v, nil
}

// wireTime is a time on the wire. It is read from RFC 3339 text or from
// Unix seconds (a number or a numeric string); absent, null, "", "0" and 0
// are the zero time. It is written in the form its field uses.
type wireTime struct {
	t    time.Time
	form timeForm
}

// timeForm is how a wireTime is written.
type timeForm uint8

const (
	rfc3339    timeForm = iota // "2023-11-14T22:15:23Z"; the zero time is null
	unixText                   // "1700000123", as grpc-gateway writes int64; the zero time is "0"
	unixNumber                 // 1700000123; the zero time is 0
)

func (t wireTime) MarshalJSON() ([]byte, error) {
	switch t.form {
	case unixText:
		return strconv.AppendQuote(nil, strconv.FormatInt(unixSeconds(t.t), 10)), nil
	case unixNumber:
		return strconv.AppendInt(nil, unixSeconds(t.t), 10), nil
	}
	if t.t.IsZero() {
		return []byte("null"), nil
	}
	return strconv.AppendQuote(nil, t.t.UTC().Format(time.RFC3339Nano)), nil
}

func (t *wireTime) UnmarshalJSON(b []byte) error {
	v, err := decodeTime(b)
	t.t = v
	return err
}

// decodeTime reads a time written as RFC 3339 text or as Unix seconds (a
// number or a numeric string). null, "", "0" and 0 are the zero time.
func decodeTime(b []byte) (time.Time, error) {
	if len(b) >= 2 && b[0] == '"' {
		q := b[1 : len(b)-1]
		if len(q) == 0 || string(q) == "0" {
			return time.Time{}, nil
		}
		if q[0] < '0' || q[0] > '9' || !bytes.ContainsAny(q, "T-:") {
			return unixTime(b)
		}
		// time.Time's UnmarshalText reads RFC 3339 from the bytes without
		// the copy to a string that time.Parse needs; what it accepts,
		// time.Parse(time.RFC3339Nano) reads to the same time.
		var t time.Time
		if t.UnmarshalText(q) == nil {
			return t, nil
		}
		t, err := time.Parse(time.RFC3339Nano, string(q))
		if err != nil {
			return time.Time{}, fmt.Errorf("justap: time %s: %w", truncate(b, 40), err)
		}
		return t, nil
	}
	return unixTime(b)
}

func unixTime(b []byte) (time.Time, error) {
	v, err := parseInt64JSON(b)
	if err != nil || v == 0 {
		return time.Time{}, err
	}
	return time.Unix(v, 0).UTC(), nil
}

func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// orTime returns a unless it is zero, else b.
func orTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// wechatText is a WeChat text field, which some gateways send as a number
// (timeStamp); the number's text is kept.
type wechatText string

func (t *wechatText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) >= 2 && b[0] == '"':
		// The text as it is, when it has no escape to undo.
		if q := b[1 : len(b)-1]; bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
			*t = wechatText(q)
			return nil
		}
		var s string
		err := json.Unmarshal(b, &s)
		*t = wechatText(s)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("justap: want text or a number, got %s", truncate(b, 40))
	}
	*t = wechatText(n)
	return nil
}

// ChargeExtra carries one entry per channel: in a request, the channel's
// inputs (a payer's openid, a scanned auth code, return URLs); in a
// response, what the merchant's front end needs to take the payment.
//
// The channels whose fields a merchant reads or sets are typed. Everything
// else is in Raw: a decoded extra keeps there the whole object as it was
// received, so the entries of other channels (alipay_face,
// unionpay_cardless_quick_pay, …) and the keys this package does not name
// inside a typed entry are never lost.
//
// When an extra is encoded, Raw's keys are written, and the typed entries
// that are set are written over them: a key that a typed entry writes
// replaces Raw's, and the other keys of Raw's entry stay. To send an entry
// for a channel that is not typed, put it in Raw:
//
//	Raw: json.RawMessage(`{"unionpay_cardless_quick_pay":{"card_no":"…"}}`)
type ChargeExtra struct {
	AlipayQR        *QRCodeExtra         `json:"alipay_qr,omitempty"`
	AlipayScan      *AuthCodeExtra       `json:"alipay_scan,omitempty"`
	AlipayApp       *AlipayAppExtra      `json:"alipay_app,omitempty"`
	AlipayWap       *PayURLExtra         `json:"alipay_wap,omitempty"`
	AlipayPage      *PayURLExtra         `json:"alipay_page,omitempty"`
	WechatpayNative *QRCodeExtra         `json:"wechatpay_native,omitempty"`
	WechatpayJSAPI  *WechatpayJSAPIExtra `json:"wechatpay_jsapi,omitempty"`
	WechatpayH5     *PayURLExtra         `json:"wechatpay_h5,omitempty"`
	WechatpayApp    *WechatpayAppExtra   `json:"wechatpay_app,omitempty"`
	WechatpayLite   *WechatpayLiteExtra  `json:"wechatpay_lite,omitempty"`
	WechatpayScan   *AuthCodeExtra       `json:"wechatpay_scan,omitempty"`

	// Raw is the whole extra as a JSON object: as received, when decoded;
	// in a request, the entries and keys to send besides the typed ones.
	Raw json.RawMessage `json:"-"`
}

// QRCodeExtra is the extra of a QR-code channel (alipay_qr,
// wechatpay_native): the code to render for the customer to scan.
type QRCodeExtra struct {
	QRCode string `json:"qr_code,omitempty"` // the text to encode as a QR code
	QRLink string `json:"qr_link,omitempty"` // a link to a rendered QR code image
}

// AuthCodeExtra is the extra of a merchant-scans-customer channel
// (alipay_scan, wechatpay_scan): the code read from the customer's phone.
type AuthCodeExtra struct {
	AuthCode string `json:"auth_code,omitempty"`
}

// AlipayAppExtra is the extra of alipay_app: the order string the mobile
// app hands to the Alipay SDK.
type AlipayAppExtra struct {
	PayParam string `json:"pay_param,omitempty"`
}

// PayURLExtra is the extra of a redirect channel (alipay_wap, alipay_page,
// wechatpay_h5): where to send the customer's browser, and where the
// channel sends it back.
type PayURLExtra struct {
	PayURL    string `json:"pay_url,omitempty"`    // response: open this to pay
	ReturnURL string `json:"return_url,omitempty"` // request: back to the merchant after paying
	QuitURL   string `json:"quit_url,omitempty"`   // request (alipay_wap): back on cancel
}

// WechatpayPayer names the WeChat user who pays (JSAPI and mini programs).
type WechatpayPayer struct {
	OpenID string `json:"openid"`
}

// WechatpayJSConfig is what WeChat's JSAPI (WeixinJSBridge / wx.requestPayment)
// takes to open the payment sheet; hand it to the page unchanged. A field
// the server sends as a number (some gateways send timeStamp so) is read as
// the number's text.
type WechatpayJSConfig struct {
	AppID     string `json:"appId"`
	Timestamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// WechatpayAppConfig is what the WeChat mobile SDK takes to pay in an app.
// A field the server sends as a number is read as the number's text.
type WechatpayAppConfig struct {
	AppID     string `json:"appid"`
	PartnerID string `json:"partnerid"`
	PrepayID  string `json:"prepayid"`
	Package   string `json:"package"`
	NonceStr  string `json:"noncestr"`
	Timestamp string `json:"timestamp"`
	Sign      string `json:"sign"`
}

// WechatpayJSAPIExtra is the extra of wechatpay_jsapi.
type WechatpayJSAPIExtra struct {
	Payer       *WechatpayPayer    `json:"payer,omitempty"`        // request: who pays
	JSAPIConfig *WechatpayJSConfig `json:"jsapi_config,omitempty"` // response: for the page
}

// WechatpayLiteExtra is the extra of wechatpay_lite (mini programs).
type WechatpayLiteExtra struct {
	Payer        *WechatpayPayer    `json:"payer,omitempty"`         // request: who pays
	AppletConfig *WechatpayJSConfig `json:"applet_config,omitempty"` // response: for wx.requestPayment
}

// WechatpayAppExtra is the extra of wechatpay_app.
type WechatpayAppExtra struct {
	AppConfig *WechatpayAppConfig `json:"app_config,omitempty"` // response: for the WeChat SDK
}

// extraWire is a ChargeExtra as the gateway writes it: the typed entries,
// with WeChat's text fields read from numbers too.
type extraWire struct {
	AlipayQR        *QRCodeExtra    `json:"alipay_qr"`
	AlipayScan      *AuthCodeExtra  `json:"alipay_scan"`
	AlipayApp       *AlipayAppExtra `json:"alipay_app"`
	AlipayWap       *PayURLExtra    `json:"alipay_wap"`
	AlipayPage      *PayURLExtra    `json:"alipay_page"`
	WechatpayNative *QRCodeExtra    `json:"wechatpay_native"`
	WechatpayJSAPI  *struct {
		Payer       *WechatpayPayer `json:"payer"`
		JSAPIConfig *jsConfigWire   `json:"jsapi_config"`
	} `json:"wechatpay_jsapi"`
	WechatpayH5  *PayURLExtra `json:"wechatpay_h5"`
	WechatpayApp *struct {
		AppConfig *appConfigWire `json:"app_config"`
	} `json:"wechatpay_app"`
	WechatpayLite *struct {
		Payer        *WechatpayPayer `json:"payer"`
		AppletConfig *jsConfigWire   `json:"applet_config"`
	} `json:"wechatpay_lite"`
	WechatpayScan *AuthCodeExtra `json:"wechatpay_scan"`
}

type jsConfigWire struct {
	AppID     wechatText `json:"appId"`
	TimeStamp wechatText `json:"timeStamp"`
	NonceStr  wechatText `json:"nonceStr"`
	Package   wechatText `json:"package"`
	SignType  wechatText `json:"signType"`
	PaySign   wechatText `json:"paySign"`
}

func (w *jsConfigWire) config() *WechatpayJSConfig {
	if w == nil {
		return nil
	}
	return &WechatpayJSConfig{AppID: string(w.AppID), Timestamp: string(w.TimeStamp), NonceStr: string(w.NonceStr),
		Package: string(w.Package), SignType: string(w.SignType), PaySign: string(w.PaySign)}
}

type appConfigWire struct {
	AppID     wechatText `json:"appid"`
	PartnerID wechatText `json:"partnerid"`
	PrepayID  wechatText `json:"prepayid"`
	Package   wechatText `json:"package"`
	NonceStr  wechatText `json:"noncestr"`
	Timestamp wechatText `json:"timestamp"`
	Sign      wechatText `json:"sign"`
}

func (w *appConfigWire) config() *WechatpayAppConfig {
	if w == nil {
		return nil
	}
	return &WechatpayAppConfig{AppID: string(w.AppID), PartnerID: string(w.PartnerID), PrepayID: string(w.PrepayID),
		Package: string(w.Package), NonceStr: string(w.NonceStr), Timestamp: string(w.Timestamp), Sign: string(w.Sign)}
}

// extra converts the wire form; raw is the object it was decoded from,
// kept as Raw.
func (w *extraWire) extra(raw json.RawMessage) ChargeExtra {
	e := ChargeExtra{
		AlipayQR:        w.AlipayQR,
		AlipayScan:      w.AlipayScan,
		AlipayApp:       w.AlipayApp,
		AlipayWap:       w.AlipayWap,
		AlipayPage:      w.AlipayPage,
		WechatpayNative: w.WechatpayNative,
		WechatpayH5:     w.WechatpayH5,
		WechatpayScan:   w.WechatpayScan,
		Raw:             raw,
	}
	if x := w.WechatpayJSAPI; x != nil {
		e.WechatpayJSAPI = &WechatpayJSAPIExtra{Payer: x.Payer, JSAPIConfig: x.JSAPIConfig.config()}
	}
	if x := w.WechatpayLite; x != nil {
		e.WechatpayLite = &WechatpayLiteExtra{Payer: x.Payer, AppletConfig: x.AppletConfig.config()}
	}
	if x := w.WechatpayApp; x != nil {
		e.WechatpayApp = &WechatpayAppExtra{AppConfig: x.AppConfig.config()}
	}
	return e
}

// UnmarshalJSON decodes the typed entries and keeps the whole object in Raw.
func (e *ChargeExtra) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var w extraWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = w.extra(bytes.Clone(b))
	return nil
}

// decodeExtras decodes the extra of each charge and keeps its bytes as Raw.
// The extras are copied into one buffer, which every Raw shares, and
// decoded from it by one json.Unmarshal of them as an array: one call each
// would cost a decoder and its scanner's stack apiece, about seven
// allocations, as much as all the other fields of a charge but strings.
func decodeExtras(charges []*chargeWire) error {
	n, size := 0, 2
	for _, c := range charges {
		if c.hasExtra() {
			n++
			size += len(c.Extra) + 1
		}
	}
	if n == 0 {
		return nil
	}
	buf := make([]byte, 1, size)
	buf[0] = '['
	for _, c := range charges {
		if c.hasExtra() {
			if len(buf) > 1 {
				buf = append(buf, ',')
			}
			start := len(buf)
			buf = append(buf, c.Extra...) // within size: never moves
			c.Extra = wireObject(buf[start:len(buf):len(buf)])
		}
	}
	buf = append(buf, ']')
	ws := make([]extraWire, 0, n)
	if err := json.Unmarshal(buf, &ws); err != nil {
		return fmt.Errorf("extra: %w", err)
	}
	if len(ws) != n {
		return fmt.Errorf("extra: decoded %d of %d", len(ws), n)
	}
	extras := make([]ChargeExtra, n)
	i := 0
	for _, c := range charges {
		if c.hasExtra() {
			extras[i] = ws[i].extra(json.RawMessage(c.Extra))
			c.extra = &extras[i]
			i++
		}
	}
	return nil
}

// hasExtra reports whether the charge came with an extra object.
func (c *chargeWire) hasExtra() bool {
	return c != nil && len(c.Extra) > 0 && string(c.Extra) != "null"
}

// wireObject is a JSON value as it appears in the input being decoded: it
// is not copied, so it is valid only while that input is, and must be
// copied out before the decode returns (decodeExtras does). It encodes as
// the JSON it holds.
type wireObject []byte

func (o *wireObject) UnmarshalJSON(b []byte) error {
	*o = b
	return nil
}

func (o wireObject) MarshalJSON() ([]byte, error) { return json.RawMessage(o).MarshalJSON() }

// MarshalJSON encodes the keys of Raw with the typed entries written over
// them.
func (e ChargeExtra) MarshalJSON() ([]byte, error) {
	type typed ChargeExtra // without these methods
	b, err := json.Marshal((*typed)(&e))
	if err != nil || len(e.Raw) == 0 {
		return b, err
	}
	var all, set map[string]json.RawMessage
	if err := json.Unmarshal(e.Raw, &all); err != nil {
		return nil, fmt.Errorf("justap: ChargeExtra.Raw is not a JSON object: %w", err)
	}
	if all == nil {
		all = map[string]json.RawMessage{}
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	for k, v := range set {
		all[k] = mergeObjects(all[k], v)
	}
	return json.Marshal(all)
}

// mergeObjects returns the object base with the keys of over written over
// its own, or over itself when either is not an object.
func mergeObjects(base, over json.RawMessage) json.RawMessage {
	var b, o map[string]json.RawMessage
	if json.Unmarshal(base, &b) != nil || b == nil || json.Unmarshal(over, &o) != nil {
		return over
	}
	for k, v := range o {
		b[k] = v
	}
	m, err := json.Marshal(b)
	if err != nil {
		return over
	}
	return m
}

// convertAll converts each element of in with f. A nil element stays nil,
// for the response checks to refuse, and a nil slice stays nil.
func convertAll[A, B any](in []*A, f func(*A) *B) []*B {
	if in == nil {
		return nil
	}
	out := make([]*B, len(in))
	for i, a := range in {
		if a != nil {
			out[i] = f(a)
		}
	}
	return out
}
