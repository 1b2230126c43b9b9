package justaptest_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// ExampleWithPublicKey tests a signing set-up offline: the fake checks
// every request's signature with the public key the merchant uploaded to
// Justap.
func ExampleWithPublicKey() {
	// The merchant's key pair (here the module's test-only key).
	privPEM, err := os.ReadFile("../testdata/test-only-rsa2048-pkcs8.pem")
	if err != nil {
		panic(err)
	}
	pubPEM, err := os.ReadFile("../testdata/test-only-rsa2048-public.pem")
	if err != nil {
		panic(err)
	}
	key, err := justap.ParsePrivateKeyPEM(privPEM)
	if err != nil {
		panic(err)
	}
	pub, err := justap.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		panic(err)
	}

	srv, err := justaptest.StartServer(justaptest.WithPublicKey(pub))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()

	signed, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()),
		justap.WithPrivateKey(key))
	if err != nil {
		panic(err)
	}
	ch, err := signed.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-2001", Amount: 1999, Channel: justap.ChannelAlipayQR,
		Subject: "T-shirt", Body: "One T-shirt, size M", ClientIP: "203.0.113.7",
	})
	fmt.Println("signed:", ch.ID, err)

	unsigned, err := justap.NewClient(srv.APIKey(), justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
	if err != nil {
		panic(err)
	}
	_, err = unsigned.Charges.Get(ctx, ch.ID)
	fmt.Println("unsigned refused:", errors.Is(err, justap.ErrAuthentication))
	// Output:
	// signed: ch_0000000001 <nil>
	// unsigned refused: true
}
