package justap_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// paidCharge creates a charge on the fake and pays it.
func paidCharge(t *testing.T, c *justap.Client, srv *justaptest.Server, id string, amount justap.Amount) *justap.Charge {
	t.Helper()
	ch, err := c.Charges.Create(context.Background(), chargeParams(id, amount))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Pay(ch.ID); err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestRecoverLostChargeThenConflict: the create is processed and its
// answer lost, the retry is refused as a duplicate: Create returns the
// original charge, marked Recovered, and logs the recovery.
func TestRecoverLostChargeThenConflict(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, srv := fakeClient(t, justap.WithLogger(logger))
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	ch, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	all := srv.Charges()
	if len(all) != 1 || ch.ID != all[0].ID || ch.Amount != 1999 || !ch.Recovered {
		t.Fatalf("got %+v; the fake holds %v; want its one charge, recovered", ch, all)
	}
	if ch.Extra == nil || ch.Extra.AlipayQR == nil || ch.Extra.AlipayQR.QRCode == "" {
		t.Errorf("the recovered charge has no QR code: %+v", ch.Extra)
	}
	if n := srv.Count(justaptest.OpCreateCharge); n != 2 {
		t.Errorf("%d creates sent, want 2", n)
	}
	out := logs.String()
	for _, want := range []string{`"msg":"justap create recovered"`, `"merchant_trade_id":"order-1"`, `"charge_id":"` + ch.ID + `"`, `"level":"INFO"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	// A charge read any other way is not marked.
	again, err := c.Charges.Get(context.Background(), ch.ID)
	if err != nil || again.Recovered {
		t.Errorf("Get: %+v, %v; want Recovered false", again, err)
	}
}

// TestRecoverLostRefundThenConflict is the same for a refund, found by the
// merchant refund id recorded in its metadata.
func TestRecoverLostRefundThenConflict(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t)
	ch := paidCharge(t, c, srv, "order-1", 1000)
	// Another refund first, so the lookup must pick the right one.
	if _, err := c.Refunds.Create(context.Background(), refundParams(ch.ID, "refund-0", 100)); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
	rf, err := c.Refunds.Create(context.Background(), refundParams(ch.ID, "refund-1", 300))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, _ := srv.Charge(ch.ID)
	if !rf.Recovered || rf.Amount != 300 || len(got.Refunds) != 2 || got.AmountRefunded != 400 {
		t.Fatalf("refund %+v; the charge has %d refunds of %v; want the refund of 3.00, recovered, and 4.00 refunded in two",
			rf, len(got.Refunds), got.AmountRefunded)
	}
	if rf.Metadata[justap.MerchantRefundIDMetadataKey] != "refund-1" {
		t.Errorf("metadata = %v, want the merchant refund id under %s", rf.Metadata, justap.MerchantRefundIDMetadataKey)
	}
}

// TestRecoverAfterDropThenRefusal: a lost answer followed by a 4xx, or by
// a 200 that cannot be read, is not a refusal: the charge was made, and
// Create finds it.
func TestRecoverAfterDropThenRefusal(t *testing.T) {
	t.Parallel()
	for _, next := range []justaptest.Fault{
		{Status: 400}, {Status: 401}, {Status: 403}, {Status: 404}, {Kind: justaptest.FaultMalformed},
	} {
		t.Run(next.Kind.String()+"/"+http.StatusText(next.Status), func(t *testing.T) {
			c, srv := fakeClient(t)
			next.Op = justaptest.OpCreateCharge
			srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
			srv.FailNext(1, next)
			ch, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
			if err != nil || !ch.Recovered {
				t.Fatalf("Create: %+v, %v; want the charge, recovered", ch, err)
			}
			srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
			next.Op = justaptest.OpCreateRefund
			srv.FailNext(1, next)
			if err := srv.Pay(ch.ID); err != nil {
				t.Fatal(err)
			}
			rf, err := c.Refunds.Create(context.Background(), refundParams(ch.ID, "refund-1", 500))
			if err != nil || !rf.Recovered {
				t.Fatalf("refund: %+v, %v; want the refund, recovered", rf, err)
			}
		})
	}
}

// TestReusedIDDifferentAmount: an id already names a charge for other
// money; this call's first attempt was processed (and refused) but its
// answer lost, its retry refused as a duplicate. The lookup finds a
// charge that is not the one asked for: ErrReusedID, not a recovery.
func TestReusedIDDifferentAmount(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t)
	orig, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	_, err = c.Charges.Create(context.Background(), chargeParams("order-1", 999))
	e := errorOf(t, err)
	if !errors.Is(err, justap.ErrReusedID) || !errors.Is(err, justap.ErrConflict) || e.OutcomeUnknown() {
		t.Fatalf("err = %v; want ErrReusedID (and ErrConflict), outcome known", err)
	}
	if e.Charge == nil || e.Charge.ID != orig.ID || e.Charge.Amount != 1999 || e.Charge.Recovered {
		t.Errorf("Error.Charge = %+v, want the original charge %s", e.Charge, orig.ID)
	}
	for _, want := range []string{"order-1", orig.ID, "amount 19.99, not 9.99"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error text lacks %q: %v", want, err)
		}
	}
	if n := len(srv.Charges()); n != 1 {
		t.Errorf("%d charges exist, want 1", n)
	}

	// The same for a refund: a different amount under a used refund id.
	if err := srv.Pay(orig.ID); err != nil {
		t.Fatal(err)
	}
	first, err := c.Refunds.Create(context.Background(), refundParams(orig.ID, "refund-1", 100))
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
	_, err = c.Refunds.Create(context.Background(), refundParams(orig.ID, "refund-1", 200))
	e = errorOf(t, err)
	if !errors.Is(err, justap.ErrReusedID) || e.OutcomeUnknown() || e.Refund == nil || e.Refund.ID != first.ID {
		t.Fatalf("refund: err = %v (Refund %+v); want ErrReusedID naming %s", err, e.Refund, first.ID)
	}
}

// TestFirstAttemptConflict: a create refused as a duplicate on its first
// attempt stays ErrConflict, also matches ErrReusedID, and carries the
// charge that the id names; it is not recovered, even when it matches.
func TestFirstAttemptConflict(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t)
	orig, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	e := errorOf(t, err)
	if !errors.Is(err, justap.ErrConflict) || !errors.Is(err, justap.ErrReusedID) || e.OutcomeUnknown() || e.Attempts != 1 {
		t.Fatalf("err = %v; want ErrConflict and ErrReusedID after 1 attempt, outcome known", err)
	}
	if e.Charge == nil || e.Charge.ID != orig.ID {
		t.Errorf("Error.Charge = %+v, want %s", e.Charge, orig.ID)
	}

	if err := srv.Pay(orig.ID); err != nil {
		t.Fatal(err)
	}
	rf, err := c.Refunds.Create(context.Background(), refundParams(orig.ID, "refund-1", 100))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Refunds.Create(context.Background(), refundParams(orig.ID, "refund-1", 100))
	e = errorOf(t, err)
	if !errors.Is(err, justap.ErrReusedID) || e.Refund == nil || e.Refund.ID != rf.ID {
		t.Fatalf("refund: err = %v (Refund %+v); want ErrReusedID with %s attached", err, e.Refund, rf.ID)
	}
}

// TestRecoveryOff: WithRecovery(false) returns the last attempt's conflict
// as it is, without looking anything up, saying the outcome is unknown.
func TestRecoveryOff(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"client", "call"} {
		t.Run(where, func(t *testing.T) {
			var clientOpts, callOpts []justap.Option
			if where == "client" {
				clientOpts = append(clientOpts, justap.WithRecovery(false))
			} else {
				callOpts = append(callOpts, justap.WithRecovery(false))
			}
			c, srv := fakeClient(t, clientOpts...)
			srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
			_, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999), callOpts...)
			e := errorOf(t, err)
			if !errors.Is(err, justap.ErrConflict) || e.Code != 6 || e.Attempts != 2 || !e.OutcomeUnknown() ||
				errors.Is(err, justap.ErrReusedID) || e.Charge != nil {
				t.Fatalf("err = %v (unknown %v, charge %v); want the 409 of the second attempt, outcome unknown",
					err, e.OutcomeUnknown(), e.Charge)
			}
			// A first-attempt conflict: no lookup either, no object attached.
			_, err = c.Charges.Create(context.Background(), chargeParams("order-1", 1999), callOpts...)
			e = errorOf(t, err)
			if !errors.Is(err, justap.ErrConflict) || e.Charge != nil || e.OutcomeUnknown() {
				t.Fatalf("err = %v, want a plain conflict", err)
			}
			if n := srv.Count(justaptest.OpListCharges); n != 0 {
				t.Errorf("%d lookups sent, want none", n)
			}
		})
	}
}

// TestConflictAfterUnknownNotFound: a retry is refused as a duplicate but
// no charge with the id can be found. The error says so, and the outcome
// stays unknown: it is not a refusal.
func TestConflictAfterUnknownNotFound(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, justap.WithMaxRetries(1), faultBackoff)
	var creates atomic.Int32
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		if creates.Add(1) == 1 {
			hangUp(t, w, true, "")
			return
		}
		writeJSON(w, 409, `{"code":6,"message":"merchant_trade_id already exists"}`)
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"object":"ChargeList","data":[],"has_more":false}`)
	})
	_, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	e := errorOf(t, err)
	if !errors.Is(err, justap.ErrConflict) || !e.OutcomeUnknown() || errors.Is(err, justap.ErrReusedID) {
		t.Fatalf("err = %v; want ErrConflict with the outcome unknown", err)
	}
	if !strings.Contains(e.Message, "could not be found") {
		t.Errorf("Message = %q, want it to say the lookup found nothing", e.Message)
	}
}

