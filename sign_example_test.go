package justap_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// ExampleWithPrivateKey signs every request with the merchant's RSA key.
// A stand-in gateway checks each signature with a justaptest.Verifier, as a Justap
// gateway with the merchant's public key does.
func ExampleWithPrivateKey() {
	// The merchant's private key, PKCS#1 or PKCS#8 PEM. (This one is a test
	// key; keep a real one out of the source tree.)
	pemBytes, err := os.ReadFile("testdata/test-only-rsa2048-pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	key, err := justap.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		log.Fatal(err)
	}

	// The gateway side: the public key the merchant uploaded.
	pubPEM, err := os.ReadFile("testdata/test-only-rsa2048-public.pem")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := justap.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := justaptest.NewVerifier(pub, nil)
	if err != nil {
		log.Fatal(err)
	}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := verifier.Verify(r.Header, body); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"code":16,"message":%q}`, err)
			return
		}
		fmt.Println("gateway: signature verified:", r.Method, r.URL.Path)
		io.WriteString(w, `{"object":"Charge","data":{"charge_id":"ch_123","reversed":true}}`)
	}))
	defer gateway.Close()

	client, err := justap.NewClient("sk_test_example",
		justap.WithBaseURL(gateway.URL),
		justap.WithAppID("app_1"),
		justap.WithPrivateKey(key),
	)
	if err != nil {
		log.Fatal(err)
	}
	ch, err := client.Charges.Reverse(context.Background(), "ch_123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reversed:", ch.ID, ch.Reversed)
	// Output:
	// gateway: signature verified: POST /transaction/v1/charges/ch_123/reverse
	// reversed: ch_123 true
}
