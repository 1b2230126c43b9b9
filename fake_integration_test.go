package justap_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// The client against justaptest, where the outcome depends on server
// state: retried creates, idempotent reverses, walks across pages.

// fakeClient starts a fake and returns a client for it that retries
// quickly (opts may override).
func fakeClient(t *testing.T, opts ...justap.Option) (*justap.Client, *justaptest.Server) {
	t.Helper()
	srv := justaptest.NewServer(t)
	c, err := justap.NewClient(srv.APIKey(), append([]justap.Option{
		justap.WithBaseURL(srv.URL),
		justap.WithAppID(srv.AppID()),
		justap.WithHTTPClient(srv.Client()),
		justap.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func fakeCharge(id string, amount justap.Amount) *justap.ChargeCreateParams {
	return &justap.ChargeCreateParams{
		MerchantTradeID: id, Amount: amount, Channel: justap.ChannelAlipayQR,
		Subject: "T-shirt", Body: "size M", ClientIP: "203.0.113.7",
	}
}

func TestFakeRetriedCreateNeverChargesTwice(t *testing.T) {
	c, srv := fakeClient(t)
	ctx := context.Background()
	// The create is processed, its response lost; the retry resends the
	// same merchant_trade_id and is refused; Create finds the charge.
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	ch, err := c.Charges.Create(ctx, fakeCharge("order-1", 1999))
	if err != nil || !ch.Recovered {
		t.Fatalf("create: %+v, %v; want the charge, recovered", ch, err)
	}
	if got := srv.Count(justaptest.OpCreateCharge); got != 2 {
		t.Errorf("the server saw %d creates, want 2", got)
	}
	if all := srv.Charges(); len(all) != 1 || all[0].Amount != 1999 || all[0].ID != ch.ID {
		t.Fatalf("charges = %v, want exactly one of 19.99, %s", all, ch.ID)
	}
}

func TestFakeRetriedRefundNeverRefundsTwice(t *testing.T) {
	c, srv := fakeClient(t)
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, fakeCharge("order-1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Pay(ch.ID); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Status: 503})
	rf, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "refund-1", Description: "size exchange", Amount: 400,
	})
	if err != nil || !rf.Recovered || rf.Amount != 400 {
		t.Fatalf("refund: %+v, %v; want the refund of 4.00, recovered after the third attempt's conflict", rf, err)
	}
	got, _ := srv.Charge(ch.ID)
	if got.AmountRefunded != 400 || len(got.Refunds) != 1 || got.Refunds[0].ID != rf.ID {
		t.Errorf("refunded %v in %d refunds; want 4.00 in one, %s", got.AmountRefunded, len(got.Refunds), rf.ID)
	}
}

func TestFakeHungAttemptIsRetried(t *testing.T) {
	c, srv := fakeClient(t, justap.WithRequestTimeout(500*time.Millisecond))
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultHang})
	ch, err := c.Charges.Create(context.Background(), fakeCharge("order-1", 100))
	if err != nil {
		t.Fatalf("create after a hung attempt: %v", err)
	}
	if got := srv.Count(justaptest.OpCreateCharge); got != 2 {
		t.Errorf("the server saw %d creates, want 2", got)
	}
	if all := srv.Charges(); len(all) != 1 || all[0].ID != ch.ID {
		t.Errorf("charges = %v, want the one created", all)
	}
}

func TestFakeReverseIsSafeToRetry(t *testing.T) {
	c, srv := fakeClient(t)
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, fakeCharge("order-1", 100))
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpReverseCharge, Kind: justaptest.FaultDropResponse})
	got, err := c.Charges.Reverse(ctx, ch.ID)
	if err != nil || !got.Reversed {
		t.Fatalf("reverse with a lost response: %+v, %v; the retry must succeed", got, err)
	}
	if n := srv.Count(justaptest.OpReverseCharge); n != 2 {
		t.Errorf("the server saw %d reverses, want 2", n)
	}
	if err := srv.Pay(ch.ID); err == nil {
		t.Error("a reversed charge could be paid")
	}
}

func TestFakeAllWalksEveryCharge(t *testing.T) {
	c, srv := fakeClient(t)
	ctx := context.Background()
	const n = 23
	var newestFirst []string
	for i := 0; i < n; i++ {
		ch, err := c.Charges.Create(ctx, fakeCharge(fmt.Sprint("order-", i), justap.Amount(100+i)))
		if err != nil {
			t.Fatal(err)
		}
		newestFirst = append([]string{ch.ID}, newestFirst...)
		if i%3 == 0 {
			srv.Pay(ch.ID)
		}
	}
	for _, limit := range []int{0, 1, 5, 10, 23, 100} {
		var got []string
		for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{Limit: limit}) {
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			got = append(got, ch.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(newestFirst) {
			t.Errorf("limit %d: walked %v, want %v", limit, got, newestFirst)
		}
	}
	// From the oldest towards the newest, with ending_before.
	var up []string
	for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{Limit: 4, EndingBefore: newestFirst[n-1]}) {
		if err != nil {
			t.Fatal(err)
		}
		up = append(up, ch.ID)
	}
	if len(up) != n-1 || up[0] != newestFirst[n-2] || up[n-2] != newestFirst[0] {
		t.Errorf("walk up from the oldest: %v", up)
	}
	// Filters hold on every page: every third charge is paid.
	paid := 0
	for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{Limit: 2, Paid: justap.Bool(true)}) {
		if err != nil || !ch.Paid {
			t.Fatalf("paid walk: %+v, %v", ch, err)
		}
		paid++
	}
	if paid != 8 {
		t.Errorf("walked %d paid charges, want 8", paid)
	}
}

func TestFakeRefundsAll(t *testing.T) {
	c, srv := fakeClient(t)
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, fakeCharge("order-1", 10000))
	if err != nil {
		t.Fatal(err)
	}
	srv.Pay(ch.ID)
	var total justap.Amount
	for i := 1; i <= 7; i++ {
		if _, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
			ChargeID: ch.ID, MerchantRefundID: fmt.Sprint("r", i), Description: "partial", Amount: justap.Amount(i * 100),
		}); err != nil {
			t.Fatal(err)
		}
		total += justap.Amount(i * 100)
	}
	var sum justap.Amount
	count := 0
	for rf, err := range c.Refunds.All(ctx, ch.ID, &justap.RefundListParams{Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		sum += rf.Amount
		count++
	}
	if count != 7 || sum != total {
		t.Errorf("walked %d refunds summing %v, want 7 summing %v", count, sum, total)
	}
	if n := srv.Count(justaptest.OpListRefunds); n != 3 {
		t.Errorf("%d refund pages requested, want 3", n)
	}
}
