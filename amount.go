package justap

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Amount is an exact amount of money in fen, the smallest unit of the yuan:
// Amount(1) is ¥0.01 and Amount(100) is ¥1.00.
//
// Amounts never pass through a floating-point number. On the wire Justap
// writes yuan with a decimal fraction ("amount": 131072.01); Amount writes
// and reads that text digit by digit, so Amount(13107201) is sent as exactly
// 131072.01 and a received 0.01 is exactly Amount(1). ParseAmount refuses
// text that would need a fraction of a fen (0.001) rather than round it.
//
// Decoding a response (UnmarshalJSON) allows one thing more: float noise.
// Justap declares some amounts as 32-bit floats, and a server that widens
// one to a double writes ¥19.99 as 19.989999771118164 and ¥0.01 as
// 0.009999999776482582. A decoded decimal within float32 rounding of a
// whole fen (a relative error below 1e-7) is that fen, found by exact
// decimal arithmetic on the text; one that is genuinely between two fen
// (19.995, 0.001) is still refused. Above about ¥50,000 a float32 cannot
// tell neighbouring fen apart, so there the nearest fen is taken, as the
// server's float already did. Requests are always written exactly.
//
// An Amount is an int64: adding amounts is ordinary Go arithmetic, exact
// up to about ±92 thousand trillion yuan.
type Amount int64

// Yuan returns the Amount of y whole yuan: Yuan(12) is Amount(1200). It
// never wraps: a y whose count of fen does not fit in an int64 (beyond
// about ±92 thousand trillion yuan) is refused with an error, and the
// Amount is then 0.
func Yuan(y int64) (Amount, error) {
	if y > math.MaxInt64/100 || y < math.MinInt64/100 {
		return 0, fmt.Errorf("justap: Yuan(%d): %w (at most %d yuan either way)", y, errAmountRange, int64(math.MaxInt64/100))
	}
	return Amount(y * 100), nil
}

// ParseAmount parses a decimal amount of yuan such as "12.30", "0.01",
// "-5" or "1e2" into an exact Amount. It rejects text that is not a
// number, that needs a fraction of a fen, or that does not fit in an int64
// count of fen.
func ParseAmount(s string) (Amount, error) {
	a, err := parseDecimal(s, 2)
	if err != nil {
		return 0, fmt.Errorf("justap: parse amount %q: %w", s, err)
	}
	return Amount(a), nil
}

// String returns the amount in yuan with two decimals, such as "131072.01"
// or "-0.50".
func (a Amount) String() string { return string(a.appendYuan(nil)) }

// appendYuan appends the amount as yuan with exactly two decimals.
func (a Amount) appendYuan(b []byte) []byte {
	u := uint64(a)
	if a < 0 {
		b = append(b, '-')
		u = -u // two's complement: correct for math.MinInt64 too
	}
	b = strconv.AppendUint(b, u/100, 10)
	c := u % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

// MarshalJSON writes the amount as a JSON number of yuan, such as 131072.01.
func (a Amount) MarshalJSON() ([]byte, error) { return a.appendYuan(make([]byte, 0, 24)), nil }

// UnmarshalJSON reads a JSON number or a JSON string holding a number of yuan
// ("12.30"), exactly. null leaves the amount unchanged.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, null, err := decodeMoney(b, 2)
	if err != nil {
		return fmt.Errorf("justap: amount %s: %w", truncate(b, 40), err)
	}
	if !null {
		*a = Amount(v)
	}
	return nil
}

