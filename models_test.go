package justap_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/justap-go/justap"
)

func TestAmountDecode(t *testing.T) {
	tests := []struct {
		in   string
		want justap.Amount
	}{
		{`0.01`, 1},
		{`1e2`, 10000},
		{`"12.30"`, 1230},
		{`131072.01`, 13107201},
		{`"131072.01"`, 13107201},
		{`1`, 100},
		{`1.00`, 100},
		{`0`, 0},
		{`-0.5`, -50},
		{`1.2E-1`, 12},
		{`0.0100`, 1},
		{`12345678901234.56`, 1234567890123456},
		{`92233720368547758.07`, 9223372036854775807},
		{`-92233720368547758.08`, -9223372036854775808},
		{`1700000123.45`, 170000012345}, // float32 would give 1700000128
	}
	for _, tt := range tests {
		var got justap.Amount
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("decode %s: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("decode %s = %d fen, want %d", tt.in, int64(got), int64(tt.want))
		}
	}
}

func TestAmountDecodeRejects(t *testing.T) {
	for _, in := range []string{`0.001`, `1e-3`, `"abc"`, `""`, `"1.2.3"`, `"NaN"`, `"Infinity"`, `"1e"`,
		`92233720368547758.08`, `1e30`, `"0x10"`, `" 1"`, `true`} {
		var a justap.Amount
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("decode %s = %d, want an error", in, int64(a))
		}
	}
}

func TestAmountEncode(t *testing.T) {
	tests := []struct {
		in   justap.Amount
		want string
	}{
		{13107201, "131072.01"},
		{100, "1.00"},
		{1, "0.01"},
		{0, "0.00"},
		{-50, "-0.50"},
		{-9223372036854775808, "-92233720368547758.08"},
		{9223372036854775807, "92233720368547758.07"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("encode %d = %s, %v; want %s", int64(tt.in), b, err, tt.want)
		}
		if s := tt.in.String(); s != tt.want {
			t.Errorf("String(%d) = %s, want %s", int64(tt.in), s, tt.want)
		}
		back, err := justap.ParseAmount(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("ParseAmount(%s) = %d, %v; want %d", tt.want, int64(back), err, int64(tt.in))
		}
	}
	if a, err := justap.Yuan(12); a != 1200 || err != nil {
		t.Errorf("Yuan(12) = %d, %v", int64(a), err)
	}
}

// TestYuanNeverWraps: Yuan refuses every count of yuan whose fen do not fit
// in an int64, rather than wrapping (Yuan(184467440737095517) was 84 fen).
func TestYuanNeverWraps(t *testing.T) {
	const most = math.MaxInt64 / 100
	for _, y := range []int64{0, 1, -1, most, -most, math.MinInt64 / 100} {
		a, err := justap.Yuan(y)
		if err != nil || int64(a) != y*100 {
			t.Errorf("Yuan(%d) = %d, %v; want %d", y, int64(a), err, y*100)
		}
	}
	for _, y := range []int64{most + 1, -most - 1, 184467440737095517, math.MaxInt64, math.MinInt64} {
		if a, err := justap.Yuan(y); err == nil || a != 0 {
			t.Errorf("Yuan(%d) = %d, %v; want 0 and an error", y, int64(a), err)
		}
	}
}

// FuzzAmountRoundTrip: every int64 of fen goes out as text that comes back
// as the same amount.
func FuzzAmountRoundTrip(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 13107201, 1 << 62, -1 << 63, 1<<63 - 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		b, err := json.Marshal(justap.Amount(v))
		if err != nil {
			t.Fatal(err)
		}
		var back justap.Amount
		if err := json.Unmarshal(b, &back); err != nil || int64(back) != v {
			t.Fatalf("%d → %s → %d, %v", v, b, int64(back), err)
		}
	})
}

