package justap_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
)

// The objects of testdata/notifications/*.json, as ParseNotification must
// decode them.
var wantNotifications = map[string]*justap.Notification{
	"charge-paid": {
		Event: justap.EventChargePaid, Encrypted: true,
		Object: "Charge", TradeType: "2", NotifyID: "nt_20250301080005_0001",
		NotifyTime: time.Date(2025, 3, 1, 0, 0, 5, 0, time.UTC),
		ChargeNo:   "1894123456789012345", AppID: "app_test_1", AppMode: "live",
		Channel: justap.ChannelAlipayQR, MerchantTradeID: "order-1001",
		AmountTotal: 13107201, AmountSettle: 13106000, AmountFee: 1201, AmountInvoice: 13107201,
		Currency: "CNY", ChargeStatus: "paid", IsPaid: true, Subject: "T-shirt 短袖",
		Data:  json.RawMessage(`{"buyer_id":"2088102177846880","trade_no":"2025030122001446880500000001"}`),
		Other: map[string]json.RawMessage{"settle_account": json.RawMessage(`"acct_future_field"`)},
	},
	"charge-refunded": {
		Event: justap.EventChargeRefunded, Encrypted: true,
		Object: "Charge", TradeType: "charge.refunded", NotifyID: "nt_20250302090000_0002",
		NotifyTime: time.Unix(1740877200, 0),
		ChargeNo:   "1894123456789012345", AppID: "app_test_1", AppMode: "live",
		Channel: justap.ChannelWechatpayNative, MerchantTradeID: "order-1002",
		AmountTotal: 1999, AmountRefund: 500, AmountFee: 12,
		Currency: "CNY", ChargeStatus: "3", IsRefund: true, IsPaid: true, Subject: "Mug",
		Data: json.RawMessage(`{}`),
	},
}

func justapPublic(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	return &justapKey(t, name).PublicKey
}

// TestParseNotificationKnownAnswers decrypts notifications that openssl
// encrypted (testdata/notifications/make.sh) with 2048- and 4096-bit keys.
func TestParseNotificationKnownAnswers(t *testing.T) {
	for _, bits := range []string{"2048", "4096"} {
		key := justapKey(t, "testdata/test-only-justap-rsa"+bits+".pem")
		for name, want := range wantNotifications {
			t.Run(name+"/"+bits, func(t *testing.T) {
				body := readTestdata(t, filepath.Join("testdata/notifications", name+".rsa"+bits+".body"))
				n, err := justap.ParseNotification(body, justap.WithJustapPublicKey(&key.PublicKey))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, n); diff != "" {
					t.Errorf("notification (-want +got):\n%s", diff)
				}
				// Go's rsa.SignPKCS1v15 with hash 0 makes the same bytes as
				// openssl rsautl -sign (and PHP's openssl_private_encrypt).
				object := bytes.TrimSuffix(readTestdata(t, filepath.Join("testdata/notifications", name+".json")), []byte("\n"))
				ssl := bytes.Join(blocks(t, body, key.Size()), nil)
				if got := encryptBlocks(t, key, object); !bytes.Equal(got, ssl) {
					t.Errorf("Go's encryption differs from openssl's:\n go: %x…\nssl: %x…", got[:32], ssl[:32])
				}
			})
		}
	}
}

// TestParseNotificationKeyRotation accepts a notification from any of the
// configured keys, of the same size or not, and no other.
func TestParseNotificationKeyRotation(t *testing.T) {
	k2048, k4096 := justapPublic(t, justapKey2048), justapPublic(t, justapKey4096)
	other := &testKey(t).PublicKey // 2048 bits, not Justap's
	paid2048 := readTestdata(t, "testdata/notifications/charge-paid.rsa2048.body")
	paid4096 := readTestdata(t, "testdata/notifications/charge-paid.rsa4096.body")
	otherBody := notificationBody(t, testKey(t), "charge.paid", []byte(`{"merchant_trade_id":"order-9","is_paid":true}`))

	for _, tc := range []struct {
		name string
		keys []*rsa.PublicKey
		body []byte
		ok   bool
	}{
		{"old key of two", []*rsa.PublicKey{k2048, k4096}, paid2048, true},
		{"new key of two", []*rsa.PublicKey{k2048, k4096}, paid4096, true},
		{"same size, the other first", []*rsa.PublicKey{other, k2048}, paid2048, true},
		{"same size, second key", []*rsa.PublicKey{k2048, other}, otherBody, true},
		{"old key dropped", []*rsa.PublicKey{k4096}, paid2048, false},
		{"a key not configured", []*rsa.PublicKey{k2048}, otherBody, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := justap.ParseNotification(tc.body, justap.WithJustapPublicKey(tc.keys...))
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, justap.ErrNotificationUnauthenticated) {
				t.Fatalf("err = %v, want ErrNotificationUnauthenticated", err)
			}
		})
	}
}

