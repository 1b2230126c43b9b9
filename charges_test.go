package justap_test

import (
	"context"
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
	old, err := c.Charges.Create(ctx, fakeCharge("order-old", 500))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Charges.Create(ctx, fakeCharge("order-old-2", 700)); err != nil {
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
	t.Log(err)
}

// TestGetByMerchantTradeIDQuery checks the request: the list filter with an
// all-time bound, and only an exact match returned even when the server
// ignores the filter.
func TestGetByMerchantTradeIDQuery(t *testing.T) {
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
