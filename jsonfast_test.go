package justap

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The decoders' fast paths (jsonfast.go) must give exactly what the
// reference decoders (encoding/json) give: the same value, the same error.
// These tests decode the same input both ways at each level (charge,
// extras, text fields); a level's nested values go through the same code
// on both sides, so agreement at every level is agreement of the whole.

// fastCharge is a charge carrying every key of the wire format.
const fastCharge = `{
	"charge_id": "ch_1", "object": "Charge", "app_id": "app_1", "merchant_trade_id": "order-1",
	"channel": "WechatpayJSAPI", "amount": 131072.01, "amount_fee": "0.79", "amount_refund": 1e2,
	"amount_royalty": 0.01, "amount_settle": "131071.22", "currency": "CNY", "subject": "T恤", "body": "b",
	"description": "d", "client_ip": "203.0.113.7", "paid": true, "refunded": false, "reversed": false,
	"closed": false, "live_mode": true, "transaction_no": "tx1", "failure_code": "", "failure_msg": "",
	"metadata": {"order": "1001", "备注": "x"}, "ttl": "900",
	"extra": {"wechatpay_jsapi": {"payer": {"openid": "o-1"}, "jsapi_config": {"appId": "wx1",
		"timeStamp": 1700000123, "nonceStr": "n", "package": "prepay_id=p", "signType": "RSA", "paySign": "sig"},
		"future_key": {"x": 1}}, "alipay_face": {"y": 2}},
	"credential": {"@type": "type.googleapis.com/justap.Credential", "wx_pub": {"a": 1}},
	"refunds": [{"refund_id": "re_1", "amount": "0.50", "created": 1700000200, "succeed_ts": "1700000300"}],
	"created_at": "2023-11-14T22:15:23Z", "paid_at": "2023-11-14T22:16:00.5+08:00", "paid_ts": "1",
	"closed_at": null, "closed_ts": "0", "reversed_at": "", "time_expire": "2023-11-14T23:15:23Z",
	"expired_ts": "1700000123", "brand_new_field": {"nested": [1, 2, {"deep": [true, false, null, -1.5e-3]}]}
}`