// paidObject is a small charge.paid object for the refusal tests: it
// spans three 2048-bit blocks, and its texts must never reach an error.
var paidObject = []byte(`{"object":"Charge","trade_type":2,"notify_id":"nt_1","notify_time":1740877200,` +
	`"charge_no":"1894","app_id":"app_test_1","channel":"AlipayQR","merchant_trade_id":"order-1001",` +
	`"amount_total":19.99,"currency":"CNY","charge_status":"paid","is_paid":true,` +
	`"subject":"SECRET-SUBJECT the customer's purchase","data":{"buyer_id":"2088102177846880",` +
	`"buyer_logon_id":"SECRET-BUYER@example.com","extra":"` + strings.Repeat("x", 300) + `"}}`)

// refuse parses body and checks that it is refused with kind, in an error
// that quotes nothing of the body.
func refuse(t *testing.T, body []byte, kind error, opts ...justap.NotificationOption) {
	t.Helper()
	n, err := justap.ParseNotification(body, opts...)
	if err == nil {
		t.Fatalf("accepted: %+v", n)
	}
	if n != nil {
		t.Errorf("a notification beside the error: %+v", n)
	}
	var ne *justap.NotificationError
	if !errors.As(err, &ne) || !errors.Is(err, kind) {
		t.Fatalf("err = %T %v, want a *NotificationError matching %v", err, err, kind)
	}
	noBodyIn(t, err.Error(), body)
}

// noBodyIn checks that text shows nothing of a notification body: not its
// base64 data, not the object's texts.
func noBodyIn(t *testing.T, text string, body []byte) {
	t.Helper()
	for _, s := range []string{"SECRET", "2088102177846880", "19.99"} {
		if strings.Contains(text, s) {
			t.Errorf("%q shows %q from the body", text, s)
		}
	}
	var env struct{ Data json.RawMessage }
	if json.Unmarshal(body, &env) == nil && len(env.Data) > 24 && strings.Contains(text, string(env.Data[1:20])) {
		t.Errorf("%q shows the body's data", text)
	}
}

// blocks returns the encrypted data of body, cut into blocks of size bytes.
func blocks(t *testing.T, body []byte, size int) [][]byte {
	t.Helper()
	var env struct{ Data string }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	ct, err := base64.StdEncoding.DecodeString(env.Data)
	if err != nil {
		t.Fatal(err)
	}
	var bs [][]byte
	for ; len(ct) > 0; ct = ct[size:] {
		bs = append(bs, bytes.Clone(ct[:size]))
	}
	return bs
}

// withBlocks returns a body whose data is the blocks given, joined.
func withBlocks(t *testing.T, event string, bs ...[]byte) []byte {
	t.Helper()
	return envelopeBody(t, event, true, base64.StdEncoding.EncodeToString(bytes.Join(bs, nil)))
}

