package justap

import (
	"container/heap"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of a signed request. Go's http.Header holds them under these
// canonical spellings.
const (
	HeaderSignature   = "X-Justap-Signature"    // base64 RSA signature of body hash + nonce
	HeaderRequestTime = "X-Justap-Request-Time" // Unix seconds, decimal
	HeaderNonce       = "X-Justap-Nonce"        // 32 characters from A-Z, a-z, 0-9
	HeaderBodyHash    = "X-Justap-Body-Hash"    // lowercase hex MD5 of body + time + nonce
)

// MinSigningKeyBits is the smallest RSA key, in bits, that WithPrivateKey
// and NewVerifier accept. Keys below 2048 bits are no longer considered safe
// (NIST SP 800-131A); Justap does not state a minimum of its own.
const MinSigningKeyBits = 2048

// nonceLen and nonceAlphabet define a nonce: 32 characters from [A-Za-z0-9].
const (
	nonceLen      = 32
	nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// WithPrivateKey signs every request with the merchant's RSA private key,
// for gateways where the merchant has uploaded the matching public key.
//
// Each attempt, retries included, gets a fresh nonce and time and carries
// the headers HeaderSignature, HeaderRequestTime, HeaderNonce and
// HeaderBodyHash, computed over the exact body bytes sent (an empty body,
// as for a GET or Reverse, is hashed as no bytes). The recipe is Justap's:
//
//	bodyHash  = hex(MD5(body + time + nonce))
//	signature = base64(RSASSA-PKCS1-v1_5(SHA-256(bodyHash + nonce)))
//
// The key must be at least MinSigningKeyBits (2048) bits; a nil, smaller,
// incomplete or inconsistent key is an error. The key is copied (the
// caller's value is not modified) and never appears in errors, log records
// or the fmt output of the Client. Load a PEM file with ParsePrivateKeyPEM.
//
// Set it on the client: the key is checked and prepared each time the
// option is applied, which as a per-call option means on every call.
func WithPrivateKey(key *rsa.PrivateKey) Option {
	return func(c *config) error {
		k, err := checkPrivateKey(key)
		if err != nil {
			return err
		}
		s := &signer{key: k, now: time.Now, nonce: newNonce}
		c.sign = s.sign
		return nil
	}
}

// checkPrivateKey validates a signing key and returns a precomputed copy.
// Its errors say what is wrong in words and sizes, never in key numbers.
func checkPrivateKey(key *rsa.PrivateKey) (*rsa.PrivateKey, error) {
	const fn = "justap: WithPrivateKey: "
	switch {
	case key == nil:
		return nil, errors.New(fn + "the key is nil (load one with ParsePrivateKeyPEM)")
	case key.N == nil || key.D == nil || len(key.Primes) < 2:
		return nil, errors.New(fn + "the key is incomplete: it needs its modulus, private exponent and primes")
	case key.N.BitLen() < MinSigningKeyBits:
		return nil, fmt.Errorf(fn+"the key has %d bits; at least %d are required "+
			"(generate one with `openssl genrsa 2048` and upload its public key to Justap)",
			key.N.BitLen(), MinSigningKeyBits)
	}
	if key.Validate() != nil {
		return nil, errors.New(fn + "the key is not a valid RSA private key: its parts do not fit together")
	}
	k := *key // Precompute writes to the key: work on a copy
	k.Precompute()
	return &k, nil
}

// signer signs requests. now and nonce are fields so that tests can fix
// them; WithPrivateKey sets time.Now and newNonce.
type signer struct {
	key   *rsa.PrivateKey
	now   func() time.Time
	nonce func() (string, error)
}

// sign adds the signature headers to h for a request whose body is exactly
// body (nil or empty for none).
func (s *signer) sign(h http.Header, body []byte) error {
	nonce, err := s.nonce()
	if err != nil {
		return fmt.Errorf("cannot make a nonce: %w", err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	hash := bodyHash(body, ts, nonce)
	digest := signedDigest(hash, nonce)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		// crypto/rsa's errors describe sizes and states, never key numbers.
		return fmt.Errorf("RSA signing failed: %w", err)
	}
	h[HeaderSignature] = []string{base64.StdEncoding.EncodeToString(sig)}
	h[HeaderRequestTime] = []string{ts}
	h[HeaderNonce] = []string{nonce}
	h[HeaderBodyHash] = []string{hash}
	return nil
}

// bodyHash is the lowercase hex MD5 of body + ts + nonce.
func bodyHash(body []byte, ts, nonce string) string {
	m := md5.New()
	m.Write(body)
	m.Write([]byte(ts))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// signedDigest is the SHA-256 of what the signature covers: bodyHash + nonce.
func signedDigest(bodyHash, nonce string) [sha256.Size]byte {
	return sha256.Sum256([]byte(bodyHash + nonce))
}

// newNonce returns nonceLen characters drawn uniformly from nonceAlphabet
// with crypto/rand.
func newNonce() (string, error) { return nonceFrom(rand.Reader) }

// nonceFrom draws a nonce from the random bytes of r.
func nonceFrom(r io.Reader) (string, error) {
	// 248 = 4·62: bytes from 248 up are dropped so that every character is
	// equally likely (a plain b%62 would favour the first 8).
	const limit = 256 - 256%len(nonceAlphabet)
	var out [nonceLen]byte
	var buf [2 * nonceLen]byte
	for n := 0; n < nonceLen; {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[n] = nonceAlphabet[int(b)%len(nonceAlphabet)]
			if n++; n == nonceLen {
				break
			}
		}
	}
	return string(out[:]), nil
}

// ParsePrivateKeyPEM reads an RSA private key from PEM: PKCS#1
// ("BEGIN RSA PRIVATE KEY") or PKCS#8 ("BEGIN PRIVATE KEY"). Other blocks
// before the key, such as a certificate, are skipped. Encrypted keys, keys
// of other algorithms and malformed input are errors; an error never
// contains any of the input's bytes.
//
// The size is not checked here; WithPrivateKey checks it.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	const fn = "justap: ParsePrivateKeyPEM: "
	var skipped []string
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY", "PRIVATE KEY":
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New(fn + "the key is encrypted (ENCRYPTED PRIVATE KEY); decrypt it first, " +
				"for example with `openssl pkey -in encrypted.pem -out key.pem`")
		default:
			skipped = append(skipped, fmt.Sprintf("%.40q", b.Type))
			continue
		}
		if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") || b.Headers["DEK-Info"] != "" {
			return nil, errors.New(fn + "the key is encrypted (Proc-Type: ENCRYPTED); decrypt it first, " +
				"for example with `openssl rsa -in encrypted.pem -out key.pem`")
		}
		return parsePrivateKeyDER(fn, b.Type, b.Bytes)
	}
	if len(skipped) > 0 {
		return nil, errors.New(fn + "no private key found, only PEM blocks of type " + strings.Join(skipped, ", ") +
			`; want "RSA PRIVATE KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8)`)
	}
	return nil, errors.New(fn + "no PEM block found; want a file beginning -----BEGIN RSA PRIVATE KEY----- " +
		"or -----BEGIN PRIVATE KEY-----")
}

