package justap

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"
)

// EventType names what a notification reports, such as [EventChargePaid].
// Justap adds events over time: a notification with an event this package
// does not list is kept, with its EventType as sent.
type EventType string

// The events Justap documents.
const (
	EventChargeCreated    EventType = "charge.created"   // a charge was created (ignorable)
	EventChargePaid       EventType = "charge.paid"      // the customer paid
	EventChargePending    EventType = "charge.pending"   // an offline scan is in progress
	EventChargeCanceled   EventType = "charge.canceled"  // the customer cancelled an offline scan
	EventChargeRefunded   EventType = "charge.refunded"  // a refund succeeded (sent once per refund)
	EventChargeClosed     EventType = "charge.closed"    // the charge was closed
	EventChargeCompleted  EventType = "charge.completed" // the charge completed (ignorable)
	EventChargeFinished   EventType = "charge.finished"  // the charge can no longer change
	EventChargeReversed   EventType = "charge.reversed"  // the charge was reversed
	EventRoyaltyCreated   EventType = "royalty.created"
	EventRoyaltyFailed    EventType = "royalty.failed"
	EventRoyaltyCompleted EventType = "royalty.completed"
)

// IsCharge reports whether the event is about a charge ("charge.…"),
// known to this package or not.
func (e EventType) IsCharge() bool { return strings.HasPrefix(string(e), "charge.") }

// Notification is a notification from Justap, decoded: its event and the
// charge object it carries.
//
// A notification is a hint, not a proof. Justap's encryption authenticates
// each RSA block on its own, not the message: authentic blocks can be
// reordered, and a genuine notification can be replayed, since it carries
// no time or nonce that the receiver could check. Read the charge from the
// API before acting on it, as the handler of [NotificationsService] does.
//
// The money fields are exact (the wire says yuan). Fields Justap adds later
// are kept in Other. For events that are not about a charge (royalty.…)
// the charge fields are mostly empty and the object's keys are in Other.
type Notification struct {
	Event EventType
	// Encrypted is true when the object arrived encrypted and decrypted
	// with one of the Justap public keys, false when it arrived in the
	// clear (accepted only with [AllowUnencryptedNotifications]).
	Encrypted bool

	Object          string // "Charge"
	TradeType       string // a number or a name, as sent
	NotifyID        string // the notification's id: resends of one notification share it
	NotifyTime      time.Time
	ChargeNo        string // Justap's number of the charge, as sent
	AppID           string
	AppMode         string
	Channel         Channel
	MerchantTradeID string // the merchant's order number: the key to find the charge
	AmountTotal     Amount
	AmountSettle    Amount
	AmountRefund    Amount
	AmountFee       Amount
	AmountRoyalty   Amount
	AmountInvoice   Amount
	Currency        string
	ChargeStatus    string // a number or a name, as sent
	IsRoyalty       bool
	IsRefund        bool
	IsPaid          bool
	IsReversed      bool
	IsClosed        bool
	IsCompleted     bool
	IsFinished      bool
	Subject         string
	// Data is the object's "data", as sent (channel details).
	Data json.RawMessage
	// Other holds the object's keys that this package does not name.
	Other map[string]json.RawMessage
}

// Errors of [ParseNotification], for errors.Is. Each comes wrapped in a
// [*NotificationError] that says what is wrong.
var (
	// ErrNotificationMalformed: the body is not a Justap notification (not
	// the JSON envelope, data that is not base64, an object that is not
	// JSON or has a field of the wrong type).
	ErrNotificationMalformed = errors.New("justap: not a Justap notification")
	// ErrNotificationUnauthenticated: the notification could not be
	// authenticated: it is not encrypted and [AllowUnencryptedNotifications]
	// is not set, no Justap public key is configured, or a block does not
	// decrypt with any of the keys.
	ErrNotificationUnauthenticated = errors.New("justap: the notification does not authenticate")
	// ErrNotificationTooLarge: the body is over the size limit
	// ([WithMaxNotificationBytes]).
	ErrNotificationTooLarge = errors.New("justap: the notification body is too large")
)

// NotificationError is the error of a notification that was refused. Its
// text says what is wrong; it never quotes the body. Match its kind with
// errors.Is and [ErrNotificationMalformed], [ErrNotificationUnauthenticated]
// or [ErrNotificationTooLarge] (from [ParseNotification]), or
// [ErrNotificationOtherApp] and [ErrNotificationDisagrees] (in the log of
// the handler of [NotificationsService]).
type NotificationError struct {
	Kind   error  // one of the ErrNotification… sentinels
	Reason string // what is wrong, and what to do
}

