package justap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Wire units of money. justap-api.md ("Money") decides that every amount is
// yuan on the wire, although the spec's prose gives the refund amount in fen.
// Each money field reads its unit from here, so one line switches it.
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
	ChannelUnionPayQr                Channel = "UnionPayQr"
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
	ChannelWechatpayScan: true, ChannelUnionPayQr: true, ChannelUnionPayCardlessQuickPay: true,
	ChannelUnionPayAgreementQuickPay: true,
}

// Valid reports whether c is one of the channels a request may name.
func (c Channel) Valid() bool { return knownChannels[c] }

// Charge is a payment request and its state: what the customer is asked to
// pay, through which channel, and whether it was paid, refunded, reversed or
// closed.
//
// Times are zero when the server has not set them. Where the wire carries a
// time twice (paid_at and paid_ts), the RFC 3339 text wins and the Unix
// seconds fill in when it is absent.
type Charge struct {
	ID              string  `json:"charge_id"`
	Object          string  `json:"object,omitempty"` // "Charge"
	AppID           string  `json:"app_id"`
	MerchantTradeID string  `json:"merchant_trade_id"`
	Channel         Channel `json:"channel"`
	Amount          Amount  `json:"amount"`
	AmountFee       Amount  `json:"amount_fee"`     // the channel's fee
	AmountRefunded  Amount  `json:"amount_refund"`  // refunded so far
	AmountRoyalty   Amount  `json:"amount_royalty"` // shared out as royalties
	AmountSettle    Amount  `json:"amount_settle"`  // settled to the merchant
	Currency        string  `json:"currency"`       // "CNY"
	Subject         string  `json:"subject"`
	Body            string  `json:"body"`
	Description     string  `json:"description,omitempty"`
	ClientIP        string  `json:"client_ip"`
	Paid            bool    `json:"paid"`
	Refunded        bool    `json:"refunded"` // refunded in full
	Reversed        bool    `json:"reversed"`
	Closed          bool    `json:"closed"`
	LiveMode        bool    `json:"live_mode"` // false for charges made with a test key
	TransactionNo   string  `json:"transaction_no,omitempty"`
	FailureCode     string  `json:"failure_code,omitempty"`
	FailureMessage  string  `json:"failure_msg,omitempty"`

	Metadata map[string]string `json:"metadata,omitempty"`
	// Extra holds the channel's inputs and what the front end needs to take
	// the payment (a QR code, a pay URL, a WeChat config).
	Extra *ChargeExtra `json:"extra,omitempty"`
	// Credential is the channel credential as the server sent it (a protobuf
	// Any: "@type" and every other key, untouched).
	Credential json.RawMessage `json:"credential,omitempty"`
	Refunds    []*Refund       `json:"refunds,omitempty"`

	TTL        time.Duration `json:"-"` // wire "ttl", whole seconds
	CreatedAt  time.Time     `json:"-"` // wire "created_at"
	PaidAt     time.Time     `json:"-"` // wire "paid_at", else "paid_ts"
	ClosedAt   time.Time     `json:"-"` // wire "closed_at", else "closed_ts"
	ReversedAt time.Time     `json:"-"` // wire "reversed_at"
	ExpiresAt  time.Time     `json:"-"` // wire "time_expire": when an unpaid charge expires
	ExpiredAt  time.Time     `json:"-"` // wire "expired_ts": when it did expire

	// Recovered is set on the charge [ChargesService.Create] returns when
	// the answer to its create was lost and the charge was found by its
	// MerchantTradeID instead (see Outcomes in the package docs). It is
	// never on the wire, and always false on a charge read any other way.
	Recovered bool `json:"-"`
}

// chargeWire holds the Charge fields whose wire form differs from the Go one.
type chargeWire struct {
	TTL        seconds       `json:"ttl"`
	CreatedAt  rfc3339Time   `json:"created_at"`
	PaidAt     rfc3339Time   `json:"paid_at"`
	PaidTS     unixTimeQuote `json:"paid_ts"`
	ClosedAt   rfc3339Time   `json:"closed_at"`
	ClosedTS   unixTimeQuote `json:"closed_ts"`
	ReversedAt rfc3339Time   `json:"reversed_at"`
	ExpiresAt  rfc3339Time   `json:"time_expire"`
	ExpiredTS  unixTimeQuote `json:"expired_ts"`
}