// parsePrivateKeyDER parses the DER of a PEM block of the given type. A
// block labelled with the other format is accepted too, as some tools do
// that. The x509 errors are dropped, not wrapped: the message says enough
// and stays free of the input.
func parsePrivateKeyDER(fn, typ string, der []byte) (*rsa.PrivateKey, error) {
	var (
		k   any
		err error
	)
	if typ == "RSA PRIVATE KEY" {
		if k, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			k, err = x509.ParsePKCS8PrivateKey(der)
		}
	} else {
		if k, err = x509.ParsePKCS8PrivateKey(der); err != nil {
			k, err = x509.ParsePKCS1PrivateKey(der)
		}
	}
	if err != nil {
		return nil, fmt.Errorf(fn+"the %q block is not a valid PKCS#1 or PKCS#8 private key", typ)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf(fn+"the key is a %T, not an RSA key; Justap signatures need an RSA key", k)
	}
	return rk, nil
}

// ParsePublicKeyPEM reads an RSA public key from PEM: PKIX
// ("BEGIN PUBLIC KEY", what `openssl rsa -pubout` writes and what is
// uploaded to Justap) or PKCS#1 ("BEGIN RSA PUBLIC KEY"). Use it to build a
// Verifier.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	const fn = "justap: ParsePublicKeyPEM: "
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New(fn + "no PEM block of type \"PUBLIC KEY\" or \"RSA PUBLIC KEY\" found")
		}
		var (
			k   any
			err error
		)
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf(fn+"the %q block is not a valid public key", b.Type)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf(fn+"the key is a %T, not an RSA key", k)
		}
		return rk, nil
	}
}

