// Command justap-mock serves a fake Justap gateway (package justaptest) on
// a local address, for tests that are not written in Go.
//
//	go run ./cmd/justap-mock -addr 127.0.0.1:21011
//
// Point your Justap client at http://127.0.0.1:21011 with the API key
// sk_test_justaptest and the app id app_justaptest (or set your own with
// -api-key and -app-id). The fake keeps charges and refunds in memory and
// enforces Justap's rules; no money moves. Your tests drive the customer's
// side, and inject failures, through its control endpoints:
//
//	POST   /justaptest/charges/{id}/pay        the customer pays (also /expire, /close)
//	POST   /justaptest/refunds/{id}/complete   a pending refund succeeds (with -pending-refunds)
//	POST   /justaptest/faults                  {"count": 1, "op": "POST /transaction/v1/charges", "kind": "drop_response"}
//	DELETE /justaptest/faults                  drop pending faults
//	GET    /justaptest/counts                  requests received per operation
//	POST   /justaptest/reset                   forget everything
//
// # Notifications
//
// When a charge (or refund) created with a notify_url is paid, refunded,
// reversed, closed or expires, the mock posts Justap's encrypted
// notification to that URL at once, and again on Justap's schedule (nine
// waits from 15 s to 15 h, at most ten attempts) until it is answered
// with a 2xx. -notify-schedule fast redelivers within three minutes
// instead (1s, 2s, 3s, 5s, 10s, 15s, 30s, 45s, 1m), or give your own
// waits: -notify-schedule 1s,5s,30s. Decrypt with the public key served at
// GET /justaptest/platform-key (a fresh key each start, or the private key
// of -platform-key FILE, for golden tests).
//
//	GET    /justaptest/deliveries              every notification and each attempt's answer
//	POST   /justaptest/deliveries/due          post what is due now, and wait for the answers
//	POST   /justaptest/deliveries/{id}/resend  post a notification again
//	POST   /justaptest/faults                  {"count": 1, "kind": "forged"}: also duplicate, out_of_order,
//	                                           delay ("delay": "90s"), unencrypted, tampered, other_app
//
// Notifications go to loopback addresses only (the address is checked
// after the name is resolved, when connecting), so the mock cannot be
// used to make this machine send requests elsewhere; -notify-any-address
// lifts that, for a receiver on another machine of your test network.
//
// With -public-key FILE (the PEM public key the merchant uploads), the fake
// also checks every request's signature as a signing gateway does, and
// refuses unsigned, altered, stale or replayed requests with 401.
//
// The control endpoints refuse what a web page open on this machine could
// send them: a Host that is not a loopback name or the address served (a
// DNS-rebinding page), an Origin of another site, and bodies other than
// JSON (a form, text/plain), but for the pay page's own form. Name other
// hosts it is reached by, such as a container's service name, with
// -control-host.
//
// See "go doc github.com/justap-go/justap/justaptest" for the rules the
// fake enforces. Serve it on loopback only: anyone who reaches it can pay
// its charges.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, nil)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "justap-mock:", err)
		os.Exit(1)
	}
}

