package justaptest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
)

// WithPublicKey makes the fake check every API request's signature with
// the merchant's RSA public key, as a Justap gateway does once the merchant
// has uploaded it: a request that is unsigned, altered, more than
// DefaultMaxClockSkew away from the wall clock, or a replay of an
// accepted one is refused with 401 (code 16), which the SDK reports as
// justap.ErrAuthentication. Point a client with justap.WithPrivateKey at
// the fake to test a signing set-up offline; load the key with
// justap.ParsePublicKeyPEM.
//
// Freshness is judged by the wall clock, not WithClock's: the SDK signs
// with the wall clock. Use WithVerifier for another clock or skew. Reset
// does not forget the nonces already seen.
//
// A nil or unusable key (below justap.MinSigningKeyBits) is an error:
// NewServer fails the test, NewHandler returns it.
func WithPublicKey(pub *rsa.PublicKey) Option {
	return func(o *options) error {
		v, err := NewVerifier(pub, nil)
		if err != nil {
			return fmt.Errorf("justaptest: WithPublicKey: %w", err)
		}
		o.verifier = v
		return nil
	}
}

// WithVerifier makes the fake check every API request's signature with v,
// as WithPublicKey does, for a verifier with its own clock, skew or nonce
// cache (see VerifierOptions). A nil v is an error, as for WithPublicKey.
func WithVerifier(v *Verifier) Option {
	return func(o *options) error {
		if v == nil {
			return errors.New("justaptest: WithVerifier: nil verifier")
		}
		o.verifier = v
		return nil
	}
}

// verifySignature checks the request's signature over the body as read,
// when the fake has a verifier.
func (h *Handler) verifySignature(r *http.Request, body []byte) *apiError {
	v := h.opts.verifier
	if v == nil {
		return nil
	}
	err := v.Verify(r.Header, body)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrReplayCacheFull):
		// The verifier cannot remember another nonce: not the client's
		// fault, and it may pass once older nonces expire.
		return errorf(codeUnavailable, "%v", err)
	}
	return errorf(codeUnauthenticated, "%v", err)
}