// chargeCases are charges the fast path takes (fast true) or declines.
var chargeCases = []struct {
	name string
	in   string
	fast bool
}{
	{"every key", fastCharge, true},
	{"empty", `{}`, true},
	{"whitespace around", " \n\t{\"charge_id\" : \"ch_1\" }\r\n ", true},
	{"nulls", `{"charge_id":null,"paid":null,"amount":null,"metadata":null,"extra":null,"credential":null,
		"refunds":null,"ttl":null,"created_at":null,"paid_ts":null}`, true},
	{"escapes in values", `{"subject":"T\u6064 \"q\" \\ \/ \b\f\n\r\t","body":"\ud83d\ude00"}`, true},
	{"invalid UTF-8 in a value", "{\"subject\":\"a\xffb\xc3\"}", true},
	{"lone surrogate", `{"subject":"\ud800x"}`, true},
	{"times as numbers", `{"created_at":1700000000,"paid_ts":1700000001,"closed_at":"1700000002","ttl":60}`, true},
	{"times with offsets", `{"created_at":"2023-11-14T22:15:23.123456789-07:30","paid_at":"2023-11-14T22:15:23+00:00"}`, true},
	{"metadata", `{"metadata":{"a":null,"b":"x","a":"y","\u00e9":"\u00e9"}}`, true},
	{"empty metadata", `{"metadata":{}}`, true},
	{"credential kinds", `{"credential":[1,"2",{"3":4}]}`, true},
	{"credential string", `{"credential":"s"}`, true},
	{"extra with typed nulls", `{"extra":{"alipay_qr":null,"wechatpay_native":{"qr_code":null,"qr_link":"l"}}}`, true},
	{"extra, unknown null", `{"extra":{"unionpay_cardless_quick_pay":null}}`, true},
	{"empty refunds", `{"refunds":[]}`, true},
	{"unknown keys", `{"zzz":1,"charge_ids":"x","-":2,"":3}`, true},
	{"Go field names", `{"ID":"ch_1","AmountRefunded":1}`, true},           // encoding/json ignores them too
	{"extra case-folded", `{"extra":{"ALIPAY_QR":{"qr_code":"a"}}}`, true}, // ChargeExtra declines it

	{"null", `null`, false},
	{"not an object", `[]`, false},
	{"string", `"ch_1"`, false},
	{"case-folded key", `{"Charge_ID":"ch_1"}`, false},
	{"case-folded wire key", `{"TTL":"60","Created_At":"2023-11-14T22:15:23Z"}`, false},
	{"Kelvin sign key", "{\"\u212aey\":1,\"live_mode\":true}", false},
	{"escaped key", `{"charge\u005fid":"ch_1"}`, false},
	{"non-ASCII key", `{"é":"x","charge_id":"ch_1"}`, false},
	{"repeated key", `{"amount":1,"amount":2}`, false},
	{"repeated extra", `{"extra":{"alipay_qr":{"qr_code":"a"}},"extra":{"alipay_qr":{"qr_link":"b"}}}`, false},
	{"wrong kind", `{"paid":"yes","charge_id":"ch_1"}`, false},
	{"number for a string", `{"charge_id":1,"app_id":"a"}`, false},
	{"bad amount", `{"amount":"abc"}`, false},
	{"sub-fen amount", `{"amount":0.001}`, false},
	{"bad time", `{"created_at":"yesterday"}`, false},
	{"bad ttl", `{"ttl":"1.5"}`, false},
	{"metadata of numbers", `{"metadata":{"a":1}}`, false},
	{"metadata not an object", `{"metadata":[]}`, false},
	{"extra string", `{"extra":"x"}`, false},
	{"extra array", `{"extra":[]}`, false},
	{"refunds string", `{"refunds":"x"}`, false},
	{"refunds of numbers", `{"refunds":[1]}`, false},
	{"trailing comma", `{"charge_id":"a",}`, false},
	{"unterminated", `{"charge_id":"a"`, false},
	{"trailing data", `{"charge_id":"a"} x`, false},
	{"two objects", `{"charge_id":"a"}{}`, false},
	{"leading zero", `{"zzz":01}`, false},
	{"bare minus", `{"zzz":-}`, false},
	{"bare point", `{"zzz":1.}`, false},
	{"bare exponent", `{"zzz":1e}`, false},
	{"bad literal", `{"zzz":tru}`, false},
	{"literal run-on", `{"zzz":truex}`, false},
	{"control character", "{\"subject\":\"a\x01b\"}", false},
	{"bad escape", `{"subject":"\q"}`, false},
	{"bad unicode escape", `{"subject":"\u12G4"}`, false},
	{"short unicode escape", `{"subject":"\u12"}`, false},
	{"missing colon", `{"charge_id" "a"}`, false},
	{"missing value", `{"charge_id":}`, false},
	{"unquoted key", `{charge_id:"a"}`, false},
	{"bad nested", `{"zzz":{"a":[1,2}}`, false},
	{"deep nesting", `{"zzz":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, false},
	{"empty input", ``, false},
}

// sameTime compares times to the nanosecond, offset and zone name included.
var sameTime = cmp.Comparer(func(a, b time.Time) bool {
	return a.Equal(b) && a.Format(time.RFC3339Nano+" MST") == b.Format(time.RFC3339Nano+" MST")
})

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T: %v", err, err)
}

// checkCharge decodes in both ways into copies of start and compares.
func checkCharge(t *testing.T, start Charge, in []byte) {
	t.Helper()
	got, want := start, start
	gotErr := got.UnmarshalJSON(in)
	wantErr := want.decodeReference(in)
	if g, w := errText(gotErr), errText(wantErr); g != w {
		t.Fatalf("input %q:\nerror %s\nwant  %s", in, g, w)
	}
	if wantErr != nil {
		return // on error the value is unspecified, as with encoding/json
	}
	if diff := cmp.Diff(want, got, sameTime); diff != "" {
		t.Fatalf("input %q: fast path differs from encoding/json (-want +got):\n%s", in, diff)
	}
}

func TestChargeFastPathMatchesReference(t *testing.T) {
	for _, tc := range chargeCases {
		t.Run(tc.name, func(t *testing.T) {
			checkCharge(t, Charge{}, []byte(tc.in))
			var c Charge
			if got := c.decodeFast([]byte(tc.in)); got != tc.fast {
				t.Errorf("decodeFast = %v, want %v", got, tc.fast)
			}
		})
	}
}

// TestChargeFastPathInsideDocuments decodes the cases where encoding/json
// calls UnmarshalJSON: in a list, in a response envelope.
func TestChargeFastPathInsideDocuments(t *testing.T) {
	for _, tc := range chargeCases {
		if !json.Valid([]byte(tc.in)) || strings.TrimSpace(tc.in) == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"object":"ChargeList","data":[` + tc.in + `,` + tc.in + `],"has_more":true}`
			var l ChargeList
			gotErr := json.Unmarshal([]byte(doc), &l)
			var want []*Charge
			var wantErr error
			for range 2 {
				var c *Charge
				if strings.TrimSpace(tc.in) != "null" {
					c = new(Charge)
					if err := c.decodeReference([]byte(tc.in)); err != nil {
						wantErr = err
						break
					}
				}
				want = append(want, c)
			}
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("error %v, want %v", gotErr, wantErr)
			}
			if gotErr == nil {
				if diff := cmp.Diff(want, l.Data, sameTime); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestChargeFastPathNonZeroReceiver: decoding into a charge that already
// holds values merges as encoding/json does (the fast path stands aside).
func TestChargeFastPathNonZeroReceiver(t *testing.T) {
	start := Charge{ID: "old", Metadata: map[string]string{"keep": "1"}, Credential: json.RawMessage("[1]"),
		Extra: &ChargeExtra{AlipayQR: &QRCodeExtra{QRCode: "old"}}, CreatedAt: time.Unix(1, 0)}
	for _, tc := range chargeCases {
		t.Run(tc.name, func(t *testing.T) {
			s := start
			s.Metadata = map[string]string{"keep": "1"}
			s.Extra = &ChargeExtra{AlipayQR: &QRCodeExtra{QRCode: "old"}}
			checkCharge(t, s, []byte(tc.in))
		})
	}
}

// TestChargeFastPathKnowsEveryKey: the fast path decodes every key of the
// wire format itself. A field added to Charge without a case in
// decodeFast is still decoded right (the fast path declines it), only
// slowly; this test asks for the case.
func TestChargeFastPathKnowsEveryKey(t *testing.T) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fastCharge), &all); err != nil {
		t.Fatal(err)
	}
	for _, k := range chargeKeys() {
		if _, ok := all[k]; !ok {
			t.Errorf("fastCharge lacks the key %q: add it there and to Charge.decodeFast", k)
		}
	}
	var c Charge
	if !c.decodeFast([]byte(fastCharge)) {
		t.Error("the fast path declined a charge with every key")
	}
}

