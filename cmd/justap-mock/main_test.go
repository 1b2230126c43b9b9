package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServesTheFakeUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
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
		var out syncBuffer
		if err := run(context.Background(), args, &out, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
	if err := run(context.Background(), []string{"-h"}, &syncBuffer{}, nil); !errors.Is(err, flag.ErrHelp) {
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
			&syncBuffer{}, ready)
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
	if err := run(context.Background(), []string{"-public-key", "../../testdata/nope.pem"}, &syncBuffer{}, nil); err == nil {
		t.Error("a missing key file was accepted")
	}
}
