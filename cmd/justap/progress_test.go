package main

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

func TestProgress(t *testing.T) {
	h := newHarness(t)
	h.at(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	for i := range 5 {
		h.charge(t, "o"+string(rune('a'+i)), 100, justap.ChannelAlipayQR)
	}
	args := []string{"charges", "list", "--since", "2026-01-01", "--page-size", "2", "-o", "csv"}
	check := func(r result) {
		t.Helper()
		recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if err != nil || len(recs) != 6 {
			t.Errorf("stdout is not the clean CSV of 5 charges: %v\n%s", err, r.stdout)
		}
	}

	// Piped (not a terminal): silent.
	r := h.run(t, "", args...).want(t, exitOK)
	check(r)
	if r.stderr != "" {
		t.Errorf("progress while piped: %q", r.stderr)
	}
	// Forced, by flag or environment: on stderr only; the final figures
	// count every charge and page (3 pages of 2).
	r = h.run(t, "", append(args, "--progress", "always")...).want(t, exitOK)
	check(r)
	if !strings.Contains(r.stderr, "5 charges, 3 pages, ") {
		t.Errorf("progress: %q", r.stderr)
	}
	h.env["JUSTAP_PROGRESS"] = "always"
	r = h.run(t, "", args...).want(t, exitOK)
	check(r)
	if !strings.Contains(r.stderr, "5 charges, 3 pages, ") {
		t.Errorf("progress: %q", r.stderr)
	}
	r = h.run(t, "", append(args, "--progress", "never")...).want(t, exitOK)
	if r.stderr != "" {
		t.Errorf("--progress never: %q", r.stderr)
	}
	h.run(t, "", append(args, "--progress", "sometimes")...).want(t, exitUsage)
}
