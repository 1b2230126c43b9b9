package justaptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/justap-go/justap"
)

// The charge events the fake sends (see the package docs, Notifications).
const (
	eventPaid     = "charge.paid"
	eventRefunded = "charge.refunded"
	eventReversed = "charge.reversed"
	eventClosed   = "charge.closed"
)

// platformKeyBits is the size of the platform key a fake generates.
const platformKeyBits = 2048

// WithPlatformKey sets Justap's side of the notification key pair: the
// private key the fake encrypts notifications with. Give it a fixed key
// for golden tests; by default each fake generates its own 2048-bit key
// the first time it needs one. A nil key leaves the default.
func WithPlatformKey(key *rsa.PrivateKey) Option {
	return func(o *options) error {
		if key != nil {
			o.platformKey = key
		}
		return nil
	}
}

// platformKey returns the fake's platform key, generating it on first use.
func (h *Handler) platformKey() *rsa.PrivateKey {
	h.keyOnce.Do(func() {
		if h.opts.platformKey != nil {
			h.key = h.opts.platformKey
			return
		}
		k, err := rsa.GenerateKey(rand.Reader, platformKeyBits)
		if err != nil {
			panic("justaptest: cannot generate the platform key: " + err.Error())
		}
		h.key = k
	})
	return h.key
}

// PlatformPublicKey returns Justap's public notification key as this fake
// has it: configure the code under test to decrypt notifications with it
// ([justap.WithJustapPublicKey]). Every fake has its own key (see
// [WithPlatformKey]), so notifications from one fake do not decrypt with
// another's key.
func (h *Handler) PlatformPublicKey() *rsa.PublicKey { return &h.platformKey().PublicKey }

// NotificationObject is the object of a charge notification, the JSON that
// Justap encrypts into the envelope's data. The amounts are yuan on the
// wire. Build one from a charge with [ChargeNotification], change what
// the test needs, and encode it with [NotificationBody].
type NotificationObject struct {
	Object          string         `json:"object"`     // "Charge"
	TradeType       string         `json:"trade_type"` // "charge"
	NotifyID        string         `json:"notify_id"`
	NotifyTime      string         `json:"notify_time"` // RFC 3339
	ChargeNo        string         `json:"charge_no"`   // the fake writes the charge id
	AppID           string         `json:"app_id"`
	AppMode         string         `json:"app_mode"` // "live" or "test"
	Channel         justap.Channel `json:"channel"`
	MerchantTradeID string         `json:"merchant_trade_id"`
	AmountTotal     justap.Amount  `json:"amount_total"`
	AmountSettle    justap.Amount  `json:"amount_settle"`
	AmountRefund    justap.Amount  `json:"amount_refund"`
	AmountFee       justap.Amount  `json:"amount_fee"`
	AmountRoyalty   justap.Amount  `json:"amount_royalty"`
	AmountInvoice   justap.Amount  `json:"amount_invoice"`
	Currency        string         `json:"currency"`
	// ChargeStatus is the fake's summary of the charge: "unpaid", "paid",
	// "refunded" (in full), "reversed", "closed" or "expired".
	ChargeStatus string          `json:"charge_status"`
	IsRoyalty    bool            `json:"is_royalty"`
	IsRefund     bool            `json:"is_refund"`
	IsPaid       bool            `json:"is_paid"`
	IsReversed   bool            `json:"is_reversed"`
	IsClosed     bool            `json:"is_closed"`
	IsCompleted  bool            `json:"is_completed"`
	IsFinished   bool            `json:"is_finished"`
	Subject      string          `json:"subject"`
	Data         json.RawMessage `json:"data"` // an object; {} when nil
}

// MarshalJSON writes the object as Justap does, with the fake's own wire
// encoding of money (yuan, two decimals) and {} for a nil Data.
func (n NotificationObject) MarshalJSON() ([]byte, error) {
	type plain NotificationObject
	if n.Data == nil {
		n.Data = json.RawMessage("{}")
	}
	// The outer fields win over the embedded ones of the same name.
	return json.Marshal(struct {
		plain
		Channel       string `json:"channel"`
		AmountTotal   money  `json:"amount_total"`
		AmountSettle  money  `json:"amount_settle"`
		AmountRefund  money  `json:"amount_refund"`
		AmountFee     money  `json:"amount_fee"`
		AmountRoyalty money  `json:"amount_royalty"`
		AmountInvoice money  `json:"amount_invoice"`
	}{
		plain(n), string(n.Channel), money(n.AmountTotal), money(n.AmountSettle), money(n.AmountRefund),
		money(n.AmountFee), money(n.AmountRoyalty), money(n.AmountInvoice),
	})
}

