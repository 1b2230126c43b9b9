package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// refundedSoFar is what the fake says was refunded of a charge.
func refundedSoFar(t *testing.T, h *harness, id string) justap.Amount {
	t.Helper()
	ch, ok := h.srv.Charge(id)
	if !ok {
		t.Fatalf("no charge %s", id)
	}
	return ch.AmountRefunded
}

// TestRefundsCreateRefusesWithoutYes: with stdin not a terminal and no
// --yes, refunds create refuses to act and sends nothing.
func TestRefundsCreateRefusesWithoutYes(t *testing.T) {
	h := newHarness(t)
	ch := h.paid(t, "o1", 1999, justap.ChannelAlipayQR)
	// Even a "y" on piped stdin is not a confirmation: a script must say --yes.
	r := h.run(t, "y\n", "refunds", "create", "--charge", ch.ID, "--amount", "5.00", "--description", "size").want(t, exitUsage)
	if !strings.Contains(r.stderr, "not confirmed") || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("stderr should say why and what to do:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "Refund ¥5.00 of charge "+ch.ID) {
		t.Errorf("stderr should show what would have been done:\n%s", r.stderr)
	}
	if n := h.srv.Count(justaptest.OpCreateRefund); n != 0 {
		t.Errorf("%d refund requests sent", n)
	}
	if got := refundedSoFar(t, h, ch.ID); got != 0 {
		t.Errorf("refunded %s", got)
	}
	if r.stdout != "" {
		t.Errorf("stdout: %q", r.stdout)
	}
}

func TestRefundsCreate(t *testing.T) {
	h := newHarness(t)
	ch := h.paid(t, "o1", 1999, justap.ChannelAlipayQR)

	// Confirmed at a terminal; the amount is exact.
	r := h.runWith(t, t.Context(), "yes\n", true, "refunds", "create", "--charge", ch.ID, "--amount", "5",
		"--merchant-refund-id", "r1", "--description", "size exchange", "-o", "json").want(t, exitOK)
	var rf justap.Refund
	if err := json.Unmarshal([]byte(r.stdout), &rf); err != nil {
		t.Fatal(err)
	}
	if rf.Amount != 500 || rf.MerchantRefundID != "r1" || rf.ChargeID != ch.ID || refundedSoFar(t, h, ch.ID) != 500 {
		t.Errorf("refund %+v; charge refunded %s", rf, refundedSoFar(t, h, ch.ID))
	}
	if !strings.Contains(r.stderr, `as merchant refund id r1: "size exchange"`) {
		t.Errorf("prompt:\n%s", r.stderr)
	}

	// --full refunds the rest: 19.99 - 5.00; a made-up merchant refund id.
	r = h.run(t, "", "refunds", "create", "--yes", "--charge", ch.ID, "--full", "--description", "all", "-o", "csv").want(t, exitOK)
	if !strings.Contains(r.stdout, ",14.99,") || !strings.Contains(r.stdout, ",cli-") {
		t.Errorf("full refund:\n%s", r.stdout)
	}
	if got := refundedSoFar(t, h, ch.ID); got != 1999 {
		t.Errorf("refunded %s, want 19.99", got)
	}

	// The API refuses: nothing left to refund.
	r = h.run(t, "", "refunds", "create", "--yes", "--charge", ch.ID, "--amount", "0.01", "--description", "x").want(t, exitRefused)
	if !strings.Contains(r.stderr, "request_id=") {
		t.Errorf("no request id:\n%s", r.stderr)
	}

	// Bad input: refused before anything is sent.
	other := h.paid(t, "o2", 1000, justap.ChannelAlipayQR)
	before := h.srv.Count(justaptest.OpCreateRefund) + h.srv.Count(justaptest.OpGetCharge)
	for _, bad := range [][]string{
		{"--amount", "5.001"}, {"--amount", "abc"}, {"--amount", "-1"}, {"--amount", "0"}, {"--amount", "1e400"},
		{"--amount", "5", "--full"}, {}, {"--amount", "5", "--description", ""},
		{"--amount", "5", "--merchant-refund-id", strings.Repeat("x", 33)},
	} {
		args := append([]string{"refunds", "create", "--yes", "--charge", other.ID, "--description", "d"}, bad...)
		h.run(t, "", args...).want(t, exitUsage)
	}
	h.run(t, "", "refunds", "create", "--yes", "--amount", "5", "--description", "d").want(t, exitUsage)
	if after := h.srv.Count(justaptest.OpCreateRefund) + h.srv.Count(justaptest.OpGetCharge); after != before+1 {
		// only the over-long merchant refund id reaches Get: the SDK refuses it at Create
		t.Errorf("%d requests sent for bad input", after-before)
	}
	if got := refundedSoFar(t, h, other.ID); got != 0 {
		t.Errorf("refunded %s", got)
	}
}