// TestChargeDecodeWire decodes a charge carrying every field in the forms
// the gateway uses: int64 as strings, money as yuan, times as RFC 3339.
func TestChargeDecodeWire(t *testing.T) {
	const in = `{
		"charge_id": "ch_1", "object": "Charge", "app_id": "app_1", "merchant_trade_id": "order-1",
		"channel": "WechatpayJSAPI", "amount": 131072.01, "amount_fee": "0.79", "amount_refund": 1e2,
		"amount_royalty": 0.01, "amount_settle": "131071.22", "currency": "CNY", "subject": "s", "body": "b",
		"description": "d", "client_ip": "203.0.113.7", "paid": true, "refunded": false, "reversed": false,
		"closed": false, "live_mode": true, "transaction_no": "tx1", "failure_code": "", "failure_msg": "",
		"metadata": {"order": "1001"}, "ttl": "900",
		"extra": {"wechatpay_jsapi": {"payer": {"openid": "o-1"}, "jsapi_config": {"appId": "wx1",
			"timeStamp": 1700000123, "nonceStr": "n", "package": "prepay_id=p", "signType": "RSA", "paySign": "sig"},
			"future_key": {"x": 1}}, "alipay_face": {"y": 2}},
		"credential": {"@type": "type.googleapis.com/justap.Credential", "wx_pub": {"a": 1}},
		"refunds": [{"refund_id": "re_1", "amount": "0.50", "created": 1700000200, "succeed_ts": "1700000300"}],
		"created_at": "2023-11-14T22:15:23Z", "paid_at": "2023-11-14T22:16:00.5+08:00", "paid_ts": "1",
		"closed_at": null, "closed_ts": "0", "reversed_at": "", "time_expire": "2023-11-14T23:15:23Z",
		"expired_ts": "1700000123", "brand_new_field": {"nested": [1, 2]}
	}`
	var ch justap.Charge
	if err := json.Unmarshal([]byte(in), &ch); err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("", 8*3600)
	want := justap.Charge{
		ID: "ch_1", Object: "Charge", AppID: "app_1", MerchantTradeID: "order-1",
		Channel: justap.ChannelWechatpayJSAPI, Amount: 13107201, AmountFee: 79, AmountRefunded: 10000,
		AmountRoyalty: 1, AmountSettle: 13107122, Currency: "CNY", Subject: "s", Body: "b", Description: "d",
		ClientIP: "203.0.113.7", Paid: true, LiveMode: true, TransactionNo: "tx1",
		Metadata: map[string]string{"order": "1001"},
		Extra: &justap.ChargeExtra{
			WechatpayJSAPI: &justap.WechatpayJSAPIExtra{
				Payer: &justap.WechatpayPayer{OpenID: "o-1"},
				JSAPIConfig: &justap.WechatpayJSConfig{AppID: "wx1", Timestamp: "1700000123", NonceStr: "n",
					Package: "prepay_id=p", SignType: "RSA", PaySign: "sig"},
			},
		},
		Credential: json.RawMessage(`{"@type": "type.googleapis.com/justap.Credential", "wx_pub": {"a": 1}}`),
		Refunds: []*justap.Refund{{ID: "re_1", Amount: 50,
			CreatedAt: time.Unix(1700000200, 0), SucceededAt: time.Unix(1700000300, 0)}},
		TTL:       15 * time.Minute,
		CreatedAt: time.Date(2023, 11, 14, 22, 15, 23, 0, time.UTC),
		PaidAt:    time.Date(2023, 11, 14, 22, 16, 0, 5e8, cst), // paid_at wins over paid_ts
		ExpiresAt: time.Date(2023, 11, 14, 23, 15, 23, 0, time.UTC),
		ExpiredAt: time.Unix(1700000123, 0),
	}
	if diff := cmp.Diff(want, ch, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
		cmpopts.IgnoreFields(justap.ChargeExtra{}, "Raw")); diff != "" {
		t.Errorf("charge mismatch (-want +got):\n%s", diff)
	}
	// The keys this package does not type are kept in Raw.
	if got := rawEntry(t, ch.Extra, "wechatpay_jsapi", "future_key"); got != `{"x": 1}` {
		t.Errorf("wechatpay_jsapi.future_key = %s", got)
	}
	if got := rawEntry(t, ch.Extra, "alipay_face", "y"); got != `2` {
		t.Errorf("alipay_face.y = %s", got)
	}
}

