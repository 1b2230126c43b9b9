package justap_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/justap-go/justap"
)

// Walk every paid charge since a date, two per page: All requests the next
// page with starting_after = the last charge of the page before, and sends
// the filters on every page.
func ExampleChargesService_All() {
	// A stand-in for Justap with three paid charges, newest first.
	pages := map[string]string{
		"": `{"object": "ChargeList", "has_more": true, "data": [
			{"charge_id": "ch_3", "amount": "19.99", "paid": true},
			{"charge_id": "ch_2", "amount": "5.00", "paid": true}]}`,
		"ch_2": `{"object": "ChargeList", "has_more": false, "data": [
			{"charge_id": "ch_1", "amount": "0.01", "paid": true}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("GET", r.URL.Path+"?"+r.URL.RawQuery)
		fmt.Fprint(w, pages[r.URL.Query().Get("starting_after")])
	}))
	defer srv.Close()

	c, err := justap.NewClient("sk_test_example",
		justap.WithBaseURL(srv.URL), justap.WithAppID("app_1"), justap.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	var total justap.Amount
	for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{
		Limit:      2,
		CreatedGTE: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), // without it, about the last month
		Paid:       justap.Bool(true),
	}) {
		if err != nil {
			log.Fatal(err) // the walk ends after an error
		}
		fmt.Println(ch.ID, ch.Amount)
		total += ch.Amount
	}
	fmt.Println("total", total)
	// Output:
	// GET /transaction/v1/charges?app_id=app_1&created.gte=1704067200&limit=2&paid=true
	// ch_3 19.99
	// ch_2 5.00
	// GET /transaction/v1/charges?app_id=app_1&created.gte=1704067200&limit=2&paid=true&starting_after=ch_2
	// ch_1 0.01
	// total 25.00
}

// Walk every refund of a charge.
func ExampleRefundsService_All() {
	// A stand-in for Justap: charge ch_1 has three refunds, newest first.
	pages := map[string]string{
		"": `{"object": "RefundList", "has_more": true, "total": 3, "data": [
			{"refund_id": "re_3", "charge_id": "ch_1", "amount": 1.50, "status": "refunding"},
			{"refund_id": "re_2", "charge_id": "ch_1", "amount": 2.00, "status": "refunded"}]}`,
		"re_2": `{"object": "RefundList", "has_more": false, "total": 3, "data": [
			{"refund_id": "re_1", "charge_id": "ch_1", "amount": 0.50, "status": "refunded"}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("GET", r.URL.Path+"?"+r.URL.RawQuery)
		fmt.Fprint(w, pages[r.URL.Query().Get("starting_after")])
	}))
	defer srv.Close()

	c, err := justap.NewClient("sk_test_example",
		justap.WithBaseURL(srv.URL), justap.WithAppID("app_1"), justap.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}

	for rf, err := range c.Refunds.All(context.Background(), "ch_1", &justap.RefundListParams{Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rf.ID, rf.Amount, rf.Status)
	}
	// Output:
	// GET /transaction/v1/charges/ch_1/refunds?app_id=app_1&limit=2
	// re_3 1.50 refunding
	// re_2 2.00 refunded
	// GET /transaction/v1/charges/ch_1/refunds?app_id=app_1&limit=2&starting_after=re_2
	// re_1 0.50 refunded
}

// Read the three newest charges: Take stops the walk after the third, and
// Limit keeps that to one small page.
func ExampleTake() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("GET", r.URL.Path+"?"+r.URL.RawQuery)
		fmt.Fprint(w, `{"object": "ChargeList", "has_more": true, "data": [
			{"charge_id": "ch_9"}, {"charge_id": "ch_8"}, {"charge_id": "ch_7"}]}`)
	}))
	defer srv.Close()

	c, err := justap.NewClient("sk_test_example",
		justap.WithBaseURL(srv.URL), justap.WithAppID("app_1"), justap.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}

	newest := c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 3})
	for ch, err := range justap.Take(newest, 3) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ch.ID)
	}
	// Output:
	// GET /transaction/v1/charges?app_id=app_1&limit=3
	// ch_9
	// ch_8
	// ch_7
}
