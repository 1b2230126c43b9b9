package justap_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

// chargeJSON is a charge as the gateway writes it.
const chargeJSON = `{"object":"Charge","data":{"charge_id":"ch_1","object":"Charge","app_id":"app_test_1",
	"merchant_trade_id":"order-1","channel":"AlipayQR","amount":131072.01,"currency":"CNY","paid":false}}`

// refundJSON is a refund as the gateway writes it.
const refundJSON = `{"object":"Refund","data":{"refund_id":"re_1","charge_id":"ch_1","amount":0.5,"status":"refunding"}}`

func minimalCharge() *justap.ChargeCreateParams {
	return &justap.ChargeCreateParams{
		MerchantTradeID: "order-1",
		Amount:          justap.Amount(13107201),
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt",
		ClientIP:        "203.0.113.7",
	}
}

func minimalRefund() *justap.RefundCreateParams {
	return &justap.RefundCreateParams{
		ChargeID:         "ch_1",
		MerchantRefundID: "refund-1",
		Description:      "returned",
		Amount:           justap.Amount(50),
	}
}

// TestOperationsWire checks, for each of the seven operations, the method,
// the escaped path, the query, the body and the headers of the request, and
// that the response is decoded.
func TestOperationsWire(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		method    string
		path      string // escaped, below the base URL
		query     url.Values
		body      string // "" for none
		response  string
		call      func(c *justap.Client) (any, error)
		checkResp func(t *testing.T, v any)
	}{
		{
			name: "create charge", method: "POST", path: "/transaction/v1/charges",
			body: `{"app_id":"app_test_1","merchant_trade_id":"order-1","amount":131072.01,"channel":"AlipayQR",
				"subject":"T-shirt","body":"One T-shirt","client_ip":"203.0.113.7"}`,
			response: chargeJSON,
			call:     func(c *justap.Client) (any, error) { return c.Charges.Create(ctx, minimalCharge()) },
			checkResp: func(t *testing.T, v any) {
				if ch := v.(*justap.Charge); ch.ID != "ch_1" || ch.Amount != 13107201 || ch.Channel != justap.ChannelAlipayQR {
					t.Errorf("charge = %+v", ch)
				}
			},
		},
		{
			name: "get charge", method: "GET", path: "/transaction/v1/charges/ch_1",
			query: url.Values{"app_id": {testAppID}}, response: chargeJSON,
			call: func(c *justap.Client) (any, error) { return c.Charges.Get(ctx, "ch_1") },
			checkResp: func(t *testing.T, v any) {
				if ch := v.(*justap.Charge); ch.ID != "ch_1" {
					t.Errorf("charge = %+v", ch)
				}
			},
		},
		{
			name: "get charge, id with a slash", method: "GET", path: "/transaction/v1/charges/a%2F..%2Fb",
			query: url.Values{"app_id": {testAppID}}, response: chargeJSON,
			call: func(c *justap.Client) (any, error) { return c.Charges.Get(ctx, "a/../b") },
		},
		{
			name: "get charge, id with query and fragment characters", method: "GET",
			path:  "/transaction/v1/charges/a%20b%3Fc=d%23e%25",
			query: url.Values{"app_id": {testAppID}}, response: chargeJSON,
			call: func(c *justap.Client) (any, error) { return c.Charges.Get(ctx, "a b?c=d#e%") },
		},
		{
			name: "list charges", method: "GET", path: "/transaction/v1/charges",
			query:    url.Values{"app_id": {testAppID}},
			response: `{"object":"ChargeList","data":[{"charge_id":"ch_2"},{"charge_id":"ch_1"}],"has_more":true}`,
			call:     func(c *justap.Client) (any, error) { return c.Charges.List(ctx, nil) },
			checkResp: func(t *testing.T, v any) {
				l := v.(*justap.ChargeList)
				if len(l.Data) != 2 || l.Data[0].ID != "ch_2" || l.Data[1].ID != "ch_1" || !l.HasMore {
					t.Errorf("list = %+v", l)
				}
			},
		},
		{
			// No app_id: the API lists none for reverse (its official
			// clients stopped sending it in 3.0).
			name: "reverse charge", method: "POST", path: "/transaction/v1/charges/ch_1/reverse",
			response: chargeJSON,
			call:     func(c *justap.Client) (any, error) { return c.Charges.Reverse(ctx, "ch_1") },
		},
		{
			name: "create refund", method: "POST", path: "/transaction/v1/refunds",
			body: `{"app_id":"app_test_1","charge_id":"ch_1","merchant_refund_id":"refund-1",
				"description":"returned","amount":0.50,"metadata":{"justap_merchant_refund_id":"refund-1"}}`,
			response: refundJSON,
			call:     func(c *justap.Client) (any, error) { return c.Refunds.Create(ctx, minimalRefund()) },
			checkResp: func(t *testing.T, v any) {
				r := v.(*justap.Refund)
				if r.ID != "re_1" || r.Amount != 50 || !r.Status.Is(justap.RefundStatusRefunding) {
					t.Errorf("refund = %+v", r)
				}
			},
		},
		{
			name: "get refund", method: "GET", path: "/transaction/v1/charges/ch_1/refunds/re%2F1",
			query: url.Values{"app_id": {testAppID}}, response: refundJSON,
			call: func(c *justap.Client) (any, error) { return c.Refunds.Get(ctx, "ch_1", "re/1") },
		},
		{
			name: "list refunds", method: "GET", path: "/transaction/v1/charges/ch_1/refunds",
			query:    url.Values{"app_id": {testAppID}, "limit": {"5"}, "starting_after": {"re_9"}},
			response: `{"object":"RefundList","data":[{"refund_id":"re_1"}],"has_more":false,"total":"7"}`,
			call: func(c *justap.Client) (any, error) {
				return c.Refunds.List(ctx, "ch_1", &justap.RefundListParams{Limit: 5, StartingAfter: "re_9"})
			},
			checkResp: func(t *testing.T, v any) {
				if l := v.(*justap.RefundList); len(l.Data) != 1 || l.Total != 7 || l.HasMore {
					t.Errorf("list = %+v", l)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				testMethod(t, r, tt.method)
				if got := r.URL.EscapedPath(); got != tt.path {
					t.Errorf("path = %s, want %s", got, tt.path)
				}
				testQuery(t, r, tt.query)
				if got := r.Header.Get("X-JUSTAP-API-KEY"); got != testAPIKey {
					t.Errorf("X-JUSTAP-API-KEY = %q, want the client's key", got)
				}
				if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "justap-go/"+justap.Version) {
					t.Errorf("User-Agent = %q, want it to name justap-go/%s", ua, justap.Version)
				}
				if got := r.Header.Get("Accept"); got != "application/json" {
					t.Errorf("Accept = %q", got)
				}
				if tt.body != "" {
					if got := r.Header.Get("Content-Type"); got != "application/json" {
						t.Errorf("Content-Type = %q, want application/json", got)
					}
					testJSONBody(t, r, tt.body)
				} else if r.ContentLength > 0 {
					t.Errorf("unexpected body of %d bytes", r.ContentLength)
				}
				writeJSON(w, http.StatusOK, tt.response)
			})
			v, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if calls.Load() != 1 {
				t.Errorf("requests = %d, want 1", calls.Load())
			}
			if tt.checkResp != nil {
				tt.checkResp(t, v)
			}
		})
	}
}

