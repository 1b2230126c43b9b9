// Package rules states, once, the limits Justap puts on the content of a
// request. The SDK checks them before it sends anything and wraps a failure
// in its ValidationError; the fake gateway in justaptest checks the same
// rules on the requests it receives and refuses a failure with a 400. Each
// check returns nil or an error whose text says what is wrong and what is
// allowed; the caller adds the name of the field.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// Limits of the API.
const (
	// Currency is the only currency a charge may be in; an empty currency
	// means this one.
	Currency = "CNY"
	// MaxMerchantIDLen is the longest merchant_trade_id or
	// merchant_refund_id, in characters. Justap's sources say 32 in one
	// place and 30 in another; the server's own check is 32.
	MaxMerchantIDLen = 32
	// MaxRefundDescriptionLen is the longest refund description, in
	// characters.
	MaxRefundDescriptionLen = 255
	// MaxListLimit is the largest page a list may ask for.
	MaxListLimit = 100
	// DefaultListLimit is the page size of a list that asks for none.
	DefaultListLimit = 10
	// MaxTTLSeconds is the longest time a charge can stay payable: 366 days.
	MaxTTLSeconds = 366 * 24 * 3600
)

// CheckClientIP allows an IPv4 or IPv6 address, the customer's client_ip.
func CheckClientIP(s string) error {
	if net.ParseIP(s) == nil {
		return fmt.Errorf("%s is not an IP address", strconv.Quote(s))
	}
	return nil
}

// CheckCurrency allows "" (the default, CNY) and CNY.
func CheckCurrency(s string) error {
	if s == "" || s == Currency {
		return nil
	}
	return fmt.Errorf("%s is not supported; use %s or leave it empty", strconv.Quote(s), Currency)
}

// CheckURL allows "" (not set) and an absolute http or https URL with a
// host, such as a notify_url or callback_url.
func CheckURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s is not an absolute http or https URL", strconv.Quote(s))
	}
	return nil
}

// CheckTTLSeconds allows a charge's ttl from 0 (the server's default) to
// MaxTTLSeconds.
func CheckTTLSeconds(secs int64) error {
	if secs < 0 || secs > MaxTTLSeconds {
		return fmt.Errorf("%d seconds is outside 0 to %d (366 days)", secs, MaxTTLSeconds)
	}
	return nil
}

// CheckMerchantID allows a merchant_trade_id or merchant_refund_id of 1 to
// MaxMerchantIDLen characters of valid UTF-8. An id in another encoding
// (such as a GBK order number) would be altered on the wire, so that two
// orders could collide and a lookup by the id would find nothing.
func CheckMerchantID(id string) error {
	switch n := utf8.RuneCountInString(id); {
	case id == "":
		return errors.New("is required")
	case !utf8.ValidString(id):
		return errors.New("is not valid UTF-8; convert the id to UTF-8 (GBK and other encodings are altered on the wire)")
	case n > MaxMerchantIDLen:
		return fmt.Errorf("is %d characters long; at most %d are allowed", n, MaxMerchantIDLen)
	}
	return nil
}

// CheckUTF8 allows any text that is valid UTF-8 (JSON carries nothing
// else: other bytes would be replaced on the wire).
func CheckUTF8(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8 (other encodings are altered on the wire)")
	}
	return nil
}

// CheckExtraObject allows an absent extra (empty) and a JSON object.
func CheckExtraObject(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return nil
	case !json.Valid(raw):
		return errors.New("is not valid JSON")
	case raw[0] != '{':
		return errors.New("must be a JSON object")
	}
	return nil
}

// channelInputs names, per channel, the input its extra must carry as a
// non-empty string, as a path of keys below extra.
var channelInputs = map[string][]string{
	"WechatpayJSAPI": {"wechatpay_jsapi", "payer", "openid"},
	"WechatpayLite":  {"wechatpay_lite", "payer", "openid"},
	"AlipayScan":     {"alipay_scan", "auth_code"},
	"WechatpayScan":  {"wechatpay_scan", "auth_code"},
}

// CheckChannelInputs refuses a charge whose channel needs an input that
// its extra (the JSON object sent as extra, or empty) lacks: the payer's
// openid for WechatpayJSAPI and WechatpayLite, the code scanned from the
// customer's phone for AlipayScan and WechatpayScan.
func CheckChannelInputs(channel string, extra []byte) error {
	path, ok := channelInputs[channel]
	if !ok {
		return nil
	}
	if s, _ := lookupString(extra, path); s != "" {
		return nil
	}
	what := "the payer's openid"
	if path[len(path)-1] == "auth_code" {
		what = "the code scanned from the customer's phone"
	}
	return fmt.Errorf("extra.%s is required for channel %s: %s",
		joinPath(path), channel, what)
}

// lookupString returns the string at path in a JSON object, and whether it
// was there as a string.
func lookupString(doc []byte, path []string) (string, bool) {
	raw := json.RawMessage(doc)
	for _, key := range path {
		var m map[string]json.RawMessage
		if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
			return "", false
		}
		if raw = m[key]; raw == nil {
			return "", false
		}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func joinPath(path []string) string {
	var b []byte
	for i, p := range path {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, p...)
	}
	return string(b)
}
