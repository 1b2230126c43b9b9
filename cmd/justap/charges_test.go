package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestChargesGet(t *testing.T) {
	h := newHarness(t)
	ch := h.paid(t, "order-1", 1999, justap.ChannelAlipayQR)

	r := h.run(t, "", "charges", "get", ch.ID).want(t, exitOK)
	for _, s := range []string{"charge_id:", ch.ID, "merchant_trade_id:", "order-1", "amount:", "19.99", "paid:", "true"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("table output lacks %q:\n%s", s, r.stdout)
		}
	}

	// JSON is the SDK's own encoding: it decodes back to the same charge.
	r = h.run(t, "", "charges", "get", "-o", "json", ch.ID).want(t, exitOK)
	var got justap.Charge
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	want, _ := h.srv.Charge(ch.ID)
	if got.ID != want.ID || got.Amount != want.Amount || !got.Paid || !got.PaidAt.Equal(want.PaidAt) {
		t.Errorf("json: got %+v, want %+v", got, want)
	}
	if strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("json: want one line, got %q", r.stdout)
	}

	// Flags may follow the argument.
	r = h.run(t, "", "charges", "get", ch.ID, "--output=csv").want(t, exitOK)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][0] != "charge_id" || recs[1][0] != ch.ID || recs[1][3] != "19.99" {
		t.Errorf("csv: %q, %v", recs, err)
	}

	r = h.run(t, "", "charges", "get", "ch_nope").want(t, exitRefused)
	if !strings.Contains(r.stderr, "404") || !strings.Contains(r.stderr, "request_id=req_") {
		t.Errorf("a refusal should show the status and the request id:\n%s", r.stderr)
	}
	h.run(t, "", "charges", "get").want(t, exitUsage)
	h.run(t, "", "charges", "get", "a", "b").want(t, exitUsage)
}

func TestChargesFind(t *testing.T) {
	h := newHarness(t)
	h.at(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) // over a year ago: beyond the default list window
	old := h.charge(t, "order-old", 500, justap.ChannelWechatpayNative)
	h.at(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	h.charge(t, "order-new", 700, justap.ChannelAlipayQR)

	r := h.run(t, "", "charges", "find", "order-old", "-o", "csv").want(t, exitOK)
	recs, _ := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if len(recs) != 2 || recs[1][0] != old.ID || recs[1][1] != "order-old" {
		t.Errorf("find: %q", recs)
	}
	r = h.run(t, "", "charges", "find", "order-none").want(t, exitRefused)
	if !strings.Contains(r.stderr, `no charge has merchant_trade_id "order-none"`) {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// listIDs runs charges list with args and returns the ids printed as CSV.
func listIDs(t *testing.T, h *harness, args ...string) []string {
	t.Helper()
	r := h.run(t, "", append([]string{"charges", "list", "-o", "csv"}, args...)...).want(t, exitOK)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) == 0 || recs[0][0] != "charge_id" {
		t.Fatalf("csv: %q, %v", r.stdout, err)
	}
	var ids []string
	for _, rec := range recs[1:] {
		ids = append(ids, rec[0])
	}
	return ids
}

func TestChargesList(t *testing.T) {
	h := newHarness(t)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 10, 0, 0, 0, time.UTC) }
	h.at(day(1))
	c1 := h.paid(t, "o1", 100, justap.ChannelAlipayQR)
	h.at(day(2))
	c2 := h.charge(t, "o2", 200, justap.ChannelWechatpayNative)
	h.at(day(3))
	c3 := h.paid(t, "o3", 300, justap.ChannelWechatpayNative)
	h.refund(t, c3.ID, "r3", 300)
	h.at(day(4))
	c4 := h.charge(t, "o4", 400, justap.ChannelAlipayQR)
	if _, err := h.c.Charges.Reverse(t.Context(), c4.ID); err != nil {
		t.Fatal(err)
	}
	h.at(day(51)) // 20 February

	eq := func(name string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	eq("all", listIDs(t, h, "--since", "2026-01-01"), c4.ID, c3.ID, c2.ID, c1.ID)
	eq("since/until", listIDs(t, h, "--since", "2026-01-02", "--until", "2026-01-04"), c3.ID, c2.ID)
	eq("gt/lte", listIDs(t, h, "--created-gt", "2026-01-02T10:00:00Z", "--created-lte", "2026-01-04T10:00:00Z"), c4.ID, c3.ID)
	eq("rfc3339", listIDs(t, h, "--since", "2026-01-03T10:00:00Z"), c4.ID, c3.ID)
	eq("paid", listIDs(t, h, "--since", "2026-01-01", "--paid"), c3.ID, c1.ID)
	eq("unpaid", listIDs(t, h, "--since", "2026-01-01", "--unpaid"), c4.ID, c2.ID)
	eq("paid=false", listIDs(t, h, "--since", "2026-01-01", "--paid=false"), c4.ID, c2.ID)
	eq("refunded", listIDs(t, h, "--since", "2026-01-01", "--refunded"), c3.ID)
	eq("not-refunded", listIDs(t, h, "--since", "2026-01-01", "--not-refunded", "--paid"), c1.ID)
	eq("reversed", listIDs(t, h, "--since", "2026-01-01", "--reversed"), c4.ID)
	eq("channel", listIDs(t, h, "--since", "2026-01-01", "--channel", "wechatpay_native"), c3.ID, c2.ID)
	eq("order", listIDs(t, h, "--since", "2026-01-01", "--order", "o2"), c2.ID)
	eq("limit", listIDs(t, h, "--since", "2026-01-01", "--limit", "3", "--page-size", "2"), c4.ID, c3.ID, c2.ID)
	eq("starting-after", listIDs(t, h, "--since", "2026-01-01", "--starting-after", c3.ID), c2.ID, c1.ID)
	eq("none", listIDs(t, h, "--since", "2026-02-01"))
	eq("window", listIDs(t, h)) // no bound: the last month only, as the API does

	// A limit stops the walk: one page of 2 was enough for 2 charges.
	before := h.srv.Count(justaptest.OpListCharges)
	listIDs(t, h, "--since", "2026-01-01", "--limit", "2", "--page-size", "2")
	if n := h.srv.Count(justaptest.OpListCharges) - before; n != 1 {
		t.Errorf("--limit 2 --page-size 2 sent %d requests, want 1", n)
	}

	// A small limit alone asks for a small page.
	before = h.srv.Count(justaptest.OpListCharges)
	eq("limit alone", listIDs(t, h, "--since", "2026-01-01", "--limit", "1"), c4.ID)
	if n := h.srv.Count(justaptest.OpListCharges) - before; n != 1 {
		t.Errorf("--limit 1 sent %d requests, want 1", n)
	}

	r := h.run(t, "", "charges", "list", "--since", "2026-01-01").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "ID ") || !strings.Contains(r.stdout, " refunded ") || !strings.Contains(r.stdout, " reversed ") {
		t.Errorf("table:\n%s", r.stdout)
	}

	for _, bad := range [][]string{
		{"--paid", "--unpaid"}, {"--channel", "bitcoin"}, {"--since", "yesterday"}, {"--page-size", "101"},
		{"--limit", "-1"}, {"-o", "xml"}, {"extra-arg"}, {"--no-such-flag"}, {"--tz", "Mars/Olympus"},
	} {
		before := h.srv.Count(justaptest.OpListCharges)
		h.run(t, "", append([]string{"charges", "list"}, bad...)...).want(t, exitUsage)
		if h.srv.Count(justaptest.OpListCharges) != before {
			t.Errorf("%q: a request was sent", bad)
		}
	}
}

