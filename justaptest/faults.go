package justaptest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FaultKind is how an injected fault fails a request.
type FaultKind int

// The kinds of fault.
const (
	// FaultStatus answers with Fault.Status (default 503), Fault.Body
	// (default a google.rpc.Status whose code matches the status) and, if
	// set, a Retry-After header. The request is not processed.
	FaultStatus FaultKind = iota
	// FaultHang answers nothing until the client gives up (its context
	// ends or it closes the connection) or the server is closed. The
	// request is not processed.
	FaultHang
	// FaultReset closes the connection without an answer. The request is
	// not processed.
	FaultReset
	// FaultMalformed answers 200 with a JSON body cut off mid-way. The
	// request is not processed.
	FaultMalformed
	// FaultDropResponse processes the request (a create does create), then
	// closes the connection without an answer: the client cannot tell
	// whether it worked. This is the failure a retried create must
	// survive without creating twice.
	FaultDropResponse

	// The delivery faults apply to the fake's notifications, not to API
	// requests (see the package docs, Notifications). Each takes one
	// scheduled attempt to deliver a notification.

	// FaultDuplicate posts the notification twice: a second, identical
	// post follows the first's answer.
	FaultDuplicate
	// FaultOutOfOrder holds the notification back until the charge's next
	// notification has been posted, and posts it right after that one.
	FaultOutOfOrder
	// FaultDelay postpones the attempt by Fault.Delay (default one
	// minute) on the fake's clock.
	FaultDelay
	// FaultUnencrypted posts, before the genuine notification, the same
	// notification unencrypted ("is_encrypted": false).
	FaultUnencrypted
	// FaultForged posts, before the genuine notification, the same
	// notification encrypted with a key that is not the platform key.
	FaultForged
	// FaultTampered posts, before the genuine notification, the genuine
	// body with one bit of its first encrypted block flipped.
	FaultTampered
	// FaultOtherApp posts, before the genuine notification, the same
	// notification for another app (its app_id with "_other" appended),
	// authentically encrypted with the platform key.
	FaultOtherApp

	// The page faults apply to list requests (OpListCharges,
	// OpListRefunds): the request is processed, and the page is served
	// wrong in a way some gateways do, to test code that walks lists.
	// Other requests they select are served as usual.

	// FaultOverlapPage serves a page as a gateway whose cursor is off by
	// one: the page after (or before) a cursor starts with the cursor's
	// own item, and with Fault.Overlap n > 1 with the n-1 items next to it
	// as well, which the page before already held. A page without a
	// cursor is served as usual.
	FaultOverlapPage
	// FaultReorderPage serves a page oldest first, against the API's
	// newest-first order.
	FaultReorderPage
)

var faultKindNames = [...]string{
	"status", "hang", "reset", "malformed", "drop_response",
	"duplicate", "out_of_order", "delay", "unencrypted", "forged", "tampered", "other_app",
	"overlap_page", "reorder_page",
}

// delivery reports whether the kind is a delivery fault.
func (k FaultKind) delivery() bool { return k >= FaultDuplicate && k <= FaultOtherApp }

// page reports whether the kind is a page fault.
func (k FaultKind) page() bool { return k == FaultOverlapPage || k == FaultReorderPage }

