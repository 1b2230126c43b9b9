package justaptest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/justap-go/justap"
)

// Identifiers the fake puts in channel configs: WeChat's and Alipay's
// sandbox-style sample values, never real accounts.
const (
	fakeWechatAppID = "wxjustaptest000001"
	fakeWechatMchID = "1900000109"
	fakeAlipayAppID = "2021000000000000"
)

// payPageURL is the fake's pay page of a charge: what its QR codes encode
// and its pay URLs open. GET shows the page; POST pays the charge.
func payPageURL(base, chargeID string) string {
	return base + controlPrefix + "charges/" + url.PathEscape(chargeID) + "/pay"
}

// extraKeys is the extra key of each channel the fake fills, and the keys
// the spec requires in it, each with its empty value ("", 0 or false):
// the fake writes them all, as the gateway does.
var extraKeys = map[justap.Channel]struct {
	key      string
	required map[string]any
}{
	justap.ChannelAlipayQR: {"alipay_qr", strs("buyer_id", "operator_id", "product_code", "qr_code",
		"qr_code_timeout_express", "qr_link", "store_id", "terminal_id")},
	justap.ChannelAlipayApp: {"alipay_app", strs("credit_agreement_id", "credit_biz_order_id", "credit_pay_mode",
		"disable_pay_channels", "enable_pay_channels", "goods_type", "merchant_trade_id", "pay_param",
		"product_code", "seller_id", "store_id")},
	justap.ChannelAlipayWap: {"alipay_wap", strs("auth_token", "business_params", "disable_pay_channels",
		"enable_pay_channels", "goods_type", "merchant_trade_id", "pay_url", "product_code", "promo_params",
		"quit_url", "return_url", "seller_id", "store_id")},
	justap.ChannelAlipayPage: {"alipay_page", with(strs("disable_pay_channels", "enable_pay_channels", "goods_type",
		"merchant_trade_id", "pay_url", "promo_params", "qr_pay_mode", "seller_id", "store_id"),
		0, "business_params", "integration_type", "qrcode_width", "request_from_url")},
	justap.ChannelAlipayScan: {"alipay_scan", with(strs("advance_payment_type", "auth_code", "auth_confirm_mode",
		"auth_no", "buyer_id", "buyer_logon_id", "buyer_user_id", "discount_goods_detail", "gmt_payment",
		"operator_id", "pay_params", "product_code", "query_options", "request_org_pid", "scene", "store_id",
		"store_name", "terminal_id"),
		0, "buyer_pay_amount", "discount_amount", "discountable_amount", "invoice_amount", "point_amount",
		"receipt_amount", "total_amount")},
	justap.ChannelWechatpayNative: {"wechatpay_native", strs("goods_tag", "qr_code", "qr_link", "time_expire", "time_start")},
	justap.ChannelWechatpayH5: {"wechatpay_h5", strs("goods_tag", "pay_sign", "pay_url", "prepay_id", "time_expire",
		"time_start", "wap_name", "wap_url")},
	justap.ChannelWechatpayJSAPI: {"wechatpay_jsapi", strs("goods_tag", "prepay_id", "time_expire", "time_start")},
	justap.ChannelWechatpayLite:  {"wechatpay_lite", strs("goods_tag", "prepay_id", "time_expire", "time_start")},
	justap.ChannelWechatpayApp:   {"wechatpay_app", strs("goods_tag", "prepay_id", "time_expire", "time_start")},
	justap.ChannelWechatpayScan: {"wechatpay_scan", with(with(strs("auth_code", "bank_type", "cash_fee",
		"cash_fee_type", "fee_type", "goods_tag", "spbill_create_ip", "sub_openid", "time_end", "time_expire",
		"time_start"), false, "is_subscribe", "sub_is_subscribe"), 0, "settlement_total_fee")},
}

func strs(keys ...string) map[string]any { return with(map[string]any{}, "", keys...) }

func with(m map[string]any, zero any, keys ...string) map[string]any {
	for _, k := range keys {
		m[k] = zero
	}
	return m
}

