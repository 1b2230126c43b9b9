package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap/justaptest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOnTheFake(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, env(nil)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	first, _, _ := strings.Cut(got, "\n")
	if !strings.Contains(first, "in-process fake Justap server (justaptest)") {
		t.Errorf("first line = %q; it must say the fake is used", first)
	}
	for _, want := range []string{
		"Show the customer this QR code: http://127.0.0.1:",
		"refused with 409 Conflict",
		"The customer paid",
		"Refunded ¥5.00 of ch_0000000001",
		"paid, ¥5.00 refunded",
		"All made 2 list requests",
		"re_0000000001  ¥5.00  refunded",
		"Summary: 3 charges (1 paid, 1 unpaid, 1 reversed), ¥19.99 received, ¥5.00 refunded. Done.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// startGateway is a fake standing in for a real gateway, reached through
// the environment as a real one would be.
func startGateway(t *testing.T, timeout string) (*justaptest.Server, func(string) string) {
	srv := justaptest.NewServer(t, justaptest.WithAPIKey("sk_test_gateway"), justaptest.WithAppID("app_gateway"))
	return srv, env(map[string]string{
		"JUSTAP_API_KEY": "sk_test_gateway", "JUSTAP_BASE_URL": srv.URL,
		"JUSTAP_APP_ID": "app_gateway", "JUSTAP_PAY_TIMEOUT": timeout,
	})
}

func TestAgainstAGatewayWhereTheCustomerPays(t *testing.T) {
	srv, getenv := startGateway(t, "1m")
	var out bytes.Buffer
	q, err := connect(&out, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	q.pollEvery = 10 * time.Millisecond
	// The customer pays the first charge once it exists.
	paid := make(chan error, 1)
	go func() {
		for {
			if all := srv.Charges(); len(all) > 0 {
				paid <- srv.Pay(all[len(all)-1].ID)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if err := q.walkthrough(context.Background()); err != nil {
		t.Fatalf("walkthrough: %v\n%s", err, out.String())
	}
	if err := <-paid; err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.HasPrefix(got, "Using the Justap gateway at "+srv.URL) || strings.Contains(got, "in-process") {
		t.Errorf("output does not say which gateway it uses:\n%s", got)
	}
	for _, want := range []string{"Waiting up to 1m0s", "Paid at", "Summary: 3 charges (1 paid, 1 unpaid, 1 reversed), ¥19.99 received, ¥5.00 refunded."} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Merchant ids are new on each run against a real gateway.
	if all := srv.Charges(); !strings.HasPrefix(all[0].MerchantTradeID, "qs") {
		t.Errorf("merchant_trade_id %q is not unique to the run", all[0].MerchantTradeID)
	}
}

func TestAgainstAGatewayWhereNobodyPays(t *testing.T) {
	_, getenv := startGateway(t, "30ms")
	var out bytes.Buffer
	q, err := connect(&out, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	q.pollEvery = 5 * time.Millisecond
	if err := q.walkthrough(context.Background()); err != nil {
		t.Fatalf("walkthrough: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"Not paid in time: reversed", "Nothing to refund", "Summary: 3 charges (0 paid, 1 unpaid, 2 reversed), ¥0.00 received, ¥0.00 refunded."} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestConfigurationErrors(t *testing.T) {
	for _, vars := range []map[string]string{
		{"JUSTAP_API_KEY": "sk_test_x"},
		{"JUSTAP_API_KEY": "sk_test_x", "JUSTAP_APP_ID": "app", "JUSTAP_PAY_TIMEOUT": "soon"},
		{"JUSTAP_API_KEY": "sk_test_x", "JUSTAP_APP_ID": "app", "JUSTAP_BASE_URL": "ftp://x"},
	} {
		if _, err := connect(&bytes.Buffer{}, env(vars)); err == nil {
			t.Errorf("connect(%v) succeeded", vars)
		}
	}
}
