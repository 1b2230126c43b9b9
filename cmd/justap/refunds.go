package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/justap-go/justap"
)

func (a *app) refundsCreate(args []string) error {
	fs := a.flags("refunds create")
	chargeID := fs.String("charge", "", "the charge to refund")
	amountText := fs.String("amount", "", "yuan to refund, such as 5.00")
	full := fs.Bool("full", false, "refund what is left of the charge")
	mrid := fs.String("merchant-refund-id", "", "your refund number, the idempotency key")
	desc := fs.String("description", "", "why")
	if _, err := a.parse(fs, args, 0, ""); err != nil {
		return err
	}
	params := &justap.RefundCreateParams{ChargeID: *chargeID, Description: *desc, FullRefund: *full}
	switch {
	case *chargeID == "":
		return usagef("refunds create: --charge is required")
	case *desc == "":
		return usagef("refunds create: --description is required (say why, for the customer and the books)")
	case *amountText == "" && !*full:
		return usagef("refunds create: give --amount (such as 5.00) or --full")
	case *amountText != "" && *full:
		return usagef("refunds create: give --amount or --full, not both")
	case *amountText != "":
		amt, err := justap.ParseAmount(*amountText)
		if err != nil {
			return usagef("--amount %q: %v", *amountText, err)
		}
		if amt <= 0 {
			return usagef("--amount %q: want more than zero", *amountText)
		}
		params.Amount = amt
	}
	params.MerchantRefundID = *mrid
	if params.MerchantRefundID == "" {
		params.MerchantRefundID = newMerchantRefundID(time.Now().In(a.tz))
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	ch, err := c.Charges.Get(a.ctx, params.ChargeID)
	if err != nil {
		return err
	}
	what := "the rest, ¥" + (ch.Amount - ch.AmountRefunded).String() + ","
	if !params.FullRefund {
		what = "¥" + params.Amount.String()
	}
	if err := a.confirm(fmt.Sprintf("Refund %s of charge %s (order %s, %s, ¥%s, refunded so far ¥%s)\n  as merchant refund id %s: %s.",
		what, cell(ch.ID), cell(ch.MerchantTradeID), cell(string(ch.Channel)), ch.Amount, ch.AmountRefunded,
		cell(params.MerchantRefundID), strconv.Quote(params.Description))); err != nil {
		return err
	}
	rf, err := c.Refunds.Create(a.ctx, params)
	var e *justap.Error
	switch {
	case err == nil:
		if rf.Recovered {
			fmt.Fprintf(a.stderr, "justap: the answer to the refund was lost; refund %s was found by its merchant refund id %s afterwards: it was made once\n",
				rf.ID, params.MerchantRefundID)
		}
	case errors.As(err, &e) && errors.Is(err, justap.ErrReusedID):
		return a.refundReused(params, e, ch)
	case outcomeUnknown(err):
		return &unknownError{err: err, check: "justap refunds list " + params.ChargeID +
			"   (look for merchant_refund_id " + params.MerchantRefundID + ")\n" +
			"or run the same refund again, which can never refund twice:\n  " + refundCommand(params)}
	default:
		return err
	}
	table, fullCols := a.refundColumns()
	return newPrinter(a, table, fullCols).one(rf)
}

// refundReused handles a create refused because its merchant refund id
// was used before. If the id names the very refund asked for (the SDK's
// Error.SameMoney: the same charge and amount, or for --full a refund of
// the whole rest), an earlier run made it, as after an unknown outcome:
// the refund is printed and the run succeeds, for nothing is left to do.
// Otherwise the id names other money: the refund it names, if known, is
// printed, and the error says so and how much of the charge (ch, as read
// before the create, which moved nothing) is still refundable.
func (a *app) refundReused(params *justap.RefundCreateParams, e *justap.Error, ch *justap.Charge) error {
	rest := "¥" + (ch.Amount - ch.AmountRefunded).String() + " of charge " + cell(ch.ID) + " is still refundable"
	rf := e.Refund
	if rf == nil {
		return fmt.Errorf("merchant refund id %s names other money, not a refund of charge %s; nothing was refunded now, and %s: %w",
			cell(params.MerchantRefundID), cell(params.ChargeID), rest, e)
	}
	table, full := a.refundColumns()
	if err := newPrinter(a, table, full).one(rf); err != nil {
		return err
	}
	if e.SameMoney() {
		fmt.Fprintf(a.stderr, "justap: merchant refund id %s was already used by this refund: it was made before, not now\n",
			cell(params.MerchantRefundID))
		return nil
	}
	asked := "the whole rest"
	if !params.FullRefund {
		asked = "¥" + params.Amount.String()
	}
	return fmt.Errorf("merchant refund id %s names other money: refund %s of ¥%s of charge %s, not %s of charge %s; "+
		"nothing was refunded now, and %s (use another merchant refund id for it): %w",
		cell(params.MerchantRefundID), cell(rf.ID), rf.Amount, cell(rf.ChargeID), asked, cell(params.ChargeID), rest, e)
}

// newMerchantRefundID makes up a merchant refund id: the time and eight
// random hex digits, 28 characters.
func newMerchantRefundID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return "cli-" + now.Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// refundCommand is the command that repeats the refund of params.
func refundCommand(p *justap.RefundCreateParams) string {
	amount := "--amount " + p.Amount.String()
	if p.FullRefund {
		amount = "--full"
	}
	return fmt.Sprintf("justap refunds create --charge %s %s --merchant-refund-id %s --description %s",
		shellQuote(p.ChargeID), amount, shellQuote(p.MerchantRefundID), shellQuote(p.Description))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) refundsGet(args []string) error {
	fs := a.flags("refunds get")
	pos, err := a.parse(fs, args, 2, "a charge id and a refund id: justap refunds get ch_… re_…")
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	rf, err := c.Refunds.Get(a.ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	table, full := a.refundColumns()
	return newPrinter(a, table, full).one(rf)
}

func (a *app) refundsList(args []string) error {
	fs := a.flags("refunds list")
	limit := fs.Int("limit", 0, "at most this many refunds in all")
	pageSize := fs.Int("page-size", 100, "refunds per request")
	pos, err := a.parse(fs, args, 1, "a charge id: justap refunds list ch_…")
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d: want a number of refunds, or 0 for every refund", *limit)
	}
	if *pageSize < 1 || *pageSize > 100 {
		return usagef("--page-size %d: want 1 to 100", *pageSize)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	seq := c.Refunds.All(a.ctx, pos[0], &justap.RefundListParams{Limit: *pageSize})
	if *limit > 0 {
		seq = justap.Take(seq, *limit)
	}
	table, full := a.refundColumns()
	return walk(a, "refunds", seq, newPrinter(a, table, full))
}
