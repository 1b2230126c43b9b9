package justaptest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestRefundRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	unpaid := f.create(t, params("unpaid", 1000))
	reversed := f.create(t, params("reversed", 1000))
	if _, err := f.c.Charges.Reverse(ctx, reversed.ID); err != nil {
		t.Fatal(err)
	}
	paid := f.paid(t, "paid", 1000)

	for _, tc := range []struct {
		name     string
		chargeID string
		amount   justap.Amount
		code     int
		want     string
	}{
		{"unpaid charge", unpaid.ID, 100, 9, "not paid"},
		{"reversed charge", reversed.ID, 100, 9, "reversed"},
		{"more than the charge", paid.ID, 1001, 9, "exceeds"},
		{"unknown charge", "ch_nope", 100, 5, "no charge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.refund(tc.chargeID, "r-"+strings.ReplaceAll(tc.name, " ", "-"), tc.amount)
			e := apiError(t, err)
			if e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
				t.Errorf("refund: %v; want code %d saying %q", err, tc.code, tc.want)
			}
		})
	}

	// Up to the rest, then nothing more.
	if _, err := f.refund(paid.ID, "r1", 600); err != nil {
		t.Fatal(err)
	}
	_, err := f.refund(paid.ID, "r2", 401)
	if e := apiError(t, err); e.StatusCode != 400 || e.Code != 9 || !strings.Contains(e.Message, "4.00") {
		t.Errorf("refund above the rest: %v; want 400 code 9 naming the rest 4.00", err)
	}
	if _, err := f.refund(paid.ID, "r3", 400); err != nil {
		t.Fatalf("refund of exactly the rest: %v", err)
	}
	_, err = f.refund(paid.ID, "r4", 0)
	if e := apiError(t, err); e.Code != 9 || !strings.Contains(e.Message, "in full") {
		t.Errorf("refund of a fully refunded charge: %v", err)
	}
	ch, _ := f.srv.Charge(paid.ID)
	if ch.AmountRefunded != 1000 || !ch.Refunded || len(ch.Refunds) != 2 {
		t.Errorf("charge after refunds: AmountRefunded %v Refunded %v, %d refunds", ch.AmountRefunded, ch.Refunded, len(ch.Refunds))
	}
}

func TestDuplicateMerchantRefundID(t *testing.T) {
	f := newFixture(t)
	a := f.paid(t, "a", 1000)
	b := f.paid(t, "b", 1000)
	first, err := f.refund(a.ID, "refund-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		chargeID string
		amount   justap.Amount
	}{{"same request", a.ID, 100}, {"other amount", a.ID, 200}, {"other charge", b.ID, 100}} {
		_, err := f.refund(tc.chargeID, "refund-1", tc.amount)
		e := apiError(t, err)
		if !errors.Is(err, justap.ErrConflict) || e.StatusCode != 409 || e.Code != 6 || !strings.Contains(e.Message, first.ID) {
			t.Errorf("%s: %v; want 409 code 6 naming %s", tc.name, err, first.ID)
		}
	}
	ca, _ := f.srv.Charge(a.ID)
	cb, _ := f.srv.Charge(b.ID)
	if ca.AmountRefunded != 100 || len(ca.Refunds) != 1 || cb.AmountRefunded != 0 || len(cb.Refunds) != 0 {
		t.Errorf("a refunded %v (%d refunds), b refunded %v (%d refunds); want 1.00 once and nothing",
			ca.AmountRefunded, len(ca.Refunds), cb.AmountRefunded, len(cb.Refunds))
	}
}

func TestCreateRefundRejectsWhatTheGatewayRejects(t *testing.T) {
	f := newFixture(t)
	ch := f.paid(t, "o", 1000)
	valid := fmt.Sprintf(`"app_id": %q, "charge_id": %q, "merchant_refund_id": "r1", "description": "d"`, f.srv.AppID(), ch.ID)
	for _, tc := range []struct{ name, body, want string }{
		{"empty", ``, "empty"},
		{"no app_id", `{"charge_id": "` + ch.ID + `", "merchant_refund_id": "r1", "description": "d"}`, "app_id"},
		{"no charge_id", `{"app_id": "app_justaptest", "merchant_refund_id": "r1", "description": "d"}`, "charge_id"},
		{"no merchant_refund_id", `{"app_id": "app_justaptest", "charge_id": "` + ch.ID + `", "description": "d"}`, "merchant_refund_id"},
		{"long merchant_refund_id", `{` + strings.Replace(valid, `"r1"`, `"`+strings.Repeat("r", 33)+`"`, 1) + `}`, "merchant_refund_id"},
		{"no description", `{"app_id": "app_justaptest", "charge_id": "` + ch.ID + `", "merchant_refund_id": "r1"}`, "description"},
		{"long description", `{` + strings.Replace(valid, `"d"`, `"`+strings.Repeat("退", 256)+`"`, 1) + `}`, "description"},
		{"zero amount", `{` + valid + `, "amount": 0}`, "amount"},
		{"negative amount", `{` + valid + `, "amount": -1}`, "amount"},
		{"sub-fen amount", `{` + valid + `, "amount": 0.005}`, "amount"},
		{"extra not an object", `{` + valid + `, "extra": 1}`, "extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := raw(t, f.srv, "POST", "/transaction/v1/refunds", tc.body).wantError(t, http.StatusBadRequest, 3)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not name %q", msg, tc.want)
			}
		})
	}
	// 255 characters (not bytes) is fine, and the amount is yuan, exactly.
	var rf justap.Refund
	raw(t, f.srv, "POST", "/transaction/v1/refunds",
		`{`+strings.Replace(valid, `"d"`, `"`+strings.Repeat("退", 255)+`"`, 1)+`, "amount": "2.50"}`).wantOK(t, "Refund", &rf)
	if rf.Amount != 250 {
		t.Errorf("refund amount = %v, want 2.50", rf.Amount)
	}
	raw(t, f.srv, "POST", "/transaction/v1/refunds", `{`+strings.Replace(valid, "r1", "r2", 1)+`, "app_id": "app_x"}`).
		wantError(t, http.StatusForbidden, 7)
}

