package justaptest

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/justap-go/justap"
)

// controlPrefix starts the paths of the fake's control endpoints.
const controlPrefix = "/justaptest/"

// serveControl serves the control endpoints: the same helpers as the Go
// methods, over HTTP, for tests not written in Go (cmd/justap-mock), and
// the pay page the charges' QR codes and pay URLs lead to.
func (h *Handler) serveControl(w http.ResponseWriter, r *http.Request) {
	if err := h.checkControl(r); err != nil {
		controlError(w, err)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, controlPrefix)
	seg := strings.Split(path, "/")
	switch {
	case len(seg) == 3 && seg[0] == "charges" && seg[2] == "pay" && r.Method == http.MethodGet:
		h.payPage(w, seg[1], "")
	case len(seg) == 3 && seg[0] == "charges" && r.Method == http.MethodPost:
		var f func(string) *apiError
		switch seg[2] {
		case "pay":
			f = h.pay
		case "expire":
			f = h.expire
		case "close":
			f = h.closeCharge
		default:
			controlError(w, errorf(codeNotFound, "no control endpoint %s %s", r.Method, r.URL.Path))
			return
		}
		h.mu.Lock()
		err := f(seg[1])
		var body []byte
		if err == nil {
			c, _ := h.findCharge(seg[1])
			body, err = object("Charge", c.wire())
		}
		h.mu.Unlock()
		switch {
		case seg[2] == "pay" && isForm(r):
			msg := "Paid. The merchant's server now sees this charge as paid."
			if err != nil {
				msg = "Not paid: " + err.message
			}
			h.payPage(w, seg[1], msg)
		case err != nil:
			controlError(w, err)
		default:
			writeJSON(w, http.StatusOK, body)
		}
	case len(seg) == 3 && seg[0] == "refunds" && seg[2] == "complete" && r.Method == http.MethodPost:
		h.mu.Lock()
		err := h.completeRefundID(seg[1])
		var body []byte
		if err == nil {
			body, err = object("Refund", &h.st.refunds[seg[1]].r)
		}
		h.mu.Unlock()
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, body)
	case path == "faults" && r.Method == http.MethodPost:
		var req struct {
			Count int `json:"count"`
			Fault
			Delay string `json:"delay"` // a duration, such as "90s"
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err == nil {
			err = json.Unmarshal(b, &req)
		}
		if err == nil && req.Delay != "" {
			req.Fault.Delay, err = time.ParseDuration(req.Delay)
		}
		if err == nil {
			err = req.Fault.check()
		}
		if err != nil {
			controlError(w, errorf(codeInvalidArgument, "faults: %v", err))
			return
		}
		h.FailNext(req.Count, req.Fault)
		b, _ = json.Marshal(map[string]int{"pending_faults": h.PendingFaults()})
		writeJSON(w, http.StatusOK, b)
	case path == "faults" && r.Method == http.MethodDelete:
		h.ClearFaults()
		writeJSON(w, http.StatusOK, []byte(`{"pending_faults":0}`))
	case path == "counts" && r.Method == http.MethodGet:
		b, _ := json.Marshal(map[string]map[Op]int{"counts": h.Counts()})
		writeJSON(w, http.StatusOK, b)
	case path == "deliveries" && r.Method == http.MethodGet:
		b, _ := json.Marshal(map[string][]Delivery{"deliveries": h.Deliveries()})
		writeJSON(w, http.StatusOK, b)
	case path == "deliveries/due" && r.Method == http.MethodPost:
		atts := h.DeliverDue(r.Context())
		if atts == nil {
			atts = []Attempt{}
		}
		b, _ := json.Marshal(map[string][]Attempt{"attempts": atts})
		writeJSON(w, http.StatusOK, b)
	case len(seg) == 3 && seg[0] == "deliveries" && seg[2] == "resend" && r.Method == http.MethodPost:
		a, err := h.Resend(r.Context(), seg[1])
		if err != nil {
			controlError(w, errorf(codeNotFound, "no notification %q", seg[1]))
			return
		}
		b, _ := json.Marshal(a)
		writeJSON(w, http.StatusOK, b)
	case path == "platform-key" && r.Method == http.MethodGet:
		der, err := x509.MarshalPKIXPublicKey(h.PlatformPublicKey())
		if err != nil {
			controlError(w, errorf(codeInternal, "cannot encode the platform key: %v", err))
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
	case path == "reset" && r.Method == http.MethodPost:
		h.Reset()
		writeJSON(w, http.StatusOK, []byte(`{}`))
	default:
		controlError(w, errorf(codeNotFound, "no control endpoint %s %s", r.Method, r.URL.Path))
	}
}

// WithControlHosts names the hosts, besides loopback names and addresses
// and the address the fake is served on, by which its control endpoints
// may be reached: a service name in a container network, say
// ("justap-mock"). See [Handler] for why the others are refused.
func WithControlHosts(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, ":/ ") {
				return fmt.Errorf("justaptest: WithControlHosts: %q is not a host name", h)
			}
			o.controlHosts = append(o.controlHosts, strings.ToLower(h))
		}
		return nil
	}
}