func TestChargesReverse(t *testing.T) {
	h := newHarness(t)
	ch := h.charge(t, "o1", 1999, justap.ChannelAlipayQR)

	// Not a terminal, no --yes: refused before anything moves.
	r := h.run(t, "y\n", "charges", "reverse", ch.ID).want(t, exitUsage)
	if !strings.Contains(r.stderr, "--yes") || h.srv.Count(justaptest.OpReverseCharge) != 0 {
		t.Fatalf("stderr %s, %d reverse requests", r.stderr, h.srv.Count(justaptest.OpReverseCharge))
	}
	// A terminal that says no.
	r = h.runWith(t, t.Context(), "n\n", true, "charges", "reverse", ch.ID).want(t, exitUsage)
	if !strings.Contains(r.stderr, "Reverse charge "+ch.ID+" (order o1, AlipayQR, ¥19.99, unpaid)") {
		t.Errorf("the prompt should show the charge:\n%s", r.stderr)
	}
	if h.srv.Count(justaptest.OpReverseCharge) != 0 {
		t.Fatal("reversed without a yes")
	}
	// A terminal that says yes.
	r = h.runWith(t, t.Context(), "y\n", true, "charges", "reverse", ch.ID, "-o", "json").want(t, exitOK)
	if got, _ := h.srv.Charge(ch.ID); !got.Reversed || !strings.Contains(r.stdout, `"reversed":true`) {
		t.Errorf("not reversed: %s", r.stdout)
	}

	// A paid charge: the API refuses.
	paid := h.paid(t, "o2", 100, justap.ChannelAlipayQR)
	h.run(t, "", "charges", "reverse", "--yes", paid.ID).want(t, exitRefused)

	// No answer: the outcome is unknown, and the message says how to check.
	unpaid := h.charge(t, "o3", 100, justap.ChannelAlipayQR)
	h.srv.FailNext(3, justaptest.Fault{Op: justaptest.OpReverseCharge, Kind: justaptest.FaultStatus, Status: 503})
	r = h.run(t, "", "charges", "reverse", "-y", unpaid.ID).want(t, exitUnknown)
	if !strings.Contains(r.stderr, "justap charges get "+unpaid.ID) {
		t.Errorf("no command to check with:\n%s", r.stderr)
	}

	// A 503, then a refusal on the retry: the first attempt may have done
	// the work, so the tool must not say "refused".
	h.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpReverseCharge, Kind: justaptest.FaultStatus, Status: 503})
	r = h.run(t, "", "charges", "reverse", "-y", paid.ID).want(t, exitUnknown)
	if !strings.Contains(r.stderr, "justap charges get "+paid.ID) {
		t.Errorf("no command to check with:\n%s", r.stderr)
	}
}
