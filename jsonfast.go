package justap

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file holds the fast paths of the response decoders.
//
// encoding/json hands a type with an UnmarshalJSON method the bytes of its
// value; decoding them again with json.Unmarshal validates and walks them a
// second and a third time, and every nested type with its own method adds
// two walks more. For a page of charges that made decoding three times as
// slow as decoding into a plain struct. The fast paths below read an object
// in one strict pass instead, and give up — returning false — on anything
// they do not handle in exactly the way encoding/json would: invalid JSON,
// escaped or non-ASCII keys, keys that match a field only when case is
// ignored, repeated keys, a value of an unexpected kind, or a receiver that
// is not the zero value. The caller then resets the receiver and runs the
// reference decoder (json.Unmarshal), so every error, and every result in
// the cases the fast path declines, is the reference decoder's own.

// jvalue is one JSON value as it appears in the input.
type jvalue struct {
	raw  []byte // the value's exact bytes, quotes included
	kind byte   // '"' string, '0' number, 't' true, 'f' false, 'n' null, '{' object, '[' array
	esc  bool   // a string with backslash escapes
	utf  bool   // a string with bytes above ASCII
}

// jsonMaxDepth bounds the nesting the fast path follows; deeper input goes
// to the reference decoder.
const jsonMaxDepth = 256

// jreader reads JSON strictly: it accepts exactly what encoding/json's
// scanner accepts, or reports false.
type jreader struct {
	b     []byte
	i     int
	depth int
}

func (r *jreader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// value reads the value at r.i (no whitespace before it).
func (r *jreader) value() (v jvalue, ok bool) {
	if r.i >= len(r.b) {
		return v, false
	}
	start := r.i
	switch c := r.b[r.i]; {
	case c == '"':
		v.kind = '"'
		v.esc, v.utf, ok = r.str()
	case c == '-' || c >= '0' && c <= '9':
		v.kind = '0'
		ok = r.number()
	case c == 't':
		v.kind, ok = 't', r.lit("true")
	case c == 'f':
		v.kind, ok = 'f', r.lit("false")
	case c == 'n':
		v.kind, ok = 'n', r.lit("null")
	case c == '{':
		v.kind = '{'
		ok = r.object(nil)
	case c == '[':
		v.kind = '['
		ok = r.array(nil)
	}
	v.raw = r.b[start:r.i]
	return v, ok
}

func (r *jreader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// str reads a string, reporting whether it has escapes or non-ASCII bytes.
func (r *jreader) str() (esc, utf, ok bool) {
	b, i := r.b, r.i+1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			r.i = i + 1
			return esc, utf, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return esc, utf, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return esc, utf, false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return esc, utf, false
					}
				}
				i += 6
			default:
				return esc, utf, false
			}
		case c < 0x20:
			return esc, utf, false
		default:
			if c >= utf8.RuneSelf {
				utf = true
			}
			i++
		}
	}
	return esc, utf, false
}

// number reads a number in JSON's grammar.
func (r *jreader) number() bool {
	b, i := r.b, r.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	r.i = i
	return true
}

// object reads an object at r.i, calling fn (when not nil) with each key
// and value in order; fn returning false stops the read with false.
func (r *jreader) object(fn func(key, val jvalue) bool) bool {
	if r.depth >= jsonMaxDepth {
		return false
	}
	r.depth++
	ok := r.members(fn)
	r.depth--
	return ok
}

func (r *jreader) members(fn func(key, val jvalue) bool) bool {
	return r.membersWith(fn, nil)
}

// membersWith is members where arrays, when not nil, may return for a key
// a callback to take that key's array elements one by one as they are read
// (the callback sees each element once; fn then sees the whole array).
func (r *jreader) membersWith(fn func(key, val jvalue) bool, arrays func(key jvalue) func(elem jvalue) bool) bool {
	r.i++ // '{'
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return true
	}
	for {
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return false
		}
		key, ok := r.value()
		if !ok {
			return false
		}
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return false
		}
		r.i++
		r.ws()
		var val jvalue
		if each := lazyArray(arrays, key, r); each != nil {
			start := r.i
			ok = r.array(each)
			val = jvalue{raw: r.b[start:r.i], kind: '['}
		} else {
			val, ok = r.value()
		}
		if !ok || fn != nil && !fn(key, val) {
			return false
		}
		if more, ok := r.sep('}'); !more {
			return ok
		}
	}
}

