package justap_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
)

// TestValidation: bad input is a *ValidationError naming the field, and no
// request is sent.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	charge := func(edit func(p *justap.ChargeCreateParams)) func(c *justap.Client) error {
		return func(c *justap.Client) error {
			p := minimalCharge()
			edit(p)
			_, err := c.Charges.Create(ctx, p)
			return err
		}
	}
	refund := func(edit func(p *justap.RefundCreateParams)) func(c *justap.Client) error {
		return func(c *justap.Client) error {
			p := minimalRefund()
			edit(p)
			_, err := c.Refunds.Create(ctx, p)
			return err
		}
	}
	long := strings.Repeat("x", 33)
	tests := []struct {
		name  string
		call  func(c *justap.Client) error
		field string
	}{
		{"nil charge params", func(c *justap.Client) error { _, err := c.Charges.Create(ctx, nil); return err }, "ChargeCreateParams"},
		{"no app id", func(c *justap.Client) error {
			_, err := c.Charges.Create(ctx, minimalCharge(), justap.WithAppID(""))
			return err
		}, "ChargeCreateParams.AppID"},
		{"no merchant trade id", charge(func(p *justap.ChargeCreateParams) { p.MerchantTradeID = "" }), "ChargeCreateParams.MerchantTradeID"},
		{"merchant trade id of 33", charge(func(p *justap.ChargeCreateParams) { p.MerchantTradeID = long }), "ChargeCreateParams.MerchantTradeID"},
		{"zero amount", charge(func(p *justap.ChargeCreateParams) { p.Amount = 0 }), "ChargeCreateParams.Amount"},
		{"negative amount", charge(func(p *justap.ChargeCreateParams) { p.Amount = -1 }), "ChargeCreateParams.Amount"},
		{"no channel", charge(func(p *justap.ChargeCreateParams) { p.Channel = "" }), "ChargeCreateParams.Channel"},
		{"unknown channel", charge(func(p *justap.ChargeCreateParams) { p.Channel = "alipayqr" }), "ChargeCreateParams.Channel"},
		{"unspecified channel", charge(func(p *justap.ChargeCreateParams) { p.Channel = justap.ChannelUnspecified }), "ChargeCreateParams.Channel"},
		{"no subject", charge(func(p *justap.ChargeCreateParams) { p.Subject = "" }), "ChargeCreateParams.Subject"},
		{"no body", charge(func(p *justap.ChargeCreateParams) { p.Body = "" }), "ChargeCreateParams.Body"},
		{"no client ip", charge(func(p *justap.ChargeCreateParams) { p.ClientIP = "" }), "ChargeCreateParams.ClientIP"},
		{"bad client ip", charge(func(p *justap.ChargeCreateParams) { p.ClientIP = "localhost" }), "ChargeCreateParams.ClientIP"},
		{"negative ttl", charge(func(p *justap.ChargeCreateParams) { p.TTL = -time.Second }), "ChargeCreateParams.TTL"},
		{"fractional ttl", charge(func(p *justap.ChargeCreateParams) { p.TTL = 1500 * time.Millisecond }), "ChargeCreateParams.TTL"},
		{"extra raw not JSON", charge(func(p *justap.ChargeCreateParams) {
			p.Extra = &justap.ChargeExtra{Raw: []byte(`{"alipay_face":`)}
		}), "ChargeCreateParams.Extra.Raw"},
		{"extra raw not an object", charge(func(p *justap.ChargeCreateParams) {
			p.Extra = &justap.ChargeExtra{Raw: []byte(`[1]`)}
		}), "ChargeCreateParams.Extra.Raw"},
		// A GBK order number ("订单1" in GBK) would be altered on the wire.
		{"merchant trade id in GBK", charge(func(p *justap.ChargeCreateParams) { p.MerchantTradeID = "\xb6\xa9\xb5\xa51" }), "ChargeCreateParams.MerchantTradeID"},
		{"subject not UTF-8", charge(func(p *justap.ChargeCreateParams) { p.Subject = "T\xff" }), "ChargeCreateParams.Subject"},
		{"app id not UTF-8", charge(func(p *justap.ChargeCreateParams) { p.AppID = "app\xff" }), "ChargeCreateParams.AppID"},
		{"metadata not UTF-8", charge(func(p *justap.ChargeCreateParams) { p.Metadata = map[string]string{"k": "\xc0"} }), "ChargeCreateParams.Metadata"},

		{"nil refund params", func(c *justap.Client) error { _, err := c.Refunds.Create(ctx, nil); return err }, "RefundCreateParams"},
		{"refund without charge", refund(func(p *justap.RefundCreateParams) { p.ChargeID = "" }), "RefundCreateParams.ChargeID"},
		{"refund without merchant id", refund(func(p *justap.RefundCreateParams) { p.MerchantRefundID = "" }), "RefundCreateParams.MerchantRefundID"},
		{"merchant refund id of 33", refund(func(p *justap.RefundCreateParams) { p.MerchantRefundID = long }), "RefundCreateParams.MerchantRefundID"},
		{"no description", refund(func(p *justap.RefundCreateParams) { p.Description = "" }), "RefundCreateParams.Description"},
		{"description of 256 characters", refund(func(p *justap.RefundCreateParams) { p.Description = strings.Repeat("退", 256) }), "RefundCreateParams.Description"},
		{"negative refund", refund(func(p *justap.RefundCreateParams) { p.Amount = -1 }), "RefundCreateParams.Amount"},
		{"zero refund without FullRefund", refund(func(p *justap.RefundCreateParams) { p.Amount = 0 }), "RefundCreateParams.Amount"},
		{"amount and FullRefund", refund(func(p *justap.RefundCreateParams) { p.FullRefund = true }), "RefundCreateParams.Amount"},
		{"refund extra not JSON", refund(func(p *justap.RefundCreateParams) { p.Extra = []byte("{") }), "RefundCreateParams.Extra"},
		{"merchant refund id in GBK", refund(func(p *justap.RefundCreateParams) { p.MerchantRefundID = "\xcd\xcb\xbf\xee" }), "RefundCreateParams.MerchantRefundID"},
		{"refund charge id not UTF-8", refund(func(p *justap.RefundCreateParams) { p.ChargeID = "ch_\xff" }), "RefundCreateParams.ChargeID"},
		{"refund description not UTF-8", refund(func(p *justap.RefundCreateParams) { p.Description = "\xff" }), "RefundCreateParams.Description"},
		{"get: id not UTF-8", func(c *justap.Client) error { _, err := c.Charges.Get(ctx, "ch_\xff"); return err }, "chargeID"},
		{"list charges: merchant trade id not UTF-8", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{MerchantTradeID: "\xb6\xa9"})
			return err
		}, "ChargeListParams.MerchantTradeID"},
		{"list refunds: cursor not UTF-8", func(c *justap.Client) error {
			_, err := c.Refunds.List(ctx, "ch_1", &justap.RefundListParams{StartingAfter: "re_\xff"})
			return err
		}, "RefundListParams.StartingAfter"},

		{"get: empty id", func(c *justap.Client) error { _, err := c.Charges.Get(ctx, ""); return err }, "chargeID"},
		{"get: dot-dot id", func(c *justap.Client) error { _, err := c.Charges.Get(ctx, ".."); return err }, "chargeID"},
		{"reverse: empty id", func(c *justap.Client) error { _, err := c.Charges.Reverse(ctx, ""); return err }, "chargeID"},
		{"get refund: empty charge", func(c *justap.Client) error { _, err := c.Refunds.Get(ctx, "", "re_1"); return err }, "chargeID"},
		{"get refund: empty refund", func(c *justap.Client) error { _, err := c.Refunds.Get(ctx, "ch_1", ""); return err }, "refundID"},
		{"list refunds: empty charge", func(c *justap.Client) error { _, err := c.Refunds.List(ctx, "", nil); return err }, "chargeID"},
		{"list charges: limit 0 is fine, 101 is not", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{Limit: 101})
			return err
		}, "ChargeListParams.Limit"},
		{"list charges: limit -1", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{Limit: -1})
			return err
		}, "ChargeListParams.Limit"},
		{"list charges: unknown channel", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, &justap.ChargeListParams{Channel: "Cash"})
			return err
		}, "ChargeListParams.Channel"},
		{"list charges: no app id", func(c *justap.Client) error {
			_, err := c.Charges.List(ctx, nil, justap.WithAppID(""))
			return err
		}, "ChargeListParams.AppID"},
		{"list refunds: limit 101", func(c *justap.Client) error {
			_, err := c.Refunds.List(ctx, "ch_1", &justap.RefundListParams{Limit: 101})
			return err
		}, "RefundListParams.Limit"},
	}
	c, mux, _ := setup(t)
	var requests atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeJSON(w, 500, `{}`)
	})
	for _, tt := range tests {
		err := tt.call(c)
		var ve *justap.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a *ValidationError", tt.name, err)
			continue
		}
		if ve.Field != tt.field {
			t.Errorf("%s: Field = %q, want %q", tt.name, ve.Field, tt.field)
		}
		if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "not sent") {
			t.Errorf("%s: message %q should name the field and say nothing was sent", tt.name, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests were sent for invalid input, want 0", n)
	}
}

