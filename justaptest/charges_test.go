package justaptest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestFlow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	ch := f.create(t, params("order-1", 1999))
	if ch.ID != "ch_0000000001" || ch.Paid || !ch.CreatedAt.Equal(t0) || ch.Amount != 1999 || ch.Currency != "CNY" {
		t.Fatalf("created charge = %+v", ch)
	}
	if !ch.ExpiresAt.Equal(t0.Add(justaptest.DefaultTTL)) || ch.TTL != justaptest.DefaultTTL {
		t.Errorf("ExpiresAt = %v, TTL = %v; want created + DefaultTTL", ch.ExpiresAt, ch.TTL)
	}
	if ch.Extra == nil || ch.Extra.AlipayQR == nil || ch.Extra.AlipayQR.QRCode == "" {
		t.Fatalf("created charge has no QR code: %+v", ch.Extra)
	}

	f.clock.Advance(90 * time.Second)
	if err := f.srv.Pay(ch.ID); err != nil {
		t.Fatalf("Pay: %v", err)
	}
	got, err := f.c.Charges.Get(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Paid || !got.PaidAt.Equal(t0.Add(90*time.Second)) || got.TransactionNo != "tx_0000000001" {
		t.Fatalf("paid charge: Paid %v PaidAt %v TransactionNo %q", got.Paid, got.PaidAt, got.TransactionNo)
	}

	rf, err := f.refund(ch.ID, "refund-1", 500)
	if err != nil {
		t.Fatal(err)
	}
	if rf.ID != "re_0000000001" || rf.Amount != 500 || !rf.Status.Is(justap.RefundStatusRefunded) || !rf.Succeeded ||
		rf.ChargeID != ch.ID || rf.ChargeMerchantTradeID != "order-1" || rf.TransactionNo != "tx_0000000001" {
		t.Fatalf("refund = %+v", rf)
	}
	got, err = f.c.Charges.Get(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AmountRefunded != 500 || !got.Refunded || len(got.Refunds) != 1 || got.Refunds[0].ID != rf.ID {
		t.Fatalf("after a partial refund: AmountRefunded %v Refunded %v Refunds %v", got.AmountRefunded, got.Refunded, got.Refunds)
	}

	rest, err := f.refund(ch.ID, "refund-2", 0) // the whole rest
	if err != nil {
		t.Fatal(err)
	}
	if rest.Amount != 1499 {
		t.Errorf("full refund amount = %v, want 14.99", rest.Amount)
	}
	got, _ = f.srv.Charge(ch.ID)
	if got.AmountRefunded != 1999 || !got.Refunded {
		t.Errorf("after refunding everything: AmountRefunded %v Refunded %v", got.AmountRefunded, got.Refunded)
	}
	rl, err := f.c.Refunds.List(ctx, ch.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rl.Total != 2 || len(rl.Data) != 2 || rl.Data[0].ID != rest.ID || rl.Data[1].ID != rf.ID {
		t.Errorf("refund list: total %d, data %v; want both, newest first", rl.Total, rl.Data)
	}
	back, err := f.c.Refunds.Get(ctx, ch.ID, rf.ID)
	if err != nil || back.Amount != 500 {
		t.Errorf("Refunds.Get = %+v, %v", back, err)
	}
}

func TestAuthentication(t *testing.T) {
	srv := justaptest.NewServer(t, justaptest.WithAPIKey("sk_test_SECRETKEY123"))
	for _, tc := range []struct {
		name, method, path, key string
	}{
		{"no key", "GET", "/transaction/v1/charges?app_id=" + srv.AppID(), ""},
		{"wrong key", "GET", "/transaction/v1/charges?app_id=" + srv.AppID(), "sk_test_wrong"},
		{"wrong key on create", "POST", "/transaction/v1/charges", "sk_test_SECRETKEY12"},
		{"wrong key on an unknown path", "GET", "/nope", "sk_test_wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = `{}`
			}
			r := raw(t, srv, tc.method, tc.path, body, "X-Justap-Api-Key", tc.key)
			r.wantError(t, http.StatusUnauthorized, 16)
			if strings.Contains(string(r.body), "SECRETKEY") {
				t.Errorf("error body shows a key: %s", r.body)
			}
		})
	}
	if n := len(srv.Charges()); n != 0 {
		t.Errorf("%d charges created by unauthenticated requests", n)
	}

	// Through the SDK: ErrAuthentication.
	c, err := justap.NewClient("sk_test_other", justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()),
		justap.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Charges.Get(context.Background(), "ch_0000000001")
	if !errors.Is(err, justap.ErrAuthentication) {
		t.Errorf("Get with a wrong key: %v, want ErrAuthentication", err)
	}
}

func TestLiveModeFollowsTheKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		live bool
	}{{"sk_live_abc", true}, {"sk_test_abc", false}} {
		srv := justaptest.NewServer(t, justaptest.WithAPIKey(tc.key))
		ch, err := newClient(t, srv).Charges.Create(context.Background(), params("o", 1))
		if err != nil {
			t.Fatal(err)
		}
		if ch.LiveMode != tc.live {
			t.Errorf("key %s: live_mode = %v", tc.key, ch.LiveMode)
		}
	}
}

func TestRouting(t *testing.T) {
	srv := justaptest.NewServer(t)
	raw(t, srv, "GET", "/transaction/v1/nothing", "").wantError(t, http.StatusNotFound, 5)
	raw(t, srv, "GET", "/transaction/v1/charges/", "").wantError(t, http.StatusNotFound, 5)
	raw(t, srv, "GET", "/v1/charges", "").wantError(t, http.StatusNotFound, 5)
	r := raw(t, srv, "DELETE", "/transaction/v1/charges", "")
	r.wantError(t, http.StatusNotImplemented, 12)
	if got := r.header.Get("Allow"); got != "GET, POST" {
		t.Errorf("Allow = %q", got)
	}
	raw(t, srv, "GET", "/transaction/v1/refunds", "").wantError(t, http.StatusNotImplemented, 12)
	raw(t, srv, "GET", "/transaction/v1/charges/ch_1/reverse", "").wantError(t, http.StatusNotImplemented, 12)
	// Escaped ids are unescaped: this is a charge id, not a path.
	raw(t, srv, "GET", "/transaction/v1/charges/a%2Fb", "").wantError(t, http.StatusNotFound, 5)
	if got := srv.Count(justaptest.OpGetCharge); got != 1 {
		t.Errorf("Count(OpGetCharge) = %d, want 1 (the escaped id)", got)
	}
}

func TestRequestIDs(t *testing.T) {
	srv := justaptest.NewServer(t)
	for i, want := range []string{"req_0000000001", "req_0000000002"} {
		r := raw(t, srv, "GET", "/transaction/v1/charges?app_id="+srv.AppID(), "")
		if got := r.header.Get("X-Request-Id"); got != want {
			t.Errorf("request %d: X-Request-Id = %q, want %q", i, got, want)
		}
	}
}

