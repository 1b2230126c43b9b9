package justap_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// exampleClient starts a fake gateway on a fixed clock and returns a client
// for it, and a function that stops it. In real code, the client is made
// once with the live key and base URL.
// exampleClient starts a fake whose clock stands still at 2026-01-02
// 10:00 UTC (opts may give it another), and a client of it.
func exampleClient(opts ...justaptest.Option) (*justap.Client, *justaptest.Server) {
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	srv, err := justaptest.StartServer(append([]justaptest.Option{justaptest.WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		panic(err)
	}
	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		panic(err)
	}
	return c, srv
}

// exampleCharge creates a charge for an order on c.
func exampleCharge(c *justap.Client, order string, amount justap.Amount) *justap.Charge {
	ch, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: order,
		Amount:          amount,
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
	})
	if err != nil {
		panic(err)
	}
	return ch
}

// examplePaidCharge is exampleCharge, paid by the customer on the fake.
func examplePaidCharge(c *justap.Client, srv *justaptest.Server, order string, amount justap.Amount) *justap.Charge {
	ch := exampleCharge(c, order, amount)
	if err := srv.Pay(ch.ID); err != nil {
		panic(err)
	}
	return ch
}

func ExampleNewClient() {
	c, err := justap.NewClient("sk_test_0123456789",
		justap.WithBaseURL(justap.HostedBaseURL),
		justap.WithAppID("app_1001"),
		justap.WithMaxRetries(3),
		justap.WithRequestTimeout(10*time.Second),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println(c) // the key is never printed
	// Output: justap.Client{BaseURL: "https://trade.justap.cn/", AppID: "app_1001", APIKey: [redacted]}
}

func ExampleChargesService_Create() {
	c, srv := exampleClient()
	defer srv.Close()

	ch, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001",
		Amount:          justap.Amount(1999), // ¥19.99
		Channel:         justap.ChannelWechatpayJSAPI,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
		TTL:             15 * time.Minute,
		Extra: &justap.ChargeExtra{
			WechatpayJSAPI: &justap.WechatpayJSAPIExtra{Payer: &justap.WechatpayPayer{OpenID: "o-customer-1"}},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.ID, ch.Amount, ch.Channel, ch.Paid)
	fmt.Println("expires", ch.ExpiresAt.Format(time.RFC3339))
	// Hand the JSAPI config to the page, which opens WeChat's payment sheet.
	cfg := ch.Extra.WechatpayJSAPI.JSAPIConfig
	fmt.Println(cfg.Package != "" && cfg.PaySign != "")
	// Output:
	// ch_0000000001 19.99 WechatpayJSAPI false
	// expires 2026-01-02T10:15:00Z
	// true
}

func ExampleChargesService_Get() {
	c, srv := exampleClient()
	defer srv.Close()
	ch := exampleCharge(c, "order-1001", justap.Amount(1999))
	if err := srv.Pay(ch.ID); err != nil { // the customer pays
		panic(err)
	}

	ch, err := c.Charges.Get(context.Background(), ch.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.Paid, ch.PaidAt.Format(time.RFC3339), ch.TransactionNo)
	// Output: true 2026-01-02T10:00:00Z tx_0000000001
}

func ExampleChargesService_List() {
	c, srv := exampleClient()
	defer srv.Close()
	paid := exampleCharge(c, "order-1001", justap.Amount(1999))
	exampleCharge(c, "order-1002", justap.Amount(880))
	if err := srv.Pay(paid.ID); err != nil {
		panic(err)
	}

	page, err := c.Charges.List(context.Background(), &justap.ChargeListParams{
		Limit: 10,
		Paid:  justap.Bool(false), // only unpaid charges; nil would not filter
	})
	if err != nil {
		panic(err)
	}
	for _, ch := range page.Data {
		fmt.Println(ch.ID, ch.MerchantTradeID, ch.Amount)
	}
	fmt.Println("more:", page.HasMore)
	// Output:
	// ch_0000000002 order-1002 8.80
	// more: false
}

func ExampleChargesService_Reverse() {
	c, srv := exampleClient()
	defer srv.Close()
	ch := exampleCharge(c, "order-1001", justap.Amount(1999))

	ch, err := c.Charges.Reverse(context.Background(), ch.ID) // the customer gave up
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.Reversed, srv.Pay(ch.ID) != nil)
	// Output: true true
}