// TestValidationLimits: the longest allowed values pass.
func TestValidationLimits(t *testing.T) {
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chargeJSON) })
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, refundJSON) })
	ctx := context.Background()
	p := minimalCharge()
	p.MerchantTradeID = strings.Repeat("订", 32) // 32 characters, 96 bytes
	if _, err := c.Charges.Create(ctx, p); err != nil {
		t.Errorf("32-character merchant trade id: %v", err)
	}
	r := minimalRefund()
	r.Description = strings.Repeat("退", 255)
	r.MerchantRefundID = strings.Repeat("r", 32)
	if _, err := c.Refunds.Create(ctx, r); err != nil {
		t.Errorf("255-character description: %v", err)
	}
}

// TestParamsNotMutated: calls leave the caller's params as they were, even
// when the app id or other defaults come from options.
func TestParamsNotMutated(t *testing.T) {
	c, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/refunds") && r.Method == "POST":
			writeJSON(w, 200, refundJSON)
		case strings.HasSuffix(r.URL.Path, "/charges") && r.Method == "GET":
			writeJSON(w, 200, `{"data":[]}`)
		default:
			writeJSON(w, 200, chargeJSON)
		}
	})
	ctx := context.Background()
	cp := minimalCharge()
	cp.Metadata = map[string]string{"k": "v"}
	cp.Extra = &justap.ChargeExtra{AlipayQR: &justap.QRCodeExtra{}}
	before := *cp
	beforeExtra := *cp.Extra
	if _, err := c.Charges.Create(ctx, cp, justap.WithAppID("app_x")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, *cp) + cmp.Diff(beforeExtra, *cp.Extra); diff != "" {
		t.Errorf("charge params changed:\n%s", diff)
	}
	rp := minimalRefund()
	rb := *rp
	if _, err := c.Refunds.Create(ctx, rp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rb, *rp); diff != "" {
		t.Errorf("refund params changed:\n%s", diff)
	}
	lp := &justap.ChargeListParams{Paid: justap.Bool(false)}
	if _, err := c.Charges.List(ctx, lp); err != nil {
		t.Fatal(err)
	}
	if lp.AppID != "" || lp.Paid == nil || *lp.Paid || lp.Limit != 0 {
		t.Errorf("list params changed: %+v", lp)
	}
}