// ChargeNotification returns the notification object Justap sends about
// the charge ch in its present state, with NotifyID and NotifyTime left
// for the caller to set.
func ChargeNotification(ch *justap.Charge) *NotificationObject {
	mode := "test"
	if ch.LiveMode {
		mode = "live"
	}
	status := "unpaid"
	switch {
	case ch.Reversed:
		status = "reversed"
	case ch.Paid && ch.AmountRefunded > 0 && ch.AmountRefunded == ch.Amount:
		status = "refunded"
	case ch.Paid:
		status = "paid"
	case ch.Closed:
		status = "closed"
	case !ch.ExpiredAt.IsZero():
		status = "expired"
	}
	return &NotificationObject{
		Object:          "Charge",
		TradeType:       "charge",
		ChargeNo:        ch.ID,
		AppID:           ch.AppID,
		AppMode:         mode,
		Channel:         ch.Channel,
		MerchantTradeID: ch.MerchantTradeID,
		AmountTotal:     ch.Amount,
		AmountSettle:    ch.AmountSettle,
		AmountRefund:    ch.AmountRefunded,
		AmountFee:       ch.AmountFee,
		AmountRoyalty:   ch.AmountRoyalty,
		Currency:        ch.Currency,
		ChargeStatus:    status,
		IsRefund:        ch.AmountRefunded > 0,
		IsPaid:          ch.Paid,
		IsReversed:      ch.Reversed,
		IsClosed:        ch.Closed || !ch.ExpiredAt.IsZero(),
		Subject:         ch.Subject,
	}
}

// notifyEnvelope is the body Justap posts.
type notifyEnvelope struct {
	Event       string          `json:"event"`
	IsEncrypted bool            `json:"is_encrypted"`
	Data        json.RawMessage `json:"data"`
}

// NotificationBody returns the body Justap posts for a notification: the
// envelope {"event": event, "is_encrypted": true, "data": "<base64>"},
// where data is obj (a *NotificationObject, a map or any value that
// encodes as a JSON object) encrypted with key as Justap does it: the JSON
// is cut into blocks of at most k-11 bytes (k is the key's size in bytes),
// each block is RSA "private-encrypted" with PKCS #1 v1.5 type-1 padding
// (what openssl_private_encrypt and rsa.SignPKCS1v15 with hash 0 do), and
// the blocks are joined and base64-encoded (standard, padded). The same
// key, event and object always give the same bytes.
//
// With a nil key the body is unencrypted: {"event": event,
// "is_encrypted": false, "data": obj}. NotificationBody is the way to
// feed a notification handler in a unit test without a fake; a fake's own
// notifications use its platform key ([Handler.NotificationBody]).
func NotificationBody(key *rsa.PrivateKey, event string, obj any) ([]byte, error) {
	plain, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("justaptest: NotificationBody: %w", err)
	}
	if len(plain) == 0 || plain[0] != '{' {
		return nil, errors.New("justaptest: NotificationBody: the object must encode as a JSON object")
	}
	return encodeNotification(key, event, plain)
}

// NotificationBody is the package's [NotificationBody] with this fake's
// platform key: a notification that code configured with
// [Handler.PlatformPublicKey] accepts as Justap's, whatever it says. Use it to test
// that a handler does not take an authentic notification's word for the
// charge's state.
func (h *Handler) NotificationBody(event string, obj any) ([]byte, error) {
	return NotificationBody(h.platformKey(), event, obj)
}

// encodeNotification wraps the JSON object plain in an envelope, encrypted
// with key (nil: unencrypted).
func encodeNotification(key *rsa.PrivateKey, event string, plain []byte) ([]byte, error) {
	env := notifyEnvelope{Event: event, Data: plain}
	if key != nil {
		ct, err := encryptBlocks(key, plain)
		if err != nil {
			return nil, fmt.Errorf("justaptest: NotificationBody: %w", err)
		}
		data, _ := json.Marshal(base64.StdEncoding.EncodeToString(ct))
		env.IsEncrypted, env.Data = true, data
	}
	return json.Marshal(env)
}

// encryptBlocks RSA "private-encrypts" msg block by block.
func encryptBlocks(key *rsa.PrivateKey, msg []byte) ([]byte, error) {
	k := key.Size()
	step := k - 11
	out := make([]byte, 0, (len(msg)/step+1)*k)
	for len(msg) > 0 {
		n := min(step, len(msg))
		blk, err := rsa.SignPKCS1v15(nil, key, 0, msg[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, blk...)
		msg = msg[n:]
	}
	return out, nil
}

// forgerKey is a key that is no fake's platform key, for forged
// notifications (FaultForged). One per process: it is never trusted.
var forgerKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, platformKeyBits)
	if err != nil {
		panic("justaptest: cannot generate a key: " + err.Error())
	}
	return k
})

// notifyTime formats a notification time.
func notifyTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
