// Command quickstart walks through the Justap API with this SDK: it creates
// a charge and shows what a front end needs to take the payment, waits for
// the customer to pay, refunds part of it, lists the run's charges across
// pages, reads the refunds back and prints a summary.
//
//	go run ./examples/quickstart
//
// With no JUSTAP_API_KEY in the environment it starts the fake Justap
// server of package justaptest in its own process, and pays the charge as
// the customer would: the whole flow runs offline. With JUSTAP_API_KEY,
// JUSTAP_APP_ID and JUSTAP_BASE_URL (default: the self-hosted gateway's
// address) it talks to that gateway instead, creating three small charges
// and waiting up to JUSTAP_PAY_TIMEOUT (default 2m) for someone to pay the
// first; use a test key (sk_test_…).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err := run(ctx, os.Stdout, os.Getenv)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// quickstart is one run: a client, and the fake when there is no gateway.
type quickstart struct {
	out        io.Writer
	c          *justap.Client
	fake       *justaptest.Server // nil against a real gateway
	prefix     string             // of this run's merchant ids
	payTimeout time.Duration
	pollEvery  time.Duration
}

// run connects as the environment says, then walks through the API.
func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	q, err := connect(out, getenv)
	if err != nil {
		return err
	}
	defer q.close()
	return q.walkthrough(ctx)
}

// connect makes the client: for the gateway the environment names, or for
// an in-process fake when JUSTAP_API_KEY is not set.
func connect(out io.Writer, getenv func(string) string) (*quickstart, error) {
	q := &quickstart{out: out, payTimeout: 2 * time.Minute, pollEvery: 2 * time.Second}
	key := getenv("JUSTAP_API_KEY")
	if key == "" {
		fake, err := justaptest.StartServer()
		if err != nil {
			return nil, err
		}
		q.fake = fake
		c, err := justap.NewClient(q.fake.APIKey(),
			justap.WithBaseURL(q.fake.URL), justap.WithAppID(q.fake.AppID()))
		if err != nil {
			q.close()
			return nil, err
		}
		q.c, q.prefix = c, "order-"
		q.printf("Using the in-process fake Justap server (justaptest) at %s: JUSTAP_API_KEY is not set, no money moves.\n\n", q.fake.URL)
		return q, nil
	}
	base, app := getenv("JUSTAP_BASE_URL"), getenv("JUSTAP_APP_ID")
	if base == "" {
		base = justap.DefaultBaseURL
	}
	if app == "" {
		return nil, errors.New("JUSTAP_API_KEY is set but JUSTAP_APP_ID is not: set it to your app's id (app_…)")
	}
	if s := getenv("JUSTAP_PAY_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("JUSTAP_PAY_TIMEOUT=%q is not a duration such as 2m", s)
		}
		q.payTimeout = d
	}
	c, err := justap.NewClient(key, justap.WithBaseURL(base), justap.WithAppID(app))
	if err != nil {
		return nil, err
	}
	q.c = c
	// Merchant ids must be new on every run against a real gateway.
	q.prefix = fmt.Sprintf("qs%d-", time.Now().Unix())
	q.printf("Using the Justap gateway at %s, app %s.\n\n", c.BaseURL(), app)
	return q, nil
}

// close stops the fake, if there is one.
func (q *quickstart) close() {
	if q.fake != nil {
		q.fake.Close()
	}
}

func (q *quickstart) printf(format string, args ...any) { fmt.Fprintf(q.out, format, args...) }

func yuan(a justap.Amount) string { return "¥" + a.String() }