// Error says that the notification was refused, and why.
func (e *NotificationError) Error() string {
	return strings.TrimSuffix(e.Kind.Error(), ".") + ": " + e.Reason
}

// Unwrap returns Kind, for errors.Is.
func (e *NotificationError) Unwrap() error { return e.Kind }

func notificationErr(kind error, format string, args ...any) *NotificationError {
	return &NotificationError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// DefaultMaxNotificationBytes is the default limit on a notification's
// body. A notification is a few KiB; the limit leaves room for a large
// "data" object.
const DefaultMaxNotificationBytes = 64 << 10

// NotificationOption configures [ParseNotification] and the handler of
// [NotificationsService].
type NotificationOption func(*notifyConfig) error

// notifyConfig is everything a NotificationOption sets.
type notifyConfig struct {
	keys             []*rsa.PublicKey
	allowUnencrypted bool
	maxBytes         int64
	store            NotificationStore
	lease            time.Duration
	logger           *slog.Logger
}

func newNotifyConfig(opts []NotificationOption) (*notifyConfig, error) {
	cfg := &notifyConfig{maxBytes: DefaultMaxNotificationBytes}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// WithJustapPublicKey adds Justap's RSA public keys, which decrypt (and so
// authenticate) encrypted notifications; load one with [ParsePublicKeyPEM].
// A notification is accepted when every one of its blocks decrypts with
// the same key, any of those given. To rotate Justap's key without
// downtime, configure the old and the new key together, then drop the old
// one. Keys must be at least [MinSigningKeyBits] long.
func WithJustapPublicKey(keys ...*rsa.PublicKey) NotificationOption {
	return func(c *notifyConfig) error {
		if len(keys) == 0 {
			return errors.New("justap: WithJustapPublicKey: no key given")
		}
		for i, k := range keys {
			switch {
			case k == nil || k.N == nil:
				return fmt.Errorf("justap: WithJustapPublicKey: key %d is nil", i)
			case k.N.BitLen() < MinSigningKeyBits:
				return fmt.Errorf("justap: WithJustapPublicKey: key %d has %d bits; at least %d are needed",
					i, k.N.BitLen(), MinSigningKeyBits)
			case k.E < 3 || k.E%2 == 0:
				return fmt.Errorf("justap: WithJustapPublicKey: key %d has an invalid public exponent", i)
			}
		}
		c.keys = append(c.keys, keys...)
		return nil
	}
}

// AllowUnencryptedNotifications accepts notifications whose data arrives
// in the clear ("is_encrypted": false). Without it they are refused with
// [ErrNotificationUnauthenticated].
//
// What it risks: an unencrypted notification is not authenticated at all,
// so anyone who can reach the notification URL can send one, naming any
// order. The handler of [NotificationsService] still reads every charge back
// from the API and calls the function only with what the API says, so a
// forged notification cannot fake a payment; but it can make the handler
// query the API on every request it sends (load, and the API's rate limit)
// and run the function for real charges at times the sender chooses. Use
// it only where Justap's gateway is configured not to encrypt, and prefer
// [WithJustapPublicKey].
func AllowUnencryptedNotifications() NotificationOption {
	return func(c *notifyConfig) error {
		c.allowUnencrypted = true
		return nil
	}
}

// WithMaxNotificationBytes sets the largest body accepted (default
// [DefaultMaxNotificationBytes]). A larger body is refused with
// [ErrNotificationTooLarge]; the handler stops reading at the limit.
func WithMaxNotificationBytes(n int64) NotificationOption {
	return func(c *notifyConfig) error {
		if n <= 0 {
			return fmt.Errorf("justap: WithMaxNotificationBytes: %d is not positive", n)
		}
		c.maxBytes = n
		return nil
	}
}

// notificationEnvelope is the wire form of a notification's body.
type notificationEnvelope struct {
	Event       *string         `json:"event"`
	IsEncrypted bool            `json:"is_encrypted"`
	Data        json.RawMessage `json:"data"`
}

// ParseNotification decodes the body of a notification Justap posted and
// authenticates it as far as Justap's scheme allows: an encrypted
// notification must decrypt with a key of [WithJustapPublicKey]; an
// unencrypted one is refused unless [AllowUnencryptedNotifications] is set.
// Every refusal is a [*NotificationError].
//
// The result is a hint (see Notification): to act on a notification, read
// the charge from the API, or use the handler of [NotificationsService],
// which does.
func ParseNotification(body []byte, opts ...NotificationOption) (*Notification, error) {
	cfg, err := newNotifyConfig(opts)
	if err != nil {
		return nil, err
	}
	n, _, err := cfg.parse(body)
	return n, err
}

// parse decodes and authenticates a notification, and returns it with the
// SHA-256 of its object's bytes as authenticated.
func (cfg *notifyConfig) parse(body []byte) (*Notification, [sha256.Size]byte, error) {
	n, object, err := cfg.decode(body)
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	return n, sha256.Sum256(object), nil
}

func (cfg *notifyConfig) decode(body []byte) (*Notification, []byte, error) {
	if int64(len(body)) > cfg.maxBytes {
		return nil, nil, notificationErr(ErrNotificationTooLarge, "the body has %d bytes; the limit is %d (WithMaxNotificationBytes)",
			len(body), cfg.maxBytes)
	}
	var env notificationEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, notificationErr(ErrNotificationMalformed, "the body is not a JSON object of event, is_encrypted and data (%s)",
			describeJSONError(err))
	}
	if err := checkKeys("the body", body, envelopeFields); err != nil {
		return nil, nil, err
	}
	switch {
	case env.Event == nil || *env.Event == "":
		return nil, nil, notificationErr(ErrNotificationMalformed, `the body has no "event"`)
	case len(env.Data) == 0 || string(env.Data) == "null":
		return nil, nil, notificationErr(ErrNotificationMalformed, `the body has no "data"`)
	}
	object := []byte(env.Data)
	if env.IsEncrypted {
		var text string
		if json.Unmarshal(env.Data, &text) != nil {
			return nil, nil, notificationErr(ErrNotificationMalformed, `"data" of an encrypted notification must be a string of base64`)
		}
		if len(cfg.keys) == 0 {
			return nil, nil, notificationErr(ErrNotificationUnauthenticated,
				"the notification is encrypted and no Justap public key is configured (use WithJustapPublicKey)")
		}
		ct, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, nil, notificationErr(ErrNotificationMalformed, `"data" is not valid base64`)
		}
		if object, err = publicDecrypt(cfg.keys, ct); err != nil {
			return nil, nil, err
		}
	} else if !cfg.allowUnencrypted {
		return nil, nil, notificationErr(ErrNotificationUnauthenticated,
			"the notification is not encrypted, so nothing authenticates it; it is refused unless AllowUnencryptedNotifications is set")
	}
	n, err := decodeNotification(object)
	if err != nil {
		return nil, nil, err
	}
	n.Event, n.Encrypted = EventType(*env.Event), env.IsEncrypted
	if why := n.contradiction(); why != "" {
		return nil, nil, notificationErr(ErrNotificationUnauthenticated,
			"the envelope's event %q, which nothing authenticates, contradicts the authenticated object: %s; "+
				"refused as a forgery (a genuine notification relabelled)", clipText(string(n.Event), 64), why)
	}
	return n, object, nil
}