// Errors of Verifier.Verify, for errors.Is. Each is wrapped with the detail
// of what failed.
var (
	// ErrSignatureMissing: a signature header is absent.
	ErrSignatureMissing = errors.New("justap: the request is not signed")
	// ErrSignatureInvalid: a signature header is malformed, the body hash
	// does not match the body, time and nonce received, or the signature
	// does not verify with the public key.
	ErrSignatureInvalid = errors.New("justap: the request signature is invalid")
	// ErrRequestStale: the request time is further from the verifier's
	// clock than the allowed skew.
	ErrRequestStale = errors.New("justap: the request time is outside the allowed clock skew")
	// ErrRequestReplayed: the nonce was already used by a request the
	// verifier accepted.
	ErrRequestReplayed = errors.New("justap: the request nonce was already used (replay)")
	// ErrReplayCacheFull: the verifier remembers VerifierOptions.MaxNonces
	// nonces that are still within the clock skew and cannot take another
	// one without opening a window for replays, so it refuses the request.
	ErrReplayCacheFull = errors.New("justap: the verifier's nonce cache is full")
)

// Defaults of VerifierOptions.
const (
	DefaultMaxClockSkew = 5 * time.Minute
	DefaultMaxNonces    = 100_000
)

// VerifierOptions tunes a Verifier. The zero value (or nil) gives the
// defaults.
type VerifierOptions struct {
	// MaxClockSkew is how far a request's time may be from the verifier's
	// clock, either way (default DefaultMaxClockSkew).
	MaxClockSkew time.Duration
	// MaxNonces bounds how many nonces are remembered to refuse replays
	// (default DefaultMaxNonces). A nonce is forgotten once its request
	// would be refused as stale anyway, so this bounds the accepted request
	// rate to MaxNonces per 2·MaxClockSkew; beyond it Verify fails with
	// ErrReplayCacheFull rather than risk accepting a replay.
	MaxNonces int
	// Now is the verifier's clock (default time.Now).
	Now func() time.Time
}

// Verifier checks the signature of requests signed as WithPrivateKey signs
// them, the way a Justap gateway does: a merchant can test a signing set-up
// offline (the justaptest fake server uses it). It refuses requests that
// are unsigned, whose body, time, nonce or signature was altered, whose time
// is outside the clock skew, or whose nonce it has accepted before.
//
// What Justap's scheme signs is the body, the time and the nonce; it does
// not cover the method, the path, the query or the API key. A signed GET
// therefore proves who sent it and when, not which resource it named:
// send requests over TLS.
//
// A Verifier is safe for concurrent use; share one per public key so that
// replays are seen.
type Verifier struct {
	pub  *rsa.PublicKey
	skew time.Duration
	now  func() time.Time
	seen *nonceCache
}

// NewVerifier returns a Verifier for the merchant's public key (load it with
// ParsePublicKeyPEM). opts may be nil.
func NewVerifier(pub *rsa.PublicKey, opts *VerifierOptions) (*Verifier, error) {
	const fn = "justap: NewVerifier: "
	switch {
	case pub == nil || pub.N == nil:
		return nil, errors.New(fn + "the public key is nil")
	case pub.N.BitLen() < MinSigningKeyBits:
		return nil, fmt.Errorf(fn+"the key has %d bits; at least %d are required", pub.N.BitLen(), MinSigningKeyBits)
	case pub.E < 3 || pub.E%2 == 0:
		return nil, errors.New(fn + "the public exponent is invalid")
	}
	var o VerifierOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxClockSkew < 0:
		return nil, fmt.Errorf(fn+"MaxClockSkew %v is negative", o.MaxClockSkew)
	case o.MaxClockSkew == 0:
		o.MaxClockSkew = DefaultMaxClockSkew
	}
	switch {
	case o.MaxNonces < 0:
		return nil, fmt.Errorf(fn+"MaxNonces %d is negative", o.MaxNonces)
	case o.MaxNonces == 0:
		o.MaxNonces = DefaultMaxNonces
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Verifier{
		pub:  pub,
		skew: o.MaxClockSkew,
		now:  o.Now,
		seen: &nonceCache{max: o.MaxNonces, expires: make(map[string]time.Time)},
	}, nil
}