func (q *quickstart) walkthrough(ctx context.Context) error {
	// The listing at the end reaches back to the start of this run.
	start := time.Now().Add(-time.Second)

	// 1. A charge for order 1001, paid by scanning an Alipay QR code.
	ch, err := q.c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: q.prefix + "1001", // your order number: the idempotency key
		Amount:          justap.Amount(1999),
		Channel:         justap.ChannelAlipayQR,
		Subject:         "T-shirt",
		Body:            "One T-shirt, size M",
		ClientIP:        "203.0.113.7",
		TTL:             15 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("create a charge: %w", err)
	}
	q.printf("1. Created charge %s for %s: %s by %s, unpaid.\n", ch.ID, ch.MerchantTradeID, yuan(ch.Amount), ch.Channel)
	q.printf("   Show the customer this QR code: %s\n", ch.Extra.AlipayQR.QRCode)

	// The same order again is refused: a retried create never charges twice.
	_, err = q.c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: ch.MerchantTradeID, Amount: ch.Amount, Channel: ch.Channel,
		Subject: ch.Subject, Body: ch.Body, ClientIP: ch.ClientIP,
	})
	var conflict *justap.Error
	if !errors.Is(err, justap.ErrConflict) || !errors.As(err, &conflict) {
		return fmt.Errorf("a second create of %s: got %v, want a conflict", ch.MerchantTradeID, err)
	}
	q.printf("   Creating %s again is refused with %d %s: a retry can never charge twice.\n",
		ch.MerchantTradeID, conflict.StatusCode, http.StatusText(conflict.StatusCode))

	// 2. The customer pays.
	ch, err = q.awaitPayment(ctx, ch)
	if err != nil {
		return err
	}

	// 3. Refund part of it.
	var refunded justap.Amount
	if ch.Paid {
		rf, err := q.c.Refunds.Create(ctx, &justap.RefundCreateParams{
			ChargeID:         ch.ID,
			MerchantRefundID: q.prefix + "1001-r1", // reuse it when retrying: a retry never refunds twice
			Description:      "size exchange",
			Amount:           justap.Amount(500),
		})
		if err != nil {
			return fmt.Errorf("refund: %w", err)
		}
		refunded = rf.Amount
		q.printf("3. Refunded %s of %s: refund %s is %s.\n", yuan(rf.Amount), ch.ID, rf.ID, rf.Status)
	} else {
		q.printf("3. Nothing to refund: %s was not paid.\n", ch.ID)
	}

	// 4. Two more orders, for the other kinds of front end; one is cancelled.
	native, err := q.c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: q.prefix + "1002", Amount: justap.Amount(880), Channel: justap.ChannelWechatpayNative,
		Subject: "Socks", Body: "Two pairs of socks", ClientIP: "203.0.113.7", TTL: 15 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("create a WeChat Pay charge: %w", err)
	}
	wap, err := q.c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: q.prefix + "1003", Amount: justap.Amount(350), Channel: justap.ChannelAlipayWap,
		Subject: "Sticker", Body: "One sticker", ClientIP: "203.0.113.7", TTL: 15 * time.Minute,
		Extra: &justap.ChargeExtra{AlipayWap: &justap.PayURLExtra{ReturnURL: "https://shop.example/orders/1003"}},
	})
	if err != nil {
		return fmt.Errorf("create an Alipay WAP charge: %w", err)
	}
	q.printf("4. Created %s (%s, %s): WeChat QR code %s\n", native.ID, yuan(native.Amount), native.Channel, native.Extra.WechatpayNative.QRCode)
	q.printf("   Created %s (%s, %s): open the pay URL %s\n", wap.ID, yuan(wap.Amount), wap.Channel, wap.Extra.AlipayWap.PayURL)
	if _, err := q.c.Charges.Reverse(ctx, wap.ID); err != nil {
		return fmt.Errorf("reverse: %w", err)
	}
	q.printf("   Reversed %s before it was paid: it can no longer be paid.\n", wap.ID)

	// 5. Every charge of this run, newest first, two per page.
	before := q.pages()
	q.printf("5. This run's charges, listed with Charges.All two per page:\n")
	tw := tabwriter.NewWriter(q.out, 0, 0, 2, ' ', 0)
	var n, paid, unpaid, reversed int
	var received justap.Amount
	for c, err := range q.c.Charges.All(ctx, &justap.ChargeListParams{Limit: 2, CreatedGTE: start}) {
		if err != nil {
			return fmt.Errorf("list charges: %w", err)
		}
		if !strings.HasPrefix(c.MerchantTradeID, q.prefix) {
			continue // someone else's, on a shared gateway
		}
		n++
		state := "unpaid"
		switch {
		case c.Paid:
			paid++
			received += c.Amount
			state = "paid"
			if c.AmountRefunded > 0 {
				state += ", " + yuan(c.AmountRefunded) + " refunded"
			}
		case c.Reversed:
			reversed++
			state = "reversed"
		default:
			unpaid++
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\n", c.ID, c.MerchantTradeID, yuan(c.Amount), c.Channel, state)
	}
	tw.Flush()
	if q.fake != nil {
		q.printf("   (All made %d list requests, each fetching a page only when the one before was used up.)\n", q.pages()-before)
	}

	// 6. The refunds of the first charge, read back.
	q.printf("6. Refunds of %s:\n", ch.ID)
	rn := 0
	for rf, err := range q.c.Refunds.All(ctx, ch.ID, nil) {
		if err != nil {
			return fmt.Errorf("list refunds: %w", err)
		}
		rn++
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", rf.ID, yuan(rf.Amount), rf.Status, rf.MerchantRefundID)
	}
	tw.Flush()
	if rn == 0 {
		q.printf("   none\n")
	}

	q.printf("\nSummary: %d charges (%d paid, %d unpaid, %d reversed), %s received, %s refunded. Done.\n",
		n, paid, unpaid, reversed, yuan(received), yuan(refunded))
	return nil
}

// awaitPayment has the customer pay the charge: on the fake, at once; on
// a real gateway, by polling until someone pays it or the wait ends, when
// the charge is reversed.
func (q *quickstart) awaitPayment(ctx context.Context, ch *justap.Charge) (*justap.Charge, error) {
	if q.fake != nil {
		if err := q.fake.Pay(ch.ID); err != nil { // what scanning the code and paying does
			return nil, err
		}
		paid, err := q.c.Charges.Get(ctx, ch.ID)
		if err != nil {
			return nil, fmt.Errorf("read the charge back: %w", err)
		}
		q.printf("2. The customer paid (simulated by the fake): paid at %s, transaction %s.\n",
			paid.PaidAt.Format(time.DateTime+" MST"), paid.TransactionNo)
		return paid, nil
	}
	q.printf("2. Waiting up to %s for the customer to pay %s (JUSTAP_PAY_TIMEOUT)…\n", q.payTimeout, ch.ID)
	wctx, cancel := context.WithTimeout(ctx, q.payTimeout)
	defer cancel()
	for {
		got, err := q.c.Charges.Get(wctx, ch.ID)
		switch {
		case err == nil && got.Paid:
			q.printf("   Paid at %s, transaction %s.\n", got.PaidAt.Format(time.DateTime+" MST"), got.TransactionNo)
			return got, nil
		case err != nil && wctx.Err() == nil:
			return nil, fmt.Errorf("read the charge back: %w", err)
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rev, err := q.c.Charges.Reverse(ctx, ch.ID)
			if err != nil {
				return nil, fmt.Errorf("reverse the unpaid charge: %w", err)
			}
			q.printf("   Not paid in time: reversed %s.\n", rev.ID)
			return rev, nil
		case <-time.After(q.pollEvery):
		}
	}
}

// pages returns how many list requests the fake has served.
func (q *quickstart) pages() int {
	if q.fake == nil {
		return 0
	}
	return q.fake.Count(justaptest.OpListCharges)
}