// UnmarshalJSON decodes a charge in Justap's wire format.
func (c *Charge) UnmarshalJSON(b []byte) error {
	// A new charge (as in every response) takes the one-pass fast path,
	// which declines anything it does not decode exactly as below.
	if reflect.ValueOf(c).Elem().IsZero() {
		if c.decodeFast(b) {
			return nil
		}
		*c = Charge{}
	}
	return c.decodeReference(b)
}

// decodeReference decodes a charge with encoding/json: the reference the
// fast path must match.
func (c *Charge) decodeReference(b []byte) error {
	type plain Charge
	aux := struct {
		*plain
		chargeWire
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c.setWire(&aux.chargeWire)
	return nil
}

// setWire sets the fields of c that the wire carries in another form.
func (c *Charge) setWire(w *chargeWire) {
	c.TTL = time.Duration(w.TTL)
	c.CreatedAt = time.Time(w.CreatedAt)
	c.PaidAt = orTime(time.Time(w.PaidAt), time.Time(w.PaidTS))
	c.ClosedAt = orTime(time.Time(w.ClosedAt), time.Time(w.ClosedTS))
	c.ReversedAt = time.Time(w.ReversedAt)
	c.ExpiresAt = time.Time(w.ExpiresAt)
	c.ExpiredAt = time.Time(w.ExpiredTS)
}

// MarshalJSON encodes a charge in Justap's wire format (the form the
// gateway itself writes: int64 seconds as strings, times as RFC 3339).
func (c Charge) MarshalJSON() ([]byte, error) {
	type plain Charge
	return json.Marshal(struct {
		*plain
		chargeWire
	}{(*plain)(&c), chargeWire{
		TTL:        seconds(c.TTL),
		CreatedAt:  rfc3339Time(c.CreatedAt),
		PaidAt:     rfc3339Time(c.PaidAt),
		PaidTS:     unixTimeQuote(c.PaidAt),
		ClosedAt:   rfc3339Time(c.ClosedAt),
		ClosedTS:   unixTimeQuote(c.ClosedAt),
		ReversedAt: rfc3339Time(c.ReversedAt),
		ExpiresAt:  rfc3339Time(c.ExpiresAt),
		ExpiredTS:  unixTimeQuote(c.ExpiredAt),
	}})
}

// RefundStatus is a refund's state as the server words it. The server's
// spelling varies; compare with Is, which ignores case.
type RefundStatus string

// Refund states seen from Justap.
const (
	RefundStatusRefunding RefundStatus = "refunding"
	RefundStatusRefunded  RefundStatus = "refunded"
)

// Is reports whether s and t are the same status, ignoring case.
func (s RefundStatus) Is(t RefundStatus) bool { return strings.EqualFold(string(s), string(t)) }

// Refund is money returned from a paid charge, in full or in part.
type Refund struct {
	ID                    string       `json:"refund_id"`
	Object                string       `json:"object,omitempty"` // "Refund"
	ChargeID              string       `json:"charge_id"`
	ChargeMerchantTradeID string       `json:"charge_merchant_trade_id,omitempty"`
	MerchantRefundID      string       `json:"merchant_refund_id,omitempty"`
	Amount                Amount       `json:"-"` // wire "amount", in the unit of refundAmountScale
	Description           string       `json:"description,omitempty"`
	Status                RefundStatus `json:"status"`
	Succeeded             bool         `json:"is_success"`
	RefundNo              string       `json:"refund_no,omitempty"`
	TransactionNo         string       `json:"transaction_no,omitempty"`
	FailureCode           string       `json:"failure_code,omitempty"`
	FailureMessage        string       `json:"failure_msg,omitempty"`

	Metadata map[string]string `json:"metadata,omitempty"`
	// Account is the channel's refund detail, as the server sent it.
	Account json.RawMessage `json:"account,omitempty"`

	CreatedAt   time.Time `json:"-"` // wire "created_at", else "created"
	SucceededAt time.Time `json:"-"` // wire "success_at", else "succeed_ts"

	// Recovered is set on the refund [RefundsService.Create] returns when
	// the answer to its create was lost and the refund was found by its
	// MerchantRefundID instead (see Outcomes in the package docs). It is
	// never on the wire, and always false on a refund read any other way.
	Recovered bool `json:"-"`
}

type refundWire struct {
	Amount    refundMoney `json:"amount"`
	CreatedAt rfc3339Time `json:"created_at"`
	Created   unixTimeNum `json:"created"`
	SuccessAt rfc3339Time `json:"success_at"`
	SucceedTS unixTimeNum `json:"succeed_ts"`
}

// UnmarshalJSON decodes a refund in Justap's wire format.
func (r *Refund) UnmarshalJSON(b []byte) error {
	type plain Refund
	aux := struct {
		*plain
		refundWire
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	w := &aux.refundWire
	r.Amount = Amount(w.Amount)
	r.CreatedAt = orTime(time.Time(w.CreatedAt), time.Time(w.Created))
	r.SucceededAt = orTime(time.Time(w.SuccessAt), time.Time(w.SucceedTS))
	return nil
}

// MarshalJSON encodes a refund in Justap's wire format.
func (r Refund) MarshalJSON() ([]byte, error) {
	type plain Refund
	return json.Marshal(struct {
		*plain
		refundWire
	}{(*plain)(&r), refundWire{
		Amount:    refundMoney(r.Amount),
		CreatedAt: rfc3339Time(r.CreatedAt),
		Created:   unixTimeNum(r.CreatedAt),
		SuccessAt: rfc3339Time(r.SucceededAt),
		SucceedTS: unixTimeNum(r.SucceededAt),
	}})
}

// ChargeList is one page of charges, newest first.
type ChargeList struct {
	Object  string    `json:"object,omitempty"` // "ChargeList"
	Data    []*Charge `json:"data"`
	HasMore bool      `json:"has_more"` // more charges lie beyond this page
}

// RefundList is one page of a charge's refunds.
type RefundList struct {
	Object  string    `json:"object,omitempty"` // "RefundList"
	Data    []*Refund `json:"data"`
	HasMore bool      `json:"has_more"` // more refunds lie beyond this page
	Total   int64     `json:"-"`        // wire "total": refunds of the charge in all
}

// UnmarshalJSON decodes a refund list; "total" may be a number or a string.
func (l *RefundList) UnmarshalJSON(b []byte) error {
	type plain RefundList
	aux := struct {
		*plain
		Total flexInt64 `json:"total"`
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	l.Total = int64(aux.Total)
	return nil
}

// MarshalJSON encodes a refund list in the wire format.
func (l RefundList) MarshalJSON() ([]byte, error) {
	type plain RefundList
	return json.Marshal(struct {
		*plain
		Total int64 `json:"total"`
	}{(*plain)(&l), l.Total})
}

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

// flexInt64 decodes an int64 written as a JSON number (123) or, as
// grpc-gateway writes int64, as a JSON string ("123"). "" and null are 0.
type flexInt64 int64

func (n *flexInt64) UnmarshalJSON(b []byte) error {
	v, err := parseInt64JSON(b)
	if err != nil {
		return err
	}
	*n = flexInt64(v)
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

// seconds is a duration written as whole seconds (number or string).
type seconds time.Duration

func (d seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(time.Duration(d)/time.Second), 10), nil
}

func (d *seconds) UnmarshalJSON(b []byte) error {
	v, err := parseInt64JSON(b)
	if err != nil {
		return err
	}
	*d = seconds(time.Duration(v) * time.Second)
	return nil
}

// decodeTime reads a time written as RFC 3339 text or as Unix seconds (a
// number or a numeric string). Absent, null, "", "0" and 0 are the zero time.
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

// rfc3339Time is a time written as RFC 3339 text; the zero time is null.
type rfc3339Time time.Time

func (t rfc3339Time) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return strconv.AppendQuote(nil, time.Time(t).UTC().Format(time.RFC3339Nano)), nil
}

func (t *rfc3339Time) UnmarshalJSON(b []byte) error {
	v, err := decodeTime(b)
	*t = rfc3339Time(v)
	return err
}

// unixTimeQuote is a time written as Unix seconds in a JSON string, as
// grpc-gateway writes int64 ("1700000123"); the zero time is "0".
type unixTimeQuote time.Time

func (t unixTimeQuote) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(unixSeconds(time.Time(t)), 10)), nil
}

