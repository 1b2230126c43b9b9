package justap_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// TestGetByMerchantTradeIDReachesOldCharges finds a charge created two
// months ago, beyond the list's default window of about a month.
func TestGetByMerchantTradeIDReachesOldCharges(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	srv := justaptest.NewServer(t, justaptest.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}))
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()),
		justap.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old, err := c.Charges.Create(ctx, chargeParams("order-old", 500))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Charges.Create(ctx, chargeParams("order-old-2", 700)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(60 * 24 * time.Hour)
	mu.Unlock()
	if l, err := c.Charges.List(ctx, &justap.ChargeListParams{MerchantTradeID: "order-old"}); err != nil || len(l.Data) != 0 {
		t.Fatalf("the default window still reaches the old charge (%v, %v): the test proves nothing", l, err)
	}

	got, err := c.Charges.GetByMerchantTradeID(ctx, "order-old")
	if err != nil {
		t.Fatalf("GetByMerchantTradeID: %v", err)
	}
	if got.ID != old.ID || got.Amount != 500 {
		t.Errorf("got %s of %v, want %s of 5.00", got.ID, got.Amount, old.ID)
	}

	_, err = c.Charges.GetByMerchantTradeID(ctx, "order-none")
	var e *justap.Error
	if !errors.As(err, &e) || !errors.Is(err, justap.ErrNotFound) {
		t.Fatalf("unknown id: err = %v, want an *Error matching ErrNotFound", err)
	}
	for _, s := range []error{justap.ErrNoResponse, justap.ErrMalformedResponse, justap.ErrConflict} {
		if errors.Is(err, s) {
			t.Errorf("unknown id: err matches %v too", s)
		}
	}
	// The list answered 200, but the text must not say "200 OK" to a person.
	const wantText = `justap: GET /transaction/v1/charges: no charge has merchant_trade_id "order-none" — check the id and the app_id`
	if err.Error() != wantText {
		t.Errorf("unknown id: err = %q, want %q", err, wantText)
	}
}

// TestGetByMerchantTradeIDQuery checks the request: the list filter with an
// all-time bound, and only an exact match returned even when the server
// ignores the filter.
func TestGetByMerchantTradeIDQuery(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{
			"app_id": {testAppID}, "merchant_trade_id": {"order-1"}, "created.gte": {"1"},
		})
		// A server that ignores the filter: the other charge comes first.
		writeJSON(w, 200, `{"object":"ChargeList","has_more":false,"data":[`+
			`{"charge_id":"ch_2","merchant_trade_id":"order-10","amount":1},`+
			`{"charge_id":"ch_1","merchant_trade_id":"order-1","amount":2}]}`)
	})
	ch, err := c.Charges.GetByMerchantTradeID(context.Background(), "order-1")
	if err != nil || ch.ID != "ch_1" {
		t.Fatalf("got %+v, %v; want ch_1", ch, err)
	}
}

func TestGetByMerchantTradeIDValidates(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { t.Errorf("request sent: %s", r.URL) })
	for _, id := range []string{"", "123456789012345678901234567890123"} {
		_, err := c.Charges.GetByMerchantTradeID(context.Background(), id)
		var v *justap.ValidationError
		if !errors.As(err, &v) || v.Field != "merchantTradeID" {
			t.Errorf("id %q: err = %v, want a *ValidationError for merchantTradeID", id, err)
		}
	}
}

// TestCreateChargeAllFields checks that every optional field is sent under
// its wire name and unit when set.
func TestCreateChargeAllFields(t *testing.T) {
	t.Parallel()
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

// TestListChargesQuery checks every filter's spelling, and that unset
// filters are not sent.
func TestListChargesQuery(t *testing.T) {
	t.Parallel()
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