func TestOtherAppIsForbidden(t *testing.T) {
	f := newFixture(t)
	ch := f.create(t, params("o", 100))
	other := justap.WithAppID("app_other")
	ctx := context.Background()
	_, err := f.c.Charges.Create(ctx, params("o2", 100), other)
	if !errors.Is(err, justap.ErrPermission) || apiError(t, err).Code != 7 {
		t.Errorf("create in another app: %v, want 403 code 7", err)
	}
	if _, err := f.c.Charges.Get(ctx, ch.ID, other); !errors.Is(err, justap.ErrPermission) {
		t.Errorf("get in another app: %v, want ErrPermission", err)
	}
	if _, err := f.c.Charges.List(ctx, nil, other); !errors.Is(err, justap.ErrPermission) {
		t.Errorf("list in another app: %v, want ErrPermission", err)
	}
	raw(t, f.srv, "GET", "/transaction/v1/charges", "").wantError(t, http.StatusBadRequest, 3) // app_id required
	if n := len(f.srv.Charges()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

// validCharge is a valid create-charge body; the validation cases edit it.
func validCharge() map[string]any {
	return map[string]any{
		"app_id": justaptest.DefaultAppID, "merchant_trade_id": "order-1", "amount": json.Number("19.99"),
		"channel": "AlipayQR", "subject": "T-shirt", "body": "size M", "client_ip": "203.0.113.7",
	}
}

func encode(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateChargeRejectsWhatTheGatewayRejects(t *testing.T) {
	srv := justaptest.NewServer(t)
	with := func(k string, v any) string {
		m := validCharge()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return encode(t, m)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"empty body", "", "empty"},
		{"not an object", `[1]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"trailing garbage", `{"app_id": "x"} {}`, "not a JSON object"},
		{"no app_id", with("app_id", nil), "app_id"},
		{"no merchant_trade_id", with("merchant_trade_id", nil), "merchant_trade_id"},
		{"merchant_trade_id of 33", with("merchant_trade_id", strings.Repeat("x", 33)), "merchant_trade_id"},
		{"no amount", with("amount", nil), "amount"},
		{"amount zero", with("amount", json.Number("0")), "amount"},
		{"amount negative", with("amount", json.Number("-1")), "amount"},
		{"amount below a fen", with("amount", json.Number("0.001")), "amount"},
		{"amount not a number", with("amount", "abc"), "amount"},
		{"amount a bool", with("amount", true), "amount"},
		{"no channel", with("channel", nil), "channel"},
		{"unspecified channel", with("channel", "CHANNEL_INVALID_UNSPECIFIED"), "channel"},
		{"unknown channel", with("channel", "Bitcoin"), "channel"},
		{"channel as a number", with("channel", 3), "channel"},
		{"no subject", with("subject", nil), "subject"},
		{"subject a number", with("subject", 5), "subject"},
		{"no body", with("body", nil), "body"},
		{"no client_ip", with("client_ip", nil), "client_ip"},
		{"bad client_ip", with("client_ip", "localhost"), "client_ip"},
		{"currency USD", with("currency", "USD"), "currency"},
		{"negative ttl", with("ttl", -1), "ttl"},
		{"ttl not a number", with("ttl", "soon"), "ttl"},
		{"metadata not strings", with("metadata", map[string]any{"n": 1}), "metadata"},
		{"extra not an object", with("extra", "alipay"), "extra"},
		{"extra entry of the wrong type", with("extra", map[string]any{"alipay_wap": "x"}), "extra"},
		{"relative notify_url", with("notify_url", "/hook"), "notify_url"},
		{"jsapi without openid", func() string {
			m := validCharge()
			m["channel"] = "WechatpayJSAPI"
			return encode(t, m)
		}(), "openid"},
		{"alipay_scan without auth_code", func() string {
			m := validCharge()
			m["channel"] = "AlipayScan"
			m["extra"] = map[string]any{"alipay_scan": map[string]any{}}
			return encode(t, m)
		}(), "auth_code"},
		{"same field twice", `{"merchant_trade_id": "a", "merchantTradeId": "b"}`, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := raw(t, srv, "POST", "/transaction/v1/charges", tc.body).wantError(t, http.StatusBadRequest, 3)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not name %q", msg, tc.want)
			}
		})
	}
	if n := len(srv.Charges()); n != 0 {
		t.Errorf("%d charges created by invalid requests", n)
	}
}

func TestCreateChargeReadsProtobufJSON(t *testing.T) {
	srv := justaptest.NewServer(t)
	// lowerCamelCase keys, numbers as strings, nulls, unknown keys.
	body := `{"appId": "app_justaptest", "merchantTradeId": "order-1", "amount": "131072.01",
		"channel": "AlipayWap", "subject": "s", "body": "b", "clientIp": "2001:db8::1",
		"ttl": "60", "description": null, "unknown_field": {"x": 1},
		"extra": {"alipay_wap": {"quit_url": "https://shop.example/quit", "future_key": [1, 2]}, "alipay_face": {"k": "v"}},
		"metadata": {"order": "1"}}`
	var ch justap.Charge
	raw(t, srv, "POST", "/transaction/v1/charges", body).wantOK(t, "Charge", &ch)
	if ch.MerchantTradeID != "order-1" || ch.Amount != 13107201 || ch.ClientIP != "2001:db8::1" || ch.TTL != time.Minute {
		t.Errorf("charge = %+v", ch)
	}
	wap := ch.Extra.AlipayWap
	var rawExtra map[string]map[string]json.RawMessage
	if err := json.Unmarshal(ch.Extra.Raw, &rawExtra); err != nil {
		t.Fatalf("extra.Raw %s: %v", ch.Extra.Raw, err)
	}
	if wap.QuitURL != "https://shop.example/quit" || wap.PayURL == "" || string(rawExtra["alipay_wap"]["future_key"]) != "[1,2]" {
		t.Errorf("alipay_wap = %+v, raw %s: the request's inputs must be kept and pay_url added", wap, ch.Extra.Raw)
	}
	if string(rawExtra["alipay_face"]["k"]) != `"v"` {
		t.Errorf("untyped extra alipay_face: raw %s", ch.Extra.Raw)
	}
	if ch.Metadata["order"] != "1" {
		t.Errorf("metadata = %v", ch.Metadata)
	}
}

func TestDuplicateMerchantTradeID(t *testing.T) {
	f := newFixture(t)
	first := f.create(t, params("order-1", 100))
	// The same id again, even with other fields, is refused.
	p := params("order-1", 999)
	p.Channel = justap.ChannelWechatpayNative
	_, err := f.c.Charges.Create(context.Background(), p)
	e := apiError(t, err)
	if !errors.Is(err, justap.ErrConflict) || e.StatusCode != 409 || e.Code != 6 || !strings.Contains(e.Message, first.ID) {
		t.Errorf("second create: %v; want 409, code 6, naming %s", err, first.ID)
	}
	if all := f.srv.Charges(); len(all) != 1 || all[0].Amount != 100 {
		t.Errorf("charges = %v, want the first only", all)
	}
	// The list finds the first by its merchant_trade_id.
	l, err := f.c.Charges.List(context.Background(), &justap.ChargeListParams{MerchantTradeID: "order-1"})
	if err != nil || len(l.Data) != 1 || l.Data[0].ID != first.ID {
		t.Errorf("list by merchant_trade_id = %v, %v", l, err)
	}
}

func TestChannelExtras(t *testing.T) {
	f := newFixture(t)
	payURL := func(id string) string { return f.srv.URL + "/justaptest/charges/" + id + "/pay" }
	payer := &justap.WechatpayPayer{OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
	for _, tc := range []struct {
		channel justap.Channel
		extra   *justap.ChargeExtra
		check   func(t *testing.T, ch *justap.Charge)
	}{
		{justap.ChannelAlipayQR, nil, func(t *testing.T, ch *justap.Charge) {
			if e := ch.Extra.AlipayQR; e.QRCode != payURL(ch.ID) || e.QRLink != payURL(ch.ID) {
				t.Errorf("alipay_qr = %+v", e)
			}
		}},
		{justap.ChannelWechatpayNative, nil, func(t *testing.T, ch *justap.Charge) {
			if e := ch.Extra.WechatpayNative; e.QRCode != payURL(ch.ID) || e.QRLink == "" {
				t.Errorf("wechatpay_native = %+v", e)
			}
		}},
		{justap.ChannelAlipayWap, &justap.ChargeExtra{AlipayWap: &justap.PayURLExtra{ReturnURL: "https://shop.example/r"}},
			func(t *testing.T, ch *justap.Charge) {
				if e := ch.Extra.AlipayWap; e.PayURL != payURL(ch.ID) || e.ReturnURL != "https://shop.example/r" {
					t.Errorf("alipay_wap = %+v", e)
				}
			}},
		{justap.ChannelAlipayPage, nil, func(t *testing.T, ch *justap.Charge) {
			if ch.Extra.AlipayPage.PayURL != payURL(ch.ID) {
				t.Errorf("alipay_page = %+v", ch.Extra.AlipayPage)
			}
		}},
		{justap.ChannelWechatpayH5, nil, func(t *testing.T, ch *justap.Charge) {
			if ch.Extra.WechatpayH5.PayURL != payURL(ch.ID) {
				t.Errorf("wechatpay_h5 = %+v", ch.Extra.WechatpayH5)
			}
		}},
		{justap.ChannelAlipayApp, nil, func(t *testing.T, ch *justap.Charge) {
			p := ch.Extra.AlipayApp.PayParam
			if !strings.Contains(p, "method=alipay.trade.app.pay") || !strings.Contains(p, ch.MerchantTradeID) {
				t.Errorf("alipay_app.pay_param = %q", p)
			}
		}},
		{justap.ChannelWechatpayJSAPI, &justap.ChargeExtra{WechatpayJSAPI: &justap.WechatpayJSAPIExtra{Payer: payer}},
			func(t *testing.T, ch *justap.Charge) {
				e := ch.Extra.WechatpayJSAPI
				if e.Payer == nil || e.Payer.OpenID != payer.OpenID {
					t.Errorf("the payer was not kept: %+v", e)
				}
				checkJSConfig(t, e.JSAPIConfig)
			}},
		{justap.ChannelWechatpayLite, &justap.ChargeExtra{WechatpayLite: &justap.WechatpayLiteExtra{Payer: payer}},
			func(t *testing.T, ch *justap.Charge) {
				checkJSConfig(t, ch.Extra.WechatpayLite.AppletConfig)
			}},
		{justap.ChannelWechatpayApp, nil, func(t *testing.T, ch *justap.Charge) {
			c := ch.Extra.WechatpayApp.AppConfig
			if c == nil || c.AppID == "" || c.PartnerID == "" || c.PrepayID == "" || c.Package != "Sign=WXPay" ||
				c.NonceStr == "" || c.Timestamp != "1740816000" || c.Sign == "" {
				t.Errorf("wechatpay_app.app_config = %+v", c)
			}
		}},
		{justap.ChannelAlipayScan, &justap.ChargeExtra{AlipayScan: &justap.AuthCodeExtra{AuthCode: "281234567890"}},
			func(t *testing.T, ch *justap.Charge) {
				if ch.Extra.AlipayScan.AuthCode != "281234567890" {
					t.Errorf("alipay_scan = %+v", ch.Extra.AlipayScan)
				}
			}},
		{justap.ChannelBalance, nil, func(t *testing.T, ch *justap.Charge) {
			if ch.Extra != nil {
				t.Errorf("BALANCE extra = %+v, want none", ch.Extra)
			}
		}},
	} {
		t.Run(string(tc.channel), func(t *testing.T) {
			p := params("o-"+string(tc.channel), 100)
			p.Channel, p.Extra = tc.channel, tc.extra
			ch := f.create(t, p)
			if ch.Extra == nil && tc.channel != justap.ChannelBalance {
				t.Fatalf("no extra")
			}
			tc.check(t, ch)
			// Reading the charge back gives the same extra.
			got, err := f.c.Charges.Get(context.Background(), ch.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ch.Extra, got.Extra); diff != "" {
				t.Errorf("extra read back differs (-create +get):\n%s", diff)
			}
		})
	}
}

func checkJSConfig(t *testing.T, c *justap.WechatpayJSConfig) {
	t.Helper()
	if c == nil || c.AppID == "" || c.Timestamp != "1740816000" || len(c.NonceStr) != 32 ||
		!strings.HasPrefix(c.Package, "prepay_id=wx") || c.SignType != "RSA" || c.PaySign == "" {
		t.Errorf("JS config = %+v", c)
	}
}

func TestTimesComeFromTheClockInWholeSeconds(t *testing.T) {
	clk := newClock()
	clk.Set(t0.Add(1500 * time.Millisecond).In(time.FixedZone("CST", 8*3600)))
	srv := justaptest.NewServer(t, justaptest.WithClock(clk.Now))
	ch, err := newClient(t, srv).Charges.Create(context.Background(), params("o", 1))
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Second); !ch.CreatedAt.Equal(want) || ch.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v UTC", ch.CreatedAt, want)
	}
}

func TestPay(t *testing.T) {
	f := newFixture(t)
	open := f.create(t, params("open", 100))
	if err := f.srv.Pay(open.ID); err != nil {
		t.Fatalf("Pay: %v", err)
	}
	reversed := f.create(t, params("reversed", 100))
	if _, err := f.c.Charges.Reverse(context.Background(), reversed.ID); err != nil {
		t.Fatal(err)
	}
	closed := f.create(t, params("closed", 100))
	if err := f.srv.CloseCharge(closed.ID); err != nil {
		t.Fatal(err)
	}
	expired := f.create(t, params("expired", 100))
	if err := f.srv.Expire(expired.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, id, want string }{
		{"unknown", "ch_nope", "no charge"},
		{"already paid", open.ID, "already paid"},
		{"reversed", reversed.ID, "reversed"},
		{"closed", closed.ID, "closed"},
		{"expired", expired.ID, "expired"},
	} {
		err := f.srv.Pay(tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pay %s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	for _, id := range []string{reversed.ID, closed.ID, expired.ID} {
		if ch, _ := f.srv.Charge(id); ch.Paid {
			t.Errorf("%s is paid after a refused Pay", id)
		}
	}
	if ch, _ := f.srv.Charge(closed.ID); !ch.Closed || !ch.ClosedAt.Equal(t0) {
		t.Errorf("closed charge: Closed %v ClosedAt %v", ch.Closed, ch.ClosedAt)
	}
	if ch, _ := f.srv.Charge(expired.ID); !ch.ExpiredAt.Equal(t0) {
		t.Errorf("expired charge: ExpiredAt %v", ch.ExpiredAt)
	}
	if err := f.srv.CloseCharge(open.ID); err == nil {
		t.Error("CloseCharge of a paid charge succeeded")
	}
	if err := f.srv.Expire(closed.ID); err == nil {
		t.Error("Expire of a closed charge succeeded")
	}
}

func TestChargesExpireByTheClock(t *testing.T) {
	f := newFixture(t)
	p := params("o", 100)
	p.TTL = time.Minute
	ch := f.create(t, p)
	f.clock.Advance(59 * time.Second)
	if got, _ := f.srv.Charge(ch.ID); !got.ExpiredAt.IsZero() {
		t.Fatalf("expired before its time: %v", got.ExpiredAt)
	}
	f.clock.Advance(time.Second)
	got, err := f.c.Charges.Get(context.Background(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiredAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("ExpiredAt = %v, want time_expire %v", got.ExpiredAt, t0.Add(time.Minute))
	}
	if err := f.srv.Pay(ch.ID); err == nil {
		t.Error("an expired charge was paid")
	}
	l, err := f.c.Charges.List(context.Background(), &justap.ChargeListParams{Expired: justap.Bool(true)})
	if err != nil || len(l.Data) != 1 || l.Data[0].ID != ch.ID {
		t.Errorf("list expired = %v, %v", l, err)
	}
}

func TestReverse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ch := f.create(t, params("o", 100))
	f.clock.Advance(time.Minute)
	got, err := f.c.Charges.Reverse(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Reversed || !got.ReversedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("reversed charge: Reversed %v ReversedAt %v", got.Reversed, got.ReversedAt)
	}
	f.clock.Advance(time.Minute)
	again, err := f.c.Charges.Reverse(ctx, ch.ID)
	if err != nil || !again.ReversedAt.Equal(got.ReversedAt) {
		t.Errorf("second reverse = %+v, %v; want the charge unchanged", again, err)
	}

	paid := f.paid(t, "paid", 100)
	_, err = f.c.Charges.Reverse(ctx, paid.ID)
	if e := apiError(t, err); e.StatusCode != 400 || e.Code != 9 || !strings.Contains(e.Message, "refund") {
		t.Errorf("reverse of a paid charge: %v, want 400 code 9", err)
	}
	if c, _ := f.srv.Charge(paid.ID); c.Reversed {
		t.Error("a paid charge was reversed")
	}
	_, err = f.c.Charges.Reverse(ctx, "ch_nope")
	if !errors.Is(err, justap.ErrNotFound) || apiError(t, err).Code != 5 {
		t.Errorf("reverse of an unknown charge: %v, want 404 code 5", err)
	}
}

func TestGetCharge(t *testing.T) {
	f := newFixture(t)
	ch := f.create(t, params("order-1", 100))
	var got justap.Charge
	raw(t, f.srv, "GET", "/transaction/v1/charges/"+ch.ID+"?app_id="+f.srv.AppID()+"&merchant_trade_id=order-1", "").
		wantOK(t, "Charge", &got)
	if got.ID != ch.ID {
		t.Errorf("got %s", got.ID)
	}
	raw(t, f.srv, "GET", "/transaction/v1/charges/"+ch.ID+"?merchant_trade_id=order-2", "").
		wantError(t, http.StatusNotFound, 5)
	_, err := f.c.Charges.Get(context.Background(), "ch_0000000099")
	if !errors.Is(err, justap.ErrNotFound) {
		t.Errorf("unknown charge: %v", err)
	}
}
