package justap

import (
	"encoding/json"
	"net/http"
)

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

// NotificationWaiters returns how many notifications a handler made by
// NotificationsService.Handler holds waiting for another notification's
// API read or function call, for the tests that make them share one.
func NotificationWaiters(h http.Handler) int {
	nh := h.(*notifyHandler)
	return nh.reads.waiters() + nh.calls.waiters()
}
