package justap_test

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/justap-go/justap"
)

// TestAmountFloatNoise: a decoded amount within float32 rounding of a whole
// fen is that fen; one genuinely between two fen is still refused.
func TestAmountFloatNoise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`19.989999771118164`, 1999, true},                                         // float32(19.99) widened to a double
		{`"19.989999771118164"`, 1999, true},                                       // as a string
		{`19.9899997711181640625`, 1999, true},                                     // float32(19.99) written out in full
		{`1.9989999771118164e1`, 1999, true},                                       // with an exponent
		{`0.009999999776482582`, 1, true},                                          // float32(0.01)
		{`0.10000000149011612`, 10, true},                                          // float32(0.1)
		{`-19.989999771118164`, -1999, true},                                       // negative
		{`19.990000000000002`, 1999, true},                                         // double noise above
		{`131072.015625`, 13107202, true},                                          // float32(131072.01): the server's float lost the fen
		{`99999.9921875`, 9999999, true},                                           // float32(99999.99)
		{`0.01000000000000000020816681711721685132943093776702880859375`, 1, true}, // float64(0.01) in full
		{`19.99`, 1999, true},
		{`19.995`, 0, false},      // half a fen
		{`19.994`, 0, false},      // 0.4 fen off: far beyond float rounding
		{`19.9999`, 0, false},     // a hundredth of a fen off, relative 5e-6
		{`0.001`, 0, false},       // nearest fen is 0
		{`0.005`, 0, false},       // exactly half way
		{`0.0099`, 0, false},      // 1% off
		{`0.00999999`, 0, false},  // relative 1e-6: more than float32 rounding
		{`0.009999999`, 0, false}, // relative error exactly 1e-7: not below it
		{`0.0099999991`, 1, true}, // relative error 9e-8
		{`1e-100000`, 0, false},   // tiny
		{`0.` + strings.Repeat("0", 5000) + `1`, 0, false},
		{`1` + strings.Repeat("0", 30) + `.001`, 0, false}, // out of range
		{`92233720368547758.07`, 9223372036854775807, true},
		{`92233720368547758.0700000001`, 9223372036854775807, true},
		{`92233720368547758.08`, 0, false},
		{`-92233720368547758.08`, -9223372036854775808, true},
		{`-92233720368547758.0800000001`, -9223372036854775808, true},
		{`-92233720368547758.09`, 0, false},
	}
	for _, tt := range tests {
		var a justap.Amount
		err := json.Unmarshal([]byte(tt.in), &a)
		if tt.ok && (err != nil || int64(a) != tt.want) {
			t.Errorf("decode %.60s = %d, %v; want %d", tt.in, int64(a), err, tt.want)
		}
		if !tt.ok && err == nil {
			t.Errorf("decode %.60s = %d, want an error", tt.in, int64(a))
		}
	}
}

// TestAmountNoiseOnlyOnResponses: ParseAmount, which reads what a caller
// means to send, stays exact.
func TestAmountNoiseOnlyOnResponses(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"19.989999771118164", "0.009999999776482582", "19.995"} {
		if a, err := justap.ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%s) = %d, want an error", s, int64(a))
		}
	}
}

// TestGetWithFloatNoise: a charge and a refund whose amounts carry float
// noise are read whole, each amount as its fen.
func TestGetWithFloatNoise(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /transaction/v1/charges/ch_1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"object":"Charge","data":{"charge_id":"ch_1","amount":19.989999771118164,"amount_refund":0.009999999776482582}}`)
	})
	mux.HandleFunc("GET /transaction/v1/charges/ch_1/refunds/re_1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"object":"Refund","data":{"refund_id":"re_1","amount":0.009999999776482582}}`)
	})
	ch, err := c.Charges.Get(context.Background(), "ch_1")
	if err != nil || ch.Amount != 1999 || ch.AmountRefunded != 1 {
		t.Fatalf("Get = %+v, %v; want 1999 and 1 fen", ch, err)
	}
	rf, err := c.Refunds.Get(context.Background(), "ch_1", "re_1")
	if err != nil || rf.Amount != 1 {
		t.Fatalf("Get refund = %+v, %v; want 1 fen", rf, err)
	}
}