func TestParseNotificationAcceptsTheUnalteredBody(t *testing.T) {
	key := justapKey(t, justapKey2048)
	body := notificationBody(t, key, "charge.paid", paidObject)
	if got := len(blocks(t, body, key.Size())); got != 3 {
		t.Fatalf("the object spans %d blocks; the refusal tests want 3", got)
	}
	n, err := justap.ParseNotification(body, justap.WithJustapPublicKey(&key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if n.MerchantTradeID != "order-1001" || n.AmountTotal != 1999 || !n.Encrypted {
		t.Errorf("got %+v", n)
	}
}

func TestParseNotificationRefusesUnencrypted(t *testing.T) {
	key := justapPublic(t, justapKey2048)
	body := envelopeBody(t, "charge.paid", false, paidObject)
	refuse(t, body, justap.ErrNotificationUnauthenticated, justap.WithJustapPublicKey(key))
	refuse(t, body, justap.ErrNotificationUnauthenticated)
	// is_encrypted absent is not encrypted.
	refuse(t, []byte(`{"event":"charge.paid","data":`+string(paidObject)+`}`), justap.ErrNotificationUnauthenticated,
		justap.WithJustapPublicKey(key))

	// With the opt-in, it is read, and says it was not encrypted.
	n, err := justap.ParseNotification(body, justap.AllowUnencryptedNotifications())
	if err != nil {
		t.Fatal(err)
	}
	if n.Encrypted || n.MerchantTradeID != "order-1001" {
		t.Errorf("got %+v", n)
	}
}

func TestParseNotificationRefusesAnAlteredBlock(t *testing.T) {
	key := justapKey(t, justapKey2048)
	bs := blocks(t, notificationBody(t, key, "charge.paid", paidObject), key.Size())
	for i := range bs {
		for _, at := range []int{0, 100, key.Size() - 1} {
			alt := bytes.Clone(bs[i])
			alt[at] ^= 0x01
			all := append(append(append([][]byte{}, bs[:i]...), alt), bs[i+1:]...)
			refuse(t, withBlocks(t, "charge.paid", all...), justap.ErrNotificationUnauthenticated,
				justap.WithJustapPublicKey(&key.PublicKey))
		}
	}
}

func TestParseNotificationRefusesSwappedBlocks(t *testing.T) {
	key := justapKey(t, justapKey2048)
	bs := blocks(t, notificationBody(t, key, "charge.paid", paidObject), key.Size())
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	// Each block authenticates alone, so the swap decrypts; what it makes
	// is not the JSON object any more.
	refuse(t, withBlocks(t, "charge.paid", bs[1], bs[0], bs[2]), justap.ErrNotificationMalformed, opt)
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[2], bs[1]), justap.ErrNotificationMalformed, opt)
	refuse(t, withBlocks(t, "charge.paid", bs[2], bs[1], bs[0]), justap.ErrNotificationMalformed, opt)
}

func TestParseNotificationRefusesDroppedBlocks(t *testing.T) {
	key := justapKey(t, justapKey2048)
	bs := blocks(t, notificationBody(t, key, "charge.paid", paidObject), key.Size())
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	refuse(t, withBlocks(t, "charge.paid", bs[1], bs[2]), justap.ErrNotificationMalformed, opt)
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[2]), justap.ErrNotificationMalformed, opt)
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[1]), justap.ErrNotificationMalformed, opt)
	// Part of a block: not a whole number of blocks.
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[1], bs[2][:100]), justap.ErrNotificationUnauthenticated, opt)
}

func TestParseNotificationRefusesAppendedBlocks(t *testing.T) {
	key := justapKey(t, justapKey2048)
	bs := blocks(t, notificationBody(t, key, "charge.paid", paidObject), key.Size())
	// An authentic block of another notification after the object.
	other := blocks(t, notificationBody(t, key, "charge.paid", []byte(`{"is_paid":true}`)), key.Size())
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[1], bs[2], other[0]), justap.ErrNotificationMalformed, opt)
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[1], bs[2], bs[2]), justap.ErrNotificationMalformed, opt)
	// A block of another key: no key decrypts every block.
	stranger := blocks(t, notificationBody(t, testKey(t), "charge.paid", []byte(` `)), key.Size())
	refuse(t, withBlocks(t, "charge.paid", bs[0], bs[1], bs[2], stranger[0]), justap.ErrNotificationUnauthenticated, opt)
}

// rawBlock raises em to key's private exponent: a block with whatever
// padding em holds.
func rawBlock(key *rsa.PrivateKey, em []byte) []byte {
	c := new(big.Int).Exp(new(big.Int).SetBytes(em), key.D, key.N)
	return c.FillBytes(make([]byte, key.Size()))
}