// sep reads what follows a member or an element: a comma (more follows)
// or the closing byte (the end); anything else is invalid.
// The loops skip the white space after a comma.
func (r *jreader) sep(closing byte) (more, ok bool) {
	r.ws()
	if r.i < len(r.b) {
		if c := r.b[r.i]; c == ',' || c == closing {
			r.i++
			return c == ',', true
		}
	}
	return false, false
}

// lazyArray asks arrays for key's element callback, only when the value
// at r.i is an array.
func lazyArray(arrays func(key jvalue) func(elem jvalue) bool, key jvalue, r *jreader) func(elem jvalue) bool {
	if arrays == nil || r.i >= len(r.b) || r.b[r.i] != '[' {
		return nil
	}
	return arrays(key)
}

// array reads an array at r.i, calling fn (when not nil) with each
// element in order; fn returning false stops the read with false.
func (r *jreader) array(fn func(elem jvalue) bool) bool {
	if r.depth >= jsonMaxDepth {
		return false
	}
	r.depth++
	ok := r.elements(fn)
	r.depth--
	return ok
}

func (r *jreader) elements(fn func(elem jvalue) bool) bool {
	r.i++ // '['
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return true
	}
	for {
		r.ws()
		elem, ok := r.value()
		if !ok || fn != nil && !fn(elem) {
			return false
		}
		if more, ok := r.sep(']'); !more {
			return ok
		}
	}
}

// eachMember calls fn with each key and value of the JSON object b, in
// order. It reports false unless b is exactly one valid JSON object
// (whitespace around it allowed) and fn returned true for every member.
func eachMember(b []byte, fn func(key, val jvalue) bool) bool {
	return eachMemberWith(b, fn, nil)
}

// eachMemberWith is eachMember with the arrays hook of membersWith.
func eachMemberWith(b []byte, fn func(key, val jvalue) bool, arrays func(key jvalue) func(elem jvalue) bool) bool {
	r := jreader{b: b}
	r.ws()
	if r.i >= len(b) || b[r.i] != '{' || r.depth >= jsonMaxDepth {
		return false
	}
	r.depth++
	if !r.membersWith(fn, arrays) {
		return false
	}
	r.ws()
	return r.i == len(b)
}

// name returns a key's text when encoding/json would match it against
// field names as these very bytes: no escapes, ASCII only.
func (v jvalue) name() ([]byte, bool) {
	if v.esc || v.utf {
		return nil, false
	}
	return v.raw[1 : len(v.raw)-1], true
}

// text returns the string a JSON string value decodes to.
func (v jvalue) text() (string, bool) {
	s := v.raw[1 : len(v.raw)-1]
	if !v.esc && (!v.utf || utf8.Valid(s)) {
		return string(s), true
	}
	var out string // escapes or invalid UTF-8: let encoding/json do it
	if json.Unmarshal(v.raw, &out) != nil {
		return "", false
	}
	return out, true
}

// setString decodes a JSON string into a string field as encoding/json
// does: null leaves the field as it is; any other kind is declined.
func (v jvalue) setString(dst *string) bool {
	switch v.kind {
	case '"':
		s, ok := v.text()
		*dst = s
		return ok
	case 'n':
		return true
	}
	return false
}

// setBool decodes a JSON boolean as encoding/json does.
func (v jvalue) setBool(dst *bool) bool {
	switch v.kind {
	case 't', 'f':
		*dst = v.kind == 't'
		return true
	case 'n':
		return true
	}
	return false
}