// Verify checks the signature headers in h against body, the exact bytes
// of the request body (nil or empty for none), and on success records the
// nonce so that the same request is refused next time. The error matches
// one of ErrSignatureMissing, ErrSignatureInvalid, ErrRequestStale,
// ErrRequestReplayed or ErrReplayCacheFull with errors.Is.
//
// A server reads the body first (bounded), then calls Verify, then serves
// the request from the bytes it read.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	var vals [4]string
	for i, name := range [...]string{HeaderSignature, HeaderRequestTime, HeaderNonce, HeaderBodyHash} {
		switch vs := h.Values(name); len(vs) {
		case 0:
			return fmt.Errorf("%w: header %s is missing", ErrSignatureMissing, name)
		case 1:
			vals[i] = vs[0]
		default:
			return fmt.Errorf("%w: header %s appears %d times", ErrSignatureInvalid, name, len(vs))
		}
	}
	sigText, ts, nonce, hash := vals[0], vals[1], vals[2], vals[3]

	if !validNonce(nonce) {
		return fmt.Errorf("%w: %s must be %d characters from A-Z, a-z and 0-9", ErrSignatureInvalid, HeaderNonce, nonceLen)
	}
	sec, ok := parseUnixSeconds(ts)
	if !ok {
		return fmt.Errorf("%w: %s must be Unix seconds in decimal digits", ErrSignatureInvalid, HeaderRequestTime)
	}
	now := v.now()
	sent := time.Unix(sec, 0)
	if d := now.Sub(sent); d > v.skew || d < -v.skew {
		return fmt.Errorf("%w: the request time %s is %v away from the verifier's clock (allowed: %v)",
			ErrRequestStale, ts, d.Truncate(time.Second), v.skew)
	}
	want := bodyHash(body, ts, nonce)
	if subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 {
		return fmt.Errorf("%w: %s does not match the body, time and nonce received "+
			"(the body was altered, or the hash was not computed over the exact bytes sent)", ErrSignatureInvalid, HeaderBodyHash)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sigText)
	if err != nil {
		return fmt.Errorf("%w: %s is not standard padded base64", ErrSignatureInvalid, HeaderSignature)
	}
	digest := signedDigest(hash, nonce)
	if rsa.VerifyPKCS1v15(v.pub, crypto.SHA256, digest[:], sig) != nil {
		return fmt.Errorf("%w: %s does not verify with the public key "+
			"(a different key signed it, or the hash or nonce was altered)", ErrSignatureInvalid, HeaderSignature)
	}
	// Only a request that verified may claim its nonce: otherwise anyone
	// could burn nonces or fill the cache.
	return v.seen.add(nonce, sent.Add(v.skew), now)
}

func validNonce(s string) bool {
	if len(s) != nonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parseUnixSeconds reads decimal digits only (no sign, no spaces).
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// nonceCache remembers accepted nonces until their request would be stale,
// never more than max of them.
type nonceCache struct {
	mu      sync.Mutex
	max     int
	expires map[string]time.Time // nonce → when it may be forgotten
	queue   nonceHeap            // the same nonces, soonest expiry first
}

// add records nonce, to be forgotten after expires, or fails if it is
// already known or the cache is full. Expired nonces are dropped first.
func (c *nonceCache) add(nonce string, expires, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 && now.After(c.queue[0].expires) {
		e := heap.Pop(&c.queue).(nonceEntry)
		delete(c.expires, e.nonce)
	}
	if _, ok := c.expires[nonce]; ok {
		return fmt.Errorf("%w: nonce %s", ErrRequestReplayed, nonce)
	}
	if len(c.expires) >= c.max {
		return fmt.Errorf("%w: %d nonces within the clock skew (raise VerifierOptions.MaxNonces)", ErrReplayCacheFull, c.max)
	}
	c.expires[nonce] = expires
	heap.Push(&c.queue, nonceEntry{nonce: nonce, expires: expires})
	return nil
}

type nonceEntry struct {
	nonce   string
	expires time.Time
}

// nonceHeap is a min-heap of nonceEntry by expiry (container/heap).
type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nonceEntry{}
	*h = old[:len(old)-1]
	return e
}
