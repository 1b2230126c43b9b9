package justaptest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/internal/rules"
)

// Limits the gateway enforces on requests, stated once in internal/rules
// for the SDK and the fake alike.
const (
	maxDescriptionLen = rules.MaxRefundDescriptionLen // a refund's description
	maxListLimit      = rules.MaxListLimit            // limit of a list
	defaultListLimit  = rules.DefaultListLimit        // limit of a list that sets none
	supportedCurrency = rules.Currency
)

// The request bodies, decoded as the gateway does (protobuf JSON): keys in
// snake_case or lowerCamelCase, null meaning unset, unknown keys ignored,
// a wrong JSON type refused.

type chargeCreateRequest struct {
	AppID            string
	MerchantTradeID  string
	Amount           json.RawMessage
	Channel          string
	Subject          string
	Body             string
	ClientIP         string
	Currency         string
	Description      string
	Extra            json.RawMessage
	Metadata         map[string]string
	NotifyURL        string
	CallbackURL      string
	NotificationArea string
	TTL              json.RawMessage
	Source           string
}

func (r *chargeCreateRequest) fields() map[string]any {
	return map[string]any{
		"app_id": &r.AppID, "merchant_trade_id": &r.MerchantTradeID, "amount": &r.Amount,
		"channel": &r.Channel, "subject": &r.Subject, "body": &r.Body, "client_ip": &r.ClientIP,
		"currency": &r.Currency, "description": &r.Description, "extra": &r.Extra,
		"metadata": &r.Metadata, "notify_url": &r.NotifyURL, "callback_url": &r.CallbackURL,
		"notification_area": &r.NotificationArea, "ttl": &r.TTL, "source": &r.Source,
	}
}

// newCharge is a validated create-charge request.
type newCharge struct {
	appID, merchantTradeID string
	amount                 justap.Amount
	channel                justap.Channel
	subject, body          string
	clientIP               string
	currency               string
	description            string
	extra                  *justap.ChargeExtra
	rawExtra               json.RawMessage // the request's extra as sent
	metadata               map[string]string
	ttl                    time.Duration // 0: DefaultTTL
	notifyURL              string
}

// parseChargeCreate decodes and validates a create-charge body.
func parseChargeCreate(body []byte) (*newCharge, *apiError) {
	var r chargeCreateRequest
	if err := decodeObject(body, r.fields()); err != nil {
		return nil, err
	}
	n := &newCharge{
		appID: r.AppID, merchantTradeID: r.MerchantTradeID, subject: r.Subject, body: r.Body,
		clientIP: r.ClientIP, currency: r.Currency, description: r.Description, metadata: r.Metadata,
		notifyURL: r.NotifyURL,
	}
	if r.AppID == "" {
		return nil, required("app_id")
	}
	if err := checkMerchantID("merchant_trade_id", r.MerchantTradeID); err != nil {
		return nil, err
	}
	amount, err := parseAmount("amount", r.Amount)
	if err != nil {
		return nil, err
	}
	if amount == nil {
		return nil, required("amount")
	}
	n.amount = *amount
	switch ch := justap.Channel(r.Channel); {
	case ch == "" || ch == justap.ChannelUnspecified:
		return nil, required("channel")
	case !ch.Valid():
		return nil, errorf(codeInvalidArgument, "channel: unknown channel %q", r.Channel)
	default:
		n.channel = ch
	}
	switch {
	case r.Subject == "":
		return nil, required("subject")
	case r.Body == "":
		return nil, required("body")
	case r.ClientIP == "":
		return nil, required("client_ip")
	case rules.CheckClientIP(r.ClientIP) != nil:
		return nil, errorf(codeInvalidArgument, "client_ip: %v", rules.CheckClientIP(r.ClientIP))
	}
	if err := rules.CheckCurrency(r.Currency); err != nil {
		return nil, errorf(codeInvalidArgument, "currency: %v", err)
	}
	if r.Currency == "" {
		n.currency = supportedCurrency
	}
	if err := checkURL("notify_url", r.NotifyURL); err != nil {
		return nil, err
	}
	if err := checkURL("callback_url", r.CallbackURL); err != nil {
		return nil, err
	}
	if len(r.TTL) > 0 {
		secs, ok := parseInt(r.TTL)
		if !ok {
			return nil, errorf(codeInvalidArgument, "ttl: %s is not a number of seconds from 0 to %d", truncate(r.TTL), rules.MaxTTLSeconds)
		}
		if err := rules.CheckTTLSeconds(secs); err != nil {
			return nil, errorf(codeInvalidArgument, "ttl: %v", err)
		}
		n.ttl = time.Duration(secs) * time.Second
	}
	if len(r.Extra) > 0 {
		if err := rules.CheckExtraObject(r.Extra); err != nil {
			return nil, errorf(codeInvalidArgument, "extra: %v, with one key per channel, such as alipay_qr", err)
		}
		var ex justap.ChargeExtra
		if err := json.Unmarshal(r.Extra, &ex); err != nil {
			return nil, errorf(codeInvalidArgument, "extra: %v", err)
		}
		n.extra = &ex
		n.rawExtra = r.Extra
	}
	if err := rules.CheckChannelInputs(string(n.channel), r.Extra); err != nil {
		return nil, errorf(codeInvalidArgument, "%v", err)
	}
	return n, nil
}

