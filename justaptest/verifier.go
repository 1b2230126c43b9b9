package justaptest

import (
	"container/heap"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/justap-go/justap"
)

// Errors of Verifier.Verify, for errors.Is. Each is wrapped with the detail
// of what failed.
var (
	// ErrSignatureMissing: a signature header is absent.
	ErrSignatureMissing = errors.New("justaptest: the request is not signed")
	// ErrSignatureInvalid: a signature header is malformed, the body hash
	// does not match the body, time and nonce received, or the signature
	// does not verify with the public key.
	ErrSignatureInvalid = errors.New("justaptest: the request signature is invalid")
	// ErrRequestStale: the request time is further from the verifier's
	// clock than the allowed skew.
	ErrRequestStale = errors.New("justaptest: the request time is outside the allowed clock skew")
	// ErrRequestReplayed: the nonce was already used by a request the
	// verifier accepted.
	ErrRequestReplayed = errors.New("justaptest: the request nonce was already used (replay)")
	// ErrReplayCacheFull: the verifier remembers VerifierOptions.MaxNonces
	// nonces that are still within the clock skew and cannot take another
	// one without opening a window for replays, so it refuses the request.
	ErrReplayCacheFull = errors.New("justaptest: the verifier's nonce cache is full")
)

// Defaults of VerifierOptions.
const (
	DefaultMaxClockSkew = 5 * time.Minute
	DefaultMaxNonces    = 100_000
)

// nonceLen is the length of a nonce: 32 characters from [A-Za-z0-9].
const nonceLen = 32

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
	// Now is the verifier's clock (default time.Now). The verifier never
	// lets its notion of now go back: a reading earlier than one already
	// used counts as that one, so a clock stepped back cannot revive a
	// forgotten nonce.
	Now func() time.Time
}

// Verifier checks the signature of requests signed as
// [justap.WithPrivateKey] signs them, the way a Justap gateway does; the
// fake uses one with WithPublicKey or WithVerifier. It refuses requests
// that are unsigned, whose body, time, nonce or signature was altered,
// whose time is outside the clock skew, or whose nonce it has accepted
// before.
//
// What Justap's scheme signs is the body, the time and the nonce; it does
// not cover the method, the path, the query or the API key. A signed GET
// therefore proves who sent it and when, not which resource it named.
//
// A Verifier is safe for concurrent use; share one per public key so that
// replays are seen. The freshness check and the nonce record are one
// atomic step against one clock reading that never goes back.
type Verifier struct {
	pub  *rsa.PublicKey
	skew time.Duration
	now  func() time.Time

	mu    sync.Mutex // guards last and seen: the decision and the record are one step
	last  time.Time  // the latest clock reading used
	seen  map[string]time.Time
	queue nonceHeap // the nonces of seen, soonest expiry first
	max   int
}

// NewVerifier returns a Verifier for the merchant's public key (load it with
// [justap.ParsePublicKeyPEM]). opts may be nil.
func NewVerifier(pub *rsa.PublicKey, opts *VerifierOptions) (*Verifier, error) {
	const fn = "justaptest: NewVerifier: "
	switch {
	case pub == nil || pub.N == nil:
		return nil, errors.New(fn + "the public key is nil")
	case pub.N.BitLen() < justap.MinSigningKeyBits:
		return nil, fmt.Errorf(fn+"the key has %d bits; at least %d are required", pub.N.BitLen(), justap.MinSigningKeyBits)
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
		seen: make(map[string]time.Time),
		max:  o.MaxNonces,
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
	for i, name := range [...]string{justap.HeaderSignature, justap.HeaderRequestTime, justap.HeaderNonce, justap.HeaderBodyHash} {
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
		return fmt.Errorf("%w: %s must be %d characters from A-Z, a-z and 0-9", ErrSignatureInvalid, justap.HeaderNonce, nonceLen)
	}
	sec, ok := parseUnixSeconds(ts)
	if !ok {
		return fmt.Errorf("%w: %s must be Unix seconds in decimal digits", ErrSignatureInvalid, justap.HeaderRequestTime)
	}
	want := bodyHash(body, ts, nonce)
	if subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 {
		return fmt.Errorf("%w: %s does not match the body, time and nonce received "+
			"(the body was altered, or the hash was not computed over the exact bytes sent)", ErrSignatureInvalid, justap.HeaderBodyHash)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sigText)
	if err != nil {
		return fmt.Errorf("%w: %s is not standard padded base64", ErrSignatureInvalid, justap.HeaderSignature)
	}
	digest := sha256.Sum256([]byte(hash + nonce))
	if rsa.VerifyPKCS1v15(v.pub, crypto.SHA256, digest[:], sig) != nil {
		return fmt.Errorf("%w: %s does not verify with the public key "+
			"(a different key signed it, or the hash or nonce was altered)", ErrSignatureInvalid, justap.HeaderSignature)
	}
	// Only a request that verified may claim its nonce: otherwise anyone
	// could burn nonces or fill the cache.
	return v.claim(nonce, ts, time.Unix(sec, 0))
}

// claim judges the request's freshness and records its nonce in one step,
// under v.mu, against one reading of the clock that is never earlier than
// a reading already used. A nonce is forgotten only once now is past its
// request time plus the skew, and now never goes back, so a forgotten
// nonce can only come back stale.
func (v *Verifier) claim(nonce, ts string, sent time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if now.Before(v.last) {
		now = v.last
	}
	v.last = now
	if d := now.Sub(sent); d > v.skew || d < -v.skew {
		return fmt.Errorf("%w: the request time %s is %v away from the verifier's clock (allowed: %v)",
			ErrRequestStale, ts, d.Truncate(time.Second), v.skew)
	}
	for len(v.queue) > 0 && now.After(v.queue[0].expires) {
		e := heap.Pop(&v.queue).(nonceEntry)
		delete(v.seen, e.nonce)
	}
	if _, ok := v.seen[nonce]; ok {
		return fmt.Errorf("%w: nonce %s", ErrRequestReplayed, nonce)
	}
	if len(v.seen) >= v.max {
		return fmt.Errorf("%w: %d nonces within the clock skew (raise VerifierOptions.MaxNonces)", ErrReplayCacheFull, v.max)
	}
	expires := sent.Add(v.skew)
	v.seen[nonce] = expires
	heap.Push(&v.queue, nonceEntry{nonce: nonce, expires: expires})
	return nil
}

// bodyHash is the lowercase hex MD5 of body + ts + nonce, written here
// again rather than shared with the signer, so that a mistake on one side
// shows.
func bodyHash(body []byte, ts, nonce string) string {
	m := md5.New()
	m.Write(body)
	m.Write([]byte(ts))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
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
