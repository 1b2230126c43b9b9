package justap

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The response wrappers' fast paths (envelope, ChargeList) must give what
// encoding/json gives: the same value and whether it errs.

// responseCases wrap the charge cases and add wrapper-level oddities.
func responseCases() []string {
	var in []string
	for _, tc := range chargeCases {
		in = append(in,
			`{"object":"Charge","data":`+tc.in+`}`,
			`{"object":"ChargeList","data":[`+tc.in+`,{"charge_id":"ch_2"}],"has_more":true}`)
	}
	return append(in,
		`{}`, `null`, `[]`, `{"data":null}`, `{"data":[]}`, `{"data":[null]}`, `{"data":{}}`,
		`{"object":null,"has_more":null}`, `{"data":[{}],"has_more":false,"next":{"x":[1]}}`,
		`{"Data":{"charge_id":"a"}}`, `{"DATA":[]}`, `{"Has_More":true}`, `{"d\u0061ta":[]}`,
		`{"data":{"charge_id":"a"},"data":{"charge_id":"b"}}`, `{"data":[],"data":[{}]}`,
		`{"object":1}`, `{"has_more":"true"}`, `{"data":"x"}`, `{"data":[1]}`, `{"data":["x"]}`,
		`{"data":[{}],}`, `{"data":[{},]}`, `{"data":[{}] `, `{"data":[{}]}x`, ` {"data":[]} `,
		`{"data":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}`,
	)
}

// checkResponse decodes in into a new T both ways and compares.
func checkResponse[T any](t *testing.T, in []byte) {
	t.Helper()
	var got, want T
	gotErr := decodeResponse(in, &got)
	wantErr := json.Unmarshal(in, &want)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%T %q:\nerror %v\nwant  %v", want, in, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if diff := cmp.Diff(want, got, sameTime); diff != "" {
		t.Fatalf("%T %q: fast path differs from encoding/json (-want +got):\n%s", want, in, diff)
	}
}

func TestResponseFastPathMatchesReference(t *testing.T) {
	for _, in := range responseCases() {
		checkResponse[envelope[Charge]](t, []byte(in))
		checkResponse[envelope[Refund]](t, []byte(in))
		checkResponse[ChargeList](t, []byte(in))
	}
}

// TestResponseFastPathTaken: plain responses do take the fast path (else
// the comparison above would pass by always declining).
func TestResponseFastPathTaken(t *testing.T) {
	var e envelope[Charge]
	if !e.decodeFast([]byte(`{"object":"Charge","data":`+fastCharge+`}`)) || e.Data == nil || e.Data.ID != "ch_1" {
		t.Errorf("envelope declined a plain charge: %+v", e)
	}
	var l ChargeList
	if !l.decodeFast([]byte(`{"object":"ChargeList","data":[`+fastCharge+`,{}],"has_more":true}`)) ||
		len(l.Data) != 2 || !l.HasMore || l.Data[0].Amount != 13107201 {
		t.Errorf("list declined a plain page: %+v", l)
	}
	for _, in := range []string{`{"Data":[]}`, `{"data":[],"data":[]}`, `{"data":[1]}`} {
		if l := (ChargeList{}); l.decodeFast([]byte(in)) {
			t.Errorf("list took %s", in)
		}
	}
}

// FuzzResponseFastPath compares the wrappers' fast paths with encoding/json
// on any input.
func FuzzResponseFastPath(f *testing.F) {
	for _, in := range responseCases() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkResponse[envelope[Charge]](t, in)
		checkResponse[ChargeList](t, in)
	})
}
