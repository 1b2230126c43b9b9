// Command checkout-server is a small merchant backend on net/http that
// takes payments with Justap: it opens an order with a charge and hands
// the front end its QR code or pay URL, reports the order's status from
// Justap, refunds it and cancels it. It keeps its orders, their shipments
// and the notifications it handled in a database: an SQLite file by
// default (checkout.db in the working directory, made on the first run),
// or PostgreSQL with -db postgres://…. Several instances on one database
// may share the notify_url: each notification is handled by one of them,
// once (package sqlstore).
//
//	cd examples/checkout-server && go run . -addr 127.0.0.1:8080
//	go run . -db postgres://shop@127.0.0.1/shop   # PostgreSQL instead
//
//	curl -X POST localhost:8080/orders -d '{"amount": "19.99", "channel": "AlipayQR", "subject": "T-shirt"}'
//	curl localhost:8080/orders/{order_id}
//	curl -X POST localhost:8080/orders/{order_id}/refund -d '{"amount": "5.00"}'
//	curl -X POST localhost:8080/orders/{order_id}/cancel
//
// Without JUSTAP_API_KEY it runs on the in-process fake of package
// justaptest, where a charge is paid by POSTing to its pay URL (or opening
// it in a browser); the fake then notifies the shop, which ships the
// order. With JUSTAP_API_KEY, JUSTAP_APP_ID and JUSTAP_BASE_URL it uses
// that gateway; set JUSTAP_NOTIFY_URL (the public URL of the shop's
// POST /justap/notify) and JUSTAP_PUBLIC_KEY_FILE (Justap's PEM public
// key) to receive its notifications. main_test.go drives it against
// justaptest.
package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv, nil)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "checkout-server:", err)
		os.Exit(1)
	}
}

// run serves the shop until ctx ends. It sends the shop's URL on ready, if
// not nil, once it listens.
func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string, ready chan<- string) error {
	fs := flag.NewFlagSet("checkout-server", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := fs.String("db", "checkout.db", "the shop's database: an SQLite file, or a postgres:// URL")
	lease := fs.Duration("notify-lease", justap.DefaultNotificationLease,
		"how long an instance's claim on a notification lasts: keep it above the notification function's longest run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	db, err := openDB(ctx, *dsn)
	if err != nil {
		return fmt.Errorf("-db %s: %w", redact(*dsn), err)
	}
	defer db.Close()
	notify := []shopOption{withLease(*lease)}
	if step := getenv("CHECKOUT_CRASH_AT"); step != "" {
		if !slices.Contains(crashSteps, step) {
			return fmt.Errorf("CHECKOUT_CRASH_AT=%s: the steps are %v", step, crashSteps)
		}
		notify = append(notify, crashingAt(step))
	}

	var c *justap.Client
	var fakeKey *rsa.PublicKey // the fake's notification key, when on the fake
	if key := getenv("JUSTAP_API_KEY"); key == "" {
		fake, ferr := justaptest.StartServer()
		if ferr != nil {
			return ferr
		}
		defer fake.Close()
		// The fake delivers its notifications as they fall due.
		dctx, stopDeliveries := context.WithCancel(ctx)
		delivering := make(chan struct{})
		go func() { fake.RunDeliveries(dctx, 0); close(delivering) }()
		defer func() { stopDeliveries(); <-delivering }()
		fakeKey = fake.PlatformPublicKey()
		c, err = justap.NewClient(fake.APIKey(), justap.WithBaseURL(fake.URL), justap.WithAppID(fake.AppID()))
		fmt.Fprintf(out, "Using the in-process fake Justap server (justaptest) at %s: JUSTAP_API_KEY is not set.\n", fake.URL)
		fmt.Fprintf(out, "Pay an order's charge with: curl -X POST %s/justaptest/charges/{charge_id}/pay\n", fake.URL)
	} else {
		base, app := getenv("JUSTAP_BASE_URL"), getenv("JUSTAP_APP_ID")
		if base == "" {
			base = justap.DefaultBaseURL
		}
		if app == "" {
			return errors.New("JUSTAP_API_KEY is set but JUSTAP_APP_ID is not: set it to your app's id (app_…)")
		}
		c, err = justap.NewClient(key, justap.WithBaseURL(base), justap.WithAppID(app))
		fmt.Fprintf(out, "Using the Justap gateway at %s.\n", base)
		if nu, kf := getenv("JUSTAP_NOTIFY_URL"), getenv("JUSTAP_PUBLIC_KEY_FILE"); nu != "" || kf != "" {
			if nu == "" || kf == "" {
				return errors.New("set both JUSTAP_NOTIFY_URL (the public URL of /justap/notify) and JUSTAP_PUBLIC_KEY_FILE (Justap's PEM public key), or neither")
			}
			pemBytes, rerr := os.ReadFile(kf)
			if rerr != nil {
				return fmt.Errorf("JUSTAP_PUBLIC_KEY_FILE: %w", rerr)
			}
			pub, perr := justap.ParsePublicKeyPEM(pemBytes)
			if perr != nil {
				return fmt.Errorf("JUSTAP_PUBLIC_KEY_FILE %s: %w", kf, perr)
			}
			notify = append(notify, notifyAt(nu, pub))
		}
	}
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if fakeKey != nil {
		notify = append(notify, notifyAt(url+"/justap/notify", fakeKey))
	}
	fmt.Fprintf(out, "The shop listens at %s\n", url)
	if ready != nil {
		ready <- url
	}
	srv := &http.Server{Handler: newShop(c, db, "order-", log, notify...), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// redact hides the password of a database URL.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