type refundCreateRequest struct {
	AppID            string
	ChargeID         string
	MerchantRefundID string
	Description      string
	Amount           json.RawMessage
	Metadata         map[string]string
	NotifyURL        string
	NotificationArea string
	Extra            json.RawMessage
}

func (r *refundCreateRequest) fields() map[string]any {
	return map[string]any{
		"app_id": &r.AppID, "charge_id": &r.ChargeID, "merchant_refund_id": &r.MerchantRefundID,
		"description": &r.Description, "amount": &r.Amount, "metadata": &r.Metadata,
		"notify_url": &r.NotifyURL, "notification_area": &r.NotificationArea, "extra": &r.Extra,
	}
}

// newRefund is a validated create-refund request.
type newRefund struct {
	appID, chargeID, merchantRefundID string
	description                       string
	amount                            *justap.Amount // nil: the whole refundable rest
	metadata                          map[string]string
	notifyURL                         string
}

// parseRefundCreate decodes and validates a create-refund body. Refund
// amounts are yuan on the wire, as the SDK sends them (justap-api.md,
// "Money").
func parseRefundCreate(body []byte) (*newRefund, *apiError) {
	var r refundCreateRequest
	if err := decodeObject(body, r.fields()); err != nil {
		return nil, err
	}
	switch {
	case r.AppID == "":
		return nil, required("app_id")
	case r.ChargeID == "":
		return nil, required("charge_id")
	}
	if err := checkMerchantID("merchant_refund_id", r.MerchantRefundID); err != nil {
		return nil, err
	}
	switch n := utf8.RuneCountInString(r.Description); {
	case n == 0:
		return nil, required("description")
	case n > maxDescriptionLen:
		return nil, errorf(codeInvalidArgument, "description: %d characters is too long; at most %d are allowed", n, maxDescriptionLen)
	}
	amount, err := parseAmount("amount", r.Amount)
	if err != nil {
		return nil, err
	}
	if err := checkURL("notify_url", r.NotifyURL); err != nil {
		return nil, err
	}
	if err := rules.CheckExtraObject(r.Extra); err != nil {
		return nil, errorf(codeInvalidArgument, "extra: %v", err)
	}
	return &newRefund{
		appID: r.AppID, chargeID: r.ChargeID, merchantRefundID: r.MerchantRefundID,
		description: r.Description, amount: amount, metadata: r.Metadata, notifyURL: r.NotifyURL,
	}, nil
}

func required(field string) *apiError {
	return errorf(codeInvalidArgument, "%s: is required", field)
}

func checkMerchantID(field, id string) *apiError {
	if err := rules.CheckMerchantID(id); err != nil {
		return errorf(codeInvalidArgument, "%s: %v", field, err)
	}
	return nil
}

// parseAmount reads an amount of yuan, a JSON number or numeric string,
// exactly: a request is refused float noise a response is allowed (see
// justap.Amount). Absent is nil; present, it must be greater than zero and
// a whole number of fen.
func parseAmount(field string, raw json.RawMessage) (*justap.Amount, *apiError) {
	if len(raw) == 0 {
		return nil, nil
	}
	text := string(raw)
	if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' {
		text = text[1 : len(text)-1]
	}
	a, err := justap.ParseAmount(text)
	if err != nil {
		return nil, errorf(codeInvalidArgument, "%s: %s is not an amount of yuan with at most two decimals, such as 19.99", field, truncate(raw))
	}
	if a <= 0 {
		return nil, errorf(codeInvalidArgument, "%s: must be greater than zero, got %s", field, a)
	}
	return &a, nil
}

// parseInt reads an integer written as a JSON number or string.
func parseInt(raw json.RawMessage) (int64, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func checkURL(field, s string) *apiError {
	if err := rules.CheckURL(s); err != nil {
		return errorf(codeInvalidArgument, "%s: %v", field, err)
	}
	return nil
}

// decodeObject decodes a JSON object into the fields named (by their
// snake_case names) as protobuf JSON does: either the snake_case or the
// lowerCamelCase key, null left as the default, unknown keys ignored, a
// value of the wrong JSON type refused.
func decodeObject(body []byte, fields map[string]any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(codeInvalidArgument, "the request body is empty: send a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return errorf(codeInvalidArgument, "the request body is not a JSON object")
	}
	seen := map[string]string{}
	for key, raw := range m {
		name := key
		dst, ok := fields[name]
		if !ok {
			name = camelToSnake(key)
			if dst, ok = fields[name]; !ok || name == key {
				continue // an unknown field, ignored
			}
		}
		if other, dup := seen[name]; dup {
			return errorf(codeInvalidArgument, "field %s is set twice (as %q and %q)", name, other, key)
		}
		seen[name] = key
		if string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		if rm, ok := dst.(*json.RawMessage); ok {
			*rm = bytes.TrimSpace(raw)
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return errorf(codeInvalidArgument, "%s: %s is not %s", name, truncate(raw), describe(dst))
		}
	}
	return nil
}

func describe(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case *map[string]string:
		return "an object of strings"
	}
	return "valid"
}

// camelToSnake turns lowerCamelCase into snake_case: merchantTradeId →
// merchant_trade_id.
func camelToSnake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// truncate shortens a request's text for an error message.
func truncate(b []byte) string {
	const n = 40
	if utf8.RuneCount(b) <= n {
		return string(b)
	}
	r := []rune(string(b))
	return string(r[:n]) + "…"
}