func TestNewClientOptions(t *testing.T) {
	bad := []struct {
		name string
		key  string
		opts []justap.Option
	}{
		{"empty key", "", nil},
		{"key with newline", "sk_test_abc\r\nX-Evil: 1", nil},
		{"key with NUL", "sk_test_\x00", nil},
		{"ftp base URL", "sk_test_1", []justap.Option{justap.WithBaseURL("ftp://h/")}},
		{"relative base URL", "sk_test_1", []justap.Option{justap.WithBaseURL("/api")}},
		{"base URL with credentials", "sk_test_1", []justap.Option{justap.WithBaseURL("https://u:p@h/")}},
		{"base URL with query", "sk_test_1", []justap.Option{justap.WithBaseURL("https://h/?a=1")}},
		{"nil HTTP client", "sk_test_1", []justap.Option{justap.WithHTTPClient(nil)}},
		{"user agent with CRLF", "sk_test_1", []justap.Option{justap.WithUserAgent("shop\r\nX-Evil: 1")}},
		{"app id with LF", "sk_test_1", []justap.Option{justap.WithAppID("app\n")}},
		{"app id not UTF-8", "sk_test_1", []justap.Option{justap.WithAppID("app\xff")}},
		{"negative retries", "sk_test_1", []justap.Option{justap.WithMaxRetries(-1)}},
		{"backoff base above max", "sk_test_1", []justap.Option{justap.WithRetryBackoff(time.Second, time.Millisecond)}},
		{"negative timeout", "sk_test_1", []justap.Option{justap.WithRequestTimeout(-1)}},
		{"backoff of MaxInt64", "sk_test_1", []justap.Option{justap.WithRetryBackoff(math.MaxInt64, math.MaxInt64)}},
		{"backoff max above MaxRetryBackoff", "sk_test_1", []justap.Option{justap.WithRetryBackoff(time.Second, justap.MaxRetryBackoff+1)}},
		{"backoff zero base", "sk_test_1", []justap.Option{justap.WithRetryBackoff(0, time.Second)}},
		{"backoff negative", "sk_test_1", []justap.Option{justap.WithRetryBackoff(-time.Second, -time.Second)}},
		{"negative retry wait", "sk_test_1", []justap.Option{justap.WithMaxRetryWait(-1)}},
		{"negative response limit", "sk_test_1", []justap.Option{justap.WithMaxResponseBytes(-1)}},
		{"zero response limit", "sk_test_1", []justap.Option{justap.WithMaxResponseBytes(0)}},
	}
	for _, tt := range bad {
		c, err := justap.NewClient(tt.key, tt.opts...)
		if err == nil || c != nil {
			t.Errorf("%s: NewClient = %v, %v; want an error", tt.name, c, err)
			continue
		}
		if tt.key != "" && strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: error %q repeats the key", tt.name, err)
		}
	}
	c, err := justap.NewClient("sk_test_1")
	if err != nil || c.BaseURL() != justap.DefaultBaseURL+"/" {
		t.Errorf("default base URL = %v, %v", c, err)
	}
	c, err = justap.NewClient("sk_test_1", justap.WithBaseURL(justap.HostedBaseURL+"/v2"))
	if err != nil || c.BaseURL() != justap.HostedBaseURL+"/v2/" {
		t.Errorf("base URL with a path = %v, %v", c, err)
	}
}

