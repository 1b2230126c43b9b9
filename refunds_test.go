package justap_test

import (
	"context"
	"net/http"
	"testing"
)

// TestCreateRefundFull checks that a full refund sends no amount at all.
func TestCreateRefundFull(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"app_id":"app_test_1","charge_id":"ch_1","merchant_refund_id":"refund-1",
			"description":"returned","metadata":{"k":"v","justap_merchant_refund_id":"refund-1"},"notify_url":"https://m.example/n",
			"notification_area":"HK","extra":{"x":1}}`)
		writeJSON(w, 200, refundJSON)
	})
	p := refundParams("ch_1", "refund-1", 50)
	p.Amount, p.FullRefund = 0, true
	p.Metadata, p.NotifyURL, p.NotificationArea, p.Extra = map[string]string{"k": "v"}, "https://m.example/n", "HK", []byte(`{"x":1}`)
	if _, err := c.Refunds.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}