// contradiction says how the event of the envelope, which sits outside
// the encrypted data, contradicts the object's own fields, which are
// inside it; "" when it does not. A paid notification must say is_paid
// (and a trade_type of 2, Justap's TradeType_CHARGE_PAID, is charge.paid's
// alone), a refunded one is_refund or an amount refunded, a reversed one
// is_reversed, a closed one is_closed, and a charge event's object, when
// named, is a Charge.
func (n *Notification) contradiction() string {
	if !n.Event.IsCharge() {
		return ""
	}
	var d []string
	if n.Object != "" && !strings.EqualFold(n.Object, "Charge") {
		d = append(d, fmt.Sprintf("its object is %q, not a Charge", clipText(n.Object, 64)))
	}
	if n.TradeType == tradeTypeChargePaid && n.Event != EventChargePaid {
		d = append(d, "its trade_type is 2, a charge paid")
	}
	switch n.Event {
	case EventChargePaid:
		if !n.IsPaid {
			d = append(d, "is_paid is false")
		}
	case EventChargeRefunded:
		if !n.IsRefund && n.AmountRefund <= 0 {
			d = append(d, "is_refund is false and nothing is refunded")
		}
	case EventChargeReversed:
		if !n.IsReversed {
			d = append(d, "is_reversed is false")
		}
	case EventChargeClosed:
		if !n.IsClosed {
			d = append(d, "is_closed is false")
		}
	}
	return strings.Join(d, "; ")
}

// tradeTypeChargePaid is the trade_type of a paid charge's notification in
// Justap's own plugin (TradeType_CHARGE_PAID).
const tradeTypeChargePaid = "2"

