package rules

import (
	"strings"
	"testing"
)

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"ip v4", CheckClientIP("203.0.113.7"), true},
		{"ip v6", CheckClientIP("2001:db8::1"), true},
		{"ip name", CheckClientIP("localhost"), false},
		{"ip empty", CheckClientIP(""), false},
		{"currency empty", CheckCurrency(""), true},
		{"currency CNY", CheckCurrency("CNY"), true},
		{"currency USD", CheckCurrency("USD"), false},
		{"url empty", CheckURL(""), true},
		{"url https", CheckURL("https://shop.example/notify?x=1"), true},
		{"url http", CheckURL("http://127.0.0.1:8080/n"), true},
		{"url relative", CheckURL("/notify"), false},
		{"url ftp", CheckURL("ftp://shop.example/n"), false},
		{"url no host", CheckURL("https:///n"), false},
		{"url unparsable", CheckURL("http://[::1"), false},
		{"ttl 0", CheckTTLSeconds(0), true},
		{"ttl max", CheckTTLSeconds(MaxTTLSeconds), true},
		{"ttl max+1", CheckTTLSeconds(MaxTTLSeconds + 1), false},
		{"ttl negative", CheckTTLSeconds(-1), false},
		{"merchant id", CheckMerchantID("order-1"), true},
		{"merchant id of 32 characters", CheckMerchantID(strings.Repeat("单", 32)), true},
		{"merchant id of 33", CheckMerchantID(strings.Repeat("x", 33)), false},
		{"merchant id empty", CheckMerchantID(""), false},
		{"merchant id GBK", CheckMerchantID("\xb6\xa9\xb5\xa5"), false},
		{"utf8", CheckUTF8("订单"), true},
		{"utf8 invalid", CheckUTF8("\xff"), false},
		{"extra absent", CheckExtraObject(nil), true},
		{"extra object", CheckExtraObject([]byte(` {"a":1}`)), true},
		{"extra array", CheckExtraObject([]byte(`[1]`)), false},
		{"extra invalid", CheckExtraObject([]byte(`{`)), false},
		{"extra null", CheckExtraObject([]byte(`null`)), false},
		{"jsapi with openid", CheckChannelInputs("WechatpayJSAPI", []byte(`{"wechatpay_jsapi":{"payer":{"openid":"o1"}}}`)), true},
		{"jsapi without extra", CheckChannelInputs("WechatpayJSAPI", nil), false},
		{"jsapi openid a number", CheckChannelInputs("WechatpayJSAPI", []byte(`{"wechatpay_jsapi":{"payer":{"openid":1}}}`)), false},
		{"jsapi payer null", CheckChannelInputs("WechatpayJSAPI", []byte(`{"wechatpay_jsapi":{"payer":null}}`)), false},
		{"lite with openid", CheckChannelInputs("WechatpayLite", []byte(`{"wechatpay_lite":{"payer":{"openid":"o1"}}}`)), true},
		{"lite with jsapi's openid", CheckChannelInputs("WechatpayLite", []byte(`{"wechatpay_jsapi":{"payer":{"openid":"o1"}}}`)), false},
		{"alipay scan", CheckChannelInputs("AlipayScan", []byte(`{"alipay_scan":{"auth_code":"28"}}`)), true},
		{"alipay scan empty code", CheckChannelInputs("AlipayScan", []byte(`{"alipay_scan":{"auth_code":""}}`)), false},
		{"wechat scan", CheckChannelInputs("WechatpayScan", []byte(`{"wechatpay_scan":{"auth_code":"13"}}`)), true},
		{"wechat scan without", CheckChannelInputs("WechatpayScan", []byte(`{}`)), false},
		{"qr needs nothing", CheckChannelInputs("AlipayQR", nil), true},
	}
	for _, tt := range tests {
		if (tt.err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, tt.err, tt.ok)
		}
	}
}
