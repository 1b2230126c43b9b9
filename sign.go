package justap

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
// accepts. Keys below 2048 bits are no longer considered safe
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
// uploaded to Justap) or PKCS#1 ("BEGIN RSA PUBLIC KEY"). A merchant needs
// it to load a public key it is given, such as Justap's own; the fake
// gateway in package justaptest takes the merchant's.
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
