package justaptest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func Example() {
	// A fake gateway on a fixed clock: deterministic ids and times.
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	srv, err := justaptest.StartServer(justaptest.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001",
		Amount:          justap.Amount(1999),
		Channel:         justap.ChannelWechatpayH5,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.ID, ch.Amount, ch.Paid, ch.Extra.WechatpayH5.PayURL != "")

	if err := srv.Pay(ch.ID); err != nil { // the customer pays
		panic(err)
	}
	ch, _ = c.Charges.Get(ctx, ch.ID)
	fmt.Println(ch.Paid, ch.PaidAt.Format(time.RFC3339), ch.TransactionNo)

	rf, _ := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "refund-1001-1", Description: "size exchange", Amount: 500,
	})
	fmt.Println(rf.ID, rf.Amount, rf.Status)

	// The same merchant_trade_id again is refused: no second charge.
	_, err = c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001", Amount: 1999, Channel: justap.ChannelWechatpayH5,
		Subject: "T-shirt", Body: "One T-shirt, size M", ClientIP: "203.0.113.7",
	})
	fmt.Println(errors.Is(err, justap.ErrConflict), len(srv.Charges()))
	// Output:
	// ch_0000000001 19.99 false true
	// true 2025-03-01T08:00:00Z tx_0000000001
	// re_0000000001 5.00 refunded
	// true 1
}

func ExampleHandler_FailNext() {
	srv, err := justaptest.StartServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, _ := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()),
		justap.WithRetryBackoff(time.Millisecond, time.Millisecond))

	// The first create is processed but its response is lost; the client
	// retries, the retry is refused as a duplicate, and the client finds the
	// charge by its merchant_trade_id. One charge exists.
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	ch, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: "order-1", Amount: 100, Channel: justap.ChannelAlipayQR,
		Subject: "s", Body: "b", ClientIP: "203.0.113.7",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.Recovered, srv.Count(justaptest.OpCreateCharge), len(srv.Charges()))
	// Output: true 2 1
}
