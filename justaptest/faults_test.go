package justaptest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestFaultStatus(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(1, justaptest.Fault{})
	r := raw(t, f.srv, "GET", "/transaction/v1/charges?app_id="+f.srv.AppID(), "")
	if msg := r.wantError(t, http.StatusServiceUnavailable, 14); !strings.Contains(msg, "justaptest") {
		t.Errorf("message %q should say the failure was injected", msg)
	}
	// Served normally once the fault is used up.
	if r := raw(t, f.srv, "GET", "/transaction/v1/charges?app_id="+f.srv.AppID(), ""); r.status != 200 {
		t.Errorf("after the fault: status %d", r.status)
	}

	f.srv.FailNext(1, justaptest.Fault{Status: 502, Body: "<html>Bad Gateway</html>", RetryAfter: "7"})
	r = raw(t, f.srv, "GET", "/transaction/v1/charges", "")
	if r.status != 502 || string(r.body) != "<html>Bad Gateway</html>" || r.header.Get("Retry-After") != "7" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("502 fault: %d %v %s", r.status, r.header, r.body)
	}

	f.srv.FailNext(1, justaptest.Fault{Status: 429, RetryAfter: "1"})
	_, err := f.c.Charges.Create(context.Background(), params("o", 100))
	if !errors.Is(err, justap.ErrRateLimited) || apiError(t, err).Code != 8 {
		t.Errorf("429 fault through the SDK: %v", err)
	}
	if n := len(f.srv.Charges()); n != 0 {
		t.Errorf("a faulted create made %d charges", n)
	}
}

func TestFaultSelection(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.create(t, params("a", 100))
	b := f.create(t, params("b", 100))

	f.srv.FailNext(2, justaptest.Fault{Op: justaptest.OpReverseCharge, Status: 500})
	if _, err := f.c.Charges.Get(ctx, a.ID); err != nil {
		t.Errorf("a Get took a fault meant for reverse: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := f.c.Charges.Reverse(ctx, a.ID); !errors.Is(err, justap.ErrServer) {
			t.Errorf("reverse %d: %v, want the injected 500", i, err)
		}
	}
	if _, err := f.c.Charges.Reverse(ctx, a.ID); err != nil {
		t.Errorf("third reverse: %v; the fault was for two", err)
	}

	f.srv.FailNext(1, justaptest.Fault{Path: "/transaction/v1/charges/" + b.ID, Status: 500})
	if _, err := f.c.Charges.Get(ctx, a.ID); err != nil {
		t.Errorf("Get of a took the fault for b's path: %v", err)
	}
	if _, err := f.c.Charges.Get(ctx, b.ID); !errors.Is(err, justap.ErrServer) {
		t.Errorf("Get of b: %v, want the injected 500", err)
	}

	f.srv.FailNext(1, justaptest.Fault{Method: "post", Status: 500})
	if _, err := f.c.Charges.List(ctx, nil); err != nil {
		t.Errorf("a GET took a POST fault: %v", err)
	}
	if _, err := f.c.Charges.Create(ctx, params("c", 1)); !errors.Is(err, justap.ErrServer) {
		t.Errorf("POST: %v, want the injected 500", err)
	}

	// Faults queue in order; ClearFaults drops them.
	f.srv.FailNext(2, justaptest.Fault{Status: 500})
	f.srv.FailNext(3, justaptest.Fault{Op: justaptest.OpGetCharge, Status: 500})
	if n := f.srv.PendingFaults(); n != 5 {
		t.Errorf("PendingFaults = %d, want 5", n)
	}
	f.srv.ClearFaults()
	if n := f.srv.PendingFaults(); n != 0 {
		t.Errorf("PendingFaults after ClearFaults = %d", n)
	}
	if _, err := f.c.Charges.Get(ctx, a.ID); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestFaultReset(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultReset})
	_, err := f.c.Charges.Create(context.Background(), params("o", 100))
	if !errors.Is(err, justap.ErrNoResponse) {
		t.Errorf("create over a reset connection: %v, want ErrNoResponse", err)
	}
	if n := len(f.srv.Charges()); n != 0 {
		t.Errorf("FaultReset processed the request: %d charges", n)
	}
}

func TestFaultMalformed(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultMalformed})
	_, err := f.c.Charges.Create(context.Background(), params("o", 100))
	if !errors.Is(err, justap.ErrMalformedResponse) || apiError(t, err).StatusCode != 200 {
		t.Errorf("create with a cut-off body: %v, want ErrMalformedResponse with status 200", err)
	}
	if n := len(f.srv.Charges()); n != 0 {
		t.Errorf("FaultMalformed processed the request: %d charges", n)
	}
}

func TestFaultDropResponse(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultDropResponse})
	// Without the client's recovery, which would find the charge.
	_, err := f.c.Charges.Create(context.Background(), params("o", 100), justap.WithRecovery(false))
	if !errors.Is(err, justap.ErrNoResponse) {
		t.Errorf("create whose response was dropped: %v, want ErrNoResponse", err)
	}
	if all := f.srv.Charges(); len(all) != 1 || all[0].MerchantTradeID != "o" {
		t.Errorf("FaultDropResponse must process the request: charges %v", all)
	}
}

func TestFaultHangEndsWithTheClient(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultHang})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.c.Charges.Create(ctx, params("o", 100))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, justap.ErrNoResponse) {
		t.Errorf("create that hung: %v, want the deadline", err)
	}
	if n := len(f.srv.Charges()); n != 0 {
		t.Errorf("FaultHang processed the request: %d charges", n)
	}
	// The server still serves; goleak (TestMain) checks the hung handler ended.
	if _, err := f.c.Charges.List(context.Background(), nil); err != nil {
		t.Errorf("after the hang: %v", err)
	}
}

