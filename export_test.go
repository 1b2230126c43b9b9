package justap

import "net/http"

// DecodeResponse exposes the client's response decoder to the external
// benchmarks, which measure the page decode the client really does.
var DecodeResponse = decodeResponse

// NotificationWaiters returns how many notifications a handler made by
// NotificationsService.Handler holds waiting for another notification's
// API read or function call, for the tests that make them share one.
func NotificationWaiters(h http.Handler) int {
	nh := h.(*notifyHandler)
	return nh.reads.waiters() + nh.calls.waiters()
}
