package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/internal/testutil"
	"github.com/justap-go/justap/justaptest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestServesTheFakeUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testutil.SyncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-app-id", "app_ci", "-pending-refunds", "-v"}, &out, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := justap.NewClient(justaptest.DefaultAPIKey, justap.WithBaseURL(base), justap.WithAppID("app_ci"),
		justap.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "o1", Amount: 100, Channel: justap.ChannelAlipayQR,
		Subject: "s", Body: "b", ClientIP: "127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	// A test in another language pays through the control endpoint.
	resp, err := (&http.Client{Transport: tr}).Post(base+"/justaptest/charges/"+ch.ID+"/pay", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rf, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{ChargeID: ch.ID, MerchantRefundID: "r1", Description: "d", FullRefund: true})
	if err != nil || !rf.Status.Is(justap.RefundStatusRefunding) {
		t.Errorf("refund with -pending-refunds: %+v, %v", rf, err)
	}
	if ch, err = c.Charges.Get(ctx, ch.ID); err != nil || !ch.Paid {
		t.Errorf("after the control endpoint's pay: %+v, %v", ch, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	got := out.String()
	for _, want := range []string{"http://127.0.0.1:", "sk_test_justaptest", "app_ci", "op=\"POST /transaction/v1/charges\"", "stopped"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-addr", "not an address"}} {
		var out testutil.SyncBuffer
		if err := run(context.Background(), args, &out, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
	if err := run(context.Background(), []string{"-h"}, &testutil.SyncBuffer{}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestPublicKeyFlag: with -public-key the mock accepts signed requests and
// refuses unsigned ones.
func TestPublicKeyFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-public-key", "../../testdata/test-only-rsa2048-public.pem"},
			&testutil.SyncBuffer{}, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	pemBytes, err := os.ReadFile("../../testdata/test-only-rsa2048-pkcs8.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := justap.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	common := []justap.Option{justap.WithBaseURL(base), justap.WithAppID(justaptest.DefaultAppID),
		justap.WithHTTPClient(&http.Client{Transport: tr}), justap.WithMaxRetries(0)}
	signed, err := justap.NewClient(justaptest.DefaultAPIKey, append(common, justap.WithPrivateKey(key))...)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := justap.NewClient(justaptest.DefaultAPIKey, common...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signed.Charges.List(ctx, nil); err != nil {
		t.Errorf("signed list: %v", err)
	}
	if _, err := unsigned.Charges.List(ctx, nil); !errors.Is(err, justap.ErrAuthentication) {
		t.Errorf("unsigned list: %v, want ErrAuthentication", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if err := run(context.Background(), []string{"-public-key", "../../testdata/nope.pem"}, &testutil.SyncBuffer{}, nil); err == nil {
		t.Error("a missing key file was accepted")
	}
}

// startMock runs the mock with args until the test ends and returns its
// base URL and an HTTP client for it.
func startMock(t *testing.T, args ...string) (string, *http.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), &testutil.SyncBuffer{}, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		tr.CloseIdleConnections()
	})
	return base, &http.Client{Transport: tr}
}

// payWithNotify creates a charge whose notify_url is notifyURL and pays it
// through the control endpoint.
func payWithNotify(t *testing.T, base string, hc *http.Client, id, notifyURL string) {
	t.Helper()
	c, err := justap.NewClient(justaptest.DefaultAPIKey, justap.WithBaseURL(base),
		justap.WithAppID(justaptest.DefaultAppID), justap.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
		MerchantTradeID: id, Amount: 100, Channel: justap.ChannelAlipayQR,
		Subject: "s", Body: "b", ClientIP: "127.0.0.1", NotifyURL: notifyURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Post(base+"/justaptest/charges/"+ch.ID+"/pay", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// waitDelivery polls the control API until the first delivery has an
// attempt, and returns it.
func waitDelivery(t *testing.T, base string, hc *http.Client) justaptest.Delivery {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := hc.Get(base + "/justaptest/deliveries")
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Deliveries []justaptest.Delivery }
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Deliveries) > 0 && len(got.Deliveries[0].Attempts) > 0 {
			return got.Deliveries[0]
		}
	}
	t.Fatal("no delivery attempt within 10 s")
	return justaptest.Delivery{}
}

func TestDeliversNotificationsInRealTime(t *testing.T) {
	got := make(chan []byte, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		io.WriteString(w, "success")
	}))
	defer rc.Close()
	base, hc := startMock(t, "-notify-schedule", "fast", "-platform-key", "../../testdata/test-only-rsa2048-pkcs1.pem")
	payWithNotify(t, base, hc, "o1", rc.URL+"/notify")

	var body []byte
	select {
	case body = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
	}
	var env struct {
		Event       string `json:"event"`
		IsEncrypted bool   `json:"is_encrypted"`
		Data        string `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Event != "charge.paid" || !env.IsEncrypted {
		t.Errorf("body %s: %v", body, err)
	}
	if ct, err := base64.StdEncoding.DecodeString(env.Data); err != nil || len(ct) == 0 || len(ct)%256 != 0 {
		t.Errorf("data is not whole 256-byte blocks: %d bytes, %v", len(ct), err)
	}
	d := waitDelivery(t, base, hc)
	// The SDK's parser, configured with the key the mock encrypts with.
	pubPEM, _ := os.ReadFile("../../testdata/test-only-rsa2048-public.pem")
	pub, _ := justap.ParsePublicKeyPEM(pubPEM)
	n, err := justap.ParseNotification(body, justap.WithJustapPublicKey(pub))
	if err != nil || n.NotifyID != d.ID || n.MerchantTradeID != "o1" || !n.IsPaid || n.AmountTotal != 100 {
		t.Errorf("ParseNotification: %+v, %v", n, err)
	}
	if d.Event != "charge.paid" || d.URL != rc.URL+"/notify" || d.Attempts[0].Status != 200 || d.Attempts[0].Answer != "success" {
		t.Errorf("listed %+v", d)
	}

	// The platform key is served, as PEM: here the -platform-key one.
	resp, err := hc.Get(base + "/justaptest/platform-key")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	served, err := justap.ParsePublicKeyPEM(pemBytes)
	if err != nil || !served.Equal(pub) {
		t.Errorf("platform-key: %s, %v", pemBytes, err)
	}
}

func TestRefusesANonLoopbackNotifyURLByDefault(t *testing.T) {
	base, hc := startMock(t)
	// 192.0.2.1 (TEST-NET-1) is never routed; the dial is refused before
	// any packet leaves.
	payWithNotify(t, base, hc, "o1", "http://192.0.2.1/notify")
	d := waitDelivery(t, base, hc)
	if a := d.Attempts[0]; a.Status != 0 || !strings.Contains(a.Err, "192.0.2.1: not a loopback address") {
		t.Errorf("attempt %+v, want refused: not a loopback address", a)
	}
}

// TestNotifyAnyAddressFlag reaches a receiver on this machine's own
// non-loopback address: refused by default, delivered with the flag.
func TestNotifyAnyAddressFlag(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rc.Listener.Close()
	rc.Listener = ln
	rc.Start()
	defer rc.Close()

	base, hc := startMock(t)
	payWithNotify(t, base, hc, "o1", rc.URL)
	if a := waitDelivery(t, base, hc).Attempts[0]; !strings.Contains(a.Err, "not a loopback address") {
		t.Errorf("default: attempt %+v, want refused", a)
	}
	base, hc = startMock(t, "-notify-any-address")
	payWithNotify(t, base, hc, "o1", rc.URL)
	if a := waitDelivery(t, base, hc).Attempts[0]; a.Status != 200 {
		t.Errorf("-notify-any-address: attempt %+v, want 200", a)
	}
}

func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

func TestParseSchedule(t *testing.T) {
	for in, want := range map[string]int{"justap": 9, "": 9, "fast": 9, "1s": 1, "1s, 2m,3h": 3} {
		if got, err := parseSchedule(in); err != nil || len(got) != want {
			t.Errorf("parseSchedule(%q) = %v, %v; want %d waits", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "1s,,2s", "-1s", strings.Repeat("1s,", 100) + "1s"} {
		if _, err := parseSchedule(in); err == nil {
			t.Errorf("parseSchedule(%q) succeeded", in)
		}
	}
	if err := run(context.Background(), []string{"-notify-schedule", "soon"}, &testutil.SyncBuffer{}, nil); err == nil {
		t.Error("a bad -notify-schedule was accepted")
	}
	if err := run(context.Background(), []string{"-platform-key", "../../testdata/test-only-rsa2048-public.pem"}, &testutil.SyncBuffer{}, nil); err == nil {
		t.Error("a public key was accepted as -platform-key")
	}
}

// TestControlRefusesWebPages: the mock's control endpoints refuse what a
// web page could send them (another Host, another Origin, a text/plain
// body), and -control-host admits a host name by which it is reached.
func TestControlRefusesWebPages(t *testing.T) {
	base, hc := startMock(t, "-control-host", "justap-mock,mock.internal")
	post := func(host, origin, ctype, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/justaptest/faults", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const fault = `{"count":1,"kind":"reset"}`
	for _, tc := range []struct{ host, origin, ctype string }{
		{host: "attacker.example"}, {origin: "http://attacker.example"}, {ctype: "text/plain"},
	} {
		if tc.ctype == "" {
			tc.ctype = "application/json"
		}
		if got := post(tc.host, tc.origin, tc.ctype, fault); got != http.StatusForbidden && got != http.StatusBadRequest {
			t.Errorf("%+v: status %d, want a refusal", tc, got)
		}
	}
	for _, host := range []string{"", "justap-mock:21011", "localhost"} {
		if got := post(host, "", "application/json", fault); got != http.StatusOK {
			t.Errorf("host %q: status %d, want 200", host, got)
		}
	}
}