// decodeMoney decodes a JSON number or string of a decimal amount whose unit
// is 10^-scale of the wire unit (scale 2: the wire says yuan, the result is
// fen; scale 0: the wire already says fen). null reports true for JSON null.
func decodeMoney(b []byte, scale int) (v int64, null bool, err error) {
	if string(b) == "null" {
		return 0, true, nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err = parseDecimal(string(b), scale)
	if err == errSubUnit || err == errAmountRange {
		// Perhaps float noise around a whole unit (see Amount).
		v, err = nearestUnit(string(b), scale)
	}
	return v, false, err
}

// Bounds of nearestUnit's exact arithmetic. A float64 written out in full
// has at most 767 significant digits; a longer number is refused unread.
const (
	maxNoiseDigits = 800
	// noiseTolerance: a value within 1/noiseTolerance (relative) of a whole
	// unit is that unit. A float32 rounds with a relative error of at most
	// 2^-24 ≈ 5.96e-8, below 1e-7.
	noiseTolerance = 10_000_000
)

// nearestUnit parses a decimal number as parseDecimal does, but accepts a
// value that is within float32 rounding of a whole unit of 10^-scale and
// returns that unit. It works on the digits with math/big, exactly.
func nearestUnit(s string, scale int) (int64, error) {
	neg, intPart, frac, exp, ok := splitDecimal(s)
	if !ok {
		return 0, errNotDecimal
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > maxNoiseDigits {
		return 0, errAmountRange
	}
	// The value is digits × 10^exp units of the wire, digits × 10^shift
	// units of the result.
	shift := exp + scale
	if shift >= 0 {
		// A whole number of units: parseDecimal refused it for its size.
		return 0, errAmountRange
	}
	if -shift > len(digits)+1 {
		// Below a tenth of a unit: the nearest unit is 0, never noise.
		return 0, errSubUnit
	}
	var m, d, q, r big.Int
	m.SetString(digits, 10)
	d.Exp(big.NewInt(10), big.NewInt(int64(-shift)), nil)
	q.QuoRem(&m, &d, &r)
	// Round to the nearest unit; the distance to it is off (in 1/d units).
	var twice, off big.Int
	twice.Lsh(&r, 1)
	switch twice.Cmp(&d) {
	case 0:
		return 0, errSubUnit // exactly half way: no unit is nearer
	case 1:
		q.Add(&q, big.NewInt(1))
		off.Sub(&d, &r)
	default:
		off.Set(&r)
	}
	if q.Sign() == 0 {
		return 0, errSubUnit
	}
	// Noise when off/d < q/noiseTolerance, that is off·noiseTolerance < q·d.
	var lhs, rhs big.Int
	lhs.Mul(&off, big.NewInt(noiseTolerance))
	rhs.Mul(&q, &d)
	if lhs.Cmp(&rhs) >= 0 {
		return 0, errSubUnit
	}
	if !q.IsUint64() {
		return 0, errAmountRange
	}
	return signedUnits(neg, q.Uint64())
}

// signedUnits is the int64 of u units, negated when neg, or errAmountRange
// when it does not fit.
func signedUnits(neg bool, u uint64) (int64, error) {
	if neg {
		if u > 1<<63 {
			return 0, errAmountRange
		}
		return -int64(u-1) - 1, nil
	}
	if u > math.MaxInt64 {
		return 0, errAmountRange
	}
	return int64(u), nil
}

// splitDecimal splits a decimal number ("-1.25e3") into its sign, its
// digits before and after the point ("1", "25") and the power of ten of the
// last digit (1). The exponent is clamped to ±100000, far beyond any amount.
func splitDecimal(s string) (neg bool, intPart, frac string, exp int, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = s[fs:i]
	}
	if intPart == "" && frac == "" {
		return false, "", "", 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if exp < 100000 {
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == es {
			return false, "", "", 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return false, "", "", 0, false
	}
	return neg, intPart, frac, exp - len(frac), true
}

var (
	errNotDecimal   = errors.New("not a decimal number")
	errSubUnit      = errors.New("has a fraction of a fen")
	errAmountRange  = errors.New("out of range")
	maxExponentDiff = 19 // 10^19 overflows int64 for any non-zero mantissa
)

// parseDecimal parses a decimal number with optional sign, fraction and
// exponent ("-12.30", "1e2", "131072.01") and returns it multiplied by
// 10^scale as an exact int64, without floating point.
func parseDecimal(s string, scale int) (int64, error) {
	neg, intPart, frac, exp10, ok := splitDecimal(s)
	if !ok {
		return 0, errNotDecimal
	}
	// Collect the significant digits; exp10 is the power of ten of the last
	// one. A digit that does not fit in mant is dropped and raises exp10: it
	// must be zero to stay exact.
	var mant uint64
	overflowDigits := false
	for _, digits := range [2]string{intPart, frac} {
		for i := 0; i < len(digits); i++ {
			v := uint64(digits[i] - '0')
			if mant > (math.MaxUint64-v)/10 {
				exp10++
				overflowDigits = overflowDigits || v != 0
				continue
			}
			mant = mant*10 + v
		}
	}
	if overflowDigits {
		return 0, errAmountRange
	}
	if mant == 0 {
		return 0, nil
	}
	exp10 += scale
	// Drop trailing zeros so 0.010 with scale 2 is 1, not an error.
	for exp10 < 0 && mant%10 == 0 {
		mant /= 10
		exp10++
	}
	if exp10 < 0 {
		return 0, errSubUnit
	}
	if exp10 > maxExponentDiff {
		return 0, errAmountRange
	}
	for ; exp10 > 0; exp10-- {
		if mant > math.MaxUint64/10 {
			return 0, errAmountRange
		}
		mant *= 10
	}
	return signedUnits(neg, mant)
}

// truncate returns at most n bytes of b as a string, for error messages.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
