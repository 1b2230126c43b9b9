package justap_test

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/justap-go/justap"
)

// TestAmountFloatNoise: a decoded amount within float32 rounding of a whole
// fen is that fen; one genuinely between two fen is still refused.
func TestAmountFloatNoise(t *testing.T) {
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
	for _, s := range []string{"19.989999771118164", "0.009999999776482582", "19.995"} {
		if a, err := justap.ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%s) = %d, want an error", s, int64(a))
		}
	}
}

// TestGetWithFloatNoise: a charge and a refund whose amounts carry float
// noise are read whole, each amount as its fen.
func TestGetWithFloatNoise(t *testing.T) {
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
		if json.Unmarshal([]byte(s), &a) != nil || s == "null" {
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