// extraTypes decode each extra type both ways.
var extraTypes = []struct {
	name      string
	fast, ref func([]byte) (any, error)
}{
	{"ChargeExtra",
		func(b []byte) (any, error) { var e ChargeExtra; return e, e.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var e ChargeExtra
			return e, decodeOpenReference(b, (*chargeExtraFields)(&e), &e.Other)
		}},
	{"QRCodeExtra",
		func(b []byte) (any, error) { var e QRCodeExtra; return e, e.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var e QRCodeExtra
			return e, decodeOpenReference(b, (*qrCodeExtraFields)(&e), &e.Other)
		}},
	{"PayURLExtra",
		func(b []byte) (any, error) { var e PayURLExtra; return e, e.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var e PayURLExtra
			return e, decodeOpenReference(b, (*payURLExtraFields)(&e), &e.Other)
		}},
	{"WechatpayJSAPIExtra",
		func(b []byte) (any, error) { var e WechatpayJSAPIExtra; return e, e.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var e WechatpayJSAPIExtra
			return e, decodeOpenReference(b, (*wxJSAPIFields)(&e), &e.Other)
		}},
	{"WechatpayAppExtra",
		func(b []byte) (any, error) { var e WechatpayAppExtra; return e, e.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var e WechatpayAppExtra
			return e, decodeOpenReference(b, (*wxAppFields)(&e), &e.Other)
		}},
	{"WechatpayJSConfig",
		func(b []byte) (any, error) { var c WechatpayJSConfig; return c, c.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var c WechatpayJSConfig
			return c, decodeTextFieldsReference(b, map[string]*string{
				"appId": &c.AppID, "timeStamp": &c.TimeStamp, "nonceStr": &c.NonceStr,
				"package": &c.Package, "signType": &c.SignType, "paySign": &c.PaySign,
			})
		}},
	{"WechatpayAppConfig",
		func(b []byte) (any, error) { var c WechatpayAppConfig; return c, c.UnmarshalJSON(b) },
		func(b []byte) (any, error) {
			var c WechatpayAppConfig
			return c, decodeTextFieldsReference(b, map[string]*string{
				"appid": &c.AppID, "partnerid": &c.PartnerID, "prepayid": &c.PrepayID, "package": &c.Package,
				"noncestr": &c.NonceStr, "timestamp": &c.Timestamp, "sign": &c.Sign,
			})
		}},
}