// TestCreateChargeAllFields checks that every optional field is sent under
// its wire name and unit when set.
func TestCreateChargeAllFields(t *testing.T) {
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"app_id":"app_test_1","merchant_trade_id":"order-1","amount":1.00,"channel":"WechatpayJSAPI",
			"subject":"s","body":"b","client_ip":"2001:db8::1","currency":"CNY","description":"d",
			"extra":{"wechatpay_jsapi":{"payer":{"openid":"o-1"}},"unionpay_cardless_quick_pay":{"k":[1,2]}},
			"metadata":{"order":"1001"},"notify_url":"https://m.example/notify","callback_url":"https://m.example/back",
			"notification_area":"CN","ttl":900,"source":"web"}`)
		writeJSON(w, 200, chargeJSON)
	})
	p := &justap.ChargeCreateParams{
		MerchantTradeID: "order-1", Amount: justap.Amount(100), Channel: justap.ChannelWechatpayJSAPI,
		Subject: "s", Body: "b", ClientIP: "2001:db8::1", Currency: "CNY", Description: "d",
		Extra: &justap.ChargeExtra{
			WechatpayJSAPI: &justap.WechatpayJSAPIExtra{Payer: &justap.WechatpayPayer{OpenID: "o-1"}},
			Raw:            json.RawMessage(`{"unionpay_cardless_quick_pay":{"k":[1,2]}}`),
		},
		Metadata: map[string]string{"order": "1001"}, NotifyURL: "https://m.example/notify",
		CallbackURL: "https://m.example/back", NotificationArea: "CN", TTL: 15 * time.Minute, Source: "web",
	}
	if _, err := c.Charges.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// TestCreateRefundFull checks that a full refund sends no amount at all.
func TestCreateRefundFull(t *testing.T) {
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"app_id":"app_test_1","charge_id":"ch_1","merchant_refund_id":"refund-1",
			"description":"returned","metadata":{"k":"v","justap_merchant_refund_id":"refund-1"},"notify_url":"https://m.example/n",
			"notification_area":"HK","extra":{"x":1}}`)
		writeJSON(w, 200, refundJSON)
	})
	p := minimalRefund()
	p.Amount, p.FullRefund = 0, true
	p.Metadata, p.NotifyURL, p.NotificationArea, p.Extra = map[string]string{"k": "v"}, "https://m.example/n", "HK", []byte(`{"x":1}`)
	if _, err := c.Refunds.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// TestAppIDPrecedence: the params' AppID, else the call's WithAppID, else
