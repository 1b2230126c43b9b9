package justaptest_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestControlEndpoints(t *testing.T) {
	f := newFixture(t, justaptest.WithPendingRefunds())
	ch := f.create(t, params("o", 1000))

	// The pay page the QR code leads to.
	page := raw(t, f.srv, "GET", "/justaptest/charges/"+ch.ID+"/pay", "", "X-Justap-Api-Key", "")
	if page.status != 200 || !strings.Contains(string(page.body), "<form") || !strings.Contains(string(page.body), "10.00") {
		t.Errorf("pay page: %d %s", page.status, page.body)
	}
	// The page's form pays the charge (a browser sends the page's origin).
	form := raw(t, f.srv, "POST", "/justaptest/charges/"+ch.ID+"/pay", url.Values{}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", f.srv.URL, "X-Justap-Api-Key", "")
	if form.status != 200 || !strings.Contains(string(form.body), "Paid") || strings.Contains(string(form.body), "<form") {
		t.Errorf("form pay: %d %s", form.status, form.body)
	}
	if got, _ := f.srv.Charge(ch.ID); !got.Paid {
		t.Fatal("the pay page's form did not pay the charge")
	}
	// Paying again through the API-style endpoint is refused.
	raw(t, f.srv, "POST", "/justaptest/charges/"+ch.ID+"/pay", "").wantError(t, http.StatusBadRequest, 9)

	// Pay, close and expire in JSON, without the API key.
	for _, action := range []string{"pay", "close", "expire"} {
		c := f.create(t, params("o-"+action, 100))
		var got justap.Charge
		raw(t, f.srv, "POST", "/justaptest/charges/"+c.ID+"/"+action, "", "X-Justap-Api-Key", "").wantOK(t, "Charge", &got)
		if (action == "pay") != got.Paid || (action == "close") != got.Closed || (action == "expire") == got.ExpiredAt.IsZero() {
			t.Errorf("%s: charge %+v", action, got)
		}
	}
	raw(t, f.srv, "POST", "/justaptest/charges/ch_nope/pay", "").wantError(t, http.StatusNotFound, 5)
	if r := raw(t, f.srv, "GET", "/justaptest/charges/ch_nope/pay", ""); r.status != 404 {
		t.Errorf("pay page of an unknown charge: %d", r.status)
	}

	// Complete a pending refund.
	rf, err := f.refund(ch.ID, "r1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var done justap.Refund
	raw(t, f.srv, "POST", "/justaptest/refunds/"+rf.ID+"/complete", "").wantOK(t, "Refund", &done)
	if !done.Succeeded {
		t.Errorf("completed refund = %+v", done)
	}
	raw(t, f.srv, "POST", "/justaptest/refunds/"+rf.ID+"/complete", "").wantError(t, http.StatusBadRequest, 9)

	// Faults and counts.
	r := raw(t, f.srv, "POST", "/justaptest/faults", `{"count": 2, "op": "GET /transaction/v1/charges/{charge_id}", "kind": "status", "status": 500}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"pending_faults":2`) {
		t.Errorf("POST faults: %d %s", r.status, r.body)
	}
	if _, err := f.c.Charges.Get(context.Background(), ch.ID); err == nil {
		t.Error("the fault set over HTTP did not apply")
	}
	raw(t, f.srv, "DELETE", "/justaptest/faults", "")
	if n := f.srv.PendingFaults(); n != 0 {
		t.Errorf("PendingFaults after DELETE = %d", n)
	}
	raw(t, f.srv, "POST", "/justaptest/faults", `{"count": 1, "kind": "explode"}`).wantError(t, http.StatusBadRequest, 3)
	raw(t, f.srv, "POST", "/justaptest/faults", `{"count": 1, "kind": "reset", "status": 500}`).wantError(t, http.StatusBadRequest, 3)
	r = raw(t, f.srv, "GET", "/justaptest/counts", "")
	if !strings.Contains(string(r.body), `"GET /transaction/v1/charges/{charge_id}":1`) {
		t.Errorf("counts = %s", r.body)
	}

	raw(t, f.srv, "POST", "/justaptest/reset", "")
	if n := len(f.srv.Charges()); n != 0 || len(f.srv.Counts()) != 0 {
		t.Errorf("after reset: %d charges, counts %v", n, f.srv.Counts())
	}
	if again := f.create(t, params("o", 1)); again.ID != "ch_0000000001" {
		t.Errorf("first id after reset = %s", again.ID)
	}
	raw(t, f.srv, "GET", "/justaptest/nothing", "").wantError(t, http.StatusNotFound, 5)
}

func TestLoggerNeverShowsTheKey(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := justaptest.NewServer(t, justaptest.WithLogger(log), justaptest.WithAPIKey("sk_test_TOPSECRET"))
	c := newClient(t, srv)
	c.Charges.Create(context.Background(), params("o", 1))
	srv.FailNext(1, justaptest.Fault{Kind: justaptest.FaultMalformed})
	c.Charges.List(context.Background(), nil)
	out := buf.String()
	if !strings.Contains(out, "POST /transaction/v1/charges") || !strings.Contains(out, "fault=malformed") {
		t.Errorf("log = %s", out)
	}
	if strings.Contains(out, "TOPSECRET") {
		t.Errorf("the log shows the key: %s", out)
	}
}

func TestNewHandler(t *testing.T) {
	h, err := justaptest.NewHandler(justaptest.WithAppID("app_x"), justaptest.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if h.AppID() != "app_x" || h.APIKey() != justaptest.DefaultAPIKey {
		t.Errorf("AppID %q APIKey %q", h.AppID(), h.APIKey())
	}
	if err := h.Pay("ch_1"); err == nil || !strings.Contains(err.Error(), "justaptest: Pay") {
		t.Errorf("Pay of nothing: %v", err)
	}
}

func TestControlEndpointsForDeliveries(t *testing.T) {
	f, rc := notifyFixture(t)
	rc.failNext(1)
	ch := f.create(t, withNotify(params("o", 100), rc.URL))
	raw(t, f.srv, "POST", "/justaptest/charges/"+ch.ID+"/pay", "", "X-Justap-Api-Key", "")

	// A delivery fault, with its delay as a duration string.
	r := raw(t, f.srv, "POST", "/justaptest/faults", `{"count": 1, "kind": "delay", "delay": "90s", "event": "charge.paid"}`)
	if r.status != 200 {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	raw(t, f.srv, "POST", "/justaptest/faults", `{"count": 1, "kind": "forged", "delay": "1s"}`).wantError(t, 400, 3)
	raw(t, f.srv, "POST", "/justaptest/faults", `{"count": 1, "kind": "delay", "delay": "soon"}`).wantError(t, 400, 3)

	var due struct{ Attempts []justaptest.Attempt }
	raw(t, f.srv, "POST", "/justaptest/deliveries/due", "").unmarshal(t, &due)
	if len(due.Attempts) != 0 {
		t.Fatalf("due while delayed: %+v", due)
	}
	f.clock.Advance(90 * time.Second)
	raw(t, f.srv, "POST", "/justaptest/deliveries/due", "").unmarshal(t, &due)
	if len(due.Attempts) != 1 || due.Attempts[0].Status != 500 {
		t.Fatalf("due: %+v", due)
	}

	var list struct{ Deliveries []justaptest.Delivery }
	raw(t, f.srv, "GET", "/justaptest/deliveries", "").unmarshal(t, &list)
	if len(list.Deliveries) != 1 {
		t.Fatalf("deliveries: %+v", list)
	}
	d := list.Deliveries[0]
	if d.State != justaptest.DeliveryPending || d.Faults[0] != justaptest.FaultDelay || len(d.Attempts) != 1 ||
		!d.NextAt.Equal(t0.Add(90*time.Second+15*time.Second)) {
		t.Errorf("listed %+v", d)
	}

	var a justaptest.Attempt
	raw(t, f.srv, "POST", "/justaptest/deliveries/"+d.ID+"/resend", "").unmarshal(t, &a)
	if !a.Resent || a.Status != 200 {
		t.Errorf("resend: %+v", a)
	}
	raw(t, f.srv, "POST", "/justaptest/deliveries/nt_nope/resend", "").wantError(t, 404, 5)
	if d, _ := f.srv.Delivery(d.ID); d.State != justaptest.DeliveryDelivered {
		t.Errorf("after the resend: %+v", d)
	}

	pemText := raw(t, f.srv, "GET", "/justaptest/platform-key", "", "X-Justap-Api-Key", "")
	pub, err := justap.ParsePublicKeyPEM(pemText.body)
	if pemText.status != 200 || err != nil || !pub.Equal(f.srv.PlatformPublicKey()) {
		t.Errorf("platform-key: %d %s %v", pemText.status, pemText.body, err)
	}
}

// TestControlRefusesCrossSiteRequests: a web page open on the developer's
// machine cannot drive the fake's control endpoints. A Host that is not a
// loopback name or the fake's address (DNS rebinding), an Origin of
// another site, and the bodies a page can post without a preflight
// (text/plain, a form, multipart) are refused, and nothing changes; the
// same requests from a test, a script or the fake's own pay page pass.
func TestControlRefusesCrossSiteRequests(t *testing.T) {
	f := newFixture(t)
	ch := f.create(t, params("o", 1000))
	do := func(method, path, host, origin, ctype, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == "" {
			req.Body, req.ContentLength = nil, 0
		}
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	pay := "/justaptest/charges/" + ch.ID + "/pay"
	port := strings.TrimPrefix(f.srv.URL, "http://127.0.0.1")
	for _, tc := range []struct {
		name                      string
		method, path              string
		host, origin, ctype, body string
	}{
		{name: "rebound host", method: "POST", path: pay, host: "attacker.example" + port},
		{name: "rebound host reads", method: "GET", path: "/justaptest/deliveries", host: "attacker.example" + port},
		{name: "rebound host, reset", method: "POST", path: "/justaptest/reset", host: "rebind.attacker.example"},
		{name: "foreign origin", method: "POST", path: pay, origin: "https://attacker.example"},
		{name: "null origin", method: "POST", path: "/justaptest/reset", origin: "null"},
		{name: "text/plain", method: "POST", path: "/justaptest/faults", ctype: "text/plain", body: `{"count":1,"kind":"reset"}`},
		{name: "form without origin", method: "POST", path: pay, ctype: "application/x-www-form-urlencoded", body: "a=1"},
		{name: "multipart", method: "POST", path: "/justaptest/reset", ctype: "multipart/form-data; boundary=x", body: "--x--"},
		{name: "form to reset, same origin", method: "POST", path: "/justaptest/reset", origin: f.srv.URL,
			ctype: "application/x-www-form-urlencoded", body: "a=1"},
	} {
		if got := do(tc.method, tc.path, tc.host, tc.origin, tc.ctype, tc.body); got < 400 {
			t.Errorf("%s: status %d, want a refusal", tc.name, got)
		}
	}
	if got, _ := f.srv.Charge(ch.ID); got.Paid || f.srv.PendingFaults() != 0 || len(f.srv.Charges()) != 1 {
		t.Fatalf("a refused request changed the fake: paid %v, %d faults, %d charges", got.Paid, f.srv.PendingFaults(), len(f.srv.Charges()))
	}

	// What tests, scripts and the pay page send.
	for _, tc := range []struct {
		name                      string
		host, origin, ctype, body string
	}{
		{name: "localhost", host: "localhost" + port, ctype: "application/json", body: `{"count":1,"kind":"reset"}`},
		{name: "same origin", origin: f.srv.URL, ctype: "application/json; charset=utf-8", body: `{"count":1,"kind":"reset"}`},
	} {
		if got := do("POST", "/justaptest/faults", tc.host, tc.origin, tc.ctype, tc.body); got != 200 {
			t.Errorf("%s: status %d, want 200", tc.name, got)
		}
	}
	if got := do("POST", pay, "", f.srv.URL, "application/x-www-form-urlencoded", ""); got != 200 {
		t.Errorf("the pay page's form: status %d", got)
	}
	if got := do("POST", "/justaptest/reset", "", "", "", ""); got != 200 {
		t.Errorf("curl -X POST: status %d", got)
	}

	// A host named by WithControlHosts, as a container network names it.
	g := newFixture(t, justaptest.WithControlHosts("justap-mock"))
	req, _ := http.NewRequest("POST", g.srv.URL+"/justaptest/reset", nil)
	req.Host = "justap-mock:21011"
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("WithControlHosts: status %d", resp.StatusCode)
	}
}