func TestRefundsCreateOutcome(t *testing.T) {
	h := newHarness(t)
	// The fake's clock is the real one: a refund found after a lost answer
	// is this run's only if it was made after the run began.
	h.at(time.Now().UTC())
	ch := h.paid(t, "o1", 1000, justap.ChannelAlipayQR)
	args := []string{"refunds", "create", "--yes", "--charge", ch.ID, "--amount", "2.50", "--merchant-refund-id", "r-1", "--description", "it's late"}

	// The refund is made but its answer lost: the SDK finds it by its
	// merchant refund id, and the tool says so and succeeds.
	h.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultDropResponse})
	r := h.run(t, "", append(args, "-o", "csv")...).want(t, exitOK)
	if !strings.Contains(r.stdout, ",r-1,2.50,") || refundedSoFar(t, h, ch.ID) != 250 {
		t.Errorf("stdout %s; refunded %s", r.stdout, refundedSoFar(t, h, ch.ID))
	}
	if !strings.Contains(r.stderr, "answer to the refund was lost") || !strings.Contains(r.stderr, "found by its merchant refund id r-1") {
		t.Errorf("stderr should say the refund was found after a lost answer:\n%s", r.stderr)
	}

	// Run again: the same refund, already made; nothing moves.
	r = h.run(t, "", args...).want(t, exitOK)
	if !strings.Contains(r.stderr, "already used by this refund") || refundedSoFar(t, h, ch.ID) != 250 {
		t.Errorf("stderr %s; refunded %s", r.stderr, refundedSoFar(t, h, ch.ID))
	}

	// The same id for another amount: refused, nothing moves, and the
	// refund the id names is shown.
	other := append([]string{}, args...)
	other[6] = "3.00"
	r = h.run(t, "", append(other, "-o", "csv")...).want(t, exitRefused)
	if !strings.Contains(r.stderr, "names other money: refund ") || !strings.Contains(r.stderr, "not ¥3.00") ||
		!strings.Contains(r.stdout, ",r-1,2.50,") || refundedSoFar(t, h, ch.ID) != 250 {
		t.Errorf("stdout %s\nstderr %s; refunded %s", r.stdout, r.stderr, refundedSoFar(t, h, ch.ID))
	}

	// The same, but every attempt fails with a 502 first, so the SDK
	// learns of the reuse only by its lookup: still a refusal, not a
	// failure of unknown outcome.
	h.srv.FailNext(3, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultStatus, Status: 502})
	r = h.run(t, "", other...).want(t, exitRefused)
	if !strings.Contains(r.stderr, "names other money") || refundedSoFar(t, h, ch.ID) != 250 {
		t.Errorf("stderr %s; refunded %s", r.stderr, refundedSoFar(t, h, ch.ID))
	}

	// The id of a refund of another charge: refused, nothing moves.
	second := h.paid(t, "o2", 1000, justap.ChannelAlipayQR)
	onSecond := append([]string{}, args...)
	onSecond[4] = second.ID
	r = h.run(t, "", onSecond...).want(t, exitRefused)
	if !strings.Contains(r.stderr, "names other money, not a refund of charge "+second.ID) || refundedSoFar(t, h, second.ID) != 0 || r.stdout != "" {
		t.Errorf("stdout %s\nstderr %s; refunded %s", r.stdout, r.stderr, refundedSoFar(t, h, second.ID))
	}

	// No answer at all: unknown outcome, with the commands to check and to
	// retry safely.
	args[8] = "r-2"
	h.srv.FailNext(3, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultStatus, Status: 502})
	r = h.run(t, "", args...).want(t, exitUnknown)
	for _, s := range []string{
		"justap refunds list " + ch.ID,
		"justap refunds create --charge " + ch.ID + " --amount 2.50 --merchant-refund-id r-2 --description 'it'\\''s late'",
	} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	// Running that command again makes the refund, once.
	r = h.run(t, "", args...).want(t, exitOK)
	if refundedSoFar(t, h, ch.ID) != 500 {
		t.Errorf("refunded %s, want 5.00\n%s", refundedSoFar(t, h, ch.ID), r.stderr)
	}
}

func TestRefundsGetList(t *testing.T) {
	h := newHarness(t)
	ch := h.paid(t, "o1", 1000, justap.ChannelAlipayQR)
	r1 := h.refund(t, ch.ID, "m1", 100)
	r2 := h.refund(t, ch.ID, "m2", 200)
	r3 := h.refund(t, ch.ID, "m3", 300)

	r := h.run(t, "", "refunds", "get", ch.ID, r2.ID).want(t, exitOK)
	if !regexp.MustCompile(`(?m)^merchant_refund_id: +m2$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^amount: +2\.00$`).MatchString(r.stdout) {
		t.Errorf("get:\n%s", r.stdout)
	}
	r = h.run(t, "", "refunds", "list", ch.ID, "--page-size", "2", "-o", "json").want(t, exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], r3.ID) || !strings.Contains(lines[2], r1.ID) {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = h.run(t, "", "refunds", "list", ch.ID, "--limit", "1").want(t, exitOK)
	if n := strings.Count(r.stdout, "\n"); n != 2 {
		t.Errorf("--limit 1: %d lines:\n%s", n, r.stdout)
	}
	h.run(t, "", "refunds", "get", ch.ID).want(t, exitUsage)
	h.run(t, "", "refunds", "get", ch.ID, "re_nope").want(t, exitRefused)
	h.run(t, "", "refunds", "list").want(t, exitUsage)
}

