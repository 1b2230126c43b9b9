package main

import (
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/justap-go/justap"
)

// column is one field of an object as printed in a table or CSV.
type column[T any] struct {
	name  string
	value func(T) string
}

// printer prints objects of one type in the chosen format: a table (one
// row per object, or one line per field for a single object), CSV with a
// header, or JSON, one object per line, as the SDK encodes it (the API's
// own format).
type printer[T any] struct {
	a     *app
	table []column[T] // columns of a table
	full  []column[T] // columns of CSV and of a single object
	rows  int
	tw    *tabwriter.Writer
	cw    *csv.Writer
	enc   *json.Encoder
}

func newPrinter[T any](a *app, table, full []column[T]) *printer[T] {
	p := &printer[T]{a: a, table: table, full: full}
	switch a.output {
	case "json":
		p.enc = json.NewEncoder(a.stdout)
		p.enc.SetEscapeHTML(false)
	case "csv":
		p.cw = csv.NewWriter(a.stdout)
	default:
		p.tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	}
	return p
}

// one prints a single object: in a table, one line per field.
func (p *printer[T]) one(v T) error {
	if p.tw == nil {
		if err := p.row(v); err != nil {
			return err
		}
		return p.flush()
	}
	for _, c := range p.full {
		if s := c.value(v); s != "" {
			p.tw.Write([]byte(c.name + ":\t" + cell(s) + "\n"))
		}
	}
	return p.tw.Flush()
}

// row prints one object of a list.
func (p *printer[T]) row(v T) error {
	p.rows++
	switch {
	case p.enc != nil:
		return p.enc.Encode(v)
	case p.cw != nil:
		if p.rows == 1 {
			p.cw.Write(names(p.full))
		}
		rec := make([]string, len(p.full))
		for i, c := range p.full {
			rec[i] = c.value(v)
		}
		return p.cw.Write(rec)
	}
	if p.rows == 1 {
		p.tw.Write([]byte(strings.ToUpper(strings.Join(names(p.table), "\t")) + "\n"))
	}
	var b strings.Builder
	for i, c := range p.table {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(cell(c.value(v)))
	}
	b.WriteByte('\n')
	p.tw.Write([]byte(b.String()))
	if p.rows%500 == 0 {
		return p.tw.Flush() // a long table is aligned in blocks, not held in memory
	}
	return nil
}

// flush writes out what is buffered. A table or CSV without rows still
// prints its header, so that an empty result is visibly empty.
func (p *printer[T]) flush() error {
	switch {
	case p.cw != nil:
		if p.rows == 0 {
			p.cw.Write(names(p.full))
		}
		p.cw.Flush()
		return p.cw.Error()
	case p.tw != nil:
		if p.rows == 0 {
			p.tw.Write([]byte(strings.ToUpper(strings.Join(names(p.table), "\t")) + "\n"))
		}
		return p.tw.Flush()
	}
	return nil
}

func names[T any](cols []column[T]) []string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.name
	}
	return s
}

// cell makes a value safe for a terminal table or a prompt: text from the
// server or the user that holds a control character (a tab, a newline, an
// escape sequence), a line or paragraph separator, or a format character
// (the bidi controls such as U+202E, which reverse what follows them; the
// zero-width ones) is shown quoted and escaped, so that it can neither
// break the table, draw a false line, reorder what the operator reads, nor
// drive the terminal.
func cell(s string) string {
	if strings.IndexFunc(s, unsafeRune) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// unsafeRune reports whether r can change how the text around it reads on
// a terminal.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

// clean makes a message safe for a terminal: the characters cell escapes
// become '?', but for the newlines the message itself is laid out with.
// Values from the server or the user inside a message must go through
// cell first, so that their own newlines are escaped too.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && unsafeRune(r) {
			return '?'
		}
		return r
	}, s)
}

func (a *app) timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(a.tz).Format(time.RFC3339)
}

func boolText(b bool) string { return strconv.FormatBool(b) }

// chargeState sums up a charge's state in a word, for tables.
func chargeState(c *justap.Charge) string {
	switch {
	case c.Refunded:
		return "refunded"
	case c.Paid && c.AmountRefunded > 0:
		return "part-refunded"
	case c.Paid:
		return "paid"
	case c.Reversed:
		return "reversed"
	case c.Closed:
		return "closed"
	case !c.ExpiredAt.IsZero():
		return "expired"
	}
	return "unpaid"
}