func (t *unixTimeQuote) UnmarshalJSON(b []byte) error {
	v, err := decodeTime(b)
	*t = unixTimeQuote(v)
	return err
}

// unixTimeNum is a time written as Unix seconds in a JSON number; the zero
// time is 0.
type unixTimeNum time.Time

func (t unixTimeNum) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, unixSeconds(time.Time(t)), 10), nil
}

func (t *unixTimeNum) UnmarshalJSON(b []byte) error {
	v, err := decodeTime(b)
	*t = unixTimeNum(v)
	return err
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

// ChargeExtra carries one entry per channel: in a request, the channel's
// inputs (a payer's openid, a scanned auth code, return URLs); in a
// response, what the merchant's front end needs to take the payment.
//
// The channels whose fields a merchant reads or sets are typed. Entries for
// other channels, and keys inside typed entries that this package does not
// name, are kept as raw JSON in the Other maps and sent back unchanged.
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

	// Other holds the entries of channels not typed above (alipay_face,
	// alipay_lite, alipay_jsapi, unionpay_cardless_quick_pay, …), by key.
	Other map[string]json.RawMessage `json:"-"`
}

// QRCodeExtra is the extra of a QR-code channel (alipay_qr,
// wechatpay_native): the code to render for the customer to scan.
type QRCodeExtra struct {
	QRCode string                     `json:"qr_code,omitempty"` // the text to encode as a QR code
	QRLink string                     `json:"qr_link,omitempty"` // a link to a rendered QR code image
	Other  map[string]json.RawMessage `json:"-"`
}