// TestParseNotificationPadding checks the type-1 padding strictly. Each
// message is a valid JSON object, so only the padding decides.
func TestParseNotificationPadding(t *testing.T) {
	key := justapKey(t, justapKey2048)
	k := key.Size()
	// em builds 00 typ FF×ffs sep message, the message {} and spaces
	// filling the block.
	em := func(typ byte, ffs int, sep []byte) []byte {
		b := append([]byte{0, typ}, bytes.Repeat([]byte{0xFF}, ffs)...)
		b = append(b, sep...)
		if len(b) < k {
			b = append(b, '{', '}')
			b = append(b, bytes.Repeat([]byte{' '}, k-len(b))...)
		}
		return b[:k]
	}
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	for _, tc := range []struct {
		name string
		em   []byte
		ok   bool
	}{
		{"eight FF", em(1, 8, []byte{0}), true},
		{"many FF", em(1, 200, []byte{0}), true},
		{"seven FF", em(1, 7, []byte{0}), false},
		{"no FF", em(1, 0, []byte{0}), false},
		{"type 2", em(2, 8, []byte{0}), false},
		{"type 0", em(0, 8, []byte{0}), false},
		{"first byte not 0", append([]byte{1}, em(1, 8, []byte{0})[1:]...), false},
		{"a byte other than FF in the padding", em(1, 8, []byte{0xFE, 0xFF, 0}), false},
		{"no separator", em(1, k-2, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := withBlocks(t, "charge.created", rawBlock(key, tc.em))
			if tc.ok {
				if _, err := justap.ParseNotification(body, opt); err != nil {
					t.Fatal(err)
				}
				return
			}
			refuse(t, body, justap.ErrNotificationUnauthenticated, opt)
		})
	}
	// A block not below the modulus.
	refuse(t, withBlocks(t, "charge.paid", bytes.Repeat([]byte{0xFF}, k)), justap.ErrNotificationUnauthenticated, opt)
	// An authentic block plus the modulus decrypts to the same message
	// (c+n ≡ c): refused, so that a notification has one encryption only.
	limit := new(big.Int).Lsh(big.NewInt(1), uint(8*k))
	for ffs := 8; ffs < 200; ffs++ {
		c := new(big.Int).SetBytes(rawBlock(key, em(1, ffs, []byte{0})))
		if c.Add(c, key.N).Cmp(limit) < 0 {
			refuse(t, withBlocks(t, "charge.paid", c.FillBytes(make([]byte, k))), justap.ErrNotificationUnauthenticated, opt)
			return
		}
	}
	t.Error("no block c with c+n below 2^(8k) found")
}

func TestParseNotificationRefusesOverTheLimit(t *testing.T) {
	key := justapKey(t, justapKey2048)
	body := notificationBody(t, key, "charge.paid", paidObject)
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	if _, err := justap.ParseNotification(body, opt, justap.WithMaxNotificationBytes(int64(len(body)))); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	refuse(t, body, justap.ErrNotificationTooLarge, opt, justap.WithMaxNotificationBytes(int64(len(body)-1)))
	big := envelopeBody(t, "charge.paid", true, strings.Repeat("A", justap.DefaultMaxNotificationBytes))
	refuse(t, big, justap.ErrNotificationTooLarge, opt)
}

func TestParseNotificationRefusesInvalidBase64(t *testing.T) {
	key := justapKey(t, justapKey2048)
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	good := base64.StdEncoding.EncodeToString(encryptBlocks(t, key, paidObject))
	for _, data := range []string{good[:len(good)-1], "*" + good[1:], strings.ReplaceAll(good, "+", "-"), good + "=", ""} {
		refuse(t, envelopeBody(t, "charge.paid", true, data), justap.ErrNotificationMalformed, opt)
	}
	// Encrypted data that is not a string.
	refuse(t, envelopeBody(t, "charge.paid", true, paidObject), justap.ErrNotificationMalformed, opt)
}