// chargeColumns returns the columns of a charge: the short ones for a
// table and the full ones, named as on the wire, for CSV and single charges.
func (a *app) chargeColumns() (table, full []column[*justap.Charge]) {
	type c = column[*justap.Charge]
	id := c{"charge_id", func(v *justap.Charge) string { return v.ID }}
	order := c{"merchant_trade_id", func(v *justap.Charge) string { return v.MerchantTradeID }}
	channel := c{"channel", func(v *justap.Charge) string { return string(v.Channel) }}
	amount := c{"amount", func(v *justap.Charge) string { return v.Amount.String() }}
	refunded := c{"amount_refund", func(v *justap.Charge) string { return v.AmountRefunded.String() }}
	created := c{"created_at", func(v *justap.Charge) string { return a.timeText(v.CreatedAt) }}
	table = []c{
		{"id", id.value}, {"order", order.value}, channel, amount, {"refunded", refunded.value},
		{"state", chargeState}, {"created", created.value},
	}
	full = []c{
		id, order, channel, amount,
		{"amount_fee", func(v *justap.Charge) string { return v.AmountFee.String() }},
		refunded,
		{"amount_settle", func(v *justap.Charge) string { return v.AmountSettle.String() }},
		{"currency", func(v *justap.Charge) string { return v.Currency }},
		{"paid", func(v *justap.Charge) string { return boolText(v.Paid) }},
		{"refunded", func(v *justap.Charge) string { return boolText(v.Refunded) }},
		{"reversed", func(v *justap.Charge) string { return boolText(v.Reversed) }},
		{"closed", func(v *justap.Charge) string { return boolText(v.Closed) }},
		{"live_mode", func(v *justap.Charge) string { return boolText(v.LiveMode) }},
		{"subject", func(v *justap.Charge) string { return v.Subject }},
		{"transaction_no", func(v *justap.Charge) string { return v.TransactionNo }},
		{"failure_code", func(v *justap.Charge) string { return v.FailureCode }},
		{"failure_msg", func(v *justap.Charge) string { return v.FailureMessage }},
		created,
		{"paid_at", func(v *justap.Charge) string { return a.timeText(v.PaidAt) }},
		{"reversed_at", func(v *justap.Charge) string { return a.timeText(v.ReversedAt) }},
		{"closed_at", func(v *justap.Charge) string { return a.timeText(v.ClosedAt) }},
		{"time_expire", func(v *justap.Charge) string { return a.timeText(v.ExpiresAt) }},
		{"expired_at", func(v *justap.Charge) string { return a.timeText(v.ExpiredAt) }},
		{"app_id", func(v *justap.Charge) string { return v.AppID }},
	}
	return table, full
}

// refundColumns returns the columns of a refund, as chargeColumns does.
func (a *app) refundColumns() (table, full []column[*justap.Refund]) {
	type c = column[*justap.Refund]
	id := c{"refund_id", func(v *justap.Refund) string { return v.ID }}
	charge := c{"charge_id", func(v *justap.Refund) string { return v.ChargeID }}
	mrid := c{"merchant_refund_id", func(v *justap.Refund) string { return v.MerchantRefundID }}
	amount := c{"amount", func(v *justap.Refund) string { return v.Amount.String() }}
	status := c{"status", func(v *justap.Refund) string { return string(v.Status) }}
	created := c{"created_at", func(v *justap.Refund) string { return a.timeText(v.CreatedAt) }}
	desc := c{"description", func(v *justap.Refund) string { return v.Description }}
	table = []c{{"id", id.value}, {"charge", charge.value}, mrid, amount, status, {"created", created.value}, desc}
	full = []c{
		id, charge,
		{"charge_merchant_trade_id", func(v *justap.Refund) string { return v.ChargeMerchantTradeID }},
		mrid, amount, status,
		{"is_success", func(v *justap.Refund) string { return boolText(v.Succeeded) }},
		desc,
		{"refund_no", func(v *justap.Refund) string { return v.RefundNo }},
		{"transaction_no", func(v *justap.Refund) string { return v.TransactionNo }},
		{"failure_code", func(v *justap.Refund) string { return v.FailureCode }},
		{"failure_msg", func(v *justap.Refund) string { return v.FailureMessage }},
		created,
		{"success_at", func(v *justap.Refund) string { return a.timeText(v.SucceededAt) }},
	}
	return table, full
}