// AuthCodeExtra is the extra of a merchant-scans-customer channel
// (alipay_scan, wechatpay_scan): the code read from the customer's phone.
type AuthCodeExtra struct {
	AuthCode string                     `json:"auth_code,omitempty"`
	Other    map[string]json.RawMessage `json:"-"`
}

// AlipayAppExtra is the extra of alipay_app: the order string the mobile
// app hands to the Alipay SDK.
type AlipayAppExtra struct {
	PayParam string                     `json:"pay_param,omitempty"`
	Other    map[string]json.RawMessage `json:"-"`
}

// PayURLExtra is the extra of a redirect channel (alipay_wap, alipay_page,
// wechatpay_h5): where to send the customer's browser, and where the
// channel sends it back.
type PayURLExtra struct {
	PayURL    string                     `json:"pay_url,omitempty"`    // response: open this to pay
	ReturnURL string                     `json:"return_url,omitempty"` // request: back to the merchant after paying
	QuitURL   string                     `json:"quit_url,omitempty"`   // request (alipay_wap): back on cancel
	Other     map[string]json.RawMessage `json:"-"`
}

// WechatpayPayer names the WeChat user who pays (JSAPI and mini programs).
type WechatpayPayer struct {
	OpenID string `json:"openid"`
}

// WechatpayJSConfig is what WeChat's JSAPI (WeixinJSBridge / wx.requestPayment)
// takes to open the payment sheet; hand it to the page unchanged.
type WechatpayJSConfig struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// UnmarshalJSON accepts numbers where WeChat's text fields are expected
// (some gateways send timeStamp as a number).
func (c *WechatpayJSConfig) UnmarshalJSON(b []byte) error {
	return decodeTextFields(b, map[string]*string{
		"appId": &c.AppID, "timeStamp": &c.TimeStamp, "nonceStr": &c.NonceStr,
		"package": &c.Package, "signType": &c.SignType, "paySign": &c.PaySign,
	})
}

// WechatpayAppConfig is what the WeChat mobile SDK takes to pay in an app.
type WechatpayAppConfig struct {
	AppID     string `json:"appid"`
	PartnerID string `json:"partnerid"`
	PrepayID  string `json:"prepayid"`
	Package   string `json:"package"`
	NonceStr  string `json:"noncestr"`
	Timestamp string `json:"timestamp"`
	Sign      string `json:"sign"`
}

// UnmarshalJSON accepts numbers where text fields are expected.
func (c *WechatpayAppConfig) UnmarshalJSON(b []byte) error {
	return decodeTextFields(b, map[string]*string{
		"appid": &c.AppID, "partnerid": &c.PartnerID, "prepayid": &c.PrepayID, "package": &c.Package,
		"noncestr": &c.NonceStr, "timestamp": &c.Timestamp, "sign": &c.Sign,
	})
}

// WechatpayJSAPIExtra is the extra of wechatpay_jsapi.
type WechatpayJSAPIExtra struct {
	Payer       *WechatpayPayer            `json:"payer,omitempty"`        // request: who pays
	JSAPIConfig *WechatpayJSConfig         `json:"jsapi_config,omitempty"` // response: for the page
	Other       map[string]json.RawMessage `json:"-"`
}

// WechatpayLiteExtra is the extra of wechatpay_lite (mini programs).
type WechatpayLiteExtra struct {
	Payer        *WechatpayPayer            `json:"payer,omitempty"`         // request: who pays
	AppletConfig *WechatpayJSConfig         `json:"applet_config,omitempty"` // response: for wx.requestPayment
	Other        map[string]json.RawMessage `json:"-"`
}