// rawEntry returns key inside the channel entry of e.Raw, as raw JSON.
func rawEntry(t *testing.T, e *justap.ChargeExtra, channel, key string) string {
	t.Helper()
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(e.Raw, &m); err != nil {
		t.Fatalf("extra.Raw %s: %v", e.Raw, err)
	}
	return string(m[channel][key])
}

// TestTimeAndInt64Forms: each time and int64 field reads numbers and
// strings, and absent, null, "", "0" and 0 are the zero value.
func TestTimeAndInt64Forms(t *testing.T) {
	const sec = 1700000123
	for _, v := range []string{`1700000123`, `"1700000123"`, `"2023-11-14T22:15:23Z"`} {
		var ch justap.Charge
		in := `{"paid_ts":` + v + `,"closed_at":` + v + `,"expired_ts":` + v + `,"created_at":` + v + `}`
		if err := json.Unmarshal([]byte(in), &ch); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		for name, got := range map[string]time.Time{"PaidAt": ch.PaidAt, "ClosedAt": ch.ClosedAt,
			"ExpiredAt": ch.ExpiredAt, "CreatedAt": ch.CreatedAt} {
			if got.Unix() != sec {
				t.Errorf("%s from %s = %v (unix %d), want unix %d", name, v, got, got.Unix(), sec)
			}
		}
		var r justap.Refund
		if err := json.Unmarshal([]byte(`{"created":`+v+`,"succeed_ts":`+v+`}`), &r); err != nil {
			t.Fatal(err)
		}
		if r.CreatedAt.Unix() != sec || r.SucceededAt.Unix() != sec {
			t.Errorf("refund times from %s = %v, %v", v, r.CreatedAt, r.SucceededAt)
		}
	}
	for _, v := range []string{`null`, `""`, `"0"`, `0`} {
		var ch justap.Charge
		in := `{"ttl":` + v + `,"paid_at":` + v + `,"paid_ts":` + v + `,"created_at":` + v + `,"time_expire":` + v + `,"expired_ts":` + v + `}`
		if err := json.Unmarshal([]byte(in), &ch); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !ch.PaidAt.IsZero() || !ch.CreatedAt.IsZero() || !ch.ExpiresAt.IsZero() || !ch.ExpiredAt.IsZero() || ch.TTL != 0 {
			t.Errorf("from %s: want zero values, got %+v", v, ch)
		}
	}
	var ch justap.Charge
	if err := json.Unmarshal([]byte(`{}`), &ch); err != nil || !ch.PaidAt.IsZero() || !ch.CreatedAt.IsZero() {
		t.Errorf("absent times: %v, %+v", err, ch)
	}
	// int64 precision: a value no float64 holds exactly.
	var l justap.RefundList
	if err := json.Unmarshal([]byte(`{"total":"9007199254740993"}`), &l); err != nil || l.Total != 9007199254740993 {
		t.Errorf("total = %d, %v", l.Total, err)
	}
	if err := json.Unmarshal([]byte(`{"total":9007199254740993}`), &l); err != nil || l.Total != 9007199254740993 {
		t.Errorf("total = %d, %v", l.Total, err)
	}
	for _, bad := range []string{`{"paid_ts":"yesterday"}`, `{"created_at":"2023-13-45T00:00:00Z"}`, `{"ttl":"1.5"}`} {
		if err := json.Unmarshal([]byte(bad), &ch); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

// TestUnknownValuesDecode: channels, statuses and fields this package does
// not know decode without error.
func TestUnknownValuesDecode(t *testing.T) {
	var l justap.ChargeList
	in := `{"object":"ChargeList","data":[{"charge_id":"ch_1","channel":"DigitalRMB","new_field":1,
		"extra":{"digital_rmb":{"qr":"x"}}}],"has_more":false,"cursor_v2":"abc"}`
	if err := json.Unmarshal([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	if ch := l.Data[0]; ch.Channel != "DigitalRMB" || ch.Channel.Valid() || rawEntry(t, ch.Extra, "digital_rmb", "qr") != `"x"` {
		t.Errorf("charge = %+v", ch)
	}
	var r justap.Refund
	if err := json.Unmarshal([]byte(`{"refund_id":"re_1","status":"REFUNDED","is_success":true,"x":[]}`), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Status.Is(justap.RefundStatusRefunded) || r.Status.Is(justap.RefundStatusRefunding) || !r.Succeeded {
		t.Errorf("refund = %+v", r)
	}
}

// TestRefundMerchantRefundIDFromMetadata: a refund whose wire form has no
// merchant_refund_id takes it from the metadata key Create records it
// under; a merchant_refund_id on the wire wins.
func TestRefundMerchantRefundIDFromMetadata(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"refund_id":"re_1","metadata":{"justap_merchant_refund_id":"rf-1"}}`, "rf-1"},
		{`{"refund_id":"re_1","merchant_refund_id":"","metadata":{"justap_merchant_refund_id":"rf-1"}}`, "rf-1"},
		{`{"refund_id":"re_1","merchant_refund_id":"wire-1","metadata":{"justap_merchant_refund_id":"rf-1"}}`, "wire-1"},
		{`{"refund_id":"re_1","metadata":{"k":"v"}}`, ""},
	} {
		var r justap.Refund
		if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if r.MerchantRefundID != tc.want {
			t.Errorf("%s: MerchantRefundID = %q, want %q", tc.in, r.MerchantRefundID, tc.want)
		}
	}
	var l justap.RefundList
	in := `{"data":[{"refund_id":"re_1","metadata":{"justap_merchant_refund_id":"rf-1"}}]}`
	if err := json.Unmarshal([]byte(in), &l); err != nil || l.Data[0].MerchantRefundID != "rf-1" {
		t.Errorf("in a list: %v, %+v", err, l.Data)
	}
}

// TestChargeExtraRawOwnsItsBytes: a decoded Raw does not share the bytes
// it was decoded from, which the caller may reuse.
func TestChargeExtraRawOwnsItsBytes(t *testing.T) {
	const extra = `{"alipay_face":{"y":2}}`
	in := []byte(`{"object":"ChargeList","data":[{"charge_id":"ch_1","extra":` + extra + `},{"charge_id":"ch_2","extra":` + extra + `}]}`)
	var l justap.ChargeList
	if err := json.Unmarshal(in, &l); err != nil {
		t.Fatal(err)
	}
	var ch justap.Charge
	if err := json.Unmarshal(in[len(`{"object":"ChargeList","data":[`):len(in)-len(`,{"charge_id":"ch_2","extra":`+extra+`}]}`)], &ch); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	for _, e := range []*justap.ChargeExtra{l.Data[0].Extra, l.Data[1].Extra, ch.Extra} {
		if string(e.Raw) != extra {
			t.Errorf("Raw after the input was overwritten = %s, want %s", e.Raw, extra)
		}
	}
}

// TestEncodeRoundTrip: what the package encodes, it decodes to the same
// value, and the encoding is the gateway's (int64 as strings, yuan).
func TestEncodeRoundTrip(t *testing.T) {
	ch := justap.Charge{
		ID: "ch_1", Amount: 13107201, AmountRefunded: 1, Channel: justap.ChannelAlipayWap, TTL: time.Hour,
		PaidAt: time.Unix(1700000123, 0).UTC(),
		Extra: &justap.ChargeExtra{AlipayWap: &justap.PayURLExtra{PayURL: "https://pay.example/x"},
			Raw: json.RawMessage(`{"alipay_wap":{"k":"v"}}`)},
		Refunds: []*justap.Refund{{ID: "re_1", Amount: 1, CreatedAt: time.Unix(1700000200, 0).UTC()}},
	}
	b, err := json.Marshal(ch)
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"amount":131072.01`, `"amount_refund":0.01`, `"paid_ts":"1700000123"`,
		`"paid_at":"2023-11-14T22:15:23Z"`, `"ttl":3600`, `"pay_url":"https://pay.example/x"`, `"k":"v"`,
		`"created":1700000200`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("encoding lacks %s:\n%s", frag, b)
		}
	}
	var back justap.Charge
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ch, back, cmpopts.IgnoreFields(justap.ChargeExtra{}, "Raw")); diff != "" {
		t.Errorf("round trip (-sent +decoded):\n%s", diff)
	}
	if got := rawEntry(t, back.Extra, "alipay_wap", "k"); got != `"v"` {
		t.Errorf("alipay_wap.k after the round trip = %s, raw %s", got, back.Extra.Raw)
	}
}

// TestChargeExtraRawMerge: encoding writes Raw's keys with the typed entries
// over them, keeping the keys of Raw's entry that the typed one does not
// write; decoding keeps the whole object in Raw.
func TestChargeExtraRawMerge(t *testing.T) {
	e := justap.ChargeExtra{
		AlipayWap: &justap.PayURLExtra{ReturnURL: "https://new.example/back"},
		Raw: json.RawMessage(`{"alipay_wap":{"return_url":"https://old.example/back","time_expire":"5m"},
			"unionpay_qr":{"k":[1,2]}}`),
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alipay_wap":{"return_url":"https://new.example/back","time_expire":"5m"},"unionpay_qr":{"k":[1,2]}}`
	if string(b) != want {
		t.Errorf("encoded %s\nwant    %s", b, want)
	}
	var back justap.ChargeExtra
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.AlipayWap == nil || back.AlipayWap.ReturnURL != "https://new.example/back" || string(back.Raw) != want {
		t.Errorf("decoded %+v, raw %s", back.AlipayWap, back.Raw)
	}
	for _, raw := range []string{`[1]`, `"x"`, `{`} {
		if b, err := json.Marshal(justap.ChargeExtra{Raw: json.RawMessage(raw)}); err == nil {
			t.Errorf("Raw %s encoded as %s, want an error", raw, b)
		}
	}
}

// TestWechatTextForms: WeChat's config fields read text, escaped text and
// numbers; other kinds are refused.
func TestWechatTextForms(t *testing.T) {
	in := `{"wechatpay_app":{"app_config":{"appid":"wx\u00e9","timestamp":1700000123,"noncestr":null,"sign":"a\"b"}}}`
	var e justap.ChargeExtra
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	c := e.WechatpayApp.AppConfig
	if c.AppID != "wxé" || c.Timestamp != "1700000123" || c.NonceStr != "" || c.Sign != `a"b` {
		t.Errorf("config = %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"wechatpay_app":{"app_config":{"appid":true}}}`), &e); err == nil {
		t.Error("appid true: want an error")
	}
}

// FuzzChargeExtraRoundTrip: an extra that decodes encodes without error,
// and decodes again to the same typed entries.
func FuzzChargeExtraRoundTrip(f *testing.F) {
	for _, s := range []string{
		`{"alipay_qr":{"qr_code":"q","x":1},"alipay_face":{"y":[2]}}`,
		`{"wechatpay_jsapi":{"payer":{"openid":"o"},"jsapi_config":{"timeStamp":1700000123,"paySign":"s\u00e9"}}}`,
		`{"wechatpay_app":{"app_config":{"timestamp":"1","sign":null}},"alipay_wap":null}`,
		`{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e justap.ChargeExtra
		if json.Unmarshal(b, &e) != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("%s decoded but does not encode: %v", b, err)
		}
		var back justap.ChargeExtra
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s encoded as %s, which does not decode: %v", b, out, err)
		}
		if diff := cmp.Diff(e, back, cmpopts.IgnoreFields(justap.ChargeExtra{}, "Raw")); diff != "" {
			t.Fatalf("%s → %s changed the typed entries (-first +second):\n%s", b, out, diff)
		}
	})
}