func TestPendingRefunds(t *testing.T) {
	f := newFixture(t, justaptest.WithPendingRefunds())
	ch := f.paid(t, "o", 1000)
	rf, err := f.refund(ch.ID, "r1", 600)
	if err != nil {
		t.Fatal(err)
	}
	if !rf.Status.Is(justap.RefundStatusRefunding) || rf.Succeeded || !rf.SucceededAt.IsZero() {
		t.Fatalf("pending refund = %+v", rf)
	}
	if c, _ := f.srv.Charge(ch.ID); c.AmountRefunded != 0 {
		t.Errorf("AmountRefunded = %v while the refund is pending", c.AmountRefunded)
	}
	// A pending refund already counts against the rest.
	if _, err := f.refund(ch.ID, "r2", 401); err == nil {
		t.Error("refunded more than the rest while a refund was pending")
	}
	f.clock.Advance(3600e9)
	if err := f.srv.CompleteRefund(rf.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.c.Refunds.Get(context.Background(), ch.ID, rf.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Status.Is(justap.RefundStatusRefunded) || !got.Succeeded || !got.SucceededAt.Equal(t0.Add(3600e9)) {
		t.Errorf("completed refund = %+v", got)
	}
	if c, _ := f.srv.Charge(ch.ID); c.AmountRefunded != 600 {
		t.Errorf("AmountRefunded = %v after completion, want 6.00", c.AmountRefunded)
	}
	if err := f.srv.CompleteRefund(rf.ID); err == nil {
		t.Error("CompleteRefund twice succeeded")
	}
	if err := f.srv.CompleteRefund("re_nope"); err == nil {
		t.Error("CompleteRefund of an unknown refund succeeded")
	}
}

func TestGetRefund(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.paid(t, "a", 1000)
	b := f.paid(t, "b", 1000)
	rf, err := f.refund(a.ID, "r1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := f.srv.Refund(rf.ID); !ok || got.Amount != 100 || got.MerchantRefundID != "r1" {
		t.Errorf("srv.Refund = %+v, %v", got, ok)
	}
	if _, ok := f.srv.Refund("re_nope"); ok {
		t.Error("srv.Refund found an unknown refund")
	}
	for _, tc := range []struct{ name, charge, refund string }{
		{"refund of another charge", b.ID, rf.ID},
		{"unknown refund", a.ID, "re_nope"},
		{"unknown charge", "ch_nope", rf.ID},
	} {
		if _, err := f.c.Refunds.Get(ctx, tc.charge, tc.refund); !errors.Is(err, justap.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", tc.name, err)
		}
	}
}

// TestRefundsOfACharge: srv.Refunds lists every refund of one charge,
// newest first, and nothing for an unknown charge.
func TestRefundsOfACharge(t *testing.T) {
	f := newFixture(t)
	a := f.paid(t, "a", 1000)
	b := f.paid(t, "b", 1000)
	var ids []string
	for i, amount := range []justap.Amount{100, 200} {
		f.clock.Advance(time.Second)
		rf, err := f.refund(a.ID, fmt.Sprintf("r%d", i), amount)
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{rf.ID}, ids...)
	}
	var got []string
	for _, r := range f.srv.Refunds(a.ID) {
		if r.ChargeID != a.ID {
			t.Errorf("refund %s is of %s, not %s", r.ID, r.ChargeID, a.ID)
		}
		got = append(got, r.ID)
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("srv.Refunds(a) (-want +got):\n%s", diff)
	}
	if rs := f.srv.Refunds(b.ID); len(rs) != 0 {
		t.Errorf("srv.Refunds(b) = %d refunds, want none", len(rs))
	}
	if rs := f.srv.Refunds("ch_nope"); rs != nil {
		t.Errorf("srv.Refunds(unknown) = %v, want nil", rs)
	}
}
