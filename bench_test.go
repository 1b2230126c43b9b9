package justap_test

// Benchmarks of the SDK against what a merchant would write by hand with
// net/http and encoding/json. Each benchmark has an "impl=raw" and an
// "impl=sdk" sub-benchmark doing the same work against the same local
// server with the same payloads and the same *http.Client, so that
// benchstat -col /impl shows the SDK's cost over the raw floor. See
// BENCHMARKS.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

const (
	benchAPIKey  = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
	benchAppID   = "app_1Gqj58ynP0mHeX1q"
	perfPages    = 10  // pages of the list walked by BenchmarkChargeListAll
	perfPageSize = 100 // charges per page
)

// benchFen formats an amount of fen as the gateway writes yuan: a JSON
// number with at most two decimals and no trailing zeros ("12.3", "0.01").
func benchFen(fen int64) string {
	s := strconv.FormatInt(fen/100, 10)
	if c := fen % 100; c != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%02d", c), "0")
	}
	return s
}

// benchChargeJSON is charge number i as the gateway writes it: ids, money
// as yuan decimals, int64 timestamps as strings, RFC 3339 times, an extra
// with one channel, and metadata. The charges vary in channel (AlipayQR,
// WechatpayNative, WechatpayJSAPI), amount and state.
func benchChargeJSON(i int) string {
	amount := int64(990 + i*137%50000)
	fee := amount * 6 / 1000
	created := time.Date(2024, 11, 22, 6, 30, 0, 0, time.UTC).Add(-time.Duration(i) * 97 * time.Second)
	paid := i%4 != 3
	var extra, channel string
	switch i % 3 {
	case 0:
		channel = "AlipayQR"
		extra = fmt.Sprintf(`{"alipay_qr":{"qr_code":"https://qr.alipay.com/bax0%07d8nkfu3o2d0a6","qr_link":"https://img.justap.cn/qr/ch_%d.png"}}`, i, i)
	case 1:
		channel = "WechatpayNative"
		extra = fmt.Sprintf(`{"wechatpay_native":{"qr_code":"weixin://wxpay/bizpayurl?pr=Ab%07dCd","qr_link":"https://img.justap.cn/qr/ch_%d.png"}}`, i, i)
	default:
		channel = "WechatpayJSAPI"
		extra = fmt.Sprintf(`{"wechatpay_jsapi":{"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},`+
			`"jsapi_config":{"appId":"wx8888888888888888","timeStamp":"%d","nonceStr":"5K8264ILTKCH16CQ2502SI8ZNMTM67VS",`+
			`"package":"prepay_id=wx2017033010242291fcfe0db70013231072","signType":"RSA",`+
			`"paySign":"oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ/X+QBhcCYL21N7cHCTUxbQ+EAt6Uy+lwSN22f5YZvI45MLko8Pfso0jm46v5hqcVwrk6uddkGuT+Cdvu4WBqDzaDjnNa5UK3GfE1Wfl2gHxIIY5lLdUgWFts17D4WuolLLkiFZV+JSHMvH7eaLdT9N5GBovBwu5yYKUR7skR8Fu+LozcSqQixnlEZUfyE55feLOQTUYzLmR9pNtPbPsu6WVhbNHMS3Ss2+AehHvz+n64GDmXxbX++IOBvm2olHu3PsOUGRwhudhVf7UcGcunXt8cqNjKNqZLhLw4jq/xDg=="}}}`,
			created.Unix())
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"charge_id":"ch_L%020d","object":"Charge","app_id":%q,"merchant_trade_id":"order-2024-%08d",`,
		9000000-i, benchAppID, 100000+i)
	fmt.Fprintf(&b, `"channel":%q,"amount":%s,"amount_fee":%s,"amount_refund":0,"amount_royalty":0,"amount_settle":%s,`,
		channel, benchFen(amount), benchFen(fee), benchFen(amount-fee))
	fmt.Fprintf(&b, `"currency":"CNY","subject":"Order %d","body":"2 items: T-shirt (L), socks","client_ip":"203.0.113.%d",`,
		100000+i, i%250+1)
	fmt.Fprintf(&b, `"paid":%t,"refunded":false,"reversed":false,"closed":%t,"live_mode":true,`, paid, !paid)
	if paid {
		fmt.Fprintf(&b, `"transaction_no":"42000019%020d",`, 7700000+i)
	}
	fmt.Fprintf(&b, `"metadata":{"order_id":"%d","customer_id":"cus_%06d"},"ttl":7200,"extra":%s,`, 100000+i, i*7%1000000, extra)
	fmt.Fprintf(&b, `"created_at":%q,"time_expire":%q`,
		created.Format(time.RFC3339), created.Add(2*time.Hour).Format(time.RFC3339))
	if paid {
		p := created.Add(41 * time.Second)
		fmt.Fprintf(&b, `,"paid_at":%q,"paid_ts":"%d"`, p.Format(time.RFC3339), p.Unix())
	} else {
		c := created.Add(2 * time.Hour)
		fmt.Fprintf(&b, `,"closed_at":%q,"closed_ts":"%d","expired_ts":"%d"`, c.Format(time.RFC3339), c.Unix(), c.Unix())
	}
	b.WriteString("}")
	return b.String()
}

// benchChargeBody is the response to a create or get: charge 0 wrapped.
func benchChargeBody() []byte {
	return []byte(`{"object":"Charge","data":` + benchChargeJSON(0) + `}`)
}

// benchListPage is page p (0-based) of the charge list: perfPageSize
// charges, has_more on every page but the last.
func benchListPage(p int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"object":"ChargeList","data":[`)
	for i := 0; i < perfPageSize; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(benchChargeJSON(p*perfPageSize + i))
	}
	fmt.Fprintf(&b, `],"has_more":%t}`, p < perfPages-1)
	return b.Bytes()
}

