package justap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// TestRulesAgreeWithFake walks every request rule the SDK and the fake
// share through both sides: the SDK refuses the input with a
// *ValidationError naming the field before sending anything, and the fake
// refuses the same input, sent raw, with a 400. A control row shows each
// side accepts the valid base it is edited from.
func TestRulesAgreeWithFake(t *testing.T) {
	ctx := context.Background()
	srv := justaptest.NewServer(t)
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()),
		justap.WithHTTPClient(srv.Client()), justap.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	// A paid charge to refund, so that a valid refund is accepted.
	paid, err := c.Charges.Create(ctx, minimalCharge())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Pay(paid.ID); err != nil {
		t.Fatal(err)
	}

	chargeBody := map[string]any{
		"app_id": srv.AppID(), "merchant_trade_id": "rules-1", "amount": "1.00", "channel": "AlipayQR",
		"subject": "s", "body": "b", "client_ip": "203.0.113.7",
	}
	refundBody := map[string]any{
		"app_id": srv.AppID(), "charge_id": paid.ID, "merchant_refund_id": "rules-r1",
		"description": "d", "amount": "0.01",
	}
	const yearAndADay = 366*24*time.Hour + time.Second
	tests := []struct {
		name   string
		charge func(p *justap.ChargeCreateParams) // nil for a refund row
		refund func(p *justap.RefundCreateParams)
		raw    map[string]any // keys set over the valid raw body
		field  string         // "" for the control rows: both sides accept
	}{
		{name: "valid charge (control)", charge: func(*justap.ChargeCreateParams) {}},
		{name: "valid refund (control)", refund: func(*justap.RefundCreateParams) {}},

		{name: "client_ip not an address", charge: func(p *justap.ChargeCreateParams) { p.ClientIP = "localhost" },
			raw: map[string]any{"client_ip": "localhost"}, field: "ChargeCreateParams.ClientIP"},
		{name: "currency USD", charge: func(p *justap.ChargeCreateParams) { p.Currency = "USD" },
			raw: map[string]any{"currency": "USD"}, field: "ChargeCreateParams.Currency"},
		{name: "currency in lower case", charge: func(p *justap.ChargeCreateParams) { p.Currency = "cny" },
			raw: map[string]any{"currency": "cny"}, field: "ChargeCreateParams.Currency"},
		{name: "relative notify_url", charge: func(p *justap.ChargeCreateParams) { p.NotifyURL = "/notify" },
			raw: map[string]any{"notify_url": "/notify"}, field: "ChargeCreateParams.NotifyURL"},
		{name: "ftp notify_url", charge: func(p *justap.ChargeCreateParams) { p.NotifyURL = "ftp://shop.example/n" },
			raw: map[string]any{"notify_url": "ftp://shop.example/n"}, field: "ChargeCreateParams.NotifyURL"},
		{name: "relative callback_url", charge: func(p *justap.ChargeCreateParams) { p.CallbackURL = "done.html" },
			raw: map[string]any{"callback_url": "done.html"}, field: "ChargeCreateParams.CallbackURL"},
		{name: "callback_url without host", charge: func(p *justap.ChargeCreateParams) { p.CallbackURL = "https:///x" },
			raw: map[string]any{"callback_url": "https:///x"}, field: "ChargeCreateParams.CallbackURL"},
		{name: "ttl over 366 days", charge: func(p *justap.ChargeCreateParams) { p.TTL = yearAndADay },
			raw: map[string]any{"ttl": int64(yearAndADay / time.Second)}, field: "ChargeCreateParams.TTL"},
		{name: "wechatpay_jsapi without openid", charge: func(p *justap.ChargeCreateParams) { p.Channel = justap.ChannelWechatpayJSAPI },
			raw: map[string]any{"channel": "WechatpayJSAPI"}, field: "ChargeCreateParams.Extra"},
		{name: "wechatpay_jsapi with an empty openid", charge: func(p *justap.ChargeCreateParams) {
			p.Channel = justap.ChannelWechatpayJSAPI
			p.Extra = &justap.ChargeExtra{WechatpayJSAPI: &justap.WechatpayJSAPIExtra{Payer: &justap.WechatpayPayer{}}}
		}, raw: map[string]any{"channel": "WechatpayJSAPI", "extra": map[string]any{"wechatpay_jsapi": map[string]any{"payer": map[string]any{"openid": ""}}}},
			field: "ChargeCreateParams.Extra"},
		{name: "wechatpay_lite without openid", charge: func(p *justap.ChargeCreateParams) { p.Channel = justap.ChannelWechatpayLite },
			raw: map[string]any{"channel": "WechatpayLite"}, field: "ChargeCreateParams.Extra"},
		{name: "alipay_scan without auth_code", charge: func(p *justap.ChargeCreateParams) { p.Channel = justap.ChannelAlipayScan },
			raw: map[string]any{"channel": "AlipayScan"}, field: "ChargeCreateParams.Extra"},
		{name: "wechatpay_scan without auth_code", charge: func(p *justap.ChargeCreateParams) {
			p.Channel = justap.ChannelWechatpayScan
			p.Extra = &justap.ChargeExtra{AlipayScan: &justap.AuthCodeExtra{AuthCode: "134567890123456789"}} // the wrong channel's
		}, raw: map[string]any{"channel": "WechatpayScan", "extra": map[string]any{"alipay_scan": map[string]any{"auth_code": "134567890123456789"}}},
			field: "ChargeCreateParams.Extra"},

		{name: "refund extra an array", refund: func(p *justap.RefundCreateParams) { p.Extra = json.RawMessage(`[1]`) },
			raw: map[string]any{"extra": []int{1}}, field: "RefundCreateParams.Extra"},
		{name: "refund extra a string", refund: func(p *justap.RefundCreateParams) { p.Extra = json.RawMessage(`"x"`) },
			raw: map[string]any{"extra": "x"}, field: "RefundCreateParams.Extra"},
		{name: "refund relative notify_url", refund: func(p *justap.RefundCreateParams) { p.NotifyURL = "notify" },
			raw: map[string]any{"notify_url": "notify"}, field: "RefundCreateParams.NotifyURL"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			suffix := strings.Repeat("x", i%10) + string(rune('a'+i))

			// The SDK side.
			before := srv.Count(justaptest.OpCreateCharge) + srv.Count(justaptest.OpCreateRefund)
			var sdkErr error
			var raw map[string]any
			var path string
			if tt.charge != nil {
				p := minimalCharge()
				p.MerchantTradeID += suffix
				tt.charge(p)
				_, sdkErr = c.Charges.Create(ctx, p)
				raw, path = maps.Clone(chargeBody), "/transaction/v1/charges"
			} else {
				p := minimalRefund()
				p.ChargeID, p.Amount, p.MerchantRefundID = paid.ID, 1, p.MerchantRefundID+suffix
				tt.refund(p)
				_, sdkErr = c.Refunds.Create(ctx, p)
				raw, path = maps.Clone(refundBody), "/transaction/v1/refunds"
			}
			sent := srv.Count(justaptest.OpCreateCharge) + srv.Count(justaptest.OpCreateRefund) - before
			if tt.field == "" {
				if sdkErr != nil || sent != 1 {
					t.Fatalf("SDK: err = %v, sent %d; want the valid request sent and accepted", sdkErr, sent)
				}
			} else {
				var ve *justap.ValidationError
				if !errors.As(sdkErr, &ve) || ve.Field != tt.field {
					t.Errorf("SDK: err = %v, want a *ValidationError for %s", sdkErr, tt.field)
				}
				if sent != 0 {
					t.Errorf("SDK: %d requests sent for invalid input, want 0", sent)
				}
			}

			// The fake side, with the raw request.
			raw["merchant_trade_id"], raw["merchant_refund_id"] = "raw-"+suffix, "raw-r"+suffix
			if tt.charge == nil {
				delete(raw, "merchant_trade_id")
			} else {
				delete(raw, "merchant_refund_id")
			}
			maps.Copy(raw, tt.raw)
			body, err := json.Marshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Justap-Api-Key", srv.APIKey())
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case tt.field == "" && resp.StatusCode != http.StatusOK:
				t.Errorf("fake: %s → %d %s, want 200", body, resp.StatusCode, answer)
			case tt.field != "" && resp.StatusCode != http.StatusBadRequest:
				t.Errorf("fake: %s → %d %s, want 400", body, resp.StatusCode, answer)
			}
		})
	}
}
