package justaptest

import (
	"encoding/json"
	"strconv"
	"time"
)

// The fake writes its responses with its own wire structs, not with the
// SDK's models, so that an encoding mistake in a model cannot hide by
// appearing on both sides. Every field the spec requires is written, as
// "", 0 or false when empty; an unset RFC 3339 time is left out; int64
// Unix seconds are JSON strings on a charge (grpc-gateway's encoding) and
// JSON numbers on a refund, as the spec declares them.

// money is an amount of fen, written as a decimal number of yuan.
type money int64

func (m money) MarshalJSON() ([]byte, error) {
	v := int64(m)
	var b []byte
	if v < 0 {
		b = append(b, '-')
		v = -v // amounts are bounded far below MinInt64
	}
	b = strconv.AppendInt(b, v/100, 10)
	b = append(b, '.', byte('0'+v%100/10), byte('0'+v%10))
	return b, nil
}

// rfc3339 is the wire text of a time, "" for the zero time (left out).
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// unix is a time in Unix seconds, 0 for the zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// envelope is a single-object response: {"object": …, "data": …}.
type envelope struct {
	Object string `json:"object"`
	Data   any    `json:"data"`
}

type chargeJSON struct {
	ChargeID        string            `json:"charge_id"`
	Object          string            `json:"object"`
	AppID           string            `json:"app_id"`
	MerchantTradeID string            `json:"merchant_trade_id"`
	Channel         string            `json:"channel"`
	Amount          money             `json:"amount"`
	AmountFee       money             `json:"amount_fee"`
	AmountRefund    money             `json:"amount_refund"`
	AmountRoyalty   money             `json:"amount_royalty"`
	AmountSettle    money             `json:"amount_settle"`
	Currency        string            `json:"currency"`
	Subject         string            `json:"subject"`
	Body            string            `json:"body"`
	Description     string            `json:"description"`
	ClientIP        string            `json:"client_ip"`
	Paid            bool              `json:"paid"`
	Refunded        bool              `json:"refunded"`
	Reversed        bool              `json:"reversed"`
	Closed          bool              `json:"closed"`
	LiveMode        bool              `json:"live_mode"`
	TransactionNo   string            `json:"transaction_no"`
	FailureCode     string            `json:"failure_code"`
	FailureMsg      string            `json:"failure_msg"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	TTL             int64             `json:"ttl"`
	Extra           json.RawMessage   `json:"extra,omitempty"`
	Refunds         []*refundJSON     `json:"refunds,omitempty"`
	CreatedAt       string            `json:"created_at,omitempty"`
	PaidAt          string            `json:"paid_at,omitempty"`
	PaidTS          int64             `json:"paid_ts,string"`
	ClosedAt        string            `json:"closed_at,omitempty"`
	ClosedTS        int64             `json:"closed_ts,string"`
	ReversedAt      string            `json:"reversed_at,omitempty"`
	TimeExpire      string            `json:"time_expire,omitempty"`
	ExpiredTS       int64             `json:"expired_ts,string"`
}

type refundJSON struct {
	RefundID              string            `json:"refund_id"`
	ChargeID              string            `json:"charge_id"`
	ChargeMerchantTradeID string            `json:"charge_merchant_trade_id"`
	MerchantRefundID      string            `json:"merchant_refund_id,omitempty"` // not in the spec; the SDK reads it
	Amount                money             `json:"amount"`
	Description           string            `json:"description"`
	Status                string            `json:"status"`
	IsSuccess             bool              `json:"is_success"`
	RefundNo              string            `json:"refund_no"`
	TransactionNo         string            `json:"transaction_no"`
	FailureCode           string            `json:"failure_code"`
	FailureMsg            string            `json:"failure_msg"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	Created               int64             `json:"created"`
	CreatedAt             string            `json:"created_at,omitempty"`
	SucceedTS             int64             `json:"succeed_ts"`
	SuccessAt             string            `json:"success_at,omitempty"`
}

type chargeListJSON struct {
	Object  string        `json:"object"`
	Data    []*chargeJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

type refundListJSON struct {
	Object  string        `json:"object"`
	Data    []*refundJSON `json:"data"`
	HasMore bool          `json:"has_more"`
	Total   int64         `json:"total"`
}

// statusJSON is a google.rpc.Status, as the gateway answers errors.
type statusJSON struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

// wire is the charge as the gateway writes it, its refunds newest first.
func (c *chargeRec) wire() *chargeJSON {
	ch := &c.c
	w := &chargeJSON{
		ChargeID:        ch.ID,
		Object:          "Charge",
		AppID:           ch.AppID,
		MerchantTradeID: ch.MerchantTradeID,
		Channel:         string(ch.Channel),
		Amount:          money(ch.Amount),
		AmountRefund:    money(ch.AmountRefunded),
		Currency:        ch.Currency,
		Subject:         ch.Subject,
		Body:            ch.Body,
		Description:     ch.Description,
		ClientIP:        ch.ClientIP,
		Paid:            ch.Paid,
		Refunded:        len(c.refunds) > 0, // has refunds, failed ones included
		Reversed:        ch.Reversed,
		Closed:          ch.Closed,
		LiveMode:        ch.LiveMode,
		TransactionNo:   ch.TransactionNo,
		Metadata:        ch.Metadata,
		TTL:             int64(ch.TTL / time.Second),
		Extra:           c.extra,
		CreatedAt:       rfc3339(ch.CreatedAt),
		PaidAt:          rfc3339(ch.PaidAt),
		PaidTS:          unix(ch.PaidAt),
		ClosedAt:        rfc3339(ch.ClosedAt),
		ClosedTS:        unix(ch.ClosedAt),
		ReversedAt:      rfc3339(ch.ReversedAt),
		TimeExpire:      rfc3339(ch.ExpiresAt),
		ExpiredTS:       unix(ch.ExpiredAt),
	}
	if len(c.refunds) > 0 {
		rs := append([]*refundRec(nil), c.refunds...)
		newestFirst(rs)
		for _, r := range rs {
			w.Refunds = append(w.Refunds, r.wire())
		}
	}
	return w
}

// wire is the refund as the gateway writes it.
func (r *refundRec) wire() *refundJSON {
	rf := &r.r
	return &refundJSON{
		RefundID:              rf.ID,
		ChargeID:              rf.ChargeID,
		ChargeMerchantTradeID: rf.ChargeMerchantTradeID,
		MerchantRefundID:      rf.MerchantRefundID,
		Amount:                money(rf.Amount),
		Description:           rf.Description,
		Status:                string(rf.Status),
		IsSuccess:             rf.Succeeded,
		RefundNo:              rf.RefundNo,
		TransactionNo:         rf.TransactionNo,
		Metadata:              rf.Metadata,
		Created:               unix(rf.CreatedAt),
		CreatedAt:             rfc3339(rf.CreatedAt),
		SucceedTS:             unix(rf.SucceededAt),
		SuccessAt:             rfc3339(rf.SucceededAt),
	}
}