func TestParseNotificationRefusesInvalidJSON(t *testing.T) {
	key := justapKey(t, justapKey2048)
	opt := justap.WithJustapPublicKey(&key.PublicKey)
	// The envelope.
	for _, body := range []string{
		``, `null`, `[]`, `"charge.paid"`, `{"event":"charge.paid","is_encrypted":true,"data":"AAAA"`,
		`{"event":2,"is_encrypted":true,"data":"AAAA"}`, `{"event":"charge.paid","is_encrypted":"yes","data":"AAAA"}`,
		`{"is_encrypted":true,"data":"AAAA"}`, `{"event":"","is_encrypted":true,"data":"AAAA"}`,
		`{"event":"charge.paid","is_encrypted":true}`, `{"event":"charge.paid","is_encrypted":true,"data":null}`,
		`{"event":"charge.paid","is_encrypted":true,"data":"AAAA"} {}`,
	} {
		refuse(t, []byte(body), justap.ErrNotificationMalformed, opt)
	}
	// An authentic object that is not JSON, or not an object.
	for _, object := range []string{`SECRET-SUBJECT is not JSON`, `{"subject":"SECRET-SUBJECT"`, `["SECRET-SUBJECT"]`, `{} {}`} {
		refuse(t, notificationBody(t, key, "charge.paid", []byte(object)), justap.ErrNotificationMalformed, opt)
	}
}

// TestParseNotificationNamesTheField refuses a field of the wrong type,
// naming the field and not quoting its value.
func TestParseNotificationNamesTheField(t *testing.T) {
	for _, tc := range []struct{ field, value string }{
		{"amount_total", `"SECRET-19.99"`},
		{"amount_fee", `0.001`}, // a fraction of a fen
		{"amount_refund", `true`},
		{"is_paid", `"SECRET"`},
		{"notify_time", `"SECRET-time"`},
		{"merchant_trade_id", `{"SECRET":1}`},
		{"charge_no", `["SECRET"]`},
		{"subject", `false`},
	} {
		object := []byte(`{"merchant_trade_id":"order-1","` + tc.field + `":` + tc.value + `}`)
		_, err := justap.ParseNotification(envelopeBody(t, "charge.paid", false, object), justap.AllowUnencryptedNotifications())
		if !errors.Is(err, justap.ErrNotificationMalformed) || !strings.Contains(err.Error(), `"`+tc.field+`"`) {
			t.Errorf("%s: err = %v, want ErrNotificationMalformed naming the field", tc.field, err)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v quotes the value", tc.field, err)
		}
	}
}

// TestParseNotificationKeyGivenTwice refuses an object whose key comes
// twice, and names a value of the wrong type without quoting it.
func TestParseNotificationKeyGivenTwice(t *testing.T) {
	for object, want := range map[string]string{
		// A key given twice is refused whatever its values: readers keep
		// different ones.
		`{"is_paid":"SECRET","is_paid":true}`:        `gives the key "is_paid" twice`,
		`{"amount_total":"SECRET","amount_total":1}`: `gives the key "amount_total" twice`,
		// A value the amount's own decoder refuses.
		`{"amount_total":"SECRET","subject":"x"}`: `"amount_total" is not an amount of yuan`,
	} {
		_, err := justap.ParseNotification(envelopeBody(t, "charge.paid", false, []byte(object)), justap.AllowUnencryptedNotifications())
		if !errors.Is(err, justap.ErrNotificationMalformed) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: err = %v, want ErrNotificationMalformed saying %s", object, err, want)
		}
	}
}