// the client's.
func TestAppIDPrecedence(t *testing.T) {
	ctx := context.Background()
	c, mux, _ := setup(t)
	var got string
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		got = decodeExact(t, readAll(t, r)).(map[string]any)["app_id"].(string)
		writeJSON(w, 200, chargeJSON)
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("app_id")
		writeJSON(w, 200, `{"data":[]}`)
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("app_id")
		writeJSON(w, 200, chargeJSON)
	})
	withApp := func(app string) *justap.ChargeCreateParams { p := minimalCharge(); p.AppID = app; return p }
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"create: client default", func() error { _, err := c.Charges.Create(ctx, minimalCharge()); return err }, testAppID},
		{"create: per call", func() error {
			_, err := c.Charges.Create(ctx, minimalCharge(), justap.WithAppID("app_call"))
			return err
		}, "app_call"},
		{"create: params win", func() error {
			_, err := c.Charges.Create(ctx, withApp("app_params"), justap.WithAppID("app_call"))
			return err
		}, "app_params"},
		{"list: per call", func() error { _, err := c.Charges.List(ctx, nil, justap.WithAppID("app_call")); return err }, "app_call"},
		{"list: params win", func() error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{AppID: "app_params"}, justap.WithAppID("app_call"))
			return err
		}, "app_params"},
		{"get: per call", func() error { _, err := c.Charges.Get(ctx, "ch_1", justap.WithAppID("app_call")); return err }, "app_call"},
		{"get: client default after a per-call override", func() error { _, err := c.Charges.Get(ctx, "ch_1"); return err }, testAppID},
	}
	for _, tc := range cases {
		got = ""
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: app_id = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestListChargesQuery checks every filter's spelling, and that unset
// filters are not sent.
func TestListChargesQuery(t *testing.T) {
	c, mux, _ := setup(t)
	var query url.Values
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		writeJSON(w, 200, `{"object":"ChargeList","has_more":false}`)
	})
	ctx := context.Background()
	l, err := c.Charges.List(ctx, &justap.ChargeListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 0 || l.HasMore {
		t.Errorf("empty list = %+v", l)
	}
	if want := (url.Values{"app_id": {testAppID}}); query.Encode() != want.Encode() {
		t.Errorf("unfiltered query = %s, want %s", query.Encode(), want.Encode())
	}

	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	_, err = c.Charges.List(ctx, &justap.ChargeListParams{
		Limit: 100, StartingAfter: "ch_a", EndingBefore: "ch_b", MerchantTradeID: "order-1",
		Channel:   justap.ChannelWechatpayH5,
		CreatedGT: at(1700000001), CreatedGTE: at(1700000002), CreatedLT: at(1700000003), CreatedLTE: at(1700000004),
		Paid: justap.Bool(false), Refunded: justap.Bool(true), Reversed: justap.Bool(false),
		Closed: justap.Bool(true), Expired: justap.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"app_id": {testAppID}, "limit": {"100"}, "starting_after": {"ch_a"}, "ending_before": {"ch_b"},
		"merchant_trade_id": {"order-1"}, "channel": {"WechatpayH5"},
		"created.gt": {"1700000001"}, "created.gte": {"1700000002"}, "created.lt": {"1700000003"}, "created.lte": {"1700000004"},
		"paid": {"false"}, "refunded": {"true"}, "reversed": {"false"}, "closed": {"true"}, "expired": {"false"},
	}
	if query.Encode() != want.Encode() {
		t.Errorf("query =\n%s\nwant\n%s", query.Encode(), want.Encode())
	}
}