func ExampleRefundsService_Create() {
	c, srv := exampleClient()
	defer srv.Close()
	ch := examplePaidCharge(c, srv, "order-1001", justap.Amount(1999)) // the customer paid
	ctx := context.Background()

	rf, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID:         ch.ID,
		MerchantRefundID: "order-1001-r1", // the same id on every retry: never refunded twice
		Description:      "size exchange",
		Amount:           justap.Amount(500),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(rf.ID, rf.Amount, rf.Status)

	// The rest, whatever it is: FullRefund, never a zero Amount.
	rest, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "order-1001-r2", Description: "cancelled", FullRefund: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(rest.Amount)
	// Output:
	// re_0000000001 5.00 refunded
	// 14.99
}

func ExampleRefundsService_Get() {
	c, srv := exampleClient()
	defer srv.Close()
	ch := examplePaidCharge(c, srv, "order-1001", justap.Amount(1999)) // the customer paid
	ctx := context.Background()
	rf, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "order-1001-r1", Description: "size exchange", Amount: justap.Amount(500),
	})
	if err != nil {
		panic(err)
	}

	rf, err = c.Refunds.Get(ctx, ch.ID, rf.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(rf.Amount, rf.Status.Is(justap.RefundStatusRefunded), rf.SucceededAt.Format(time.RFC3339))
	// Output: 5.00 true 2026-01-02T10:00:00Z
}

func ExampleRefundsService_List() {
	c, srv := exampleClient()
	defer srv.Close()
	ch := examplePaidCharge(c, srv, "order-1001", justap.Amount(1999)) // the customer paid
	ctx := context.Background()
	for i, amount := range []justap.Amount{100, 250} {
		_, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
			ChargeID: ch.ID, MerchantRefundID: fmt.Sprintf("order-1001-r%d", i+1), Description: "partial", Amount: amount,
		})
		if err != nil {
			panic(err)
		}
	}

	page, err := c.Refunds.List(ctx, ch.ID, &justap.RefundListParams{Limit: 10})
	if err != nil {
		panic(err)
	}
	for _, rf := range page.Data {
		fmt.Println(rf.ID, rf.Amount)
	}
	fmt.Println("total:", page.Total)
	// Unordered output:
	// re_0000000001 1.00
	// re_0000000002 2.50
	// total: 2
}

// Errors carry what the caller branches on: the category (errors.Is), and
// the status, code, message and request id (errors.As).
func ExampleError() {
	c, srv := exampleClient()
	defer srv.Close()

	_, err := c.Charges.Get(context.Background(), "ch_missing")
	var e *justap.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, justap.ErrNotFound), e.StatusCode, e.Code, e.Attempts)
	}
	// Output: true 404 5 1
}

// A ValidationError names the field; nothing was sent.
func ExampleValidationError() {
	c, srv := exampleClient()
	defer srv.Close()

	_, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001", Amount: 0, Channel: justap.ChannelAlipayQR,
		Subject: "T-shirt", Body: "One T-shirt", ClientIP: "203.0.113.7",
	})
	var ve *justap.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field)
		fmt.Println(err)
	}
	// Output:
	// ChargeCreateParams.Amount
	// justap: invalid ChargeCreateParams.Amount: must be greater than zero, got 0.00 yuan (the request was not sent)
}

func ExampleAmount() {
	a := justap.Amount(13107201) // fen
	b, _ := json.Marshal(a)
	fmt.Println(a, string(b))

	var back justap.Amount
	_ = json.Unmarshal([]byte(`"0.10"`), &back)
	fmt.Println(int64(back))
	// Output:
	// 131072.01 131072.01
	// 10
}

func ExampleYuan() {
	a, err := justap.Yuan(12)
	fmt.Println(int64(a), a, err)
	_, err = justap.Yuan(1 << 62) // more fen than an int64 holds: refused, never wrapped
	fmt.Println(err != nil)
	// Output:
	// 1200 12.00 <nil>
	// true
}

func ExampleParseAmount() {
	a, err := justap.ParseAmount("19.99")
	fmt.Println(int64(a), err)
	_, err = justap.ParseAmount("0.001")
	fmt.Println(err)
	// Output:
	// 1999 <nil>
	// justap: parse amount "0.001": has a fraction of a fen
}