// withoutMerchantRefundID points the tool at a proxy of the fake that
// drops merchant_refund_id from every answer, as Justap's gateway does:
// its Refund object has no such field, only the metadata the SDK writes.
func withoutMerchantRefundID(t *testing.T, h *harness) {
	t.Helper()
	target, err := url.Parse(h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "merchant_refund_id")
			for _, e := range v {
				strip(e)
			}
		case []any:
			for _, e := range v {
				strip(e)
			}
		}
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		resp.Body.Close()
		strip(v)
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	h.env["JUSTAP_BASE_URL"] = ps.URL
}

// TestRefundsMerchantRefundIDFromMetadata: where the gateway sends no
// merchant_refund_id, get, list and a second create read it from the
// metadata the SDK records it in.
func TestRefundsMerchantRefundIDFromMetadata(t *testing.T) {
	h := newHarness(t)
	ch := h.paid(t, "o1", 1000, justap.ChannelAlipayQR)
	rf := h.refund(t, ch.ID, "m1", 100)
	withoutMerchantRefundID(t, h)

	req, _ := http.NewRequest("GET", h.env["JUSTAP_BASE_URL"]+"/transaction/v1/charges/"+ch.ID+"/refunds/"+rf.ID, nil)
	req.Header.Set("X-Justap-Api-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(raw), `"merchant_refund_id"`) || !strings.Contains(string(raw), `"justap_merchant_refund_id":"m1"`) {
		t.Fatalf("the proxy should pass the metadata and drop the field: %d %s", resp.StatusCode, raw)
	}
	r := h.run(t, "", "refunds", "get", ch.ID, rf.ID).want(t, exitOK)
	if !regexp.MustCompile(`(?m)^merchant_refund_id: +m1$`).MatchString(r.stdout) {
		t.Errorf("get:\n%s", r.stdout)
	}
	r = h.run(t, "", "refunds", "list", ch.ID).want(t, exitOK)
	if !regexp.MustCompile(`(?m)^` + rf.ID + ` +` + ch.ID + ` +m1 +1\.00 `).MatchString(r.stdout) {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = h.run(t, "", "refunds", "list", ch.ID, "-o", "csv").want(t, exitOK)
	if !strings.Contains(r.stdout, ","+ch.ID+",o1,m1,1.00,") {
		t.Errorf("list csv:\n%s", r.stdout)
	}

	// A second create with the same id and amount: made before, found by
	// the metadata; nothing moves.
	r = h.run(t, "", "refunds", "create", "--yes", "--charge", ch.ID, "--amount", "1", "--merchant-refund-id", "m1",
		"--description", "again").want(t, exitOK)
	if !strings.Contains(r.stderr, "already used by this refund") || refundedSoFar(t, h, ch.ID) != 100 {
		t.Errorf("stderr %s; refunded %s", r.stderr, refundedSoFar(t, h, ch.ID))
	}
}

// TestRefundsCreateFullReusedID: --full under a merchant refund id that
// already names a partial refund is not "done": the run says the id is
// reused, how much is still refundable, and exits 3, whether the gateway
// refused the first attempt or a 503 from a proxy came first. A full
// refund that was made is "made before" on a rerun: exit 0.
func TestRefundsCreateFullReusedID(t *testing.T) {
	h := newHarness(t)
	h.at(time.Now().UTC())
	ch := h.paid(t, "o1", 1000, justap.ChannelAlipayQR)
	if _, err := h.c.Refunds.Create(t.Context(), &justap.RefundCreateParams{
		ChargeID: ch.ID, MerchantRefundID: "r-1", Description: "part", Amount: 250,
	}); err != nil {
		t.Fatal(err)
	}
	full := []string{"refunds", "create", "--yes", "--charge", ch.ID, "--full", "--merchant-refund-id", "r-1", "--description", "all"}
	for _, lost := range []bool{false, true} {
		if lost {
			h.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpCreateRefund, Kind: justaptest.FaultStatus, Status: 503})
		}
		r := h.run(t, "", full...).want(t, exitRefused)
		if !strings.Contains(r.stderr, "names other money") || !strings.Contains(r.stderr, "¥7.50 of charge "+ch.ID+" is still refundable") ||
			strings.Contains(r.stderr, "made before") {
			t.Errorf("503 first %v: stderr:\n%s", lost, r.stderr)
		}
		if got := refundedSoFar(t, h, ch.ID); got != 250 {
			t.Errorf("refunded %s, want 2.50", got)
		}
	}

	full[7] = "r-2"
	h.run(t, "", full...).want(t, exitOK)
	r := h.run(t, "", full...).want(t, exitOK)
	if !strings.Contains(r.stderr, "already used by this refund: it was made before") || refundedSoFar(t, h, ch.ID) != 1000 {
		t.Errorf("rerun of the full refund: stderr %s; refunded %s", r.stderr, refundedSoFar(t, h, ch.ID))
	}
}