// envelopeFields are the keys of a notification's envelope.
var envelopeFields = map[string]string{"event": "", "is_encrypted": "", "data": ""}

// checkKeys refuses a JSON object (what names it, for the error) that
// gives a key twice, or a key that differs only by case from one of known:
// encoding/json matches keys without regard to case and keeps the last of
// duplicates, while Justap's own PHP plugin and every case-sensitive
// reader keep another, so two readers of one notification would disagree
// on what it says. b has been decoded as an object already.
func checkKeys(what string, b []byte, known map[string]string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil // not an object: the decoder has refused it already
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		if seen[k] {
			return notificationErr(ErrNotificationMalformed, "%s gives the key %q twice, which readers resolve differently",
				what, clipText(k, 64))
		}
		seen[k] = true
		if _, ok := known[k]; !ok {
			for f := range known {
				if strings.EqualFold(f, k) {
					return notificationErr(ErrNotificationMalformed, "%s has the key %q, which differs from %q only by case; "+
						"readers resolve it differently", what, clipText(k, 64), f)
				}
			}
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return nil
}

// describeJSONError says what is wrong with a JSON text without quoting
// it: encoding/json's messages repeat the offending bytes.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		// Value is the JSON kind, then for a number its text: keep the kind.
		kind, _, _ := strings.Cut(typ.Value, " ")
		if typ.Field == "" {
			return fmt.Sprintf("a JSON %s where an object is expected", kind)
		}
		return fmt.Sprintf("%q cannot hold a JSON %s", typ.Field, kind)
	}
	return "invalid JSON"
}

// publicDecrypt undoes Justap's encryption with the first key under which
// every block decrypts: ct is a sequence of blocks of the key's size, each
// RSA "public decrypted" (c^e mod n) and stripped of its PKCS#1 v1.5
// type-1 padding.
func publicDecrypt(keys []*rsa.PublicKey, ct []byte) ([]byte, error) {
	if len(ct) == 0 {
		return nil, notificationErr(ErrNotificationMalformed, `"data" is empty`)
	}
	sized := false
	for _, k := range keys {
		size := k.Size()
		if len(ct)%size != 0 {
			continue
		}
		sized = true
		out := make([]byte, 0, len(ct))
		ok := true
		for i := 0; i < len(ct) && ok; i += size {
			out, ok = decryptBlock(k, ct[i:i+size], out)
		}
		if ok {
			return out, nil
		}
	}
	if !sized {
		return nil, notificationErr(ErrNotificationUnauthenticated,
			"the encrypted data has %d bytes, not a whole number of blocks of any configured key's size", len(ct))
	}
	return nil, notificationErr(ErrNotificationUnauthenticated,
		"a block does not decrypt with any configured Justap public key (altered, or another key: check WithJustapPublicKey)")
}

// minPadding is the least number of 0xFF bytes PKCS#1 v1.5 allows in a
// type-1 padding string.
const minPadding = 8

// decryptBlock appends the message of one block to out, and reports
// whether the block was well formed: a number below the modulus whose
// public decryption reads 00 01 FF…FF 00 message, with at least eight FF.
func decryptBlock(k *rsa.PublicKey, block, out []byte) ([]byte, bool) {
	c := new(big.Int).SetBytes(block)
	if c.Cmp(k.N) >= 0 {
		return out, false
	}
	em := new(big.Int).Exp(c, big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, len(block)))
	if em[0] != 0 || em[1] != 1 {
		return out, false
	}
	i := 2
	for i < len(em) && em[i] == 0xFF {
		i++
	}
	if i == len(em) || em[i] != 0 || i-2 < minPadding {
		return out, false
	}
	return append(out, em[i+1:]...), true
}