// setStringMap decodes an object of strings into a nil map as encoding/json
// does: null leaves it nil, a null value is "", later keys win.
func (v jvalue) setStringMap(dst *map[string]string) bool {
	switch v.kind {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	m := make(map[string]string)
	ok := eachMember(v.raw, func(k, val jvalue) bool {
		key, ok := k.text()
		if !ok {
			return false
		}
		var s string
		if !val.setString(&s) {
			return false
		}
		m[key] = s
		return true
	})
	if ok {
		*dst = m
	}
	return ok
}

// ignoredKey reports whether encoding/json would ignore key when decoding
// into a struct whose fields are named known: it matches none of them,
// even ignoring case. Non-ASCII keys are declined (Unicode case folding).
func ignoredKey(key []byte, known []string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	for _, k := range known {
		if asciiEqualFold(k, key) {
			return false
		}
	}
	return true
}

func asciiEqualFold(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := 0; i < len(s); i++ {
		x, y := s[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// jsonFields lists the JSON keys of a struct type's fields and the fields'
// indexes, as encoding/json names them. The types it is used on have no
// embedded fields.
func jsonFields(t reflect.Type) (names []string, index []int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		index = append(index, i)
	}
	return names, index
}

// chargeKeys are the keys the reference Charge decoder knows.
var chargeKeys = sync.OnceValue(func() []string {
	type plain Charge
	a, _ := jsonFields(reflect.TypeFor[plain]())
	b, _ := jsonFields(reflect.TypeFor[chargeWire]())
	return append(a, b...)
})

// decodeFast decodes a charge into the zero Charge c in one pass, or
// reports false (c may then be partly set: reset it).
func (c *Charge) decodeFast(b []byte) bool {
	var (
		w    chargeWire
		seen uint64
	)
	ok := eachMember(b, func(k, v jvalue) bool {
		key, ok := k.name()
		if !ok {
			return false
		}
		var n uint
		switch string(key) {
		case "charge_id":
			n, ok = 1, v.setString(&c.ID)
		case "object":
			n, ok = 2, v.setString(&c.Object)
		case "app_id":
			n, ok = 3, v.setString(&c.AppID)
		case "merchant_trade_id":
			n, ok = 4, v.setString(&c.MerchantTradeID)
		case "channel":
			n, ok = 5, v.setString((*string)(&c.Channel))
		case "amount":
			n, ok = 6, c.Amount.UnmarshalJSON(v.raw) == nil
		case "amount_fee":
			n, ok = 7, c.AmountFee.UnmarshalJSON(v.raw) == nil
		case "amount_refund":
			n, ok = 8, c.AmountRefunded.UnmarshalJSON(v.raw) == nil
		case "amount_royalty":
			n, ok = 9, c.AmountRoyalty.UnmarshalJSON(v.raw) == nil
		case "amount_settle":
			n, ok = 10, c.AmountSettle.UnmarshalJSON(v.raw) == nil
		case "currency":
			n, ok = 11, v.setString(&c.Currency)
		case "subject":
			n, ok = 12, v.setString(&c.Subject)
		case "body":
			n, ok = 13, v.setString(&c.Body)
		case "description":
			n, ok = 14, v.setString(&c.Description)
		case "client_ip":
			n, ok = 15, v.setString(&c.ClientIP)
		case "paid":
			n, ok = 16, v.setBool(&c.Paid)
		case "refunded":
			n, ok = 17, v.setBool(&c.Refunded)
		case "reversed":
			n, ok = 18, v.setBool(&c.Reversed)
		case "closed":
			n, ok = 19, v.setBool(&c.Closed)
		case "live_mode":
			n, ok = 20, v.setBool(&c.LiveMode)
		case "transaction_no":
			n, ok = 21, v.setString(&c.TransactionNo)
		case "failure_code":
			n, ok = 22, v.setString(&c.FailureCode)
		case "failure_msg":
			n, ok = 23, v.setString(&c.FailureMessage)
		case "metadata":
			n, ok = 24, v.setStringMap(&c.Metadata)
		case "extra":
			n = 25
			if v.kind != 'n' {
				c.Extra = new(ChargeExtra)
				ok = c.Extra.UnmarshalJSON(v.raw) == nil
			}
		case "credential":
			n, ok = 26, c.Credential.UnmarshalJSON(v.raw) == nil
		case "refunds":
			n, ok = 27, json.Unmarshal(v.raw, &c.Refunds) == nil
		case "ttl":
			n, ok = 28, w.TTL.UnmarshalJSON(v.raw) == nil
		case "created_at":
			n, ok = 29, w.CreatedAt.UnmarshalJSON(v.raw) == nil
		case "paid_at":
			n, ok = 30, w.PaidAt.UnmarshalJSON(v.raw) == nil
		case "paid_ts":
			n, ok = 31, w.PaidTS.UnmarshalJSON(v.raw) == nil
		case "closed_at":
			n, ok = 32, w.ClosedAt.UnmarshalJSON(v.raw) == nil
		case "closed_ts":
			n, ok = 33, w.ClosedTS.UnmarshalJSON(v.raw) == nil
		case "reversed_at":
			n, ok = 34, w.ReversedAt.UnmarshalJSON(v.raw) == nil
		case "time_expire":
			n, ok = 35, w.ExpiresAt.UnmarshalJSON(v.raw) == nil
		case "expired_ts":
			n, ok = 36, w.ExpiredTS.UnmarshalJSON(v.raw) == nil
		default:
			// A key the reference decoder would store (a field added to
			// Charge but not here, or a case-folded name) is declined.
			return ignoredKey(key, chargeKeys())
		}
		if seen&(1<<n) != 0 {
			return false
		}
		seen |= 1 << n
		return ok
	})
	if ok {
		c.setWire(&w)
	}
	return ok
}

// openInfo describes a struct decoded by decodeOpen.
type openInfo struct {
	names []string // JSON key of each field, in field order
	index []int    // field index of each name
}

var openInfos sync.Map // reflect.Type → *openInfo

func openInfoOf(t reflect.Type) *openInfo {
	if v, ok := openInfos.Load(t); ok {
		return v.(*openInfo)
	}
	info := &openInfo{}
	info.names, info.index = jsonFields(t)
	v, _ := openInfos.LoadOrStore(t, info)
	return v.(*openInfo)
}

// decodeOpenFast is decodeOpen's fast path, for a zero struct whose fields
// are strings and pointers: typed keys into the fields, every other key
// into other. It reports false (leaving rv to be reset) when it declines.
func decodeOpenFast(b []byte, rv reflect.Value, other *map[string]json.RawMessage) bool {
	info := openInfoOf(rv.Type())
	var all map[string]json.RawMessage
	var seen uint64
	ok := eachMember(b, func(k, v jvalue) bool {
		key, ok := k.name()
		if !ok {
			return false
		}
		n := -1
		for i, name := range info.names {
			if name == string(key) {
				n = i
				break
			}
		}
		if n < 0 {
			if !ignoredKey(key, info.names) {
				return false
			}
			if all == nil {
				all = make(map[string]json.RawMessage)
			}
			all[string(key)] = append(json.RawMessage(nil), v.raw...)
			return true
		}
		if n >= 64 || seen&(1<<n) != 0 {
			return false
		}
		seen |= 1 << n
		f := rv.Field(info.index[n])
		switch f.Kind() {
		case reflect.String:
			var s string
			if !v.setString(&s) {
				return false
			}
			f.SetString(s)
		case reflect.Pointer:
			if v.kind == 'n' {
				return true
			}
			p := reflect.New(f.Type().Elem())
			if u, ok := p.Interface().(json.Unmarshaler); ok {
				if u.UnmarshalJSON(v.raw) != nil {
					return false
				}
			} else if json.Unmarshal(v.raw, p.Interface()) != nil {
				return false
			}
			f.Set(p)
		default:
			return false
		}
		return true
	})
	if ok {
		*other = all
	}
	return ok
}

// decodeTextFieldsFast is decodeTextFields' fast path. It sets nothing
// unless it succeeds.
func decodeTextFieldsFast(b []byte, fields map[string]*string) bool {
	var (
		set [8]struct {
			dst *string
			v   string
		}
		n int
	)
	ok := eachMember(b, func(k, v jvalue) bool {
		key, ok := k.name()
		if !ok {
			return false
		}
		dst, known := fields[string(key)]
		if !known {
			return true
		}
		if n == len(set) {
			return false
		}
		var s string
		switch v.kind {
		case '"':
			if s, ok = v.text(); !ok {
				return false
			}
		case '0':
			s = string(v.raw)
		case 'n':
		default:
			return false
		}
		set[n].dst, set[n].v = dst, s
		n++
		return true
	})
	if !ok {
		return false
	}
	for _, s := range set[:n] {
		*s.dst = s.v
	}
	return true
}

// The response wrappers: {"object", "data"} around one object, and a page
// of charges. encoding/json would validate the whole body, then skip over
// each charge to find its end, and only then hand it to Charge's decoder:
// three walks where a plain struct takes two. These read the wrapper in the
// same strict pass that finds each charge, and decline as the others do.

// fastDecoder is a response type with a one-pass decoder for its zero
// value. decodeFast reports false to decline, leaving the value zero.
type fastDecoder interface{ decodeFast(b []byte) bool }

// decodeResponse decodes a response body into out, a new (zero) value:
// in one pass where out has a fast path that accepts the body, else with
// encoding/json, whose errors are the ones returned.
func decodeResponse(b []byte, out any) error {
	if f, ok := out.(fastDecoder); ok && f.decodeFast(b) {
		return nil
	}
	return json.Unmarshal(b, out)
}

// decodeObjectInto decodes an object or null value into a new *T, as
// encoding/json does for a nil pointer field: null leaves it nil.
func decodeObjectInto[T any](v jvalue, dst **T) bool {
	switch v.kind {
	case 'n':
		return true
	case '{':
		t := new(T)
		if u, ok := any(t).(json.Unmarshaler); ok {
			if u.UnmarshalJSON(v.raw) != nil {
				return false
			}
		} else if json.Unmarshal(v.raw, t) != nil {
			return false
		}
		*dst = t
		return true
	}
	return false
}

// once marks key i as seen, and reports false if it was: a repeated key is
// declined (encoding/json's handling of repeats is not mirrored here).
func once(seen *uint8, i uint8) bool {
	if *seen&(1<<i) != 0 {
		return false
	}
	*seen |= 1 << i
	return true
}

var envelopeKeys = []string{"object", "data"}

func (e *envelope[T]) decodeFast(b []byte) bool {
	var seen uint8
	ok := eachMember(b, func(k, v jvalue) bool {
		key, ok := k.name()
		if !ok {
			return false
		}
		switch string(key) {
		case "object":
			return once(&seen, 0) && v.setString(&e.Object)
		case "data":
			return once(&seen, 1) && decodeObjectInto(v, &e.Data)
		}
		return ignoredKey(key, envelopeKeys)
	})
	if !ok {
		*e = envelope[T]{}
	}
	return ok
}

var chargeListKeys = []string{"object", "data", "has_more"}

func (l *ChargeList) decodeFast(b []byte) bool {
	var seen uint8
	// Each charge is decoded as the reader reaches it, rather than the page
	// being validated whole and then walked again.
	decodeCharge := func(elem jvalue) bool {
		var c *Charge
		if !decodeObjectInto(elem, &c) {
			return false
		}
		l.Data = append(l.Data, c)
		return true
	}
	ok := eachMemberWith(b, func(k, v jvalue) bool {
		key, ok := k.name()
		if !ok {
			return false
		}
		switch string(key) {
		case "object":
			return once(&seen, 0) && v.setString(&l.Object)
		case "has_more":
			return once(&seen, 1) && v.setBool(&l.HasMore)
		case "data":
			return once(&seen, 2) && (v.kind == '[' || v.kind == 'n')
		}
		return ignoredKey(key, chargeListKeys)
	}, func(k jvalue) func(elem jvalue) bool {
		if key, ok := k.name(); !ok || string(key) != "data" {
			return nil
		}
		l.Data = []*Charge{} // [] decodes to an empty, non-nil slice
		return decodeCharge
	})
	if !ok {
		*l = ChargeList{}
	}
	return ok
}
