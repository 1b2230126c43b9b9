package justap_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"go.uber.org/goleak"
)

// TestConcurrentSharedClient runs 50 goroutines through one client, every
// operation mixed with per-call options, retried failures (a third of the
// requests fail once, with a 503 or a reset connection) and calls cancelled
// while the server hangs. Run it with -race; goleak checks that nothing
// outlives it.
func TestConcurrentSharedClient(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })

	rec := &recorder{level: slog.LevelDebug}
	c, mux, _ := setup(t, justap.WithMaxRetries(2), faultBackoff, justap.WithLogger(slog.New(rec)))

	var (
		mu       sync.Mutex
		seen     = map[string]int{} // request identity → attempts
		requests atomic.Int64
	)
	// flaky fails the first attempt of a third of the requests, chosen by
	// a hash of the request, so every call succeeds by its second attempt.
	flaky := func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		requests.Add(1)
		id := r.Method + " " + r.URL.String() + " " + string(body)
		mu.Lock()
		seen[id]++
		first := seen[id] == 1
		mu.Unlock()
		h := fnv.New32a()
		io.WriteString(h, id)
		switch sum := h.Sum32(); {
		case !first || sum%3 != 0:
			return false
		case sum%2 == 0:
			writeJSON(w, 503, `{"code":14,"message":"unavailable"}`)
		default:
			hangUp(t, w, true, "")
		}
		return true
	}
	chargeData := func(id, appID string) string {
		return fmt.Sprintf(`{"charge_id":%q,"app_id":%q,"amount":"19.99","channel":"AlipayQR"}`, id, appID)
	}
	charge := func(id, appID string) string { return `{"object":"Charge","data":` + chargeData(id, appID) + `}` }
	refund := func(id, chargeID string) string {
		return fmt.Sprintf(`{"object":"Refund","data":{"refund_id":%q,"charge_id":%q,"amount":1,"created":"1700000123"}}`, id, chargeID)
	}
	mux.HandleFunc("POST /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if flaky(w, r, b) {
			return
		}
		var p struct {
			MerchantTradeID string `json:"merchant_trade_id"`
			AppID           string `json:"app_id"`
		}
		json.Unmarshal(b, &p)
		writeJSON(w, 200, charge("ch_"+p.MerchantTradeID, p.AppID))
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "ch_hang" {
			waitDone(r)
			return
		}
		if !flaky(w, r, nil) {
			writeJSON(w, 200, charge(r.PathValue("id"), r.URL.Query().Get("app_id")))
		}
	})
	mux.HandleFunc("POST /transaction/v1/charges/{id}/reverse", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			writeJSON(w, 200, charge(r.PathValue("id"), r.URL.Query().Get("app_id")))
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			q := r.URL.Query()
			data := chargeData("ch_"+q.Get("merchant_trade_id"), q.Get("app_id"))
			writeJSON(w, 200, `{"object":"ChargeList","has_more":false,"data":[`+data+`]}`)
		}
	})
	mux.HandleFunc("POST /transaction/v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if flaky(w, r, b) {
			return
		}
		var p struct {
			ChargeID         string `json:"charge_id"`
			MerchantRefundID string `json:"merchant_refund_id"`
		}
		json.Unmarshal(b, &p)
		writeJSON(w, 200, refund("re_"+p.MerchantRefundID, p.ChargeID))
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds/{rid}", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			writeJSON(w, 200, refund(r.PathValue("rid"), r.PathValue("id")))
		}
	})
	mux.HandleFunc("GET /transaction/v1/charges/{id}/refunds", func(w http.ResponseWriter, r *http.Request) {
		if !flaky(w, r, nil) {
			writeJSON(w, 200, `{"object":"RefundList","has_more":false,"total":"1","data":[{"refund_id":"re_1","charge_id":"`+r.PathValue("id")+`"}]}`)
		}
	})

	const goroutines, rounds = 50, 3
	var calls atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := range rounds {
				fail := func(op string, err error) {
					t.Errorf("goroutine %d round %d: %s: %v", g, i, op, err)
				}
				key := fmt.Sprintf("g%d-r%d", g, i)
				app := testAppID
				var opts []justap.Option
				if (g+i)%2 == 0 {
					app = "app_" + key
					opts = append(opts, justap.WithAppID(app), justap.WithMaxRetries(3))
				}
				calls.Add(8)
				ch, err := c.Charges.Create(ctx, faultCreateParams(key), opts...)
				if err != nil {
					fail("Create", err)
				} else if ch.ID != "ch_"+key || ch.AppID != app || ch.Amount != 1999 {
					t.Errorf("Create: got %s in %s for %s, amount %v", ch.ID, ch.AppID, key, ch.Amount)
				}
				if ch, err := c.Charges.Get(ctx, "ch_"+key, opts...); err != nil {
					fail("Get", err)
				} else if ch.ID != "ch_"+key || ch.AppID != app {
					t.Errorf("Get: got %s in %s, want ch_%s in %s", ch.ID, ch.AppID, key, app)
				}
				if l, err := c.Charges.List(ctx, &justap.ChargeListParams{MerchantTradeID: key}, opts...); err != nil {
					fail("List", err)
				} else if len(l.Data) != 1 || l.Data[0].ID != "ch_"+key {
					t.Errorf("List: %+v", l)
				}
				if _, err := c.Charges.Reverse(ctx, "ch_"+key, opts...); err != nil {
					fail("Reverse", err)
				}
				re, err := c.Refunds.Create(ctx, &justap.RefundCreateParams{
					ChargeID: "ch_" + key, MerchantRefundID: key, Description: "returned", FullRefund: true,
				}, opts...)
				if err != nil {
					fail("Refunds.Create", err)
				} else if re.ID != "re_"+key || re.ChargeID != "ch_"+key || re.Amount != 100 {
					t.Errorf("Refunds.Create: %+v", re)
				}
				if re, err := c.Refunds.Get(ctx, "ch_"+key, "re_"+key, opts...); err != nil {
					fail("Refunds.Get", err)
				} else if re.ID != "re_"+key {
					t.Errorf("Refunds.Get: %+v", re)
				}
				if l, err := c.Refunds.List(ctx, "ch_"+key, nil, opts...); err != nil {
					fail("Refunds.List", err)
				} else if l.Total != 1 || len(l.Data) != 1 || l.Data[0].ChargeID != "ch_"+key {
					t.Errorf("Refunds.List: %+v", l)
				}
				// A call cancelled while the server hangs.
				hctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				_, err = c.Charges.Get(hctx, "ch_hang", opts...)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, justap.ErrNoResponse) {
					fail("Get(ch_hang)", err)
				}
			}
		}()
	}
	wg.Wait()

	mu.Lock()
	var failedOnce int
	for _, n := range seen {
		if n > 1 {
			failedOnce++
		}
	}
	distinct := len(seen)
	mu.Unlock()
	if want := goroutines * rounds * 7; distinct != want {
		t.Errorf("server saw %d distinct requests, want %d", distinct, want)
	}
	if failedOnce == 0 {
		t.Error("no request was retried; the test meant to retry a third of them")
	}
	// Every attempt that reached a handler but the hanging ones was logged.
	if got := int64(len(rec.records())); got < requests.Load() {
		t.Errorf("%d log records for %d requests", got, requests.Load())
	}
	t.Logf("%d calls, %d requests, %d retried", calls.Load(), requests.Load(), failedOnce)
}
