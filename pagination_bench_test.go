package justap_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/justap-go/justap"
)

// benchPageSize is the page size of the benchmarks, Justap's largest.
const benchPageSize = 100

// benchPages is how many distinct pages the benchmark server holds; longer
// walks serve them again in a cycle, so the server's memory does not grow
// with the walk.
const benchPages = 100

// benchCharges serves walks of a given length from pre-encoded pages of
// realistic charges, checking every cursor. One walk at a time.
type benchCharges struct {
	data    [][]byte // each page's "data" array, encoded
	lastIDs []string // the id of each page's last charge

	mu    sync.Mutex
	total int // charges per walk
	page  int // the next page of the current walk
}

func newBenchCharges() *benchCharges {
	s := &benchCharges{}
	for p := range benchPages {
		b := []byte{'['}
		for i := range benchPageSize {
			n := p*benchPageSize + i
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"charge_id":"ch_%08d","object":"Charge","app_id":"app_bench","merchant_trade_id":"order-%08d",`+
				`"channel":"AlipayQR","amount":"%d.%02d","amount_fee":"0.06","amount_refund":"0","amount_royalty":"0",`+
				`"amount_settle":"19.93","currency":"CNY","subject":"T-shirt","body":"One T-shirt, size M",`+
				`"description":"web order","client_ip":"203.0.113.7","paid":true,"refunded":false,"reversed":false,`+
				`"closed":false,"live_mode":false,"transaction_no":"2024010122001400000000%06d",`+
				`"metadata":{"order":"%d","shop":"main"},"extra":{"alipay_qr":{"qr_code":"https://qr.alipay.com/bax0000%06d"}},`+
				`"credential":{"@type":"type.googleapis.com/justap.Credential","alipay":"x"},"refunds":[],"ttl":"7200",`+
				`"created_at":"2024-01-01T08:00:00Z","paid_at":"2024-01-01T08:01:00Z","paid_ts":"1704096060",`+
				`"closed_at":"","closed_ts":"0","time_expire":"2024-01-01T10:00:00Z","expired_ts":"0"}`,
				n, n, 19+n%100, n%100, n, n, n)
			if i == benchPageSize-1 {
				s.lastIDs = append(s.lastIDs, fmt.Sprintf("ch_%08d", n))
			}
		}
		s.data = append(s.data, append(b, ']'))
	}
	return s
}

var (
	benchMore = []byte(`{"object":"ChargeList","has_more":true,"data":`)
	benchLast = []byte(`{"object":"ChargeList","has_more":false,"data":`)
	benchEnd  = []byte(`}`)
)

func (s *benchCharges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cursor := r.URL.Query().Get("starting_after")
	if cursor == "" {
		s.page = 0
	}
	k := s.page
	s.page++
	ok := k == 0 || cursor == s.lastIDs[(k-1)%benchPages]
	more := (k+1)*benchPageSize < s.total
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unexpected cursor "+cursor, http.StatusInternalServerError)
		return
	}
	head, data := benchMore, s.data[k%benchPages]
	if !more {
		head = benchLast
	}
	w.Header()["Content-Type"] = []string{"application/json"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(head) + len(data) + len(benchEnd))}
	w.Write(head)
	w.Write(data)
	w.Write(benchEnd)
}

// walkAll walks every charge the server holds and returns how many it saw.
func walkAll(b *testing.B, c *justap.Client, perPage func()) int {
	n := 0
	for ch, err := range c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: benchPageSize}) {
		if err != nil {
			b.Fatal(err)
		}
		if ch.ID == "" {
			b.Fatal("charge without an id")
		}
		if n++; perPage != nil && n%benchPageSize == 0 {
			perPage()
		}
	}
	return n
}

// BenchmarkChargesAll walks 10,000 charges (100 pages of 100) from a local
// server; B/op is everything allocated in the process for one walk, the
// server's side included.
func BenchmarkChargesAll(b *testing.B) {
	benchmarkChargesAll(b, 10_000)
}

// BenchmarkChargesAllLength walks lists of several lengths: allocation per
// charge stays the same, as it should when a walk is only a loop of pages.
func BenchmarkChargesAllLength(b *testing.B) {
	for _, total := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("charges=%d", total), func(b *testing.B) { benchmarkChargesAll(b, total) })
	}
}

func benchmarkChargesAll(b *testing.B, total int) {
	c, mux, _ := setup(b)
	srv := newBenchCharges()
	srv.total = total
	mux.Handle(chargesPattern, srv)
	walkAll(b, c, nil) // warm the connection up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if n := walkAll(b, c, nil); n != total {
			b.Fatalf("walked %d charges, want %d", n, total)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*total), "B/charge")
}

// BenchmarkChargesAllLiveHeap measures the memory a walk holds: after each
// page it collects garbage and reads the live heap, and reports the most it
// rose above the live heap before the walk (peak-live-B). That peak is about
// one decoded page whatever the walk's length. Run it with -benchtime=1x:
// the collections make its time meaningless.
func BenchmarkChargesAllLiveHeap(b *testing.B) {
	for _, total := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("charges=%d", total), func(b *testing.B) {
			c, mux, _ := setup(b)
			srv := newBenchCharges()
			srv.total = total
			mux.Handle(chargesPattern, srv)
			walkAll(b, c, nil)
			var peak uint64
			var m runtime.MemStats
			for range b.N {
				runtime.GC()
				runtime.ReadMemStats(&m)
				base := m.HeapAlloc
				walkAll(b, c, func() {
					runtime.GC()
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > base {
						peak = max(peak, m.HeapAlloc-base)
					}
				})
			}
			b.ReportMetric(float64(peak), "peak-live-B")
		})
	}
}
