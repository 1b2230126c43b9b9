package justaptest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// ids returns the ids of a page of charges.
func ids(cs []*justap.Charge) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = strings.TrimPrefix(c.ID, "ch_00000000")
	}
	return strings.Join(s, " ")
}

func TestListOrderAndCursors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// 01–12: two per second, so order within a second comes from creation.
	for i := 1; i <= 12; i++ {
		f.create(t, params(fmt.Sprint("o", i), 100))
		if i%2 == 0 {
			f.clock.Advance(time.Second)
		}
	}
	list := func(p *justap.ChargeListParams) *justap.ChargeList {
		t.Helper()
		l, err := f.c.Charges.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := list(nil)
	if got := ids(l.Data); got != "12 11 10 09 08 07 06 05 04 03" || !l.HasMore {
		t.Errorf("default page = %s (has_more %v), want the 10 newest and more", got, l.HasMore)
	}
	l = list(&justap.ChargeListParams{Limit: 5, StartingAfter: "ch_0000000008"})
	if got := ids(l.Data); got != "07 06 05 04 03" || !l.HasMore {
		t.Errorf("after 08 = %s (has_more %v)", got, l.HasMore)
	}
	l = list(&justap.ChargeListParams{Limit: 5, StartingAfter: "ch_0000000003"})
	if got := ids(l.Data); got != "02 01" || l.HasMore {
		t.Errorf("after 03 = %s (has_more %v), want the last two and no more", got, l.HasMore)
	}
	l = list(&justap.ChargeListParams{Limit: 3, EndingBefore: "ch_0000000005"})
	if got := ids(l.Data); got != "08 07 06" || !l.HasMore {
		t.Errorf("before 05 = %s (has_more %v), want the three just newer, newest first", got, l.HasMore)
	}
	l = list(&justap.ChargeListParams{Limit: 5, EndingBefore: "ch_0000000009"})
	if got := ids(l.Data); got != "12 11 10" || l.HasMore {
		t.Errorf("before 09 = %s (has_more %v)", got, l.HasMore)
	}
	l = list(&justap.ChargeListParams{Limit: 100})
	if len(l.Data) != 12 || l.HasMore {
		t.Errorf("limit 100: %d charges, has_more %v", len(l.Data), l.HasMore)
	}

	// Walking forward with starting_after visits every charge once.
	var seen []string
	p := &justap.ChargeListParams{Limit: 5}
	for {
		l := list(p)
		seen = append(seen, ids(l.Data))
		if !l.HasMore {
			break
		}
		p.StartingAfter = l.Data[len(l.Data)-1].ID
	}
	if got := strings.Join(seen, " | "); got != "12 11 10 09 08 | 07 06 05 04 03 | 02 01" {
		t.Errorf("pages = %s", got)
	}
	// And backwards with ending_before.
	seen = nil
	p = &justap.ChargeListParams{Limit: 5, EndingBefore: "ch_0000000001"}
	for {
		l := list(p)
		seen = append(seen, ids(l.Data))
		if !l.HasMore {
			break
		}
		p.EndingBefore = l.Data[0].ID
	}
	if got := strings.Join(seen, " | "); got != "06 05 04 03 02 | 11 10 09 08 07 | 12" {
		t.Errorf("pages backwards = %s", got)
	}
}