// TestUnreadable200OnCreate: a 200 whose body cannot be read means the
// gateway did create the charge: Create finds it. When nothing can be
// found (here: the fake did not process it), the outcome stays unknown.
func TestUnreadable200OnCreate(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, justap.WithMaxResponseBytes(200))
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, faultChargeBody) // longer than 200 bytes
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"object":"ChargeList","has_more":false,"data":[{"charge_id":"ch_1","app_id":"app_test_1",`+
			`"merchant_trade_id":"order-1","channel":"AlipayQR","amount":19.99,`+
			`"created_at":"`+time.Now().UTC().Format(time.RFC3339)+`"}]}`)
	})
	ch, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	if err != nil || ch.ID != "ch_1" || !ch.Recovered {
		t.Fatalf("Create: %+v, %v; want ch_1, recovered", ch, err)
	}

	c2, srv := fakeClient(t)
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultMalformed})
	_, err = c2.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	e := errorOf(t, err)
	if !errors.Is(err, justap.ErrMalformedResponse) || !e.OutcomeUnknown() {
		t.Fatalf("err = %v; want ErrMalformedResponse with the outcome unknown", err)
	}
}

// TestLookupFailsKeepsUnknown: when the lookup itself fails, the create's
// own error is returned, outcome unknown.
func TestLookupFailsKeepsUnknown(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t, justap.WithMaxRetries(1))
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Status: 503})
	srv.FailNext(2, justaptest.Fault{Op: justaptest.OpListCharges, Status: 503})
	_, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	e := errorOf(t, err)
	if !errors.Is(err, justap.ErrServer) || !e.OutcomeUnknown() || e.Path != "/transaction/v1/charges" ||
		e.Method != http.MethodPost || e.Attempts != 2 {
		t.Fatalf("err = %v; want the create's 503 after 2 attempts, outcome unknown", err)
	}
	if !strings.Contains(err.Error(), "outcome is unknown") {
		t.Errorf("the error does not say what to do: %v", err)
	}
}

// TestRefusalIsKnown: a create refused on every attempt, with nothing sent
// that could have been processed, is a plain refusal.
func TestRefusalIsKnown(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t)
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Status: 429, RetryAfter: "0"})
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Status: 400})
	_, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	e := errorOf(t, err)
	if !errors.Is(err, justap.ErrInvalidRequest) || e.OutcomeUnknown() || errors.Is(err, justap.ErrReusedID) {
		t.Fatalf("err = %v; want a refusal, outcome known", err)
	}
	if n := srv.Count(justaptest.OpListCharges); n != 0 {
		t.Errorf("%d lookups after a plain refusal, want none", n)
	}
}

// TestRefundMetadataKeyReserved: a caller's key never overwrites the
// recorded id, nor the other way round, and the caller's map is untouched.
func TestRefundMetadataKeyReserved(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { t.Errorf("request sent: %s", r.URL) })
	p := refundParams("ch_1", "refund-1", 100)
	p.Metadata = map[string]string{justap.MerchantRefundIDMetadataKey: "mine", "k": "v"}
	_, err := c.Refunds.Create(context.Background(), p)
	var v *justap.ValidationError
	if !errors.As(err, &v) || v.Field != "RefundCreateParams.Metadata" || !strings.Contains(v.Reason, justap.MerchantRefundIDMetadataKey) {
		t.Fatalf("err = %v, want a *ValidationError for RefundCreateParams.Metadata naming the key", err)
	}

	c2, srv := fakeClient(t)
	ch := paidCharge(t, c2, srv, "order-1", 1000)
	md := map[string]string{"k": "v"}
	p = refundParams(ch.ID, "refund-1", 100)
	p.Metadata = md
	rf, err := c2.Refunds.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(md) != 1 || md["k"] != "v" {
		t.Errorf("the caller's metadata changed: %v", md)
	}
	if rf.Metadata["k"] != "v" || rf.Metadata[justap.MerchantRefundIDMetadataKey] != "refund-1" {
		t.Errorf("the refund's metadata = %v, want both keys", rf.Metadata)
	}
}

// TestGetByMerchantRefundID walks a charge's refunds across pages.
func TestGetByMerchantRefundID(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t)
	ch := paidCharge(t, c, srv, "order-1", 100000)
	ctx := context.Background()
	var want *justap.Refund
	for i := range 103 {
		rf, err := c.Refunds.Create(ctx, refundParams(ch.ID, "refund-"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+
			string(rune('a'+i/26)), 1))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = rf // the oldest: on the second page, newest first
		}
	}
	got, err := c.Refunds.GetByMerchantRefundID(ctx, ch.ID, "refund-aa")
	if err != nil || got.ID != want.ID {
		t.Fatalf("got %+v, %v; want %s", got, err, want.ID)
	}
	if n := srv.Count(justaptest.OpListRefunds); n != 2 {
		t.Errorf("%d pages read, want 2", n)
	}
	_, err = c.Refunds.GetByMerchantRefundID(ctx, ch.ID, "refund-none")
	if e := errorOf(t, err); !errors.Is(err, justap.ErrNotFound) || errors.Is(err, justap.ErrNoResponse) {
		t.Errorf("err = %v (%+v), want ErrNotFound only", err, e)
	}
	if want := "/refunds: no refund of charge " + ch.ID + ` has merchant_refund_id "refund-none" — `; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q (no HTTP status)", err, want)
	}
	for _, args := range [][2]string{{"", "r"}, {"ch_1", ""}, {"..", "r"}} {
		_, err := c.Refunds.GetByMerchantRefundID(ctx, args[0], args[1])
		var v *justap.ValidationError
		if !errors.As(err, &v) {
			t.Errorf("GetByMerchantRefundID(%q, %q): err = %v, want a *ValidationError", args[0], args[1], err)
		}
	}
}

// TestNothingSentIsKnown: a create that certainly never reached the
// gateway (the connection was refused, or the context was done before it
// was sent) is a refusal, not an unknown outcome.
func TestNothingSentIsKnown(t *testing.T) {
	t.Parallel()
	c, err := justap.NewClient(testAPIKey, justap.WithBaseURL(refusedURL(t)), justap.WithAppID(testAppID), faultBackoff)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	if e := errorOf(t, err); !errors.Is(err, justap.ErrNoResponse) || e.OutcomeUnknown() || e.Attempts != 3 {
		t.Errorf("connection refused: err = %v (unknown %v), want a known failure after 3 attempts", err, e.OutcomeUnknown())
	}

	c2, srv := fakeClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c2.Charges.Create(ctx, chargeParams("order-1", 100))
	if e := errorOf(t, err); !errors.Is(err, context.Canceled) || e.OutcomeUnknown() {
		t.Errorf("cancelled context: err = %v (unknown %v), want a known failure", err, e.OutcomeUnknown())
	}
	if n := srv.Count(justaptest.OpCreateCharge); n != 0 {
		t.Errorf("%d creates reached the fake, want 0", n)
	}
}

// TestReadsNeverUnknown: a GET changes nothing, so its failures never
// report an unknown outcome, whatever happened to the answer.
func TestReadsNeverUnknown(t *testing.T) {
	t.Parallel()
	c, srv := fakeClient(t, justap.WithMaxRetries(1))
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpGetCharge, Kind: justaptest.FaultDropResponse})
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpGetCharge, Status: 404})
	_, err := c.Charges.Get(context.Background(), "ch_1")
	if e := errorOf(t, err); !errors.Is(err, justap.ErrNotFound) || e.OutcomeUnknown() {
		t.Errorf("err = %v (unknown %v), want a 404, outcome known", err, e.OutcomeUnknown())
	}
}

// lostBeforeGateway makes the next create of op fail with a 503 from a
// proxy: the gateway never sees it, and the retry meets what the id
// already names.
func lostBeforeGateway(srv *justaptest.Server, op justaptest.Op) {
	srv.FailNext(1, justaptest.Fault{Op: op, Kind: justaptest.FaultStatus, Status: 503})
}

// TestReusedIDYesterdaysChargeIsNotTodays: a merchant id reused for an
// order of the same price the next day. The first attempt is answered
// 503 before the gateway saw it, the retry is a duplicate, and the lookup
// finds yesterday's paid charge for the same app, amount, channel and
// currency. It is not this call's: ErrReusedID, same money, and advice
// that never says to use a new id.
func TestReusedIDYesterdaysChargeIsNotTodays(t *testing.T) {
	t.Parallel()
	c, srv, clk := clockedFake(t)
	today := clk.Now()
	clk.Set(today.Add(-24 * time.Hour))
	old := paidCharge(t, c, srv, "cart-7", 1999)
	clk.Set(today)

	lostBeforeGateway(srv, justaptest.OpCreateCharge)
	ch, err := c.Charges.Create(context.Background(), chargeParams("cart-7", 1999))
	require.Nil(t, ch, "Create returned yesterday's charge as this call's")
	e := errorOf(t, err)
	require.ErrorIs(t, err, justap.ErrReusedID)
	assert.False(t, e.OutcomeUnknown())
	assert.True(t, e.SameMoney(), "the charge found is the money asked for")
	require.NotNil(t, e.Charge)
	assert.Equal(t, old.ID, e.Charge.ID)
	assert.False(t, e.Charge.Recovered)
	assert.Contains(t, err.Error(), "ContinuesFrom")
	assert.NotContains(t, err.Error(), "new merchant id")
	assert.WithinDuration(t, time.Now(), e.Began, time.Minute)
	assert.Len(t, srv.Charges(), 1)
}

// TestReusedIDOtherMoneySaysWhatDiffers: the id names a charge of another
// amount: ErrReusedID, not the same money, and the message names the
// difference.
func TestReusedIDOtherMoneySaysWhatDiffers(t *testing.T) {
	t.Parallel()
	c, srv, _ := clockedFake(t)
	paidCharge(t, c, srv, "cart-8", 500)
	for _, lost := range []bool{false, true} {
		if lost {
			lostBeforeGateway(srv, justaptest.OpCreateCharge)
		}
		_, err := c.Charges.Create(context.Background(), chargeParams("cart-8", 1999))
		e := errorOf(t, err)
		require.ErrorIs(t, err, justap.ErrReusedID)
		assert.False(t, e.SameMoney())
		assert.False(t, e.OutcomeUnknown())
		assert.Contains(t, e.Message, "amount 5.00, not 19.99")
	}
}

// TestFullRefundDoesNotRecoverAnOldPartialRefund: FullRefund under a
// merchant refund id that names an earlier ¥1.00 refund of a ¥10.00
// charge. The first attempt is lost before the gateway, the retry is a
// duplicate, the lookup finds the ¥1.00 refund: it is not the whole rest,
// so ErrReusedID for other money, saying how much is still refundable,
// whether the old refund is from yesterday or from a minute ago.
func TestFullRefundDoesNotRecoverAnOldPartialRefund(t *testing.T) {
	t.Parallel()
	for _, age := range []time.Duration{24 * time.Hour, time.Minute} {
		c, srv, clk := clockedFake(t)
		now := clk.Now()
		ch := paidCharge(t, c, srv, "order-1", 1000)
		clk.Set(now.Add(-age))
		_, err := c.Refunds.Create(context.Background(), refundParams(ch.ID, "r-1", 100))
		require.NoError(t, err)
		clk.Set(now)

		lostBeforeGateway(srv, justaptest.OpCreateRefund)
		p := refundParams(ch.ID, "r-1", 0)
		p.FullRefund = true
		began := time.Now().Add(-age - time.Minute) // as a continued call would: even then, not the whole rest
		for _, opts := range [][]justap.Option{nil, {justap.ContinuesFrom(began)}} {
			rf, err := c.Refunds.Create(context.Background(), p, opts...)
			require.Nil(t, rf, "age %v, options %d: a partial refund returned as the full refund", age, len(opts))
			e := errorOf(t, err)
			require.ErrorIs(t, err, justap.ErrReusedID)
			assert.False(t, e.SameMoney())
			require.NotNil(t, e.Refund)
			assert.Equal(t, justap.Amount(100), e.Refund.Amount)
			assert.Contains(t, e.Message, "9.00 of charge "+ch.ID+" is still refundable")
		}
		got, _ := srv.Charge(ch.ID)
		assert.Equal(t, justap.Amount(100), got.AmountRefunded)
	}
}

// TestHandRetryWithContinuesFrom: a create whose answer is lost and whose
// lookup fails ends with the outcome unknown. A retry job retries it
// later, from a fresh Client, with ContinuesFrom(e.Began): the create ends
// in the object, Recovered, and the fake holds one. For a charge and for a
// full refund.
func TestHandRetryWithContinuesFrom(t *testing.T) {
	t.Parallel()
	loseAndFailLookup := func(srv *justaptest.Server, create, list justaptest.Op) {
		srv.FailNext(1, justaptest.Fault{Op: create, Kind: justaptest.FaultDropResponse})
		srv.FailNext(3, justaptest.Fault{Op: create, Status: 502})
		srv.FailNext(3, justaptest.Fault{Op: list, Status: 502})
	}
	t.Run("charge", func(t *testing.T) {
		t.Parallel()
		c, srv := fakeClient(t)
		loseAndFailLookup(srv, justaptest.OpCreateCharge, justaptest.OpListCharges)
		_, err := c.Charges.Create(context.Background(), chargeParams("order-9", 1999))
		e := errorOf(t, err)
		require.True(t, e.OutcomeUnknown(), "err = %v", err)
		srv.ClearFaults()

		fresh := fakeClientOf(t, srv)
		ch, err := fresh.Charges.Create(context.Background(), chargeParams("order-9", 1999), justap.ContinuesFrom(e.Began))
		require.NoError(t, err)
		assert.True(t, ch.Recovered)
		all := srv.Charges()
		require.Len(t, all, 1)
		assert.Equal(t, all[0].ID, ch.ID)

		// Without the option: the same money, made before this call.
		_, err = fresh.Charges.Create(context.Background(), chargeParams("order-9", 1999))
		e = errorOf(t, err)
		require.ErrorIs(t, err, justap.ErrReusedID)
		assert.True(t, e.SameMoney())
		assert.NotContains(t, err.Error(), "new merchant id")
		assert.Len(t, srv.Charges(), 1)
	})
	t.Run("full refund", func(t *testing.T) {
		t.Parallel()
		c, srv := fakeClient(t)
		ch := paidCharge(t, c, srv, "order-1", 1000)
		_, err := c.Refunds.Create(context.Background(), refundParams(ch.ID, "r-0", 250))
		require.NoError(t, err)
		p := refundParams(ch.ID, "r-1", 0)
		p.FullRefund = true
		loseAndFailLookup(srv, justaptest.OpCreateRefund, justaptest.OpListRefunds)
		_, err = c.Refunds.Create(context.Background(), p)
		e := errorOf(t, err)
		require.True(t, e.OutcomeUnknown(), "err = %v", err)
		srv.ClearFaults()

		fresh := fakeClientOf(t, srv)
		rf, err := fresh.Refunds.Create(context.Background(), p, justap.ContinuesFrom(e.Began))
		require.NoError(t, err)
		assert.True(t, rf.Recovered)
		assert.Equal(t, justap.Amount(750), rf.Amount)
		got, _ := srv.Charge(ch.ID)
		require.Len(t, got.Refunds, 2)
		assert.Equal(t, justap.Amount(1000), got.AmountRefunded)

		_, err = fresh.Refunds.Create(context.Background(), p)
		e = errorOf(t, err)
		require.ErrorIs(t, err, justap.ErrReusedID)
		assert.True(t, e.SameMoney(), "err = %v", err)
		assert.NotContains(t, err.Error(), "new merchant id")
	})
}

// TestContinuesFromDoesNotReachBeforeItsCall: an object for the same money
// created before the continued call began (less the allowance) is still
// not this call's.
func TestContinuesFromDoesNotReachBeforeItsCall(t *testing.T) {
	t.Parallel()
	c, srv, clk := clockedFake(t)
	now := clk.Now()
	clk.Set(now.Add(-time.Hour))
	old := paidCharge(t, c, srv, "order-5", 1999)
	clk.Set(now)
	began := now.Add(-time.Hour + justap.ClockSkewAllowance + time.Minute)
	_, err := c.Charges.Create(context.Background(), chargeParams("order-5", 1999), justap.ContinuesFrom(began))
	e := errorOf(t, err)
	require.ErrorIs(t, err, justap.ErrReusedID)
	assert.True(t, e.SameMoney())
	assert.Equal(t, old.ID, e.Charge.ID)

	// Within the allowance, it is.
	ch, err := c.Charges.Create(context.Background(), chargeParams("order-5", 1999),
		justap.ContinuesFrom(now.Add(-time.Hour+justap.ClockSkewAllowance-time.Minute)))
	require.NoError(t, err)
	assert.True(t, ch.Recovered)
	assert.Len(t, srv.Charges(), 1)
}

// TestContinuesFromRefusedOnAClientAndWhenZero: ContinuesFrom is of one
// call; a zero or future time is refused before anything is sent.
func TestContinuesFromRefusedOnAClientAndWhenZero(t *testing.T) {
	t.Parallel()
	_, err := justap.NewClient("sk_test_x", justap.ContinuesFrom(time.Now()))
	require.ErrorContains(t, err, "option of one call")
	c, srv := fakeClient(t)
	for _, at := range []time.Time{{}, time.Now().Add(time.Hour)} {
		_, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1), justap.ContinuesFrom(at))
		var v *justap.ValidationError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, "ContinuesFrom", v.Field)
	}
	assert.Zero(t, srv.Count(justaptest.OpCreateCharge))
}

// TestRecoveredNeedsACreationTime: a charge found after a lost answer
// that carries no creation time cannot be proven this call's: the outcome
// stays unknown.
func TestRecoveredNeedsACreationTime(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, justap.WithMaxRetries(0))
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 502, `<html>bad gateway</html>`)
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"object":"ChargeList","has_more":false,"data":[{"charge_id":"ch_1","app_id":"app_test_1",`+
			`"merchant_trade_id":"order-1","channel":"AlipayQR","amount":19.99,"currency":"CNY"}]}`)
	})
	ch, err := c.Charges.Create(context.Background(), chargeParams("order-1", 1999))
	require.Nil(t, ch)
	e := errorOf(t, err)
	assert.True(t, e.OutcomeUnknown())
	assert.False(t, errors.Is(err, justap.ErrReusedID))
	assert.Contains(t, e.Message, "no creation time")
}