// FuzzAmountDecode: a decoded amount is the text's value exactly, or within
// float32 rounding (relative error below 1e-7) of it; nothing panics.
func FuzzAmountDecode(f *testing.F) {
	for _, s := range []string{"19.989999771118164", "0.009999999776482582", "19.995", "1e-5", "-0.5e1",
		"92233720368547758.07", "1.9989999771118164e1", `"0.01"`, "null", "0.0099999991"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return // keeps big.Rat below quick; the decoder bounds itself
		}
		var a justap.Amount
		if json.Unmarshal([]byte(s), &a) != nil || strings.TrimSpace(s) == "null" {
			return
		}
		text := strings.Trim(strings.TrimSpace(s), `"`)
		if strings.ContainsAny(text, "eE") {
			// big.Rat reads exponents too, but a huge one would be slow.
			if _, exp, _ := strings.Cut(strings.ToLower(text), "e"); len(exp) > 4 {
				return
			}
		}
		x, ok := new(big.Rat).SetString(text)
		if !ok {
			t.Fatalf("decoded %q to %d but it is not a number", s, int64(a))
		}
		x.Mul(x, big.NewRat(100, 1))
		got := new(big.Rat).SetInt64(int64(a))
		if x.Cmp(got) == 0 {
			return
		}
		off := new(big.Rat).Sub(x, got)
		off.Abs(off).Mul(off, big.NewRat(10_000_000, 1))
		if a == 0 || off.Cmp(new(big.Rat).Abs(got)) >= 0 {
			t.Fatalf("decoded %q to %d fen, beyond float32 rounding", s, int64(a))
		}
	})
}

func TestAmountDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want justap.Amount
	}{
		{`0.01`, 1},
		{`1e2`, 10000},
		{`"12.30"`, 1230},
		{`131072.01`, 13107201},
		{`"131072.01"`, 13107201},
		{`1`, 100},
		{`1.00`, 100},
		{`0`, 0},
		{`-0.5`, -50},
		{`1.2E-1`, 12},
		{`0.0100`, 1},
		{`12345678901234.56`, 1234567890123456},
		{`92233720368547758.07`, 9223372036854775807},
		{`-92233720368547758.08`, -9223372036854775808},
		{`1700000123.45`, 170000012345}, // float32 would give 1700000128
	}
	for _, tt := range tests {
		var got justap.Amount
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("decode %s: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("decode %s = %d fen, want %d", tt.in, int64(got), int64(tt.want))
		}
	}
}

func TestAmountDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`0.001`, `1e-3`, `"abc"`, `""`, `"1.2.3"`, `"NaN"`, `"Infinity"`, `"1e"`,
		`92233720368547758.08`, `1e30`, `"0x10"`, `" 1"`, `true`} {
		var a justap.Amount
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("decode %s = %d, want an error", in, int64(a))
		}
	}
}

func TestAmountEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   justap.Amount
		want string
	}{
		{13107201, "131072.01"},
		{100, "1.00"},
		{1, "0.01"},
		{0, "0.00"},
		{-50, "-0.50"},
		{-9223372036854775808, "-92233720368547758.08"},
		{9223372036854775807, "92233720368547758.07"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("encode %d = %s, %v; want %s", int64(tt.in), b, err, tt.want)
		}
		if s := tt.in.String(); s != tt.want {
			t.Errorf("String(%d) = %s, want %s", int64(tt.in), s, tt.want)
		}
		back, err := justap.ParseAmount(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("ParseAmount(%s) = %d, %v; want %d", tt.want, int64(back), err, int64(tt.in))
		}
	}
	if a, err := justap.Yuan(12); a != 1200 || err != nil {
		t.Errorf("Yuan(12) = %d, %v", int64(a), err)
	}
}

// TestYuanNeverWraps: Yuan refuses every count of yuan whose fen do not fit
// in an int64, rather than wrapping (Yuan(184467440737095517) was 84 fen).
func TestYuanNeverWraps(t *testing.T) {
	t.Parallel()
	const most = math.MaxInt64 / 100
	for _, y := range []int64{0, 1, -1, most, -most, math.MinInt64 / 100} {
		a, err := justap.Yuan(y)
		if err != nil || int64(a) != y*100 {
			t.Errorf("Yuan(%d) = %d, %v; want %d", y, int64(a), err, y*100)
		}
	}
	for _, y := range []int64{most + 1, -most - 1, 184467440737095517, math.MaxInt64, math.MinInt64} {
		if a, err := justap.Yuan(y); err == nil || a != 0 {
			t.Errorf("Yuan(%d) = %d, %v; want 0 and an error", y, int64(a), err)
		}
	}
}

// FuzzAmountRoundTrip: every int64 of fen goes out as text that comes back
// as the same amount.
func FuzzAmountRoundTrip(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 13107201, 1 << 62, -1 << 63, 1<<63 - 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		b, err := json.Marshal(justap.Amount(v))
		if err != nil {
			t.Fatal(err)
		}
		var back justap.Amount
		if err := json.Unmarshal(b, &back); err != nil || int64(back) != v {
			t.Fatalf("%d → %s → %d, %v", v, b, int64(back), err)
		}
	})
}