func TestListQueryErrors(t *testing.T) {
	f := newFixture(t)
	f.create(t, params("o", 100))
	app := "/transaction/v1/charges?app_id=" + f.srv.AppID()
	for _, q := range []string{
		"&limit=101", "&limit=-1", "&limit=ten",
		"&starting_after=ch_nope", "&ending_before=ch_nope",
		"&starting_after=ch_0000000001&ending_before=ch_0000000001",
		"&created.gt=yesterday", "&paid=yes", "&channel=Bitcoin", "&limit=1&limit=2",
	} {
		raw(t, f.srv, "GET", app+q, "").wantError(t, http.StatusBadRequest, 3)
	}
	// limit=0 is the default; unknown parameters are ignored.
	var l justap.ChargeList
	r := raw(t, f.srv, "GET", app+"&limit=0&created[gt]=9999999999&channel=CHANNEL_INVALID_UNSPECIFIED", "")
	if r.unmarshal(t, &l); r.status != 200 || len(l.Data) != 1 {
		t.Errorf("status %d, %d charges; want the charge", r.status, len(l.Data))
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mk := func(id string, ch justap.Channel) *justap.Charge {
		p := params(id, 1000)
		p.Channel = ch
		f.clock.Advance(time.Minute)
		return f.create(t, p)
	}
	open := mk("open", justap.ChannelAlipayQR)
	paid := mk("paid", justap.ChannelWechatpayNative)
	f.srv.Pay(paid.ID)
	refunded := mk("refunded", justap.ChannelAlipayQR)
	f.srv.Pay(refunded.ID)
	if _, err := f.refund(refunded.ID, "r", 0); err != nil {
		t.Fatal(err)
	}
	partly := mk("partly", justap.ChannelAlipayQR)
	f.srv.Pay(partly.ID)
	if _, err := f.refund(partly.ID, "r2", 1); err != nil {
		t.Fatal(err)
	}
	reversed := mk("reversed", justap.ChannelAlipayQR)
	f.c.Charges.Reverse(ctx, reversed.ID)
	closed := mk("closed", justap.ChannelAlipayQR)
	f.srv.CloseCharge(closed.ID)
	expired := mk("expired", justap.ChannelAlipayQR)
	f.srv.Expire(expired.ID)

	t1 := t0.Add(time.Minute) // open's creation time
	for _, tc := range []struct {
		name string
		p    justap.ChargeListParams
		want []*justap.Charge
	}{
		{"all", justap.ChargeListParams{}, []*justap.Charge{expired, closed, reversed, partly, refunded, paid, open}},
		{"paid", justap.ChargeListParams{Paid: justap.Bool(true)}, []*justap.Charge{partly, refunded, paid}},
		{"unpaid", justap.ChargeListParams{Paid: justap.Bool(false)}, []*justap.Charge{expired, closed, reversed, open}},
		// refunded: has refunds, in part or in full.
		{"refunded", justap.ChargeListParams{Refunded: justap.Bool(true)}, []*justap.Charge{partly, refunded}},
		{"paid, not refunded", justap.ChargeListParams{Paid: justap.Bool(true), Refunded: justap.Bool(false)}, []*justap.Charge{paid}},
		{"reversed", justap.ChargeListParams{Reversed: justap.Bool(true)}, []*justap.Charge{reversed}},
		{"closed", justap.ChargeListParams{Closed: justap.Bool(true)}, []*justap.Charge{closed}},
		{"expired", justap.ChargeListParams{Expired: justap.Bool(true)}, []*justap.Charge{expired}},
		{"channel", justap.ChargeListParams{Channel: justap.ChannelWechatpayNative}, []*justap.Charge{paid}},
		{"merchant_trade_id", justap.ChargeListParams{MerchantTradeID: "partly"}, []*justap.Charge{partly}},
		{"created.gt", justap.ChargeListParams{CreatedGT: t1.Add(5 * time.Minute)}, []*justap.Charge{expired}},
		{"created.gte", justap.ChargeListParams{CreatedGTE: t1.Add(5 * time.Minute)}, []*justap.Charge{expired, closed}},
		{"created.lt", justap.ChargeListParams{CreatedLT: t1.Add(time.Minute)}, []*justap.Charge{open}},
		{"created.lte", justap.ChargeListParams{CreatedLTE: t1.Add(time.Minute)}, []*justap.Charge{paid, open}},
		{"created range", justap.ChargeListParams{CreatedGT: t1, CreatedLT: t1.Add(3 * time.Minute)}, []*justap.Charge{refunded, paid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			l, err := f.c.Charges.List(ctx, &p)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ids(l.Data), ids(tc.want); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestListReachesBackAMonthWithoutCreatedBounds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.create(t, params("old", 100))
	f.clock.Advance(justaptest.ListWindow)
	edge := f.create(t, params("edge", 100)) // exactly ListWindow before the next one
	f.clock.Advance(time.Second)
	recent := f.create(t, params("recent", 100))

	l, err := f.c.Charges.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(l.Data), ids([]*justap.Charge{recent, edge}); got != want {
		t.Errorf("without created bounds: %s, want %s (not the charge older than ListWindow)", got, want)
	}
	l, err = f.c.Charges.List(ctx, &justap.ChargeListParams{CreatedGTE: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(l.Data), ids([]*justap.Charge{recent, edge, old}); got != want {
		t.Errorf("with created.gte: %s, want %s", got, want)
	}
	l, err = f.c.Charges.List(ctx, &justap.ChargeListParams{CreatedLT: t0.Add(time.Hour)})
	if err != nil || ids(l.Data) != ids([]*justap.Charge{old}) {
		t.Errorf("with created.lt only: %v, %v; any created bound lifts the window", l, err)
	}
	// The fake's own Charges sees everything.
	if n := len(f.srv.Charges()); n != 3 {
		t.Errorf("srv.Charges: %d", n)
	}
}

func TestRefundList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ch := f.paid(t, "o", 1000)
	other := f.paid(t, "other", 1000)
	otherRefund, err := f.refund(other.ID, "x", 1)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 1; i <= 5; i++ {
		rf, err := f.refund(ch.ID, fmt.Sprint("r", i), 10)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{rf.ID}, want...)
	}
	refundIDs := func(l *justap.RefundList) string {
		var s []string
		for _, r := range l.Data {
			s = append(s, r.ID)
		}
		return strings.Join(s, " ")
	}
	l, err := f.c.Refunds.List(ctx, ch.ID, &justap.RefundListParams{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := refundIDs(l); got != strings.Join(want[:2], " ") || !l.HasMore || l.Total != 5 {
		t.Errorf("first page = %s, has_more %v, total %d", got, l.HasMore, l.Total)
	}
	l, err = f.c.Refunds.List(ctx, ch.ID, &justap.RefundListParams{Limit: 2, StartingAfter: want[3]})
	if err != nil || refundIDs(l) != want[4] || l.HasMore {
		t.Errorf("last page = %v, %v", l, err)
	}
	l, err = f.c.Refunds.List(ctx, ch.ID, &justap.RefundListParams{Limit: 2, EndingBefore: want[3]})
	if err != nil || refundIDs(l) != strings.Join(want[1:3], " ") || !l.HasMore {
		t.Errorf("page before %s = %v, %v", want[3], l, err)
	}
	// A cursor from another charge's refunds is not part of this list.
	_, err = f.c.Refunds.List(ctx, ch.ID, &justap.RefundListParams{StartingAfter: otherRefund.ID})
	if e := apiError(t, err); e.Code != 3 {
		t.Errorf("foreign cursor: %v", err)
	}
	if _, err := f.c.Refunds.List(ctx, "ch_nope", nil); apiError(t, err).Code != 5 {
		t.Errorf("unknown charge: %v", err)
	}
	r := raw(t, f.srv, "GET", "/transaction/v1/charges/"+other.ID+"/refunds", "")
	if !strings.Contains(string(r.body), `"object":"RefundList"`) || !strings.Contains(string(r.body), `"total":1`) {
		t.Errorf("refund list body = %s", r.body)
	}
}
