package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/justap-go/justap"
)

// TestOutputTerminalSafe: text a server controls cannot drive the
// terminal or break the table, in tables, prompts and errors.
func TestOutputTerminalSafe(t *testing.T) {
	h := newHarness(t)
	evil := "o\x1b[2J\x1b]0;x\x07\tz\n"
	ch := h.charge(t, evil, 100, justap.ChannelAlipayQR)

	r := h.run(t, "", "charges", "get", ch.ID).want(t, exitOK)
	if strings.ContainsAny(r.stdout, "\x1b\x07") || !strings.Contains(r.stdout, `"o\x1b[2J\x1b]0;x\a\tz\n"`) {
		t.Errorf("table:\n%q", r.stdout)
	}
	r = h.run(t, "", "charges", "list").want(t, exitOK)
	if strings.ContainsAny(r.stdout, "\x1b\x07") || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("table:\n%q", r.stdout)
	}
	r = h.run(t, "", "charges", "reverse", ch.ID).want(t, exitUsage)
	if strings.ContainsAny(r.stderr, "\x1b\x07") {
		t.Errorf("prompt: %q", r.stderr)
	}
	// Machine formats keep the exact text.
	r = h.run(t, "", "charges", "get", ch.ID, "-o", "csv").want(t, exitOK)
	if !strings.Contains(r.stdout, "\""+evil+"\"") {
		t.Errorf("csv: %q", r.stdout)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code": 3, "message": "bad \u001b]0;pwned\u0007 thing"}`))
	}))
	defer srv.Close()
	h.env["JUSTAP_BASE_URL"] = srv.URL
	r = h.run(t, "", "charges", "get", "ch_1").want(t, exitRefused)
	if strings.ContainsAny(r.stderr, "\x1b\x07") || !strings.Contains(r.stderr, "bad ?]0;pwned? thing") {
		t.Errorf("error: %q", r.stderr)
	}
}

func TestOutputEmpty(t *testing.T) {
	h := newHarness(t)
	for out, want := range map[string]string{
		"table": "ID  ORDER  CHANNEL  AMOUNT  REFUNDED  STATE  CREATED\n",
		"csv":   "charge_id,merchant_trade_id,channel,amount,amount_fee,amount_refund,amount_settle,currency,paid,refunded,reversed,closed,live_mode,subject,transaction_no,failure_code,failure_msg,created_at,paid_at,reversed_at,closed_at,time_expire,expired_at,app_id\n",
		"json":  "",
	} {
		if r := h.run(t, "", "charges", "list", "-o", out).want(t, exitOK); r.stdout != want {
			t.Errorf("-o %s: %q, want %q", out, r.stdout, want)
		}
	}
}

// TestPromptAndTableNeutraliseLines: a newline, a bidi override (U+202E)
// or another format character in a value from the server or the user
// cannot draw a false line, or reverse an id, in the text the operator
// confirms, nor in a table cell.
func TestPromptAndTableNeutraliseLines(t *testing.T) {
	h := newHarness(t)
	order := "o-1\u202e9999\nProceed? [y/N] y\u200b"
	ch := h.paid(t, order, 1000, justap.ChannelAlipayQR)
	bad := func(s string) bool {
		return strings.ContainsAny(s, "\u202e\u200b") || strings.Contains(s, "\nProceed? [y/N] y")
	}

	r := h.runWith(t, t.Context(), "n\n", true, "refunds", "create", "--charge", ch.ID, "--amount", "1",
		"--merchant-refund-id", "r-\u202e1", "--description", "late\n  as merchant refund id r-2\u2066").want(t, exitUsage)
	if bad(r.stderr) || strings.Contains(r.stderr, "\n  as merchant refund id r-2") || strings.Contains(r.stderr, "\u2066") {
		t.Errorf("refund prompt draws what the values say:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, `(order "o-1\u202e9999\nProceed? [y/N] y\u200b"`) {
		t.Errorf("refund prompt does not show the order escaped:\n%s", r.stderr)
	}
	r = h.runWith(t, t.Context(), "n\n", true, "charges", "reverse", ch.ID).want(t, exitUsage)
	if bad(r.stderr) {
		t.Errorf("reverse prompt:\n%s", r.stderr)
	}
	// Only a format character, no control character: still escaped.
	bidi := h.charge(t, "o-2\u202eabc", 100, justap.ChannelAlipayQR)
	for _, args := range [][]string{{"charges", "get", ch.ID}, {"charges", "get", bidi.ID}, {"charges", "list"}} {
		r = h.run(t, "", args...).want(t, exitOK)
		if bad(r.stdout) || !strings.Contains(r.stdout, `"o-1\u202e9999\nProceed? [y/N] y\u200b"`) &&
			!strings.Contains(r.stdout, `"o-2\u202eabc"`) {
			t.Errorf("%v table:\n%s", args, r.stdout)
		}
	}
	if got := refundedSoFar(t, h, ch.ID); got != 0 {
		t.Errorf("refunded %s after a refused prompt", got)
	}
}