func TestFaultHangEndsWhenTheServerCloses(t *testing.T) {
	srv := justaptest.NewServer(t)
	srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultHang})
	c := newClient(t, srv)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Charges.Get(context.Background(), "ch_1")
		errc <- err
	}()
	// Close once the request is held: it is counted before it hangs.
	for srv.Count(justaptest.OpGetCharge) == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close() // must not wait for the client
	if err := <-errc; !errors.Is(err, justap.ErrNoResponse) {
		t.Errorf("request held when the server closed: %v, want ErrNoResponse", err)
	}
	srv.Close() // twice is fine
}

func TestFailNextRefusesInvalidFaults(t *testing.T) {
	srv := justaptest.NewServer(t)
	for _, f := range []justaptest.Fault{
		{Kind: justaptest.FaultKind(99)},
		{Status: 99},
		{Status: 600},
		{Kind: justaptest.FaultReset, Status: 500},
		{Kind: justaptest.FaultHang, Body: "x"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FailNext(%+v) did not panic", f)
				}
			}()
			srv.FailNext(1, f)
		}()
	}
	srv.FailNext(0, justaptest.Fault{})
	if n := srv.PendingFaults(); n != 0 {
		t.Errorf("PendingFaults = %d", n)
	}
}

func TestCounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ch := f.create(t, params("o", 100))
	f.c.Charges.Get(ctx, ch.ID)
	f.c.Charges.Get(ctx, ch.ID)
	f.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpListCharges})
	f.c.Charges.List(ctx, nil)             // faulted: counted
	f.c.Charges.Get(ctx, "ch_nope")        // 404: counted
	raw(t, f.srv, "GET", "/elsewhere", "") // no operation: not counted
	raw(t, f.srv, "POST", "/justaptest/charges/"+ch.ID+"/pay", "")
	want := map[justaptest.Op]int{justaptest.OpCreateCharge: 1, justaptest.OpGetCharge: 3, justaptest.OpListCharges: 1}
	got := f.srv.Counts()
	if len(got) != len(want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
	for op, n := range want {
		if got[op] != n || f.srv.Count(op) != n {
			t.Errorf("Count(%s) = %d (Counts %d), want %d", op, f.srv.Count(op), got[op], n)
		}
	}
	got[justaptest.OpCreateCharge] = 99 // a copy
	if f.srv.Count(justaptest.OpCreateCharge) != 1 {
		t.Error("Counts returned the fake's own map")
	}
}

// The retry guarantees of the SDK, proven against the fake's state.

func retryingClient(t *testing.T, srv *justaptest.Server) *justap.Client {
	return newClient(t, srv, justap.WithMaxRetries(3), justap.WithRetryBackoff(time.Millisecond, time.Millisecond))
}

func TestRetriedCreateNeverChargesTwice(t *testing.T) {
	srv := justaptest.NewServer(t)
	c := retryingClient(t, srv)
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateCharge, Kind: justaptest.FaultDropResponse})
	_, err := c.Charges.Create(context.Background(), params("order-1", 1999), justap.WithRecovery(false))
	// The first attempt created the charge and lost its response; the retry
	// was refused as a duplicate (and the client's recovery, off here, would
	// have found the charge).
	e := apiError(t, err)
	if !errors.Is(err, justap.ErrConflict) || e.Attempts != 2 {
		t.Errorf("create: %v (attempts %d), want ErrConflict after 2 attempts", err, e.Attempts)
	}
	if n := srv.Count(justaptest.OpCreateCharge); n != 2 {
		t.Errorf("the fake saw %d creates, want 2", n)
	}
	if all := srv.Charges(); len(all) != 1 || all[0].Amount != 1999 {
		t.Errorf("charges = %v, want exactly one", all)
	}

	// A transient 503 is retried and the create goes through once.
	srv.FailNext(2, justaptest.Fault{Op: justaptest.OpCreateCharge, Status: 503, RetryAfter: "0"})
	ch, err := c.Charges.Create(context.Background(), params("order-2", 500))
	if err != nil {
		t.Fatalf("create after two 503s: %v", err)
	}
	if n := srv.Count(justaptest.OpCreateCharge); n != 5 {
		t.Errorf("the fake saw %d creates, want 5", n)
	}
	if all := srv.Charges(); len(all) != 2 || all[0].ID != ch.ID {
		t.Errorf("charges = %v", all)
	}
}

func TestRetriedRefundNeverRefundsTwice(t *testing.T) {
	srv := justaptest.NewServer(t)
	c := retryingClient(t, srv)
	ctx := context.Background()
	ch, err := c.Charges.Create(ctx, params("order-1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	srv.Pay(ch.ID)
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
	srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultReset})
	_, err = c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "refund-1", Description: "d", Amount: 300,
	}, justap.WithRecovery(false))
	if e := apiError(t, err); !errors.Is(err, justap.ErrConflict) || e.Attempts != 3 {
		t.Errorf("refund: %v, want ErrConflict after 3 attempts", err)
	}
	got, _ := srv.Charge(ch.ID)
	if got.AmountRefunded != 300 || len(got.Refunds) != 1 {
		t.Errorf("charge refunded %v in %d refunds, want 3.00 in one", got.AmountRefunded, len(got.Refunds))
	}
}

func TestResetOnAFreshConnection(t *testing.T) {
	// Go's transport replays a body-less request whose reused connection
	// was reset; on a fresh connection the client sees the reset.
	srv := justaptest.NewServer(t)
	srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultReset})
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL+"/transaction/v1/charges", nil)
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want a transport error", resp.StatusCode)
	}
	var ne net.Error
	if !errors.As(err, &ne) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Errorf("err = %v", err)
	}
}