// TestParseNotificationTolerantObject reads the forms Justap's sources
// disagree on, and keeps what it does not know.
func TestParseNotificationTolerantObject(t *testing.T) {
	parse := func(object string) *justap.Notification {
		t.Helper()
		n, err := justap.ParseNotification(envelopeBody(t, "charge.future_event", false, []byte(object)),
			justap.AllowUnencryptedNotifications())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := parse(`{"trade_type":7,"charge_no":18446744073709551615,"notify_time":"1740877200","amount_total":"0.10",` +
		`"amount_fee":1e-2,"charge_status":null,"data":null,"subject":null,"new_field":{"a":[1,2]},"is_paid":null}`)
	want := &justap.Notification{
		Event: "charge.future_event", TradeType: "7", ChargeNo: "18446744073709551615",
		NotifyTime: time.Unix(1740877200, 0), AmountTotal: 10, AmountFee: 1,
		Other: map[string]json.RawMessage{"new_field": json.RawMessage(`{"a":[1,2]}`)},
	}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !n.Event.IsCharge() || justap.EventRoyaltyCompleted.IsCharge() {
		t.Error("IsCharge")
	}
	// Absent, "", "0" and 0 times are the zero time; RFC 3339 keeps its offset.
	for _, v := range []string{`""`, `"0"`, `0`, `null`} {
		if n := parse(`{"notify_time":` + v + `}`); !n.NotifyTime.IsZero() {
			t.Errorf("notify_time %s = %v", v, n.NotifyTime)
		}
	}
	if n := parse(`{"notify_time":"2025-03-01T08:00:05+08:00"}`); !n.NotifyTime.Equal(time.Date(2025, 3, 1, 0, 0, 5, 0, time.UTC)) {
		t.Errorf("notify_time = %v", n.NotifyTime)
	}
}

func TestParseNotificationOptions(t *testing.T) {
	small := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537} // 1024 bits
	small.N.Add(small.N, big.NewInt(1))
	for name, opt := range map[string]justap.NotificationOption{
		"1024 bits":    justap.WithJustapPublicKey(small),
		"no key":       justap.WithJustapPublicKey(),
		"nil key":      justap.WithJustapPublicKey(nil),
		"zero limit":   justap.WithMaxNotificationBytes(0),
		"even E":       justap.WithJustapPublicKey(&rsa.PublicKey{N: justapPublic(t, justapKey2048).N, E: 4}),
		"nil store":    justap.WithNotificationStore(nil),
		"zero lease":   justap.WithNotificationLease(0),
		"lease < 0":    justap.WithNotificationLease(-time.Second),
		"negative":     justap.WithMaxNotificationBytes(-1),
		"zero modulus": justap.WithJustapPublicKey(&rsa.PublicKey{E: 65537}),
	} {
		if _, err := justap.ParseNotification([]byte(`{}`), opt); err == nil || errors.As(err, new(*justap.NotificationError)) {
			t.Errorf("%s: err = %v, want an option error", name, err)
		}
	}
	// An encrypted notification without a key says what to configure.
	_, err := justap.ParseNotification(readTestdata(t, "testdata/notifications/charge-paid.rsa2048.body"))
	if !errors.Is(err, justap.ErrNotificationUnauthenticated) || !strings.Contains(err.Error(), "WithJustapPublicKey") {
		t.Errorf("err = %v", err)
	}
}

// FuzzParseNotification feeds arbitrary bodies to ParseNotification with
// the 2048-bit test key and the unencrypted opt-in: it must never panic,
// and it either returns a notification or a *NotificationError that
// quotes nothing of the body.
func FuzzParseNotification(f *testing.F) {
	key := justapKey(f, justapKey2048)
	for _, name := range []string{"charge-paid.rsa2048.body", "charge-refunded.rsa2048.body", "charge-paid.rsa4096.body"} {
		f.Add(readTestdata(f, filepath.Join("testdata/notifications", name)))
	}
	f.Add(envelopeBody(f, "charge.paid", false, paidObject))
	f.Add(notificationBody(f, key, "charge.paid", paidObject))
	f.Add([]byte(`{"event":"charge.paid","is_encrypted":false,"data":{"amount_total":"1e2","charge_no":1,"notify_time":"0"}}`))
	opts := []justap.NotificationOption{justap.WithJustapPublicKey(&key.PublicKey), justap.AllowUnencryptedNotifications()}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := justap.ParseNotification(body, opts...)
		if err != nil {
			var ne *justap.NotificationError
			if n != nil || !errors.As(err, &ne) {
				t.Fatalf("n = %v, err = %T %v", n, err, err)
			}
			if len(body) > 16 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("%v quotes the body", err)
			}
			return
		}
		if n.Event == "" {
			t.Fatal("a notification without an event")
		}
	})
}

// BenchmarkParseNotification parses the openssl-made charge.paid fixture:
// envelope, base64, one RSA public operation per block, the object.
func BenchmarkParseNotification(b *testing.B) {
	for _, bits := range []string{"2048", "4096"} {
		b.Run(bits, func(b *testing.B) {
			body := readTestdata(b, "testdata/notifications/charge-paid.rsa"+bits+".body")
			opt := justap.WithJustapPublicKey(justapPublic(b, "testdata/test-only-justap-rsa"+bits+".pem"))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := justap.ParseNotification(body, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
