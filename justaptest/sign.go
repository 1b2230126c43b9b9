package justaptest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"

	"github.com/justap-go/justap"
)

// WithPublicKey makes the fake check every API request's signature with
// the merchant's RSA public key, as a Justap gateway does once the merchant
// has uploaded it: a request that is unsigned, altered, more than
// justap.DefaultMaxClockSkew away from the wall clock, or a replay of an
// accepted one is refused with 401 (code 16), which the SDK reports as
// justap.ErrAuthentication. Point a client with justap.WithPrivateKey at
// the fake to test a signing set-up offline; load the key with
// justap.ParsePublicKeyPEM.
//
// Freshness is judged by the wall clock, not WithClock's: the SDK signs
// with the wall clock. Use WithVerifier for another clock or skew. Reset
// does not forget the nonces already seen.
//
// A nil or unusable key (below justap.MinSigningKeyBits) is a mistake in
// the test: NewServer fails the test, NewHandler panics.
func WithPublicKey(pub *rsa.PublicKey) Option {
	return func(o *options) {
		v, err := justap.NewVerifier(pub, nil)
		if err != nil {
			o.err = fmt.Errorf("justaptest: WithPublicKey: %w", err)
			return
		}
		o.verifier = v
	}
}

// WithVerifier makes the fake check every API request's signature with v,
// as WithPublicKey does, for a verifier with its own clock, skew or nonce
// cache (see justap.VerifierOptions). A nil v is a mistake in the test, as
// for WithPublicKey.
func WithVerifier(v *justap.Verifier) Option {
	return func(o *options) {
		if v == nil {
			o.err = errors.New("justaptest: WithVerifier: nil verifier")
			return
		}
		o.verifier = v
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
	case errors.Is(err, justap.ErrReplayCacheFull):
		// The verifier cannot remember another nonce: not the client's
		// fault, and it may pass once older nonces expire.
		return errorf(codeUnavailable, "%v", err)
	}
	return errorf(codeUnauthenticated, "%v", err)
}
