package main

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

// TestReconcile puts known charges and refunds on different days and
// channels, some just outside the window, and checks every figure to the
// fen.
func TestReconcile(t *testing.T) {
	h := newHarness(t)
	at := func(day, hour, min, sec int) { h.at(time.Date(2026, 1, day, hour, min, sec, 0, time.UTC)) }
	qr, native := justap.ChannelAlipayQR, justap.ChannelWechatpayNative

	at(5, 10, 0, 0) // before the window: found only with --lookback-days
	a := h.paid(t, "A", 10000, qr)
	at(10, 23, 50, 0) // created on the 10th, paid on the 11th: received on the 11th
	b := h.charge(t, "B", 5001, qr)
	at(11, 0, 10, 0)
	if err := h.srv.Pay(b.ID); err != nil {
		t.Fatal(err)
	}
	at(10, 8, 0, 0)
	c := h.paid(t, "C", 1999, native)
	at(10, 9, 0, 0)
	h.refund(t, c.ID, "C-1", 1)
	at(10, 12, 0, 0)
	d := h.paid(t, "D", 13107201, qr) // ¥131072.01, which a float32 would make .02
	at(11, 9, 0, 0)
	h.refund(t, a.ID, "A-1", 3000) // a refund in the window of a charge from before it
	at(11, 15, 0, 0)
	h.charge(t, "E", 777, native) // never paid: no money
	i := h.charge(t, "I", 300, qr)
	if _, err := h.c.Charges.Reverse(t.Context(), i.ID); err != nil {
		t.Fatal(err)
	}
	at(12, 10, 0, 0)
	h.refund(t, c.ID, "C-2", 999)
	at(12, 16, 0, 0)
	f := h.paid(t, "F", 1234, qr)
	at(12, 17, 0, 0)
	h.refund(t, f.ID, "F-1", 1234)
	at(12, 23, 59, 59) // the last second of the window
	h.paid(t, "G", 100, native)
	hh := h.charge(t, "H", 200, qr)
	at(13, 0, 0, 0) // the first second after it
	if err := h.srv.Pay(hh.ID); err != nil {
		t.Fatal(err)
	}
	at(13, 10, 0, 0)
	h.refund(t, d.ID, "D-1", 100)
	at(20, 0, 0, 0)

	window := []string{"reconcile", "--since", "2026-01-10", "--until", "2026-01-13"}
	r := h.run(t, "", append(window, "-o", "csv")...).want(t, exitOK)
	want := `day,channel,charges,received,refunds,refunded,fees,net
2026-01-10,AlipayQR,1,131072.01,0,0.00,0.00,131072.01
2026-01-10,WechatpayNative,1,19.99,1,0.01,0.00,19.98
2026-01-11,AlipayQR,1,50.01,0,0.00,0.00,50.01
2026-01-12,AlipayQR,1,12.34,1,12.34,0.00,0.00
2026-01-12,WechatpayNative,1,1.00,1,9.99,0.00,-8.99
`
	if r.stdout != want {
		t.Errorf("csv:\n%s\nwant:\n%s", r.stdout, want)
	}

	// With a lookback, the refund of A (created on the 5th) is found; A's
	// payment, on the 5th, stays outside.
	r = h.run(t, "", append(window, "--lookback-days", "5", "-o", "csv")...).want(t, exitOK)
	want = strings.Replace(want, "2026-01-11,AlipayQR,1,50.01,0,0.00,0.00,50.01", "2026-01-11,AlipayQR,1,50.01,1,30.00,0.00,20.01", 1)
	if r.stdout != want {
		t.Errorf("csv with lookback:\n%s\nwant:\n%s", r.stdout, want)
	}

	// The table adds a total row.
	r = h.run(t, "", append(window, "--lookback-days", "5")...).want(t, exitOK)
	if got := strings.Fields(lastLine(r.stdout)); strings.Join(got, " ") != "TOTAL 5 131155.35 4 52.34 0.00 131103.01" {
		t.Errorf("total row %q:\n%s", got, r.stdout)
	}

	// JSON: one row per line, amounts as the API's yuan numbers.
	r = h.run(t, "", append(window, "-o", "json")...).want(t, exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var first reconRow
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 || first.Received != 13107201 || first.Net != 13107201 || !strings.Contains(lines[0], `"received":131072.01`) {
		t.Errorf("json:\n%s", r.stdout)
	}

	// Dates are days in --tz. In Shanghai (UTC+8) the 12th runs from 16:00
	// UTC on the 11th: F, paid at 16:00 UTC on the 12th, and G fall on the
	// 13th, A's refund (09:00 UTC on the 11th) on the 11th; only C's second
	// refund (10:00 UTC on the 12th) is left.
	r = h.run(t, "", "reconcile", "--since", "2026-01-12", "--until", "2026-01-13", "--lookback-days", "3", "--tz", "Asia/Shanghai", "-o", "csv").want(t, exitOK)
	if r.stdout != "day,channel,charges,received,refunds,refunded,fees,net\n2026-01-12,WechatpayNative,0,0.00,1,9.99,0.00,-9.99\n" {
		t.Errorf("Shanghai days:\n%s", r.stdout)
	}

	for _, bad := range [][]string{
		{}, {"--since", "2026-01-10"}, {"--since", "2026-01-13", "--until", "2026-01-10"},
		{"--since", "2026-01-10", "--until", "2026-01-13", "--lookback-days", "-1"},
	} {
		h.run(t, "", append([]string{"reconcile"}, bad...)...).want(t, exitUsage)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestReconcileFees checks fees and net against a server that reports
// channel fees (the fake charges none), and that a refund in progress is
// not counted.
func TestReconcileFees(t *testing.T) {
	paidAt := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	charges := []*justap.Charge{
		{ID: "ch_1", Channel: justap.ChannelAlipayQR, Amount: 10000, AmountFee: 60, AmountRefunded: 2500, Paid: true, CreatedAt: paidAt, PaidAt: paidAt},
		{ID: "ch_2", Channel: justap.ChannelAlipayQR, Amount: 333, AmountFee: 2, Paid: true, CreatedAt: paidAt, PaidAt: paidAt.Add(time.Hour)},
	}
	refunds := &justap.RefundList{Data: []*justap.Refund{
		{ID: "re_2", ChargeID: "ch_1", Amount: 1000, Status: justap.RefundStatusRefunding, CreatedAt: paidAt.Add(2 * time.Hour)},
		// asked on the 1st, done on the 2nd: counted on the 2nd
		{ID: "re_1", ChargeID: "ch_1", Amount: 2500, Status: "REFUNDED", CreatedAt: paidAt.Add(13*time.Hour + 30*time.Minute), SucceededAt: paidAt.Add(14*time.Hour + 30*time.Minute)},
	}}
	h := newHarness(t)
	h.env["JUSTAP_BASE_URL"] = serveJSON(t, map[string]any{
		"/transaction/v1/charges":              map[string]any{"object": "ChargeList", "data": charges, "has_more": false},
		"/transaction/v1/charges/ch_1/refunds": refunds,
	})
	r := h.run(t, "", "reconcile", "--since", "2026-02-01", "--until", "2026-02-03", "-o", "csv").want(t, exitOK)
	want := "day,channel,charges,received,refunds,refunded,fees,net\n" +
		"2026-02-01,AlipayQR,2,103.33,0,0.00,0.62,102.71\n" +
		"2026-02-02,AlipayQR,0,0.00,1,25.00,0.00,-25.00\n"
	if r.stdout != want {
		t.Errorf("got:\n%s\nwant:\n%s", r.stdout, want)
	}

	// Amounts no shop reaches do not wrap around into a wrong total.
	charges[1].Amount = math.MaxInt64 - 1
	r = h.run(t, "", "reconcile", "--since", "2026-02-01", "--until", "2026-02-02").want(t, exitFailure)
	if !strings.Contains(r.stderr, "overflows") || strings.Contains(r.stdout, "TOTAL") {
		t.Errorf("stdout %s\nstderr %s", r.stdout, r.stderr)
	}
}

// serveJSON serves each value, encoded by the SDK, at its path.
func serveJSON(t *testing.T, routes map[string]any) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