// checkControl refuses a control request that a web page could have made
// from another site, since a page open on the developer's machine can
// reach the fake on loopback:
//
//   - its Host must be a loopback name (localhost, *.localhost) or
//     address, the address the request came in on, or a host of
//     WithControlHosts: a name an attacker's DNS points at 127.0.0.1 (DNS
//     rebinding) is refused, so a page cannot read the answers;
//   - an Origin header, which browsers send on cross-site requests and on
//     POSTs, must name the fake itself;
//   - a POST or DELETE must carry JSON (Content-Type application/json) or
//     no body at all, never the form, multipart or text/plain body a page
//     can send without asking; the pay page's own form is the exception,
//     and is accepted only with the fake's own Origin.
func (h *Handler) checkControl(r *http.Request) *apiError {
	host := r.Host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if !h.controlHost(r, host) {
		return errorf(codePermissionDenied, "control endpoints answer only to a loopback host or the fake's own address "+
			"(or a host of WithControlHosts, -control-host): the Host %q may be a DNS-rebinding page", clip(r.Host))
	}
	origin := r.Header.Get("Origin")
	if origin != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if !strings.EqualFold(origin, scheme+"://"+r.Host) {
			return errorf(codePermissionDenied, "control endpoints refuse requests from the web page of another origin (%q)", clip(origin))
		}
	}
	if r.Method != http.MethodPost && r.Method != http.MethodDelete {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/json":
	case ct == "" && r.ContentLength == 0:
	case mt == "application/x-www-form-urlencoded" && origin != "" && strings.HasSuffix(r.URL.Path, "/pay"):
		// The pay page's own form, posted from the fake's own page.
	default:
		return errorf(codeInvalidArgument, "control endpoints take application/json, or no body; not %q, which a web page "+
			"of another site can send", clip(ct))
	}
	return nil
}

// controlHost reports whether host (lower case, without port or brackets)
// may reach the control endpoints.
func (h *Handler) controlHost(r *http.Request, host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || slices.Contains(h.opts.controlHosts, host) {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := la.(*net.TCPAddr); ok && ta.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// clip bounds a header's text quoted in an error.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

func controlError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, httpStatus(e.code), e.body())
}

func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

var payPageTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>justaptest: pay {{.ID}}</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 2em auto">
<p><small>justaptest — a fake Justap gateway. No money moves here.</small></p>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
{{if .Found}}
<h1>¥{{.Amount}}</h1>
<p>{{.Subject}}<br><small>{{.ID}} · {{.Channel}} · {{.State}}</small></p>
{{if .Open}}<form method="post"><button type="submit">Pay ¥{{.Amount}}</button></form>{{end}}
{{else}}<p>No such charge.</p>{{end}}
</body></html>
`))

// payPage renders the page a customer reaches by scanning a charge's QR
// code or opening its pay URL.
func (h *Handler) payPage(w http.ResponseWriter, id, message string) {
	data := struct {
		Found, Open                 bool
		ID, Subject, Channel, State string
		Amount                      justap.Amount
		Message                     string
	}{ID: id, Message: message}
	h.mu.Lock()
	if c, err := h.findCharge(id); err == nil {
		_, notOpen := h.openCharge(id)
		ch := &c.c
		data.Found, data.Open = true, notOpen == nil
		data.Subject, data.Channel, data.Amount = ch.Subject, string(ch.Channel), ch.Amount
		data.State = "unpaid"
		switch {
		case ch.Paid:
			data.State = "paid"
		case notOpen != nil:
			data.State = "closed to payment"
		}
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	status := http.StatusOK
	if !data.Found {
		status = http.StatusNotFound
	}
	w.WriteHeader(status)
	payPageTmpl.Execute(w, data)
}