// The four outcomes of a create, and the one switch that tells them apart.
// Here the gateway creates the charge but its answer is lost; the retry is
// refused as a duplicate, and Create finds the charge by its
// MerchantTradeID.
func ExampleError_OutcomeUnknown() {
	// The fake's clock is the real one: a charge found after a lost answer
	// is this call's only if it was created after the call began.
	c, srv := exampleClient(justaptest.WithClock(time.Now))
	defer srv.Close()
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})

	ch, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001",
		Amount:          justap.Amount(1999),
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
	})
	var e *justap.Error
	switch {
	case err == nil:
		fmt.Println("created", ch.ID, "recovered:", ch.Recovered)
	case errors.As(err, &e) && errors.Is(err, justap.ErrReusedID):
		// Nothing was created now; e.Charge is the charge the id names.
		if e.SameMoney() {
			fmt.Println("order-1001 was charged before this call, for this money")
		} else {
			fmt.Println("order-1001 names other money: new money needs a new id")
		}
	case errors.As(err, &e) && e.OutcomeUnknown():
		// Store e.Began with the params; retry later with ContinuesFrom.
		fmt.Println("may or may not exist: retry later with order-1001 and justap.ContinuesFrom(e.Began)")
	default:
		fmt.Println("refused, nothing created:", err)
	}
	// Output: created ch_0000000001 recovered: true
}

func ExampleChargesService_GetByMerchantTradeID() {
	c, srv := exampleClient()
	defer srv.Close()
	exampleCharge(c, "order-1001", justap.Amount(1999))

	ch, err := c.Charges.GetByMerchantTradeID(context.Background(), "order-1001")
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.ID, ch.Amount)
	_, err = c.Charges.GetByMerchantTradeID(context.Background(), "order-1002")
	fmt.Println(errors.Is(err, justap.ErrNotFound))
	// Output:
	// ch_0000000001 19.99
	// true
}

func ExampleRefundsService_GetByMerchantRefundID() {
	c, srv := exampleClient()
	defer srv.Close()
	ch := examplePaidCharge(c, srv, "order-1001", justap.Amount(1999)) // the customer paid
	_, err := c.Refunds.Create(context.Background(), &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "refund-1001-1", Description: "returned", Amount: justap.Amount(500),
	})
	if err != nil {
		panic(err)
	}

	rf, err := c.Refunds.GetByMerchantRefundID(context.Background(), ch.ID, "refund-1001-1")
	if err != nil {
		panic(err)
	}
	fmt.Println(rf.ID, rf.Amount, rf.Metadata[justap.MerchantRefundIDMetadataKey])
	// Output: re_0000000001 5.00 refund-1001-1
}

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

// ExampleWithPrivateKey signs every request with the merchant's RSA key.
// A stand-in gateway checks each signature with a justaptest.Verifier, as a Justap
// gateway with the merchant's public key does.
func ExampleWithPrivateKey() {
	// The merchant's private key, PKCS#1 or PKCS#8 PEM. (This one is a test
	// key; keep a real one out of the source tree.)
	pemBytes, err := os.ReadFile("testdata/test-only-rsa2048-pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	key, err := justap.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		log.Fatal(err)
	}

	// The gateway side: the public key the merchant uploaded.
	pubPEM, err := os.ReadFile("testdata/test-only-rsa2048-public.pem")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := justap.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := justaptest.NewVerifier(pub, nil)
	if err != nil {
		log.Fatal(err)
	}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := verifier.Verify(r.Header, body); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"code":16,"message":%q}`, err)
			return
		}
		fmt.Println("gateway: signature verified:", r.Method, r.URL.Path)
		io.WriteString(w, `{"object":"Charge","data":{"charge_id":"ch_123","reversed":true}}`)
	}))
	defer gateway.Close()

	client, err := justap.NewClient("sk_test_example",
		justap.WithBaseURL(gateway.URL),
		justap.WithAppID("app_1"),
		justap.WithPrivateKey(key),
	)
	if err != nil {
		log.Fatal(err)
	}
	ch, err := client.Charges.Reverse(context.Background(), "ch_123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reversed:", ch.ID, ch.Reversed)
	// Output:
	// gateway: signature verified: POST /transaction/v1/charges/ch_123/reverse
	// reversed: ch_123 true
}