// notificationWire is the notification object as Justap writes it. Its
// texts are read from numbers too (charge_no is a uint64, trade_type and
// charge_status are numbers in some gateways), keeping the number's text.
type notificationWire struct {
	Object          wechatText      `json:"object"`
	TradeType       wechatText      `json:"trade_type"`
	NotifyID        wechatText      `json:"notify_id"`
	NotifyTime      wireTime        `json:"notify_time"`
	ChargeNo        wechatText      `json:"charge_no"`
	AppID           wechatText      `json:"app_id"`
	AppMode         wechatText      `json:"app_mode"`
	Channel         wechatText      `json:"channel"`
	MerchantTradeID wechatText      `json:"merchant_trade_id"`
	AmountTotal     Amount          `json:"amount_total"`
	AmountSettle    Amount          `json:"amount_settle"`
	AmountRefund    Amount          `json:"amount_refund"`
	AmountFee       Amount          `json:"amount_fee"`
	AmountRoyalty   Amount          `json:"amount_royalty"`
	AmountInvoice   Amount          `json:"amount_invoice"`
	Currency        wechatText      `json:"currency"`
	ChargeStatus    wechatText      `json:"charge_status"`
	IsRoyalty       bool            `json:"is_royalty"`
	IsRefund        bool            `json:"is_refund"`
	IsPaid          bool            `json:"is_paid"`
	IsReversed      bool            `json:"is_reversed"`
	IsClosed        bool            `json:"is_closed"`
	IsCompleted     bool            `json:"is_completed"`
	IsFinished      bool            `json:"is_finished"`
	Subject         wechatText      `json:"subject"`
	Data            json.RawMessage `json:"data"`
}

// notificationFields maps each key of notificationWire to what it holds,
// for errors; the object's other keys go to Notification.Other.
var notificationFields = func() map[string]string {
	want := map[reflect.Type]string{
		reflect.TypeFor[wechatText]():      "text or a number",
		reflect.TypeFor[wireTime]():        "a time (RFC 3339 or Unix seconds)",
		reflect.TypeFor[Amount]():          "an amount of yuan, exact to the fen",
		reflect.TypeFor[bool]():            "true or false",
		reflect.TypeFor[json.RawMessage](): "JSON",
	}
	t := reflect.TypeFor[notificationWire]()
	fields := make(map[string]string, t.NumField())
	for i := range t.NumField() {
		fields[t.Field(i).Tag.Get("json")] = want[t.Field(i).Type]
	}
	return fields
}()

// notification converts the wire form.
func (w *notificationWire) notification() *Notification {
	n := &Notification{
		Object:          string(w.Object),
		TradeType:       string(w.TradeType),
		NotifyID:        string(w.NotifyID),
		NotifyTime:      w.NotifyTime.t,
		ChargeNo:        string(w.ChargeNo),
		AppID:           string(w.AppID),
		AppMode:         string(w.AppMode),
		Channel:         Channel(w.Channel),
		MerchantTradeID: string(w.MerchantTradeID),
		AmountTotal:     w.AmountTotal,
		AmountSettle:    w.AmountSettle,
		AmountRefund:    w.AmountRefund,
		AmountFee:       w.AmountFee,
		AmountRoyalty:   w.AmountRoyalty,
		AmountInvoice:   w.AmountInvoice,
		Currency:        string(w.Currency),
		ChargeStatus:    string(w.ChargeStatus),
		IsRoyalty:       w.IsRoyalty,
		IsRefund:        w.IsRefund,
		IsPaid:          w.IsPaid,
		IsReversed:      w.IsReversed,
		IsClosed:        w.IsClosed,
		IsCompleted:     w.IsCompleted,
		IsFinished:      w.IsFinished,
		Subject:         string(w.Subject),
	}
	if string(w.Data) != "null" {
		n.Data = w.Data
	}
	return n
}

// decodeNotification decodes the notification object: the known keys
// through notificationWire, every other key kept raw in Other. An error
// names the field and never quotes its value.
func decodeNotification(b []byte) (*Notification, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, notificationErr(ErrNotificationMalformed, "the notification object is not a JSON object (%s)", describeJSONError(err))
	}
	if err := checkKeys("the notification object", b, notificationFields); err != nil {
		return nil, err
	}
	var w notificationWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, notificationErr(ErrNotificationMalformed, "the notification object's %s", wrongField(err, all))
	}
	n := w.notification()
	for k := range all {
		if _, ok := notificationFields[k]; ok {
			delete(all, k)
		}
	}
	if len(all) > 0 {
		n.Other = all
	}
	return n, nil
}

// wrongField says which field of the object failed to decode with err,
// and what it must hold. encoding/json names the field when the value is
// of the wrong JSON kind; when a value's own decoder refused it (an amount,
// a time), it is the first key that fails alone.
func wrongField(err error, all map[string]json.RawMessage) string {
	is := func(k string) string { return fmt.Sprintf("%q is not %s", k, notificationFields[k]) }
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return is(typ.Field)
	}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		one, _ := json.Marshal(map[string]json.RawMessage{k: all[k]})
		if json.Unmarshal(one, new(notificationWire)) != nil {
			return is(k)
		}
	}
	return "key given twice has a first value of the wrong type"
}