// String returns the kind's name: "status", "hang", "reset", "malformed",
// "drop_response", "duplicate", "out_of_order", "delay", "unencrypted",
// "forged", "tampered", "other_app", "overlap_page" or "reorder_page".
func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultKindNames) {
		return faultKindNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// MarshalText writes the kind's name.
func (k FaultKind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(faultKindNames) {
		return nil, fmt.Errorf("justaptest: unknown fault kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name.
func (k *FaultKind) UnmarshalText(b []byte) error {
	for i, n := range faultKindNames {
		if string(b) == n {
			*k = FaultKind(i)
			return nil
		}
	}
	return fmt.Errorf("justaptest: unknown fault kind %q (want one of %s)", b, strings.Join(faultKindNames[:], ", "))
}

// Fault describes how to fail requests (see FailNext). Op, Method and Path
// select the requests it applies to; left empty, each matches any request.
// A delivery fault (FaultDuplicate and the kinds after it) applies to the
// fake's notification posts instead: Path then selects the notify_url's
// path, and Event the notification's event.
type Fault struct {
	// Op limits the fault to one operation, such as OpCreateCharge.
	Op Op `json:"op,omitempty"`
	// Method limits the fault to one HTTP method, such as "POST".
	Method string `json:"method,omitempty"`
	// Path limits the fault to one exact URL path, such as
	// "/transaction/v1/charges/ch_0000000001/reverse".
	Path string `json:"path,omitempty"`

	// Kind is how the requests fail; the zero value is FaultStatus.
	Kind FaultKind `json:"kind"`

	// Status is the HTTP status of a FaultStatus, 200 to 599; 0 means 503.
	Status int `json:"status,omitempty"`
	// Body is the body of a FaultStatus, sent as is (HTML for a proxy's
	// error page, say). Empty means a google.rpc.Status JSON body for a
	// status of 400 or more, and no body otherwise.
	Body string `json:"body,omitempty"`
	// RetryAfter is the Retry-After header of a FaultStatus: seconds or an
	// HTTP date. Empty sends none.
	RetryAfter string `json:"retry_after,omitempty"`

	// Event limits a delivery fault to one event, such as "charge.paid".
	Event string `json:"event,omitempty"`
	// Delay is how long a FaultDelay postpones an attempt; 0 means one
	// minute. (The control endpoint takes it as a duration string such as
	// "90s".)
	Delay time.Duration `json:"-"`
	// Overlap is how many items a FaultOverlapPage page repeats; 0 means
	// one (an inclusive cursor).
	Overlap int `json:"overlap,omitempty"`
}

func (f *Fault) check() error {
	if f.Kind < FaultStatus || int(f.Kind) >= len(faultKindNames) {
		return fmt.Errorf("justaptest: unknown fault kind %d", int(f.Kind))
	}
	if f.Kind.delivery() && (f.Op != "" || (f.Method != "" && !strings.EqualFold(f.Method, http.MethodPost))) {
		return fmt.Errorf("justaptest: a %s fault applies to notification posts: Op and Method do not select them", f.Kind)
	}
	if !f.Kind.delivery() && f.Event != "" {
		return fmt.Errorf("justaptest: Event applies to delivery faults only, not %s", f.Kind)
	}
	if f.Kind != FaultDelay && f.Delay != 0 {
		return fmt.Errorf("justaptest: Delay applies to FaultDelay only, not %s", f.Kind)
	}
	if f.Overlap < 0 || f.Kind != FaultOverlapPage && f.Overlap != 0 {
		return fmt.Errorf("justaptest: Overlap applies to FaultOverlapPage only, and is not negative")
	}
	if f.Status != 0 && (f.Status < 200 || f.Status > 599) {
		return fmt.Errorf("justaptest: fault status %d is outside 200–599", f.Status)
	}
	if f.Kind != FaultStatus && (f.Status != 0 || f.Body != "" || f.RetryAfter != "") {
		return fmt.Errorf("justaptest: Status, Body and RetryAfter apply to FaultStatus only, not %s", f.Kind)
	}
	return nil
}

func (f *Fault) matches(method, path string, op Op) bool {
	return !f.Kind.delivery() && (f.Op == "" || f.Op == op) &&
		(f.Method == "" || strings.EqualFold(f.Method, method)) &&
		(f.Path == "" || f.Path == path)
}

type faultRule struct {
	f    Fault
	left int
}

// FailNext makes the next n requests that f selects fail as f says. Faults
// queue up: a request takes the first pending fault that selects it, and
// requests no pending fault selects are served normally. Requests to the
// control endpoints under /justaptest/ are never faulted. A delivery fault
// (FaultDuplicate and after) fails the next n attempts to deliver a
// notification instead.
//
// FailNext panics if f is invalid (an unknown kind, a status outside
// 200–599, Status, Body or RetryAfter on a kind other than FaultStatus,
// Delay on a kind other than FaultDelay, Event on an API fault, or Op or
// Method on a delivery fault).
// n <= 0 adds nothing.
func (h *Handler) FailNext(n int, f Fault) {
	if err := f.check(); err != nil {
		panic(err)
	}
	if n <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, &faultRule{f: f, left: n})
}

// ClearFaults drops every pending fault.
func (h *Handler) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

// PendingFaults returns how many requests pending faults will still fail.
func (h *Handler) PendingFaults() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.faults {
		n += r.left
	}
	return n
}

// takeFault consumes the first pending fault that selects the request, if
// any. h.mu is held.
func (h *Handler) takeFault(method, path string, op Op) *Fault {
	return h.take(func(f *Fault) bool { return f.matches(method, path, op) })
}

// takeDeliveryFault consumes the first pending delivery fault that
// selects an attempt to deliver d, if any. h.mu is held.
func (h *Handler) takeDeliveryFault(d *delivery) *Fault {
	path := ""
	if u, err := url.Parse(d.d.URL); err == nil {
		path = u.Path
	}
	return h.take(func(f *Fault) bool {
		return f.Kind.delivery() && (f.Event == "" || f.Event == d.d.Event) && (f.Path == "" || f.Path == path)
	})
}

// take consumes the first pending fault that match selects, if any, and
// returns a copy of it. h.mu is held.
func (h *Handler) take(match func(*Fault) bool) *Fault {
	for i, r := range h.faults {
		if !match(&r.f) {
			continue
		}
		f := r.f
		r.left--
		if r.left == 0 {
			h.faults = append(h.faults[:i:i], h.faults[i+1:]...)
		}
		return &f
	}
	return nil
}

// Count returns how many requests for op the fake has received: every one,
// whether it succeeded, was refused, or was failed by a fault. A request
// is counted as the server receives it, so a request the HTTP client
// resends by itself (Go's transport replays a body-less request whose
// reused connection was reset) counts twice.
func (h *Handler) Count(op Op) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[op]
}

// Counts returns the count of every operation received at least once.
func (h *Handler) Counts() map[Op]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[Op]int, len(h.counts))
	for op, n := range h.counts {
		m[op] = n
	}
	return m
}

// malformedBody is the body of a FaultMalformed: JSON cut off mid-way.
const malformedBody = `{"object": "Charge", "data": {"charge_id": "ch_`

// injectFault fails the request as f says (any kind but FaultDropResponse).
func (h *Handler) injectFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	switch f.Kind {
	case FaultStatus:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		body := []byte(f.Body)
		ctype := "application/json"
		if f.Body == "" && status >= 400 {
			e := errorf(grpcCode(status), "injected by justaptest: %s", http.StatusText(status))
			body = e.body()
		} else if f.Body != "" && !looksLikeJSON(body) {
			ctype = http.DetectContentType(body)
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if len(body) == 0 {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(body)
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-h.done:
			resetConn(w)
		}
	case FaultReset:
		resetConn(w)
	case FaultMalformed:
		writeJSON(w, http.StatusOK, []byte(malformedBody))
	}
}

func looksLikeJSON(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}
