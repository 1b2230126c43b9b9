package justaptest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// testKey is the repository's test-only 2048-bit key.
func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "test-only-rsa2048-pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("testdata: no PEM block")
		return nil
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// envelope is the body of a notification, as a receiver reads it.
type envelope struct {
	Event       string          `json:"event"`
	IsEncrypted bool            `json:"is_encrypted"`
	Data        json.RawMessage `json:"data"`
}

// publicDecrypt undoes Justap's block encryption with pub, independently of
// crypto/rsa's signing code: per block m = c^e mod n, which must read
// 00 01 FF…FF (at least 8) 00 data.
func publicDecrypt(pub *rsa.PublicKey, ct []byte) ([]byte, error) {
	k := pub.Size()
	if len(ct) == 0 || len(ct)%k != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d-byte blocks", len(ct), k)
	}
	var out []byte
	e := big.NewInt(int64(pub.E))
	for i := 0; i < len(ct); i += k {
		c := new(big.Int).SetBytes(ct[i : i+k])
		if c.Cmp(pub.N) >= 0 {
			return nil, errors.New("block out of range")
		}
		em := new(big.Int).Exp(c, e, pub.N).FillBytes(make([]byte, k))
		if em[0] != 0 || em[1] != 1 {
			return nil, fmt.Errorf("block %d: not type-1 padding", i/k)
		}
		j := 2
		for j < k && em[j] == 0xff {
			j++
		}
		if j < 10 || j == k || em[j] != 0 {
			return nil, fmt.Errorf("block %d: bad padding", i/k)
		}
		out = append(out, em[j+1:]...)
	}
	return out, nil
}

// openNotification authenticates and decodes a notification body as a
// careful receiver does: only encrypted, only with pub.
func openNotification(pub *rsa.PublicKey, body []byte) (string, map[string]any, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return "", nil, err
	}
	if !env.IsEncrypted {
		return env.Event, nil, errors.New("unencrypted")
	}
	var s string
	if err := json.Unmarshal(env.Data, &s); err != nil {
		return env.Event, nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return env.Event, nil, err
	}
	plain, err := publicDecrypt(pub, ct)
	if err != nil {
		return env.Event, nil, err
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(plain))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return env.Event, nil, err
	}
	return env.Event, obj, nil
}

func sampleCharge() *justap.Charge {
	return &justap.Charge{
		ID: "ch_0000000001", AppID: "app_shop", MerchantTradeID: "order-1", Channel: justap.ChannelAlipayQR,
		Amount: 1999, Currency: "CNY", Subject: "T-shirt", Paid: true,
	}
}

func TestNotificationBodyDecryptsWithThePublicKey(t *testing.T) {
	key := testKey(t)
	obj := justaptest.ChargeNotification(sampleCharge())
	obj.NotifyID, obj.NotifyTime = "nt_1", "2025-03-01T08:00:00Z"
	obj.Subject = strings.Repeat("长", 200) // 600 bytes of UTF-8: several blocks, a rune cut between two
	body, err := justaptest.NotificationBody(key, "charge.paid", obj)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	var s string
	json.Unmarshal(env.Data, &s)
	ct, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("data is not standard base64: %v", err)
	}
	plain, _ := json.Marshal(obj)
	if want := (len(plain) + 244) / 245 * 256; len(ct) != want {
		t.Errorf("%d encrypted bytes for %d plain ones, want %d (blocks of at most 245 bytes, 256 out)", len(ct), len(plain), want)
	}
	event, got, err := openNotification(&key.PublicKey, body)
	if err != nil {
		t.Fatal(err)
	}
	if event != "charge.paid" || !env.IsEncrypted {
		t.Errorf("envelope: event %q, is_encrypted %v", event, env.IsEncrypted)
	}
	for k, want := range map[string]any{
		"object": "Charge", "notify_id": "nt_1", "notify_time": "2025-03-01T08:00:00Z", "charge_no": "ch_0000000001",
		"app_id": "app_shop", "app_mode": "test", "channel": "AlipayQR", "merchant_trade_id": "order-1",
		"amount_total": json.Number("19.99"), "amount_refund": json.Number("0.00"), "currency": "CNY",
		"charge_status": "paid", "is_paid": true, "is_refund": false, "subject": obj.Subject,
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	if d, ok := got["data"].(map[string]any); !ok || len(d) != 0 {
		t.Errorf("data = %#v, want {}", got["data"])
	}
	again, _ := justaptest.NotificationBody(key, "charge.paid", obj)
	if !bytes.Equal(body, again) {
		t.Error("the same key, event and object gave different bodies")
	}
}

