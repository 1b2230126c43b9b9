// Command justap is a command-line tool for the people who run a shop's
// payments on Justap: look up a charge or an order, refund a customer,
// reverse an unpaid charge, and reconcile a period of charges and refunds
// per day and per channel in exact money.
//
//	export JUSTAP_API_KEY=sk_live_… JUSTAP_APP_ID=app_… JUSTAP_BASE_URL=https://trade.justap.cn
//	justap charges find order-1001
//	justap refunds create --charge ch_… --amount 5.00 --description "size exchange"
//	justap reconcile --since 2026-01-01 --until 2026-02-01 -o csv > january.csv
//
// Run "justap help" for every command, flag, environment variable and exit
// code. The tool is built on the public API of package
// github.com/justap-go/justap only.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
