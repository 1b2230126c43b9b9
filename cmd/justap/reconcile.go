package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/justap-go/justap"
)

// reconRow is the money of one day and one channel. Amounts are the SDK's
// exact Amount: in JSON they are yuan numbers, as the API writes money.
type reconRow struct {
	Day      string         `json:"day"` // YYYY-MM-DD in --tz
	Channel  justap.Channel `json:"channel"`
	Charges  int            `json:"charges"`  // paid charges counted
	Received justap.Amount  `json:"received"` // their amounts
	Refunds  int            `json:"refunds"`  // succeeded refunds counted
	Refunded justap.Amount  `json:"refunded"` // their amounts
	Fees     justap.Amount  `json:"fees"`     // the channel fees of the paid charges
	Net      justap.Amount  `json:"net"`      // received - refunded - fees
}

func (a *app) reconcile(args []string) error {
	fs := a.flags("reconcile")
	sinceText := fs.String("since", "", "from (inclusive)")
	untilText := fs.String("until", "", "until (exclusive)")
	lookback := fs.Int("lookback-days", 0, "also walk charges created this many days before --since, for their payments and refunds in the window")
	if _, err := a.parse(fs, args, 0, ""); err != nil {
		return err
	}
	if *sinceText == "" || *untilText == "" {
		return usagef("reconcile: --since and --until are required (--since 2026-01-01 --until 2026-02-01 is January)")
	}
	since, err := parseTime("since", *sinceText, a.tz)
	if err != nil {
		return err
	}
	until, err := parseTime("until", *untilText, a.tz)
	if err != nil {
		return err
	}
	if !since.Before(until) {
		return usagef("reconcile: --since %s is not before --until %s", *sinceText, *untilText)
	}
	if *lookback < 0 || *lookback > 3660 {
		return usagef("--lookback-days %d: want 0 to 3660", *lookback)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	rows, err := a.reconcileRows(c, since, until, *lookback)
	if err != nil {
		return err
	}
	return a.printRecon(rows)
}

// reconcileRows walks every charge created from since (less lookback days)
// until until and sums, per day and channel: each paid charge on the day
// it was paid, with its fee, and each succeeded refund on the day it
// succeeded, for the days in [since, until).
func (a *app) reconcileRows(c *justap.Client, since, until time.Time, lookbackDays int) ([]*reconRow, error) {
	rows := map[[2]string]*reconRow{}
	add := func(t time.Time, ch justap.Channel) *reconRow {
		if t.Before(since) || !t.Before(until) {
			return nil
		}
		day := t.In(a.tz).Format(time.DateOnly)
		k := [2]string{day, string(ch)}
		r := rows[k]
		if r == nil {
			r = &reconRow{Day: day, Channel: ch}
			rows[k] = r
		}
		return r
	}
	params := &justap.ChargeListParams{
		CreatedGTE: since.AddDate(0, 0, -lookbackDays),
		CreatedLT:  until,
		Limit:      100,
	}
	prog := a.newProgress("charges")
	defer prog.done()
	var sum sum
	n := 0
	for ch, err := range c.Charges.All(a.ctx, params) {
		if err != nil {
			return nil, fmt.Errorf("reconcile: after %d charges: %w", n, err)
		}
		n++
		prog.add(1)
		if ch.Paid {
			if r := add(cmp.Or(ch.PaidAt, ch.CreatedAt), ch.Channel); r != nil {
				r.Charges++
				sum.add(&r.Received, ch.Amount)
				sum.add(&r.Fees, ch.AmountFee)
			}
		}
		if ch.AmountRefunded <= 0 && !ch.Refunded {
			continue // no refund has succeeded: nothing to list
		}
		for rf, err := range c.Refunds.All(a.ctx, ch.ID, &justap.RefundListParams{Limit: 100}) {
			if err != nil {
				return nil, fmt.Errorf("reconcile: the refunds of charge %s: %w", ch.ID, err)
			}
			if !rf.Succeeded && !rf.Status.Is(justap.RefundStatusRefunded) {
				continue // in progress or failed: no money has gone back yet
			}
			if r := add(cmp.Or(rf.SucceededAt, rf.CreatedAt), ch.Channel); r != nil {
				r.Refunds++
				sum.add(&r.Refunded, rf.Amount)
			}
		}
		if sum.err != nil {
			return nil, fmt.Errorf("reconcile: charge %s: %w", ch.ID, sum.err)
		}
	}
	out := make([]*reconRow, 0, len(rows))
	for _, r := range rows {
		sum.add(&r.Net, r.Received)
		sum.add(&r.Net, -r.Refunded)
		sum.add(&r.Net, -r.Fees)
		out = append(out, r)
	}
	if sum.err != nil {
		return nil, fmt.Errorf("reconcile: %w", sum.err)
	}
	slices.SortFunc(out, func(x, y *reconRow) int {
		return cmp.Or(cmp.Compare(x.Day, y.Day), cmp.Compare(x.Channel, y.Channel))
	})
	return out, nil
}

func (a *app) printRecon(rows []*reconRow) error {
	type c = column[*reconRow]
	n := func(i int) string { return strconv.Itoa(i) }
	cols := []c{
		{"day", func(r *reconRow) string { return r.Day }},
		{"channel", func(r *reconRow) string { return string(r.Channel) }},
		{"charges", func(r *reconRow) string { return n(r.Charges) }},
		{"received", func(r *reconRow) string { return r.Received.String() }},
		{"refunds", func(r *reconRow) string { return n(r.Refunds) }},
		{"refunded", func(r *reconRow) string { return r.Refunded.String() }},
		{"fees", func(r *reconRow) string { return r.Fees.String() }},
		{"net", func(r *reconRow) string { return r.Net.String() }},
	}
	p := newPrinter(a, cols, cols)
	total := &reconRow{Day: "TOTAL"}
	var sum sum
	for _, r := range rows {
		if err := p.row(r); err != nil {
			return err
		}
		total.Charges += r.Charges
		total.Refunds += r.Refunds
		sum.add(&total.Received, r.Received)
		sum.add(&total.Refunded, r.Refunded)
		sum.add(&total.Fees, r.Fees)
		sum.add(&total.Net, r.Net)
	}
	if sum.err != nil {
		return sum.err
	}
	if p.tw != nil { // people get a total; machines sum the rows themselves
		if err := p.row(total); err != nil {
			return err
		}
	}
	return p.flush()
}

// sum adds amounts exactly and remembers the first overflow, so that
// amounts no real shop reaches (a hostile or broken server's) give an
// error rather than a wrong total.
type sum struct{ err error }

func (s *sum) add(to *justap.Amount, v justap.Amount) {
	r := *to + v
	if (v > 0 && r < *to) || (v < 0 && r > *to) {
		if s.err == nil {
			s.err = fmt.Errorf("the sum of %s and %s overflows: the server's amounts cannot be right", *to, v)
		}
		return
	}
	*to = r
}
