package main

import (
	"flag"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/justap-go/justap"
)

func (a *app) chargesGet(args []string) error {
	fs := a.flags("charges get")
	pos, err := a.parse(fs, args, 1, "a charge id: justap charges get ch_…")
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	ch, err := c.Charges.Get(a.ctx, pos[0])
	if err != nil {
		return err
	}
	return a.printCharge(ch)
}

func (a *app) printCharge(ch *justap.Charge) error {
	table, full := a.chargeColumns()
	return newPrinter(a, table, full).one(ch)
}

func (a *app) chargesFind(args []string) error {
	fs := a.flags("charges find")
	pos, err := a.parse(fs, args, 1, "a merchant trade id: justap charges find order-1001")
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	ch, err := c.Charges.GetByMerchantTradeID(a.ctx, pos[0])
	if err != nil {
		return err
	}
	return a.printCharge(ch)
}

// triState is a flag for a three-state filter: --paid sets it to true,
// --paid=false to false; unset leaves it nil. With negate, --unpaid sets
// false.
type triState struct {
	p      **bool
	negate bool
}

func (t triState) IsBoolFlag() bool { return true }

func (t triState) String() string {
	if t.p == nil || *t.p == nil {
		return ""
	}
	return strconv.FormatBool(**t.p != t.negate)
}

func (t triState) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*t.p = justap.Bool(v != t.negate)
	return nil
}

// knownChannels are the channels as the API spells them.
var knownChannels = []string{
	"BALANCE", "AlipayQR", "AlipayScan", "AlipayApp", "AlipayWap", "AlipayPage", "AlipayFace", "AlipayLite",
	"AlipayJSAPI", "WechatpayApp", "WechatpayJSAPI", "WechatpayH5", "WechatpayNative", "WechatpayLite",
	"WechatpayFace", "WechatpayScan", "UnionPayQr", "UnionPayCardlessQuickPay", "UnionPayAgreementQuickPay",
}

// parseChannel reads a channel as the API spells it, or in any case and
// with underscores (alipay_qr).
func parseChannel(s string) (justap.Channel, error) {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	for _, ch := range knownChannels {
		if norm(ch) == norm(s) {
			return justap.Channel(ch), nil
		}
	}
	return "", usagef("--channel %q: not a channel; want one of %s", s, strings.Join(knownChannels, ", "))
}

// chargeListFlags registers the filters of ChargeListParams on fs. The
// returned function checks them and fills p.
func (a *app) chargeListFlags(fs *flag.FlagSet, p *justap.ChargeListParams) func() error {
	times := []struct {
		name string
		text *string
		to   *time.Time
	}{
		{"since", fs.String("since", "", "created from (inclusive)"), &p.CreatedGTE},
		{"until", fs.String("until", "", "created until (exclusive)"), &p.CreatedLT},
		{"created-gt", fs.String("created-gt", "", "created after"), &p.CreatedGT},
		{"created-lte", fs.String("created-lte", "", "created up to (inclusive)"), &p.CreatedLTE},
	}
	channel := fs.String("channel", "", "channel")
	fs.StringVar(&p.MerchantTradeID, "order", "", "merchant trade id")
	fs.StringVar(&p.StartingAfter, "starting-after", "", "charges older than this id")
	fs.StringVar(&p.EndingBefore, "ending-before", "", "charges newer than this id")
	fs.IntVar(&p.Limit, "page-size", 100, "charges per request")
	pairs := [][2]string{}
	for _, f := range []struct {
		name, not string
		p         **bool
	}{
		{"paid", "unpaid", &p.Paid}, {"refunded", "not-refunded", &p.Refunded},
		{"reversed", "not-reversed", &p.Reversed}, {"closed", "not-closed", &p.Closed},
		{"expired", "not-expired", &p.Expired},
	} {
		fs.Var(triState{p: f.p}, f.name, "only charges that are "+f.name)
		fs.Var(triState{p: f.p, negate: true}, f.not, "only charges that are not "+f.name)
		pairs = append(pairs, [2]string{f.name, f.not})
	}
	return func() error {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, pr := range pairs {
			if set[pr[0]] && set[pr[1]] {
				return usagef("--%s and --%s contradict each other; give one", pr[0], pr[1])
			}
		}
		for _, f := range times {
			if *f.text == "" {
				continue
			}
			t, err := parseTime(f.name, *f.text, a.tz)
			if err != nil {
				return err
			}
			*f.to = t
		}
		if *channel != "" {
			ch, err := parseChannel(*channel)
			if err != nil {
				return err
			}
			p.Channel = ch
		}
		if p.Limit < 1 || p.Limit > 100 {
			return usagef("--page-size %d: want 1 to 100", p.Limit)
		}
		return nil
	}
}

func (a *app) chargesList(args []string) error {
	fs := a.flags("charges list")
	var params justap.ChargeListParams
	check := a.chargeListFlags(fs, &params)
	limit := fs.Int("limit", 0, "at most this many charges in all")
	if _, err := a.parse(fs, args, 0, ""); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d: want a number of charges, or 0 for every charge", *limit)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < params.Limit && !isSet(fs, "page-size") {
		params.Limit = *limit // one small request for a few charges
	}
	seq := c.Charges.All(a.ctx, &params)
	if *limit > 0 {
		seq = justap.Take(seq, *limit)
	}
	table, full := a.chargeColumns()
	return walk(a, "charges", seq, newPrinter(a, table, full))
}

// walk prints every item of seq, with progress, and flushes what was
// printed even when the walk fails part-way.
func walk[T any](a *app, noun string, seq iter.Seq2[T, error], p *printer[T]) error {
	prog := a.newProgress(noun)
	var walkErr error
	for v, err := range seq {
		if err != nil {
			walkErr = err
			break
		}
		if err := p.row(v); err != nil {
			walkErr = err
			break
		}
		prog.add(1)
	}
	prog.done()
	if err := p.flush(); err != nil && walkErr == nil {
		walkErr = err
	}
	if walkErr != nil && a.ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d %s: %w", p.rows, noun, walkErr)
	}
	return walkErr
}

func (a *app) chargesReverse(args []string) error {
	fs := a.flags("charges reverse")
	pos, err := a.parse(fs, args, 1, "a charge id: justap charges reverse ch_…")
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	id := pos[0]
	ch, err := c.Charges.Get(a.ctx, id)
	if err != nil {
		return err
	}
	if err := a.confirm(fmt.Sprintf("Reverse charge %s (order %s, %s, ¥%s, %s): it can no longer be paid.",
		cell(ch.ID), cell(ch.MerchantTradeID), cell(string(ch.Channel)), ch.Amount, chargeState(ch))); err != nil {
		return err
	}
	ch, err = c.Charges.Reverse(a.ctx, id)
	if err != nil {
		if outcomeUnknown(err) {
			return &unknownError{err: err, check: "justap charges get " + id +
				"   (reversed: true means it was done; reversing again is safe)"}
		}
		return err
	}
	return a.printCharge(ch)
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