var extraInputs = []string{
	`{}`, `null`, `[]`, `"x"`, `1`, ``, `{`, `{"a":1,}`,
	`{"alipay_qr":{"qr_code":"c","qr_link":"l","size":300},"alipay_face":{"y":[1,{"z":null}]},"zz":null}`,
	`{"alipay_qr":null,"wechatpay_native":{"qr_code":"weixin://x"}}`,
	`{"alipay_qr":"x"}`, `{"alipay_qr":[]}`, `{"alipay_qr":{"qr_code":1}}`,
	`{"ALIPAY_QR":{"qr_code":"c"}}`, `{"alipay_qr":{},"alipay_qr":{}}`, `{"x":1,"x":2}`,
	`{"alipay_wap":{"pay_url":"https://p","quit_url":"q","return_url":"r"}}`,
	`{"wechatpay_jsapi":{"payer":{"openid":"o"},"jsapi_config":{"appId":"wx","timeStamp":"1"}}}`,
	`{"wechatpay_jsapi":{"payer":{"OpenID":"o"}}}`, `{"wechatpay_jsapi":{"payer":"o"}}`,
	`{"wechatpay_app":{"app_config":{"appid":"a","timestamp":1700000000,"sign":"s"}}}`,
	`{"qr_code":"c","qr_link":"l","extra_key":{"a":"b"}}`, `{"qr_code":null}`, `{"QR_Code":"c"}`,
	`{"qr_code":"\u00e9\n"}`, `{"qr_code":"c","qr_code":"d"}`,
	`{"pay_url":"u","return_url":"r","quit_url":"q","unknown":[1,2]}`,
	`{"payer":{"openid":"o"},"jsapi_config":{"appId":"a"},"x":true}`, `{"payer":null,"jsapi_config":null}`,
	`{"jsapi_config":"x"}`, `{"app_config":{"appid":1,"sign":null}}`,
	`{"appId":"wx","timeStamp":1700000123,"nonceStr":"n","package":"p","signType":"RSA","paySign":"s"}`,
	`{"appId":null,"timeStamp":-1.5e3,"nonceStr":"\u00e9"}`, `{"appId":true}`, `{"appId":{}}`,
	`{"appId":"a","appId":"b"}`, `{"appid":"a","partnerid":"p","prepayid":"pp","noncestr":"n","timestamp":"t","sign":"s"}`,
	`{"app\u0049d":"x"}`, `{"é":"x","appId":"a"}`, `{"appId":"a"} x`,
}