// benchServer serves create, get and list from prepared bytes. The list is
// perfPages pages; starting_after names the last charge of a page.
func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	charge := benchChargeBody()
	pages := map[string][]byte{"": benchListPage(0)}
	for p := 1; p < perfPages; p++ {
		last := fmt.Sprintf("ch_L%020d", 9000000-(p*perfPageSize-1))
		pages[last] = benchListPage(p)
	}
	write := func(w http.ResponseWriter, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		write(w, charge)
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}", func(w http.ResponseWriter, r *http.Request) {
		write(w, charge)
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Query().Get("starting_after")]
		if !ok {
			http.Error(w, `{"code":5,"message":"no such charge"}`, http.StatusNotFound)
			return
		}
		write(w, page)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// benchSDK returns an SDK client on srv's own *http.Client (the one the raw
// side uses), with the default retry settings.
func benchSDK(b *testing.B, srv *httptest.Server) *justap.Client {
	b.Helper()
	c, err := justap.NewClient(benchAPIKey, justap.WithBaseURL(srv.URL), justap.WithAppID(benchAppID),
		justap.WithHTTPClient(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// What a merchant writes without the SDK: plain structs, float64 money.

type rawQRExtra struct {
	QRCode string `json:"qr_code,omitempty"`
	QRLink string `json:"qr_link,omitempty"`
}

type rawJSConfig struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

type rawExtra struct {
	AlipayQR        *rawQRExtra `json:"alipay_qr,omitempty"`
	WechatpayNative *rawQRExtra `json:"wechatpay_native,omitempty"`
	WechatpayJSAPI  *struct {
		Payer *struct {
			OpenID string `json:"openid"`
		} `json:"payer,omitempty"`
		JSAPIConfig *rawJSConfig `json:"jsapi_config,omitempty"`
	} `json:"wechatpay_jsapi,omitempty"`
}

type rawCharge struct {
	ChargeID        string            `json:"charge_id"`
	Object          string            `json:"object"`
	AppID           string            `json:"app_id"`
	MerchantTradeID string            `json:"merchant_trade_id"`
	Channel         string            `json:"channel"`
	Amount          float64           `json:"amount"`
	AmountFee       float64           `json:"amount_fee"`
	AmountRefund    float64           `json:"amount_refund"`
	AmountRoyalty   float64           `json:"amount_royalty"`
	AmountSettle    float64           `json:"amount_settle"`
	Currency        string            `json:"currency"`
	Subject         string            `json:"subject"`
	Body            string            `json:"body"`
	Description     string            `json:"description"`
	ClientIP        string            `json:"client_ip"`
	Paid            bool              `json:"paid"`
	Refunded        bool              `json:"refunded"`
	Reversed        bool              `json:"reversed"`
	Closed          bool              `json:"closed"`
	LiveMode        bool              `json:"live_mode"`
	TransactionNo   string            `json:"transaction_no"`
	FailureCode     string            `json:"failure_code"`
	FailureMsg      string            `json:"failure_msg"`
	Metadata        map[string]string `json:"metadata"`
	TTL             int64             `json:"ttl"`
	Extra           *rawExtra         `json:"extra"`
	CreatedAt       time.Time         `json:"created_at"`
	PaidAt          time.Time         `json:"paid_at"`
	ClosedAt        time.Time         `json:"closed_at"`
	ReversedAt      time.Time         `json:"reversed_at"`
	TimeExpire      time.Time         `json:"time_expire"`
	PaidTS          int64             `json:"paid_ts,string"`
	ClosedTS        int64             `json:"closed_ts,string"`
	ExpiredTS       int64             `json:"expired_ts,string"`
}

type rawChargeResponse struct {
	Object string     `json:"object"`
	Data   *rawCharge `json:"data"`
}

type rawChargeList struct {
	Object  string       `json:"object"`
	Data    []*rawCharge `json:"data"`
	HasMore bool         `json:"has_more"`
}

type rawCreateCharge struct {
	AppID           string            `json:"app_id"`
	MerchantTradeID string            `json:"merchant_trade_id"`
	Amount          float64           `json:"amount"`
	Channel         string            `json:"channel"`
	Subject         string            `json:"subject"`
	Body            string            `json:"body"`
	ClientIP        string            `json:"client_ip"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	NotifyURL       string            `json:"notify_url,omitempty"`
}

// rawCall is the merchant's request helper: build, send, check the status,
// read and decode.
func rawCall(ctx context.Context, hc *http.Client, method, target string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Justap-Api-Key", benchAPIKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("justap: HTTP %d: %s", resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// The create request, both ways.
var (
	benchCreateParams = &justap.ChargeCreateParams{
		MerchantTradeID: "order-2024-00100000",
		Amount:          justap.Amount(9900),
		Channel:         justap.ChannelAlipayQR,
		Subject:         "Order 100000",
		Body:            "2 items: T-shirt (L), socks",
		ClientIP:        "203.0.113.1",
		Metadata:        map[string]string{"order_id": "100000", "customer_id": "cus_000000"},
		NotifyURL:       "https://shop.example.com/justap/notify",
	}
	benchRawCreate = &rawCreateCharge{
		AppID:           benchAppID,
		MerchantTradeID: "order-2024-00100000",
		Amount:          99.00,
		Channel:         "AlipayQR",
		Subject:         "Order 100000",
		Body:            "2 items: T-shirt (L), socks",
		ClientIP:        "203.0.113.1",
		Metadata:        map[string]string{"order_id": "100000", "customer_id": "cus_000000"},
		NotifyURL:       "https://shop.example.com/justap/notify",
	}
)

// checkSame fails unless the SDK and the raw decoding agree on a charge.
func checkSame(b *testing.B, sdk *justap.Charge, raw *rawCharge) {
	b.Helper()
	if sdk.ID != raw.ChargeID || sdk.ID == "" || sdk.Amount.String() != fmt.Sprintf("%.2f", raw.Amount) ||
		!sdk.CreatedAt.Equal(raw.CreatedAt) || !sdk.PaidAt.Equal(raw.PaidAt) || sdk.Paid != raw.Paid {
		b.Fatalf("sdk and raw disagree:\nsdk %+v\nraw %+v", sdk, raw)
	}
}

// benchCallPair checks that one sdk call and one raw call decode the same
// charge, then times each in its own sub-benchmark, raw first (the
// baseline benchstat compares with).
func benchCallPair(b *testing.B, sdk func() (*justap.Charge, error), raw func() (*rawCharge, error)) {
	sc, err1 := sdk()
	rc, err2 := raw()
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	checkSame(b, sc, rc)
	run := func(name string, call func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("impl=raw", func() error { _, err := raw(); return err })
	run("impl=sdk", func() error { _, err := sdk(); return err })
}

func BenchmarkChargeCreate(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	c := benchSDK(b, srv)
	hc := srv.Client()
	target := srv.URL + "/transaction/v1/charges"
	benchCallPair(b,
		func() (*justap.Charge, error) { return c.Charges.Create(ctx, benchCreateParams) },
		func() (*rawCharge, error) {
			var res rawChargeResponse
			err := rawCall(ctx, hc, http.MethodPost, target, benchRawCreate, &res)
			return res.Data, err
		})
}

func BenchmarkChargeGet(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	c := benchSDK(b, srv)
	hc := srv.Client()
	const id = "ch_L00000000000009000000"
	benchCallPair(b,
		func() (*justap.Charge, error) { return c.Charges.Get(ctx, id) },
		func() (*rawCharge, error) {
			var res rawChargeResponse
			target := srv.URL + "/transaction/v1/charges/" + url.PathEscape(id) + "?app_id=" + url.QueryEscape(benchAppID)
			err := rawCall(ctx, hc, http.MethodGet, target, nil, &res)
			return res.Data, err
		})
}

// BenchmarkChargeListAll walks all perfPages×perfPageSize charges, page
// by page, newest first.
func BenchmarkChargeListAll(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	c := benchSDK(b, srv)
	hc := srv.Client()
	const total = perfPages * perfPageSize

	sdkWalk := func() (n int, sum justap.Amount, err error) {
		for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{Limit: perfPageSize}) {
			if err != nil {
				return n, sum, err
			}
			n++
			sum += ch.Amount
		}
		return n, sum, nil
	}
	rawWalk := func() (n int, sum float64, err error) {
		after := ""
		for {
			q := url.Values{"app_id": {benchAppID}, "limit": {strconv.Itoa(perfPageSize)}}
			if after != "" {
				q.Set("starting_after", after)
			}
			var l rawChargeList
			if err := rawCall(ctx, hc, http.MethodGet, srv.URL+"/transaction/v1/charges?"+q.Encode(), nil, &l); err != nil {
				return n, sum, err
			}
			for _, ch := range l.Data {
				n++
				sum += ch.Amount
			}
			if !l.HasMore || len(l.Data) == 0 {
				return n, sum, nil
			}
			after = l.Data[len(l.Data)-1].ChargeID
		}
	}
	n1, sum1, err1 := sdkWalk()
	n2, sum2, err2 := rawWalk()
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	if n1 != total || n2 != total || sum1.String() != fmt.Sprintf("%.2f", sum2) {
		b.Fatalf("sdk walked %d charges (%v), raw %d (%.2f); want %d each and the same sum", n1, sum1, n2, sum2, total)
	}

	b.Run("impl=raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := rawWalk(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := sdkWalk(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// rawKeepExtraCharge is a floor charge that also keeps its extra as it
// came, as a hand-written client must to keep what its structs do not
// name (the SDK's ChargeExtra.Raw).
type rawKeepExtraCharge struct {
	rawCharge
	Extra json.RawMessage `json:"extra"` // shadows rawCharge.Extra
}

// decodeKeepExtra decodes a page as a hand-written client that keeps each
// extra raw and decodes its typed entries from it would.
func decodeKeepExtra(page []byte) ([]*rawKeepExtraCharge, error) {
	var l struct {
		Object  string                `json:"object"`
		Data    []*rawKeepExtraCharge `json:"data"`
		HasMore bool                  `json:"has_more"`
	}
	if err := json.Unmarshal(page, &l); err != nil {
		return nil, err
	}
	for _, ch := range l.Data {
		if len(ch.Extra) > 0 {
			ch.rawCharge.Extra = new(rawExtra)
			if err := json.Unmarshal(ch.Extra, ch.rawCharge.Extra); err != nil {
				return nil, err
			}
		}
	}
	return l.Data, nil
}

// BenchmarkDecodeChargeList decodes one page of perfPageSize charges from
// bytes, without the network: "raw" into the plain structs above (the
// floor), "raw-keepextra" as the floor but keeping each extra raw too and
// decoding its typed entries from it (what the SDK's Raw promise costs a
// hand-written client), "sdk" as the client decodes a response body, "sdk-unmarshal" with
// json.Unmarshal into a ChargeList, as a user decoding a stored body would.
func BenchmarkDecodeChargeList(b *testing.B) {
	page := benchListPage(0)
	var rl rawChargeList
	if err := json.Unmarshal(page, &rl); err != nil {
		b.Fatal(err)
	}
	sl, err := justap.DecodeChargeList(page)
	if err != nil {
		b.Fatal(err)
	}
	var ul justap.ChargeList
	if err := json.Unmarshal(page, &ul); err != nil {
		b.Fatal(err)
	}
	if len(sl.Data) != perfPageSize || len(ul.Data) != perfPageSize || len(rl.Data) != perfPageSize {
		b.Fatalf("decoded %d, %d and %d charges, want %d", len(sl.Data), len(ul.Data), len(rl.Data), perfPageSize)
	}
	kl, err := decodeKeepExtra(page)
	if err != nil || len(kl) != perfPageSize {
		b.Fatalf("keep-extra floor: %d charges, %v", len(kl), err)
	}
	for i := range sl.Data {
		checkSame(b, sl.Data[i], rl.Data[i])
		checkSame(b, ul.Data[i], rl.Data[i])
		checkSame(b, sl.Data[i], &kl[i].rawCharge)
		if kl[i].rawCharge.Extra == nil || string(kl[i].Extra) != string(sl.Data[i].Extra.Raw) {
			b.Fatalf("charge %d: keep-extra floor extra %s, sdk Raw %s", i, kl[i].Extra, sl.Data[i].Extra.Raw)
		}
	}

	run := func(name string, decode func() error) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if err := decode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("impl=raw", func() error { var l rawChargeList; return json.Unmarshal(page, &l) })
	run("impl=raw-keepextra", func() error { _, err := decodeKeepExtra(page); return err })
	run("impl=sdk", func() error { _, err := justap.DecodeChargeList(page); return err })
	run("impl=sdk-unmarshal", func() error { var l justap.ChargeList; return json.Unmarshal(page, &l) })
}
