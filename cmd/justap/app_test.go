package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestHelp(t *testing.T) {
	h := newHarness(t)
	r := h.run(t, "", "help").want(t, exitOK)
	for _, s := range []string{"Exit codes:", "0  done", "2  usage", "3  refused by the API", "4  outcome unknown",
		"JUSTAP_API_KEY", "JUSTAP_BASE_URL", "JUSTAP_APP_ID", "--yes", "reconcile"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	// run, as main calls it.
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"help"}, strings.NewReader(""), &out, &errOut, func(string) string { return "" }); code != exitOK || out.String() != r.stdout {
		t.Errorf("run help: exit %d, stdout %q", code, out.String())
	}
	h.run(t, "", "charges", "list", "-h").want(t, exitOK)
	h.run(t, "").want(t, exitUsage)
	h.run(t, "", "bogus").want(t, exitUsage)
	h.run(t, "", "charges", "bogus").want(t, exitUsage)
	h.run(t, "", "refunds").want(t, exitUsage)
	r = h.run(t, "", "version").want(t, exitOK)
	if !strings.Contains(r.stdout, justap.Version) {
		t.Errorf("version: %s", r.stdout)
	}
}

func TestConfig(t *testing.T) {
	h := newHarness(t)
	ch := h.charge(t, "o1", 100, justap.ChannelAlipayQR)

	// Flags override the environment.
	env := h.env
	h.env = map[string]string{"JUSTAP_TZ": "UTC"}
	r := h.run(t, "", "charges", "get", ch.ID).want(t, exitUsage)
	if !strings.Contains(r.stderr, "JUSTAP_API_KEY") {
		t.Errorf("no key: %s", r.stderr)
	}
	h.run(t, "", "charges", "get", ch.ID, "--api-key", testKey, "--base-url", env["JUSTAP_BASE_URL"], "--app-id", env["JUSTAP_APP_ID"]).want(t, exitOK)
	h.run(t, "", "charges", "get", ch.ID, "--api-key", testKey, "--base-url", "ftp://x").want(t, exitUsage)
	// Another app: the fake refuses it with 403.
	h.run(t, "", "charges", "get", ch.ID, "--api-key", testKey, "--base-url", env["JUSTAP_BASE_URL"], "--app-id", "app_other").want(t, exitRefused)

	// A wrong key is refused, and neither key is printed.
	h.env = env
	r = h.run(t, "", "charges", "get", ch.ID, "--api-key", "sk_test_wrong_SECRET_key_987").want(t, exitRefused)
	if strings.Contains(r.stderr, "SECRET") {
		t.Errorf("a key was printed: %s", r.stderr)
	}
}

// TestKeyNeverPrinted runs every command, with --verbose, in every output
// format, through successes and failures, and looks for the API key in all
// that was printed (run checks each output for it as well).
func TestKeyNeverPrinted(t *testing.T) {
	h := newHarness(t)
	ch := h.paid(t, "o1", 1000, justap.ChannelAlipayQR)
	unpaid := h.charge(t, "o2", 1000, justap.ChannelAlipayQR)
	rf := h.refund(t, ch.ID, "m1", 100)
	var all strings.Builder
	for _, out := range []string{"table", "json", "csv"} {
		for _, args := range [][]string{
			{"charges", "get", ch.ID}, {"charges", "get", "ch_missing"}, {"charges", "find", "o1"},
			{"charges", "list", "--since", "2026-01-01"}, {"charges", "reverse", "--yes", unpaid.ID},
			{"refunds", "create", "--yes", "--charge", ch.ID, "--amount", "0.01", "--description", "d"},
			{"refunds", "create", "--yes", "--charge", ch.ID, "--amount", "999", "--description", "d"},
			{"refunds", "get", ch.ID, rf.ID}, {"refunds", "list", ch.ID},
			{"reconcile", "--since", "2026-01-01", "--until", "2026-12-31"},
		} {
			r := h.run(t, "", append(args, "--verbose", "-o", out, "--progress", "always")...)
			all.WriteString(r.stdout + r.stderr)
		}
	}
	// Unknown outcomes and retries, logged.
	h.srv.FailNext(3, justaptest.Fault{Kind: justaptest.FaultReset})
	r := h.run(t, "", "refunds", "create", "--yes", "--charge", ch.ID, "--amount", "0.01", "--description", "d", "-v")
	all.WriteString(r.stdout + r.stderr)

	s := all.String()
	if !strings.Contains(s, "level=DEBUG") || !strings.Contains(s, "request_id=req_") {
		t.Fatalf("--verbose logged nothing useful:\n%s", s)
	}
	for i := 0; i+8 <= len(testKey); i++ {
		if part := testKey[i : i+8]; strings.Contains(s, part) && !strings.HasPrefix(part, "sk_test_") {
			t.Errorf("a part of the key, %q, was printed", part)
		}
	}
}

// TestInterrupt: Ctrl-C cancels the context, and a walk waiting on the
// server stops at once, with what it printed flushed.
func TestInterrupt(t *testing.T) {
	h := newHarness(t)
	h.at(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for i := range 3 {
		h.charge(t, "o"+string(rune('a'+i)), 100, justap.ChannelAlipayQR)
	}
	h.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpListCharges, Kind: justaptest.FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan result, 1)
	go func() { done <- h.runWith(t, ctx, "", false, "charges", "list", "--since", "2026-01-01", "-o", "csv") }()
	select {
	case r := <-done:
		r.want(t, exitFailure)
		if !strings.Contains(r.stderr, "interrupted") || !strings.HasPrefix(r.stdout, "charge_id,") {
			t.Errorf("stdout %q\nstderr %s", r.stdout, r.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the walk did not stop when the context was cancelled")
	}

	// At a confirmation prompt, too.
	ch := h.charge(t, "o-prompt", 100, justap.ChannelAlipayQR)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	pr, pw := io.Pipe()
	defer pw.Close()
	var out, errOut bytes.Buffer
	a := &app{ctx: ctx, stdin: pr, stdout: &out, stderr: &errOut, getenv: func(k string) string { return h.env[k] },
		isTerminal: func(v any) bool { return v == any(pr) }}
	if code := a.exit(a.dispatch([]string{"charges", "reverse", ch.ID})); code != exitUsage {
		t.Errorf("exit %d, stderr %s", code, errOut.String())
	}
	if h.srv.Count(justaptest.OpReverseCharge) != 0 {
		t.Error("reversed after Ctrl-C at the prompt")
	}
}

// TestArgs: flags go before or after the arguments; after "--" all is an
// argument.
func TestArgs(t *testing.T) {
	h := newHarness(t)
	ch := h.charge(t, "o1", 100, justap.ChannelAlipayQR)
	h.run(t, "", "charges", "get", "-o", "csv", ch.ID).want(t, exitOK)
	h.run(t, "", "charges", "get", ch.ID, "-o", "csv").want(t, exitOK)
	r := h.run(t, "", "charges", "get", "--", "-o").want(t, exitRefused) // a charge id "-o"
	if !strings.Contains(r.stderr, "404") {
		t.Errorf("stderr: %s", r.stderr)
	}
	h.run(t, "", "charges", "get", "--", ch.ID, "-o").want(t, exitUsage) // two ids
}
