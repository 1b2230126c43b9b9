package justap

import "encoding/json"

// DecodeChargeList decodes a page of charges as the client decodes a
// response body, for the benchmarks: into the wire form, checked, then
// converted.
func DecodeChargeList(b []byte) (*ChargeList, error) {
	var w chargeListWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	return w.list(), nil
}