// responseExtra returns the charge's extra as the gateway answers a
// create: the request's extra (raw, every key kept), plus what the front
// end needs for the charge's channel, plus every key the spec requires in
// the channel's entry. Every value is derived from the charge, so it is
// deterministic. It is nil when there is nothing to write.
func responseExtra(req json.RawMessage, ch *justap.Charge, base string) json.RawMessage {
	var top map[string]json.RawMessage
	if len(req) > 0 {
		json.Unmarshal(req, &top) // the request was checked to be an object
	}
	for k, v := range top {
		if string(v) == "null" { // null is unset, as the gateway reads it: never echoed
			delete(top, k)
		}
	}
	ck, typed := extraKeys[ch.Channel]
	if !typed {
		if len(top) == 0 {
			return nil
		}
		b, _ := json.Marshal(top)
		return b
	}
	if top == nil {
		top = map[string]json.RawMessage{}
	}
	entry := map[string]any{}
	if raw, ok := top[ck.key]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			for k, v := range m {
				if string(v) != "null" {
					entry[k] = v
				}
			}
		}
	}
	for k, zero := range ck.required {
		if _, ok := entry[k]; !ok {
			entry[k] = zero
		}
	}
	pay := payPageURL(base, ch.ID)
	nonce := digest("nonce", ch.ID)[:32]
	prepay := "wx" + ch.CreatedAt.Format("20060102150405") + digest("prepay", ch.ID)[:16]
	ts := strconv.FormatInt(ch.CreatedAt.Unix(), 10)
	jsConfig := map[string]string{
		"appId": fakeWechatAppID, "timeStamp": ts, "nonceStr": nonce,
		"package": "prepay_id=" + prepay, "signType": "RSA", "paySign": signature(ch.ID),
	}
	switch ch.Channel {
	case justap.ChannelAlipayQR, justap.ChannelWechatpayNative:
		entry["qr_code"], entry["qr_link"] = pay, pay
	case justap.ChannelAlipayWap, justap.ChannelAlipayPage, justap.ChannelWechatpayH5:
		entry["pay_url"] = pay
	case justap.ChannelAlipayApp:
		entry["pay_param"] = alipayOrderString(ch)
	case justap.ChannelWechatpayJSAPI:
		entry["jsapi_config"], entry["prepay_id"] = jsConfig, prepay
	case justap.ChannelWechatpayLite:
		entry["applet_config"], entry["prepay_id"] = jsConfig, prepay
	case justap.ChannelWechatpayApp:
		entry["prepay_id"] = prepay
		entry["app_config"] = map[string]string{
			"appid": fakeWechatAppID, "partnerid": fakeWechatMchID, "prepayid": prepay,
			"package": "Sign=WXPay", "noncestr": nonce, "timestamp": ts, "sign": signature(ch.ID),
		}
	}
	if raw, ok := entry["payer"].(json.RawMessage); ok {
		// The spec's payer names the WeChat app too.
		var payer map[string]any
		if json.Unmarshal(raw, &payer) == nil && payer != nil {
			if _, ok := payer["appid"]; !ok {
				payer["appid"] = fakeWechatAppID
			}
			entry["payer"] = payer
		}
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return nil
	}
	top[ck.key] = b
	out, _ := json.Marshal(top)
	return out
}

// alipayOrderString is the order string an app hands to the Alipay SDK.
func alipayOrderString(ch *justap.Charge) string {
	biz, _ := json.Marshal(map[string]string{
		"out_trade_no": ch.MerchantTradeID,
		"total_amount": ch.Amount.String(),
		"subject":      ch.Subject,
		"product_code": "QUICK_MSECURITY_PAY",
	})
	return url.Values{
		"app_id":      {fakeAlipayAppID},
		"method":      {"alipay.trade.app.pay"},
		"charset":     {"utf-8"},
		"sign_type":   {"RSA2"},
		"timestamp":   {ch.CreatedAt.In(time.FixedZone("CST", 8*3600)).Format(time.DateTime)},
		"version":     {"1.0"},
		"biz_content": {string(biz)},
		"sign":        {signature(ch.ID)},
	}.Encode()
}

// digest is a deterministic hex string derived from a charge.
func digest(purpose, id string) string {
	sum := sha256.Sum256([]byte("justaptest " + purpose + " " + id))
	return hex.EncodeToString(sum[:])
}

// signature is a deterministic stand-in for a channel's signature.
func signature(id string) string {
	sum := sha256.Sum256([]byte("justaptest signature " + id))
	return base64.StdEncoding.EncodeToString(sum[:])
}