func TestExtrasFastPathMatchesReference(t *testing.T) {
	for _, et := range extraTypes {
		for _, in := range extraInputs {
			got, gotErr := et.fast([]byte(in))
			want, wantErr := et.ref([]byte(in))
			if g, w := errText(gotErr), errText(wantErr); g != w {
				t.Errorf("%s %q:\nerror %s\nwant  %s", et.name, in, g, w)
				continue
			}
			if wantErr == nil {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s %q: fast path differs (-want +got):\n%s", et.name, in, diff)
				}
			}
		}
	}
}

// TestDecodeTimeMatchesParse: decodeTime reads RFC 3339 text exactly as
// time.Parse(time.RFC3339Nano) does, including the forms RFC 3339 does
// not allow but time.Parse accepts.
func TestDecodeTimeMatchesParse(t *testing.T) {
	for _, s := range []string{
		"2023-11-14T22:15:23Z", "2023-11-14T22:15:23.5Z", "2023-11-14T22:15:23.123456789Z",
		"2023-11-14T22:15:23.1234567891234Z", "2023-11-14T22:15:23,5Z", "2023-11-14T22:15:23+08:00",
		"2023-11-14T22:15:23-00:00", "2023-11-14T22:15:23+24:00", "2023-11-14T22:15:23+23:60",
		"2023-11-14T2:15:23Z", "2023-11-14T22:15:23z", "2023-11-14t22:15:23Z", "2023-11-14 22:15:23Z",
		"2023-11-14T22:15:23", "2023-11-14T22:15Z", "2023-02-30T00:00:00Z", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999+14:00", "2023-11-14T22:15:23.Z", "2023-11-14T24:00:00Z",
		"2023-11-14", "1-1", "2023-11-14T22:15:23+0800", "2023-11-14T22:15:60Z",
	} {
		got, gotErr := decodeTime([]byte(`"` + s + `"`))
		want, wantErr := time.Parse(time.RFC3339Nano, s)
		if (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%q: error %v, time.Parse's %v", s, gotErr, wantErr)
			continue
		}
		if wantErr == nil && (!got.Equal(want) || got.Format(time.RFC3339Nano+" MST") != want.Format(time.RFC3339Nano+" MST")) {
			t.Errorf("%q: %v, time.Parse gives %v", s, got, want)
		}
		if wantErr != nil && !strings.Contains(gotErr.Error(), wantErr.Error()) {
			t.Errorf("%q: error %q does not carry time.Parse's %q", s, gotErr, wantErr)
		}
	}
}

// FuzzChargeFastPath compares the fast path with encoding/json on any
// input. The seeds run with the tests; go test -fuzz FuzzChargeFastPath
// searches further.
func FuzzChargeFastPath(f *testing.F) {
	for _, tc := range chargeCases {
		f.Add([]byte(tc.in))
	}
	for _, in := range extraInputs {
		f.Add([]byte(`{"extra":` + in + `}`))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkCharge(t, Charge{}, in)
	})
}

// FuzzExtrasFastPath compares the extras' fast paths with encoding/json.
func FuzzExtrasFastPath(f *testing.F) {
	for _, in := range extraInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, et := range extraTypes {
			got, gotErr := et.fast(in)
			want, wantErr := et.ref(in)
			if g, w := errText(gotErr), errText(wantErr); g != w {
				t.Fatalf("%s %q:\nerror %s\nwant  %s", et.name, in, g, w)
			}
			if wantErr == nil {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%s %q: fast path differs (-want +got):\n%s", et.name, in, diff)
				}
			}
		}
	})
}