// TestPerCallOptionError: a bad per-call option fails that call before
// sending, and does not change the client.
func TestPerCallOptionError(t *testing.T) {
	c, mux, _ := setup(t)
	var requests atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeJSON(w, 200, chargeJSON)
	})
	if _, err := c.Charges.Get(context.Background(), "ch_1", justap.WithMaxRetries(-1)); err == nil {
		t.Error("want an error for WithMaxRetries(-1)")
	}
	if requests.Load() != 0 {
		t.Error("a request was sent")
	}
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil || requests.Load() != 1 {
		t.Errorf("next call: %v, %d requests", err, requests.Load())
	}
}

// TestUserAgent: WithUserAgent goes in front of the library's own token.
func TestUserAgent(t *testing.T) {
	c, mux, _ := setup(t, justap.WithUserAgent("my-shop/2.1"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "my-shop/2.1 justap-go/"+justap.Version+" ") {
			t.Errorf("User-Agent = %q", ua)
		}
		writeJSON(w, 200, chargeJSON)
	})
	if _, err := c.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatal(err)
	}
}

// TestExtremeOptions: the largest values every option accepts work on a
// real call, retry and Retry-After included, without a panic or overflow.
func TestExtremeOptions(t *testing.T) {
	c, mux, _ := setup(t,
		justap.WithMaxRetries(math.MaxInt),
		justap.WithRetryBackoff(justap.MaxRetryBackoff, justap.MaxRetryBackoff),
		justap.WithMaxRetryWait(math.MaxInt64),
		justap.WithRequestTimeout(math.MaxInt64),
		justap.WithMaxResponseBytes(math.MaxInt64))
	var calls atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusServiceUnavailable, `{}`)
			return
		}
		writeJSON(w, http.StatusOK, chargeJSON)
	})
	ch, err := c.Charges.Get(context.Background(), "ch_1")
	if err != nil || ch.ID != "ch_1" || calls.Load() != 2 {
		t.Fatalf("Get = %v, %v after %d requests; want the charge after 2", ch, err, calls.Load())
	}
	// The smallest accepted values too.
	c0, mux0, _ := setup(t, justap.WithRetryBackoff(1, 1), justap.WithMaxRetryWait(0),
		justap.WithRequestTimeout(0), justap.WithMaxResponseBytes(int64(len(chargeJSON))), justap.WithMaxRetries(1))
	mux0.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, chargeJSON) })
	if _, err := c0.Charges.Get(context.Background(), "ch_1"); err != nil {
		t.Fatalf("Get with the smallest options: %v", err)
	}
}