// run serves the fake until ctx ends. It sends the base URL on ready, if
// not nil, once it listens.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("justap-mock", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:21011", "address to listen on (host:port)")
	apiKey := fs.String("api-key", justaptest.DefaultAPIKey, "the API key the fake accepts")
	appID := fs.String("app-id", justaptest.DefaultAppID, "the app the fake serves")
	pending := fs.Bool("pending-refunds", false, `refunds stay "refunding" until POST /justaptest/refunds/{id}/complete`)
	publicKey := fs.String("public-key", "", "PEM file of the merchant's RSA public key: require signed requests")
	schedule := fs.String("notify-schedule", "justap", `waits between notification attempts: "justap" (15s to 15h), "fast" (1s to 1m) or a list such as 1s,5s,30s`)
	anyAddress := fs.Bool("notify-any-address", false, "post notifications to any address, not only loopback ones")
	platformKey := fs.String("platform-key", "", "PEM file of the RSA private key notifications are encrypted with (default: a new key)")
	controlHosts := fs.String("control-host", "", "comma-separated host names, besides loopback ones and the address served, "+
		"by which the /justaptest/ endpoints may be reached (a container's service name)")
	verbose := fs.Bool("v", false, "log every request (never bodies or keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}

	opts := []justaptest.Option{justaptest.WithAPIKey(*apiKey), justaptest.WithAppID(*appID)}
	if *pending {
		opts = append(opts, justaptest.WithPendingRefunds())
	}
	if *publicKey != "" {
		pemBytes, err := os.ReadFile(*publicKey)
		if err != nil {
			return err
		}
		pub, err := justap.ParsePublicKeyPEM(pemBytes)
		if err != nil {
			return fmt.Errorf("-public-key %s: %w", *publicKey, err)
		}
		if pub.N.BitLen() < justap.MinSigningKeyBits {
			return fmt.Errorf("-public-key %s: the key has %d bits; at least %d are required", *publicKey, pub.N.BitLen(), justap.MinSigningKeyBits)
		}
		opts = append(opts, justaptest.WithPublicKey(pub))
	}
	waits, err := parseSchedule(*schedule)
	if err != nil {
		return fmt.Errorf("-notify-schedule: %w", err)
	}
	opts = append(opts, justaptest.WithDeliverySchedule(waits...))
	if *anyAddress {
		opts = append(opts, justaptest.WithNotifyAnyAddress())
	}
	if *platformKey != "" {
		pemBytes, err := os.ReadFile(*platformKey)
		if err != nil {
			return err
		}
		key, err := justap.ParsePrivateKeyPEM(pemBytes)
		if err != nil {
			return fmt.Errorf("-platform-key %s: %w", *platformKey, err)
		}
		opts = append(opts, justaptest.WithPlatformKey(key))
	}
	if *controlHosts != "" {
		opts = append(opts, justaptest.WithControlHosts(strings.Split(*controlHosts, ",")...))
	}
	if *verbose {
		opts = append(opts, justaptest.WithLogger(slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	h, err := justaptest.NewHandler(opts...)
	if err != nil {
		return err
	}
	defer h.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "justap-mock: a fake Justap gateway at %s (no money moves)\n", base)
	fmt.Fprintf(out, "  API key %s, app id %s\n", h.APIKey(), h.AppID())
	if *publicKey != "" {
		fmt.Fprintf(out, "  requests must be signed with the private key of %s\n", *publicKey)
	}
	fmt.Fprintf(out, "  the customer pays with: curl -X POST %s/justaptest/charges/{charge_id}/pay\n", base)
	fmt.Fprintf(out, "  notifications are encrypted with the key at %s/justaptest/platform-key\n", base)
	if *anyAddress {
		fmt.Fprintln(out, "  notifications may go to any address (-notify-any-address)")
	}
	if ready != nil {
		ready <- base
	}

	dctx, stopDeliveries := context.WithCancel(ctx)
	delivering := make(chan struct{})
	go func() { h.RunDeliveries(dctx, 0); close(delivering) }()
	defer func() { stopDeliveries(); <-delivering }()

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	h.Close() // end requests held by a hang fault
	// Let requests in flight finish, briefly; requests held by a hang fault
	// are cut off.
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "justap-mock: stopped")
	return nil
}

// fastSchedule is -notify-schedule fast: ten attempts within three minutes.
var fastSchedule = []time.Duration{
	time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, 45 * time.Second, time.Minute,
}

// parseSchedule reads -notify-schedule.
func parseSchedule(s string) ([]time.Duration, error) {
	switch s {
	case "justap", "":
		return justaptest.DefaultDeliverySchedule(), nil
	case "fast":
		return fastSchedule, nil
	}
	var waits []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a wait such as 30s or 2m", f)
		}
		waits = append(waits, d)
	}
	if len(waits) > 100 {
		return nil, fmt.Errorf("%d waits; at most 100", len(waits))
	}
	return waits, nil
}
