package justaptest_test

import (
	"strings"
	"testing"

	"github.com/justap-go/justap/justaptest"
)

// TestWireBodies pins one full charge body and one full refund body, byte
// for byte: every field the spec requires is present ("", 0 or false when
// empty), no string field is null, unset RFC 3339 times are left out,
// extra.alipay_qr carries its eight required keys, and refunded means
// "has refunds". Two fakes on the same clock answer the same bytes.
func TestWireBodies(t *testing.T) {
	body := encode(t, validCharge())
	var got [2]string
	var refund string
	for i := range got {
		clk := newClock()
		srv := justaptest.NewServer(t, justaptest.WithClock(clk.Now))
		r := raw(t, srv, "POST", "/transaction/v1/charges", body)
		got[i] = strings.ReplaceAll(string(r.body), srv.URL, "BASE")
		if i == 1 {
			if err := srv.Pay("ch_0000000001"); err != nil {
				t.Fatal(err)
			}
			r = raw(t, srv, "POST", "/transaction/v1/refunds", `{"app_id":"app_justaptest","charge_id":"ch_0000000001",`+
				`"merchant_refund_id":"refund-1","description":"size exchange","amount":5}`)
			refund = string(r.body)
		}
	}
	if got[0] != got[1] {
		t.Errorf("two fakes on the same clock answered differently:\n%s\n%s", got[0], got[1])
	}
	const wantCharge = `{"object":"Charge","data":{"charge_id":"ch_0000000001","object":"Charge","app_id":"app_justaptest",` +
		`"merchant_trade_id":"order-1","channel":"AlipayQR","amount":19.99,"amount_fee":0.00,"amount_refund":0.00,` +
		`"amount_royalty":0.00,"amount_settle":0.00,"currency":"CNY","subject":"T-shirt","body":"size M",` +
		`"description":"","client_ip":"203.0.113.7","paid":false,"refunded":false,"reversed":false,"closed":false,` +
		`"live_mode":false,"transaction_no":"","failure_code":"","failure_msg":"","ttl":7200,` +
		`"extra":{"alipay_qr":{"buyer_id":"","operator_id":"","product_code":"",` +
		`"qr_code":"BASE/justaptest/charges/ch_0000000001/pay","qr_code_timeout_express":"",` +
		`"qr_link":"BASE/justaptest/charges/ch_0000000001/pay","store_id":"","terminal_id":""}},` +
		`"created_at":"2025-03-01T08:00:00Z","paid_ts":"0","closed_ts":"0","time_expire":"2025-03-01T10:00:00Z","expired_ts":"0"}}`
	if got[0] != wantCharge {
		t.Errorf("create charge response:\n got %s\nwant %s", got[0], wantCharge)
	}
	const wantRefund = `{"object":"Refund","data":{"refund_id":"re_0000000001","charge_id":"ch_0000000001",` +
		`"charge_merchant_trade_id":"order-1","merchant_refund_id":"refund-1","amount":5.00,"description":"size exchange",` +
		`"status":"refunded","is_success":true,"refund_no":"rn_0000000001","transaction_no":"tx_0000000001",` +
		`"failure_code":"","failure_msg":"","created":1740816000,"created_at":"2025-03-01T08:00:00Z",` +
		`"succeed_ts":1740816000,"success_at":"2025-03-01T08:00:00Z"}}`
	if refund != wantRefund {
		t.Errorf("create refund response:\n got %s\nwant %s", refund, wantRefund)
	}
}

// TestWireExtraNullsNotEchoed: a null in the request's extra is unset, as
// the gateway reads it; the response never carries it as null.
func TestWireExtraNullsNotEchoed(t *testing.T) {
	srv := justaptest.NewServer(t, justaptest.WithClock(newClock().Now))
	m := validCharge()
	m["extra"] = map[string]any{"alipay_qr": map[string]any{"store_id": nil, "qr_code": nil}, "alipay_face": nil}
	r := raw(t, srv, "POST", "/transaction/v1/charges", encode(t, m))
	if r.status != 200 || strings.Contains(string(r.body), "null") {
		t.Fatalf("status %d, body %s: want no null", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"store_id":""`) || strings.Contains(string(r.body), "alipay_face") {
		t.Errorf("body %s: want store_id \"\" and no alipay_face", r.body)
	}
}