// WechatpayAppExtra is the extra of wechatpay_app.
type WechatpayAppExtra struct {
	AppConfig *WechatpayAppConfig        `json:"app_config,omitempty"` // response: for the WeChat SDK
	Other     map[string]json.RawMessage `json:"-"`
}

// The extras' JSON methods: typed fields, plus every other key kept raw.
type (
	chargeExtraFields   ChargeExtra
	qrCodeExtraFields   QRCodeExtra
	authCodeExtraFields AuthCodeExtra
	alipayAppFields     AlipayAppExtra
	payURLExtraFields   PayURLExtra
	wxJSAPIFields       WechatpayJSAPIExtra
	wxLiteFields        WechatpayLiteExtra
	wxAppFields         WechatpayAppExtra
)

// UnmarshalJSON decodes the typed channels and keeps the others in Other.
func (e *ChargeExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*chargeExtraFields)(e), &e.Other)
}

// MarshalJSON encodes the typed channels and the raw entries of Other.
func (e ChargeExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*chargeExtraFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *QRCodeExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*qrCodeExtraFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e QRCodeExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*qrCodeExtraFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *AuthCodeExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*authCodeExtraFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e AuthCodeExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*authCodeExtraFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *AlipayAppExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*alipayAppFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e AlipayAppExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*alipayAppFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *PayURLExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*payURLExtraFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e PayURLExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*payURLExtraFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *WechatpayJSAPIExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*wxJSAPIFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e WechatpayJSAPIExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*wxJSAPIFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *WechatpayLiteExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*wxLiteFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e WechatpayLiteExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*wxLiteFields)(&e), e.Other)
}

// UnmarshalJSON decodes the typed fields and keeps other keys in Other.
func (e *WechatpayAppExtra) UnmarshalJSON(b []byte) error {
	return decodeOpen(b, (*wxAppFields)(e), &e.Other)
}

// MarshalJSON encodes the typed fields and the raw keys of Other.
func (e WechatpayAppExtra) MarshalJSON() ([]byte, error) {
	return encodeOpen((*wxAppFields)(&e), e.Other)
}

// jsonKeys caches, per struct type, the JSON keys its fields name.
var jsonKeys sync.Map // reflect.Type → map[string]bool

func keysOf(t reflect.Type) map[string]bool {
	if k, ok := jsonKeys.Load(t); ok {
		return k.(map[string]bool)
	}
	keys := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	jsonKeys.Store(t, keys)
	return keys
}

// decodeOpen decodes b into the typed fields of v (a pointer to a struct
// type without JSON methods) and stores every key v does not name in other.
func decodeOpen(b []byte, v any, other *map[string]json.RawMessage) error {
	if rv := reflect.ValueOf(v).Elem(); rv.IsZero() {
		if decodeOpenFast(b, rv, other) {
			return nil
		}
		rv.SetZero()
	}
	return decodeOpenReference(b, v, other)
}

// decodeOpenReference is decodeOpen with encoding/json alone.
func decodeOpenReference(b []byte, v any, other *map[string]json.RawMessage) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	known := keysOf(reflect.TypeOf(v).Elem())
	for k := range all {
		if known[k] {
			delete(all, k)
		}
	}
	*other = nil
	if len(all) > 0 {
		*other = all
	}
	return nil
}

// encodeOpen encodes the typed fields of v and adds the keys of other that
// v does not set, so untyped entries round-trip unchanged.
func encodeOpen(v any, other map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(other) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, raw := range other {
		if _, set := all[k]; !set {
			all[k] = raw
		}
	}
	return json.Marshal(all)
}

// decodeTextFields decodes a flat JSON object into string fields, taking a
// number's text where a string is expected. Other keys are ignored.
func decodeTextFields(b []byte, fields map[string]*string) error {
	if decodeTextFieldsFast(b, fields) {
		return nil
	}
	return decodeTextFieldsReference(b, fields)
}

// decodeTextFieldsReference is decodeTextFields with encoding/json alone.
func decodeTextFieldsReference(b []byte, fields map[string]*string) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, raw := range all {
		dst, ok := fields[k]
		if !ok {
			continue
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, dst); err != nil {
				return err
			}
		case string(raw) == "null":
			*dst = ""
		default:
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil {
				return fmt.Errorf("justap: %s: want text or a number, got %s", k, truncate(raw, 40))
			}
			*dst = n.String()
		}
	}
	return nil
}