// TestNotificationBodyMatchesOpenSSL checks each block against openssl's
// "rsautl -verify", the inverse of PHP's openssl_private_encrypt.
func TestNotificationBodyMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	key := testKey(t)
	plain := []byte(`{"object":"Charge","subject":"` + strings.Repeat("x", 400) + `"}`)
	body, err := justaptest.NotificationBody(key, "charge.paid", json.RawMessage(plain))
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	json.Unmarshal(body, &env)
	var s string
	json.Unmarshal(env.Data, &s)
	ct, _ := base64.StdEncoding.DecodeString(s)
	dir := t.TempDir()
	pubFile := filepath.Join("..", "testdata", "test-only-rsa2048-public.pem")
	var got []byte
	for i := 0; i < len(ct); i += 256 {
		in := filepath.Join(dir, fmt.Sprint("block", i))
		os.WriteFile(in, ct[i:i+256], 0o600)
		out, err := exec.Command("openssl", "rsautl", "-verify", "-pubin", "-inkey", pubFile, "-in", in).Output()
		if err != nil {
			t.Fatalf("openssl rsautl -verify block %d: %v", i/256, err)
		}
		got = append(got, out...)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("openssl decrypts to %q, want %q", got, plain)
	}
}

func TestNotificationBodyBlockSizeFollowsTheKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	plain := json.RawMessage(`{"subject":"` + strings.Repeat("y", 300) + `"}`)
	body, err := justaptest.NotificationBody(key, "charge.paid", plain)
	if err != nil {
		t.Fatal(err)
	}
	_, obj, err := openNotification(&key.PublicKey, body)
	if err != nil || obj["subject"] != strings.Repeat("y", 300) {
		t.Fatalf("1024-bit key: %v, %v", obj, err)
	}
}

func TestNotificationBodyUnencrypted(t *testing.T) {
	obj := justaptest.ChargeNotification(sampleCharge())
	body, err := justaptest.NotificationBody(nil, "charge.paid", obj)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(obj)
	if env.IsEncrypted || env.Event != "charge.paid" || !bytes.Equal(env.Data, want) {
		t.Errorf("body = %s, want the object itself, is_encrypted false", body)
	}
	if _, _, err := openNotification(&testKey(t).PublicKey, body); err == nil {
		t.Error("a careful receiver accepted an unencrypted body")
	}
}

func TestNotificationBodyRefusesANonObject(t *testing.T) {
	for _, obj := range []any{nil, "text", []int{1}, func() {}} {
		if _, err := justaptest.NotificationBody(nil, "charge.paid", obj); err == nil {
			t.Errorf("NotificationBody(%#v) did not fail", obj)
		}
	}
}

func TestPlatformKeyIsPerServerOrFixed(t *testing.T) {
	a, b := justaptest.NewServer(t), justaptest.NewServer(t)
	if a.PlatformPublicKey().Equal(b.PlatformPublicKey()) {
		t.Error("two fakes share a platform key")
	}
	if !a.PlatformPublicKey().Equal(a.PlatformPublicKey()) {
		t.Error("a fake's platform key changed")
	}
	key := testKey(t)
	c := justaptest.NewServer(t, justaptest.WithPlatformKey(key))
	if !c.PlatformPublicKey().Equal(&key.PublicKey) {
		t.Error("WithPlatformKey was not used")
	}
	body, err := c.NotificationBody("charge.paid", justaptest.ChargeNotification(sampleCharge()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openNotification(&key.PublicKey, body); err != nil {
		t.Errorf("Handler.NotificationBody does not decrypt with the platform key: %v", err)
	}
	if _, _, err := openNotification(a.PlatformPublicKey(), body); err == nil {
		t.Error("another fake's key decrypts the notification")
	}
}

func TestChargeNotificationStatus(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*justap.Charge)
		want string
	}{
		{func(c *justap.Charge) { c.Paid = false }, "unpaid"},
		{func(c *justap.Charge) {}, "paid"},
		{func(c *justap.Charge) { c.AmountRefunded = 1 }, "paid"},
		{func(c *justap.Charge) { c.AmountRefunded = c.Amount }, "refunded"},
		{func(c *justap.Charge) { c.Paid, c.Reversed = false, true }, "reversed"},
		{func(c *justap.Charge) { c.Paid, c.Closed = false, true }, "closed"},
		{func(c *justap.Charge) { c.Paid, c.ExpiredAt = false, t0 }, "expired"},
	} {
		ch := sampleCharge()
		tc.mod(ch)
		if got := justaptest.ChargeNotification(ch).ChargeStatus; got != tc.want {
			t.Errorf("charge %+v: charge_status %q, want %q", ch, got, tc.want)
		}
	}
}
