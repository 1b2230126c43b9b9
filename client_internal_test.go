package justap

import (
	"math"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"7", 7 * time.Second},
		{"+7", 7 * time.Second},
		{"-1", -1},
		{"-0", 0},
		{"1.5", -1},
		{"soon", -1},
		{"86400", 24 * time.Hour},
		{"86401", MaxRetryBackoff},
		{"9223372036854775807", MaxRetryBackoff},
		{"99999999999999999999999", MaxRetryBackoff}, // overflows int64: still "a long time"
		{"-99999999999999999999999", -1},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second}, // RFC 850
		{"Sun Mar  1 12:00:30 2026", 30 * time.Second},       // asctime
		{"Sat, 28 Feb 2026 12:00:00 GMT", 0},                 // in the past
		{"Fri, 31 Dec 9999 23:59:59 GMT", MaxRetryBackoff},   // far future
		{"Mon, 01 Jan 0001 00:00:00 GMT", 0},                 // far past: Sub saturates
		{"Sun, 01 Mar 2026 12:00:30", -1},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name       string
		base, max  time.Duration
		maxWait    time.Duration
		attempts   int
		retryAfter time.Duration
		wantMax    time.Duration // the wait is in [0, wantMax]
		wantOK     bool
	}{
		{name: "first retry", base: 500 * time.Millisecond, max: 8 * time.Second, attempts: 1, retryAfter: -1, wantMax: 500 * time.Millisecond, wantOK: true},
		{name: "third retry doubles twice", base: 500 * time.Millisecond, max: 8 * time.Second, attempts: 3, retryAfter: -1, wantMax: 2 * time.Second, wantOK: true},
		{name: "capped at max", base: 500 * time.Millisecond, max: 8 * time.Second, attempts: 10, retryAfter: -1, wantMax: 8 * time.Second, wantOK: true},
		{name: "shift of 62", base: time.Nanosecond, max: time.Hour, attempts: 63, retryAfter: -1, wantMax: time.Hour, wantOK: true},
		{name: "shift of 63 and more", base: time.Nanosecond, max: time.Hour, attempts: 64, retryAfter: -1, wantMax: time.Hour, wantOK: true},
		{name: "huge attempt count", base: time.Second, max: time.Minute, attempts: math.MaxInt, retryAfter: -1, wantMax: time.Minute, wantOK: true},
		{name: "zero attempts", base: time.Second, max: time.Minute, attempts: 0, retryAfter: -1, wantMax: time.Second, wantOK: true},
		{name: "negative attempts", base: time.Second, max: time.Minute, attempts: math.MinInt, retryAfter: -1, wantMax: time.Second, wantOK: true},
		{name: "MaxInt64 base and max", base: math.MaxInt64, max: math.MaxInt64, attempts: 1, retryAfter: -1, wantMax: math.MaxInt64, wantOK: true},
		{name: "MaxInt64 base and max, later", base: math.MaxInt64, max: math.MaxInt64, attempts: 5, retryAfter: -1, wantMax: math.MaxInt64, wantOK: true},
		{name: "zero config", attempts: 1, retryAfter: -1, wantMax: 0, wantOK: true},
		{name: "negative max", base: -time.Second, max: -time.Second, attempts: 2, retryAfter: -1, wantMax: 0, wantOK: true},
		{name: "Retry-After within the cap", base: time.Second, max: time.Minute, maxWait: time.Minute, attempts: 1, retryAfter: 30 * time.Second, wantMax: 30 * time.Second, wantOK: true},
		{name: "Retry-After 0", base: time.Second, max: time.Minute, maxWait: time.Minute, attempts: 1, retryAfter: 0, wantMax: 0, wantOK: true},
		{name: "Retry-After over the cap", base: time.Second, max: time.Minute, maxWait: time.Minute, attempts: 1, retryAfter: 2 * time.Minute, wantMax: 2 * time.Minute, wantOK: false},
		{name: "Retry-After with a zero cap", base: time.Second, max: time.Minute, maxWait: 0, attempts: 1, retryAfter: time.Second, wantMax: time.Second, wantOK: false},
	}
	for _, tt := range tests {
		cfg := &config{retryBaseDelay: tt.base, retryMaxDelay: tt.max, maxRetryWait: tt.maxWait}
		for range 50 { // the wait is random: try it several times
			got, ok := cfg.backoff(tt.attempts, tt.retryAfter)
			if got < 0 || got > tt.wantMax || ok != tt.wantOK {
				t.Errorf("%s: backoff = %v, %v; want [0, %v], %v", tt.name, got, ok, tt.wantMax, tt.wantOK)
				break
			}
			if tt.retryAfter >= 0 && got != tt.retryAfter {
				t.Errorf("%s: backoff = %v, want the Retry-After %v", tt.name, got, tt.retryAfter)
				break
			}
		}
	}
}
