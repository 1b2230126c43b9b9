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

// responseExtra returns the charge's extra as the gateway answers a
// create: the request's channel inputs, plus what the front end needs for
// the charge's channel. Every value is derived from the charge, so it is
// deterministic.
func responseExtra(req *justap.ChargeExtra, ch *justap.Charge, base string) *justap.ChargeExtra {
	ex := req
	if ex == nil {
		ex = &justap.ChargeExtra{}
	}
	pay := payPageURL(base, ch.ID)
	nonce := digest("nonce", ch.ID)[:32]
	prepay := "wx" + ch.CreatedAt.Format("20060102150405") + digest("prepay", ch.ID)[:16]
	ts := strconv.FormatInt(ch.CreatedAt.Unix(), 10)
	jsConfig := func() *justap.WechatpayJSConfig {
		return &justap.WechatpayJSConfig{
			AppID:     fakeWechatAppID,
			Timestamp: ts,
			NonceStr:  nonce,
			Package:   "prepay_id=" + prepay,
			SignType:  "RSA",
			PaySign:   signature(ch.ID),
		}
	}
	switch ch.Channel {
	case justap.ChannelAlipayQR:
		if ex.AlipayQR == nil {
			ex.AlipayQR = &justap.QRCodeExtra{}
		}
		ex.AlipayQR.QRCode, ex.AlipayQR.QRLink = pay, pay
	case justap.ChannelWechatpayNative:
		if ex.WechatpayNative == nil {
			ex.WechatpayNative = &justap.QRCodeExtra{}
		}
		ex.WechatpayNative.QRCode, ex.WechatpayNative.QRLink = pay, pay
	case justap.ChannelAlipayWap:
		if ex.AlipayWap == nil {
			ex.AlipayWap = &justap.PayURLExtra{}
		}
		ex.AlipayWap.PayURL = pay
	case justap.ChannelAlipayPage:
		if ex.AlipayPage == nil {
			ex.AlipayPage = &justap.PayURLExtra{}
		}
		ex.AlipayPage.PayURL = pay
	case justap.ChannelWechatpayH5:
		if ex.WechatpayH5 == nil {
			ex.WechatpayH5 = &justap.PayURLExtra{}
		}
		ex.WechatpayH5.PayURL = pay
	case justap.ChannelAlipayApp:
		if ex.AlipayApp == nil {
			ex.AlipayApp = &justap.AlipayAppExtra{}
		}
		ex.AlipayApp.PayParam = alipayOrderString(ch)
	case justap.ChannelWechatpayJSAPI:
		ex.WechatpayJSAPI.JSAPIConfig = jsConfig() // the request's payer is required
	case justap.ChannelWechatpayLite:
		ex.WechatpayLite.AppletConfig = jsConfig()
	case justap.ChannelWechatpayApp:
		if ex.WechatpayApp == nil {
			ex.WechatpayApp = &justap.WechatpayAppExtra{}
		}
		ex.WechatpayApp.AppConfig = &justap.WechatpayAppConfig{
			AppID:     fakeWechatAppID,
			PartnerID: fakeWechatMchID,
			PrepayID:  prepay,
			Package:   "Sign=WXPay",
			NonceStr:  nonce,
			Timestamp: ts,
			Sign:      signature(ch.ID),
		}
	}
	if ex.AlipayQR == nil && ex.AlipayScan == nil && ex.AlipayApp == nil && ex.AlipayWap == nil &&
		ex.AlipayPage == nil && ex.WechatpayNative == nil && ex.WechatpayJSAPI == nil && ex.WechatpayH5 == nil &&
		ex.WechatpayApp == nil && ex.WechatpayLite == nil && ex.WechatpayScan == nil && len(ex.Raw) == 0 {
		return nil
	}
	return ex
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
