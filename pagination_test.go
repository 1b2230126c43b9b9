package justap_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedPage is one expected request of a walk and the answer to it.
type scriptedPage struct {
	query  url.Values // the request's exact query
	status int        // 0 means 200
	body   string
}

// script serves pages in order on pattern, asserting each request's exact
// query, and fails the test on a request beyond the script. It returns the
// number of requests served so far.
func script(t *testing.T, mux *http.ServeMux, pattern string, pages ...scriptedPage) func() int {
	t.Helper()
	var (
		mu sync.Mutex
		n  int
	)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(pages) {
			t.Errorf("request %d is beyond the script: %s?%s", i+1, r.URL.Path, r.URL.RawQuery)
			writeJSON(w, http.StatusTeapot, `{"code": 9, "message": "unexpected request"}`)
			return
		}
		p := pages[i]
		testMethod(t, r, http.MethodGet)
		if !cmp.Equal(p.query, r.URL.Query()) {
			t.Logf("request %d of the script:", i+1)
		}
		testQuery(t, r, p.query)
		if p.status == 0 {
			p.status = http.StatusOK
		}
		writeJSON(w, p.status, p.body)
	})
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// q builds a query from key, value pairs; app_id is testAppID unless given.
func q(kv ...string) url.Values {
	v := url.Values{"app_id": {testAppID}}
	for i := 0; i < len(kv); i += 2 {
		v[kv[i]] = []string{kv[i+1]}
	}
	return v
}

// chargePage is the body of a charge list page holding ids, in that order.
func chargePage(hasMore bool, ids ...string) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = `{"charge_id":"` + id + `","object":"Charge","amount":"0.01"}`
	}
	return `{"object":"ChargeList","has_more":` + strconv.FormatBool(hasMore) + `,"data":[` + strings.Join(items, ",") + `]}`
}

// refundPage is the body of a refund list page holding ids, in that order.
func refundPage(hasMore bool, ids ...string) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = `{"refund_id":"` + id + `","charge_id":"ch_1","amount":1}`
	}
	return `{"object":"RefundList","has_more":` + strconv.FormatBool(hasMore) + `,"total":"` + strconv.Itoa(len(ids)) +
		`","data":[` + strings.Join(items, ",") + `]}`
}

// collect ranges over seq and returns the ids of its items, and its errors
// (each with the count of items before it). It fails the test on an item
// after an error, or on an element with both or neither of item and error.
func collect[T any](t *testing.T, seq iter.Seq2[*T, error], id func(*T) string) (ids []string, errs []error) {
	t.Helper()
	for v, err := range seq {
		switch {
		case err != nil && v != nil:
			t.Errorf("element with both an item and an error: %v", err)
		case err == nil && v == nil:
			t.Errorf("nil item without an error after %d items", len(ids))
		case err != nil:
			errs = append(errs, err)
		default:
			if len(errs) > 0 {
				t.Errorf("item %s after the error %v", id(v), errs[0])
			}
			ids = append(ids, id(v))
		}
	}
	return ids, errs
}

// checkWalk checks a walk's outcome: no errors, the ids in order, and the
// number of requests the server saw.
func checkWalk(t *testing.T, ids []string, errs []error, want []string, requests, wantRequests int) {
	t.Helper()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if requests != wantRequests {
		t.Errorf("%d requests, want %d", requests, wantRequests)
	}
}

func chargeID(c *justap.Charge) string { return c.ID }
func refundID(r *justap.Refund) string { return r.ID }

const chargesPattern = "GET /transaction/v1/charges"

func TestChargesAllWalksPagesInOrder(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	start := time.Unix(1700000000, 0)
	requests := script(t, mux, chargesPattern,
		scriptedPage{q("limit", "3", "created.gte", "1700000000", "paid", "true"), 0, chargePage(true, "ch_9", "ch_8", "ch_7")},
		scriptedPage{q("limit", "3", "created.gte", "1700000000", "paid", "true", "starting_after", "ch_7"), 0, chargePage(true, "ch_6", "ch_5", "ch_4")},
		scriptedPage{q("limit", "3", "created.gte", "1700000000", "paid", "true", "starting_after", "ch_4"), 0, chargePage(true, "ch_3", "ch_2", "ch_1")},
		scriptedPage{q("limit", "3", "created.gte", "1700000000", "paid", "true", "starting_after", "ch_1"), 0, chargePage(false, "ch_0")},
	)
	ids, errs := collect(t, c.Charges.All(context.Background(), &justap.ChargeListParams{
		Limit: 3, CreatedGTE: start, Paid: justap.Bool(true),
	}), chargeID)
	want := []string{"ch_9", "ch_8", "ch_7", "ch_6", "ch_5", "ch_4", "ch_3", "ch_2", "ch_1", "ch_0"}
	checkWalk(t, ids, errs, want, requests(), 4)
}

func TestChargesAllIsLazy(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern)
	seq := c.Charges.All(context.Background(), nil)
	for range justap.Take(seq, 0) {
		t.Error("Take(seq, 0) yielded")
	}
	if n := requests(); n != 0 {
		t.Errorf("%d requests before ranging, want 0", n)
	}
}

func TestChargesAllBreakStopsFetching(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern,
		scriptedPage{q("limit", "4"), 0, chargePage(true, "ch_8", "ch_7", "ch_6", "ch_5")},
		scriptedPage{q("limit", "4", "starting_after", "ch_5"), 0, chargePage(true, "ch_4", "ch_3", "ch_2", "ch_1")},
		scriptedPage{q("limit", "4", "starting_after", "ch_1"), 0, chargePage(false, "ch_0")},
	)
	var ids []string
	for ch, err := range c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ch.ID)
		if len(ids) == 6 { // one and a half pages
			break
		}
	}
	if diff := cmp.Diff([]string{"ch_8", "ch_7", "ch_6", "ch_5", "ch_4", "ch_3"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if n := requests(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestChargesAllEmptyList(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern, scriptedPage{q(), 0, `{"object":"ChargeList","data":[],"has_more":false}`})
	ids, errs := collect(t, c.Charges.All(context.Background(), nil), chargeID)
	if len(ids) != 0 || len(errs) != 0 {
		t.Errorf("yielded %v and errors %v, want nothing", ids, errs)
	}
	if n := requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestChargesAllFilters(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		params *justap.ChargeListParams
		want   url.Values // the query of every page but the cursor
	}{
		{"nil params", nil, q()},
		{"zero params", &justap.ChargeListParams{}, q()},
		{"paid=false", &justap.ChargeListParams{Paid: justap.Bool(false)}, q("paid", "false")},
		{"paid=true", &justap.ChargeListParams{Paid: justap.Bool(true)}, q("paid", "true")},
		{"every filter", &justap.ChargeListParams{
			AppID:           "app_other",
			Limit:           100,
			MerchantTradeID: "order-1",
			Channel:         justap.ChannelWechatpayJSAPI,
			CreatedGT:       t0,
			CreatedGTE:      t0.Add(1 * time.Second),
			CreatedLT:       t0.Add(2 * time.Second),
			CreatedLTE:      t0.Add(3 * time.Second),
			Paid:            justap.Bool(false),
			Refunded:        justap.Bool(true),
			Reversed:        justap.Bool(false),
			Closed:          justap.Bool(true),
			Expired:         justap.Bool(false),
		}, url.Values{
			"app_id": {"app_other"}, "limit": {"100"}, "merchant_trade_id": {"order-1"}, "channel": {"WechatpayJSAPI"},
			"created.gt": {"1700000000"}, "created.gte": {"1700000001"}, "created.lt": {"1700000002"}, "created.lte": {"1700000003"},
			"paid": {"false"}, "refunded": {"true"}, "reversed": {"false"}, "closed": {"true"}, "expired": {"false"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			second := url.Values{"starting_after": {"ch_2"}}
			for k, v := range tt.want {
				second[k] = v
			}
			requests := script(t, mux, chargesPattern,
				scriptedPage{tt.want, 0, chargePage(true, "ch_3", "ch_2")},
				scriptedPage{second, 0, chargePage(false, "ch_1")},
			)
			ids, errs := collect(t, c.Charges.All(context.Background(), tt.params), chargeID)
			checkWalk(t, ids, errs, []string{"ch_3", "ch_2", "ch_1"}, requests(), 2)
		})
	}
}

func TestChargesAllEndingBeforeWalksToNewer(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	// The server sends every page newest first; the walk goes from the
	// charge just newer than ch_10 to the newest, oldest first.
	requests := script(t, mux, chargesPattern,
		scriptedPage{q("limit", "2", "ending_before", "ch_10"), 0, chargePage(true, "ch_12", "ch_11")},
		scriptedPage{q("limit", "2", "ending_before", "ch_12"), 0, chargePage(true, "ch_14", "ch_13")},
		scriptedPage{q("limit", "2", "ending_before", "ch_14"), 0, chargePage(false, "ch_15")},
	)
	ids, errs := collect(t, c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 2, EndingBefore: "ch_10"}), chargeID)
	checkWalk(t, ids, errs, []string{"ch_11", "ch_12", "ch_13", "ch_14", "ch_15"}, requests(), 3)
}

func TestChargesAllStartingAfter(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern,
		scriptedPage{q("starting_after", "ch_9"), 0, chargePage(true, "ch_8", "ch_7")},
		scriptedPage{q("starting_after", "ch_7"), 0, chargePage(false, "ch_6")},
	)
	ids, errs := collect(t, c.Charges.All(context.Background(), &justap.ChargeListParams{StartingAfter: "ch_9"}), chargeID)
	checkWalk(t, ids, errs, []string{"ch_8", "ch_7", "ch_6"}, requests(), 2)
}

func TestChargesAllHostileServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		params  *justap.ChargeListParams
		pages   []scriptedPage
		wantIDs []string
		wantMsg string
	}{
		{
			name: "has_more with no items",
			pages: []scriptedPage{
				{q(), 0, chargePage(true, "ch_3", "ch_2")},
				{q("starting_after", "ch_2"), 0, chargePage(true)},
			},
			wantIDs: []string{"ch_3", "ch_2"},
			wantMsg: "has no charges but says has_more",
		},
		{
			name: "has_more with no items, first page",
			pages: []scriptedPage{
				{q(), 0, `{"object":"ChargeList","has_more":true}`},
			},
			wantMsg: "has no charges but says has_more",
		},
		{
			name: "cursor does not advance",
			pages: []scriptedPage{
				{q(), 0, chargePage(true, "ch_3", "ch_2")},
				{q("starting_after", "ch_2"), 0, chargePage(true, "ch_3", "ch_2")}, // the same page again
			},
			wantIDs: []string{"ch_3", "ch_2"},
			wantMsg: "the cursor does not advance",
		},
		{
			name:   "cursor does not advance, ending_before",
			params: &justap.ChargeListParams{EndingBefore: "ch_1"},
			pages: []scriptedPage{
				{q("ending_before", "ch_1"), 0, chargePage(true, "ch_3", "ch_2")},
				{q("ending_before", "ch_3"), 0, chargePage(true, "ch_3")},
			},
			wantIDs: []string{"ch_2", "ch_3"},
			wantMsg: "the cursor does not advance",
		},
		{
			name:   "cursor does not advance from the caller's cursor",
			params: &justap.ChargeListParams{StartingAfter: "ch_2"},
			pages: []scriptedPage{
				{q("starting_after", "ch_2"), 0, chargePage(false, "ch_3", "ch_2")},
			},
			wantMsg: "the cursor does not advance",
		},
		{
			name: "pages cycle a→b→a",
			pages: []scriptedPage{
				{q(), 0, chargePage(true, "ch_3", "ch_2")},
				{q("starting_after", "ch_2"), 0, chargePage(true, "ch_1")},
				{q("starting_after", "ch_1"), 0, chargePage(true, "ch_3", "ch_2")}, // back to the first page
			},
			wantIDs: []string{"ch_3", "ch_2", "ch_1"},
			wantMsg: "already paged from",
		},
		{
			name:   "pages cycle back to the caller's cursor",
			params: &justap.ChargeListParams{StartingAfter: "ch_9", Limit: 1},
			pages: []scriptedPage{
				{q("limit", "1", "starting_after", "ch_9"), 0, chargePage(true, "ch_8")},
				{q("limit", "1", "starting_after", "ch_8"), 0, chargePage(true, "ch_7")},
				{q("limit", "1", "starting_after", "ch_7"), 0, chargePage(true, "ch_9")},
			},
			wantIDs: []string{"ch_8", "ch_7"},
			wantMsg: "already paged from",
		},
		{
			name:   "pages cycle, ending_before",
			params: &justap.ChargeListParams{EndingBefore: "ch_1"},
			pages: []scriptedPage{
				{q("ending_before", "ch_1"), 0, chargePage(true, "ch_3", "ch_2")},
				{q("ending_before", "ch_3"), 0, chargePage(true, "ch_4")},
				{q("ending_before", "ch_4"), 0, chargePage(true, "ch_3")},
			},
			wantIDs: []string{"ch_2", "ch_3", "ch_4"},
			wantMsg: "already paged from",
		},
		{
			name:   "a page larger than the limit",
			params: &justap.ChargeListParams{Limit: 2},
			pages: []scriptedPage{
				{q("limit", "2"), 0, chargePage(true, "ch_9", "ch_8")},
				{q("limit", "2", "starting_after", "ch_8"), 0, chargePage(true, "ch_7", "ch_6", "ch_5")},
			},
			wantIDs: []string{"ch_9", "ch_8"},
			wantMsg: "more than the page size of 2",
		},
		{
			name: "last item without an id",
			pages: []scriptedPage{
				{q(), 0, chargePage(true, "ch_3", "")},
			},
			wantMsg: "has no id to page from",
		},
		{
			name: "null item",
			pages: []scriptedPage{
				{q(), 0, chargePage(true, "ch_3", "ch_2")},
				{q("starting_after", "ch_2"), 0, `{"object":"ChargeList","has_more":false,"data":[{"charge_id":"ch_1"},null]}`},
			},
			wantIDs: []string{"ch_3", "ch_2"},
			wantMsg: "holds a null charge",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			requests := script(t, mux, chargesPattern, tt.pages...)
			ids, errs := collect(t, c.Charges.All(context.Background(), tt.params), chargeID)
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want exactly one", errs)
			}
			var e *justap.Error
			if !errors.As(errs[0], &e) || !errors.Is(errs[0], justap.ErrMalformedResponse) {
				t.Errorf("error %T %v, want a *justap.Error matching ErrMalformedResponse", errs[0], errs[0])
			}
			if !strings.Contains(errs[0].Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", errs[0], tt.wantMsg)
			}
			if n := requests(); n != len(tt.pages) {
				t.Errorf("%d requests, want %d", n, len(tt.pages))
			}
		})
	}
}

func TestChargesAllErrorMidWalk(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern,
		scriptedPage{q("limit", "2"), 0, chargePage(true, "ch_6", "ch_5")},
		scriptedPage{q("limit", "2", "starting_after", "ch_5"), 0, chargePage(true, "ch_4", "ch_3")},
		scriptedPage{q("limit", "2", "starting_after", "ch_3"), http.StatusServiceUnavailable, `{"code": 14, "message": "try later"}`},
	)
	ids, errs := collect(t, c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 2}), chargeID)
	if diff := cmp.Diff([]string{"ch_6", "ch_5", "ch_4", "ch_3"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if len(errs) != 1 {
		t.Fatalf("errors %v, want exactly one", errs)
	}
	var e *justap.Error
	if !errors.As(errs[0], &e) || e.StatusCode != http.StatusServiceUnavailable || e.Message != "try later" {
		t.Errorf("error %#v, want the 503's *justap.Error", errs[0])
	}
	if n := requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestChargesAllRetriesAPageAsListDoes(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, justap.WithMaxRetries(1), justap.WithRetryBackoff(time.Millisecond, time.Millisecond))
	requests := script(t, mux, chargesPattern,
		scriptedPage{q(), 0, chargePage(true, "ch_2")},
		scriptedPage{q("starting_after", "ch_2"), http.StatusServiceUnavailable, `{"code": 14}`},
		scriptedPage{q("starting_after", "ch_2"), 0, chargePage(false, "ch_1")},
	)
	ids, errs := collect(t, c.Charges.All(context.Background(), nil), chargeID)
	checkWalk(t, ids, errs, []string{"ch_2", "ch_1"}, requests(), 3)
}

func TestChargesAllContextCanceledMidWalk(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern, scriptedPage{q(), 0, chargePage(true, "ch_3", "ch_2")})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ids []string
	var errs []error
	for ch, err := range c.Charges.All(ctx, nil) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, ch.ID)
		cancel()
	}
	if diff := cmp.Diff([]string{"ch_3", "ch_2"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("errors %v, want one matching context.Canceled", errs)
	}
	if n := requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestChargesAllDoesNotModifyParams(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	script(t, mux, chargesPattern,
		scriptedPage{q("limit", "2", "paid", "false", "starting_after", "ch_9"), 0, chargePage(true, "ch_8", "ch_7")},
		scriptedPage{q("limit", "2", "paid", "false", "starting_after", "ch_7"), 0, chargePage(false, "ch_6")},
	)
	paid := justap.Bool(false)
	params := &justap.ChargeListParams{Limit: 2, StartingAfter: "ch_9", Paid: paid}
	before := *params
	before.Paid = justap.Bool(*paid)
	ids, errs := collect(t, c.Charges.All(context.Background(), params), chargeID)
	if len(errs) > 0 || len(ids) != 3 {
		t.Fatalf("walk: %v, errors %v", ids, errs)
	}
	if diff := cmp.Diff(&before, params); diff != "" {
		t.Errorf("params changed (-before +after):\n%s", diff)
	}
	if params.Paid != paid {
		t.Error("params.Paid points elsewhere")
	}
}

func TestChargesAllCopiesParams(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	script(t, mux, chargesPattern, scriptedPage{q("limit", "5", "paid", "true"), 0, chargePage(false, "ch_1")})
	params := &justap.ChargeListParams{Limit: 5, Paid: justap.Bool(true)}
	seq := c.Charges.All(context.Background(), params)
	params.Limit = 7
	*params.Paid = false
	params.StartingAfter = "ch_x"
	if ids, errs := collect(t, seq, chargeID); len(errs) > 0 || len(ids) != 1 {
		t.Fatalf("walk: %v, errors %v", ids, errs)
	}
}

func TestChargesAllRangedTwice(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	walk := []scriptedPage{
		{q("limit", "2", "starting_after", "ch_9"), 0, chargePage(true, "ch_8", "ch_7")},
		{q("limit", "2", "starting_after", "ch_7"), 0, chargePage(false, "ch_6")},
	}
	requests := script(t, mux, chargesPattern, slices.Concat(walk, walk)...)
	seq := c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 2, StartingAfter: "ch_9"})
	for i := range 2 {
		ids, errs := collect(t, seq, chargeID)
		if len(errs) > 0 {
			t.Fatalf("walk %d: errors %v", i+1, errs)
		}
		if diff := cmp.Diff([]string{"ch_8", "ch_7", "ch_6"}, ids); diff != "" {
			t.Errorf("walk %d ids (-want +got):\n%s", i+1, diff)
		}
		if n, want := requests(), 2*(i+1); n != want {
			t.Errorf("after walk %d: %d requests, want %d", i+1, n, want)
		}
	}
}

func TestAllValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		seq       func(c *justap.Client) iter.Seq2[any, error]
		wantField string // "" for an option error, which is not a *ValidationError
	}{
		{"limit too large", charges(&justap.ChargeListParams{Limit: 101}, nil), "ChargeListParams.Limit"},
		{"negative limit", charges(&justap.ChargeListParams{Limit: -1}, nil), "ChargeListParams.Limit"},
		{"unknown channel", charges(&justap.ChargeListParams{Channel: "Cash"}, nil), "ChargeListParams.Channel"},
		{"both cursors", charges(&justap.ChargeListParams{StartingAfter: "ch_1", EndingBefore: "ch_2"}, nil), "ChargeListParams.EndingBefore"},
		{"no app id", charges(nil, justap.WithAppID("")), "ChargeListParams.AppID"},
		{"bad option", charges(nil, justap.WithMaxRetries(-1)), ""},
		{"refunds: no charge id", refunds("", nil), "chargeID"},
		{"refunds: path segment", refunds("..", nil), "chargeID"},
		{"refunds: limit too large", refunds("ch_1", &justap.RefundListParams{Limit: 1000}), "RefundListParams.Limit"},
		{"refunds: both cursors", refunds("ch_1", &justap.RefundListParams{StartingAfter: "re_1", EndingBefore: "re_2"}), "RefundListParams.EndingBefore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			requests := script(t, mux, "/")
			var n int
			var first error
			for v, err := range tt.seq(c) {
				if n++; n == 1 {
					first = err
					if v != nil {
						t.Errorf("item %v with the error", v)
					}
				}
			}
			if n != 1 || first == nil {
				t.Fatalf("%d elements, first error %v; want exactly one, an error", n, first)
			}
			var ve *justap.ValidationError
			if isVE := errors.As(first, &ve); isVE != (tt.wantField != "") || isVE && ve.Field != tt.wantField {
				t.Errorf("error %T %v, want a *ValidationError for %q", first, first, tt.wantField)
			}
			if n := requests(); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

// charges and refunds adapt All for a table of tests.
func charges(p *justap.ChargeListParams, opt justap.Option) func(*justap.Client) iter.Seq2[any, error] {
	return func(c *justap.Client) iter.Seq2[any, error] {
		return anySeq(c.Charges.All(context.Background(), p, opt))
	}
}

func refunds(chargeID string, p *justap.RefundListParams) func(*justap.Client) iter.Seq2[any, error] {
	return func(c *justap.Client) iter.Seq2[any, error] {
		return anySeq(c.Refunds.All(context.Background(), chargeID, p))
	}
}

func anySeq[T any](seq iter.Seq2[*T, error]) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for v, err := range seq {
			var a any
			if v != nil {
				a = v
			}
			if !yield(a, err) {
				return
			}
		}
	}
}

func TestRefundsAll(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	const pattern = "GET /transaction/v1/charges/{id}/refunds"
	var (
		mu    sync.Mutex
		paths []string
	)
	pages := []scriptedPage{
		{q("limit", "2"), 0, refundPage(true, "re_5", "re_4")},
		{q("limit", "2", "starting_after", "re_4"), 0, refundPage(true, "re_3", "re_2")},
		{q("limit", "2", "starting_after", "re_2"), 0, refundPage(false, "re_1")},
	}
	inner := http.NewServeMux()
	requests := script(t, inner, pattern, pages...)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	ids, errs := collect(t, c.Refunds.All(context.Background(), "ch/1", &justap.RefundListParams{Limit: 2}), refundID)
	checkWalk(t, ids, errs, []string{"re_5", "re_4", "re_3", "re_2", "re_1"}, requests(), 3)
	for _, p := range paths {
		if p != "/transaction/v1/charges/ch%2F1/refunds" {
			t.Errorf("path %s, want the charge id escaped", p)
		}
	}
}

func TestRefundsAllEndingBeforeAndHostile(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, "GET /transaction/v1/charges/ch_1/refunds",
		scriptedPage{q("ending_before", "re_1"), 0, refundPage(true, "re_3", "re_2")},
		scriptedPage{q("ending_before", "re_3"), 0, refundPage(true)},
	)
	ids, errs := collect(t, c.Refunds.All(context.Background(), "ch_1", &justap.RefundListParams{EndingBefore: "re_1"}), refundID)
	if diff := cmp.Diff([]string{"re_2", "re_3"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !errors.Is(errs[0], justap.ErrMalformedResponse) || !strings.Contains(errs[0].Error(), "no refunds") {
		t.Errorf("errors %v, want one ErrMalformedResponse about an empty page", errs)
	}
	if n := requests(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestTake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		n            int
		pages        []scriptedPage
		wantIDs      []string
		wantRequests int
	}{
		{"zero", 0, nil, nil, 0},
		{"negative", -1, nil, nil, 0},
		{"within the first page", 2, []scriptedPage{
			{q("limit", "3"), 0, chargePage(true, "ch_9", "ch_8", "ch_7")},
		}, []string{"ch_9", "ch_8"}, 1},
		{"exactly one page", 3, []scriptedPage{
			{q("limit", "3"), 0, chargePage(true, "ch_9", "ch_8", "ch_7")},
		}, []string{"ch_9", "ch_8", "ch_7"}, 1},
		{"into the second page", 4, []scriptedPage{
			{q("limit", "3"), 0, chargePage(true, "ch_9", "ch_8", "ch_7")},
			{q("limit", "3", "starting_after", "ch_7"), 0, chargePage(true, "ch_6", "ch_5", "ch_4")},
		}, []string{"ch_9", "ch_8", "ch_7", "ch_6"}, 2},
		{"more than there are", 10, []scriptedPage{
			{q("limit", "3"), 0, chargePage(true, "ch_9", "ch_8", "ch_7")},
			{q("limit", "3", "starting_after", "ch_7"), 0, chargePage(false, "ch_6")},
		}, []string{"ch_9", "ch_8", "ch_7", "ch_6"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			requests := script(t, mux, chargesPattern, tt.pages...)
			ids, errs := collect(t, justap.Take(c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 3}), tt.n), chargeID)
			checkWalk(t, ids, errs, tt.wantIDs, requests(), tt.wantRequests)
		})
	}
}

func TestTakePassesErrorsAndBreak(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	requests := script(t, mux, chargesPattern,
		scriptedPage{q(), 0, chargePage(true, "ch_9")},
		scriptedPage{q("starting_after", "ch_9"), http.StatusInternalServerError, `{"code": 13}`},
		scriptedPage{q(), 0, chargePage(true, "ch_9", "ch_8")},
	)
	seq := justap.Take(c.Charges.All(context.Background(), nil), 5)
	ids, errs := collect(t, seq, chargeID)
	if diff := cmp.Diff([]string{"ch_9"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !errors.Is(errs[0], justap.ErrServer) {
		t.Errorf("errors %v, want one ErrServer", errs)
	}
	for range seq {
		break // a break inside Take stops the walk too
	}
	if n := requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// fakeCharges serves a list of charges the way Justap pages it: newest
// first, limit (default 10), starting_after and ending_before by id.
type fakeCharges struct {
	ids      []string // newest first
	mu       sync.Mutex
	requests int
}

func (f *fakeCharges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	qv := r.URL.Query()
	limit := 10
	if s := qv.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	var lo, hi int // the page is the window ids[lo:hi]
	if a := qv.Get("starting_after"); a != "" {
		lo = slices.Index(f.ids, a) + 1
		hi = min(lo+limit, len(f.ids))
	} else if b := qv.Get("ending_before"); b != "" {
		hi = slices.Index(f.ids, b)
		lo = max(hi-limit, 0)
	} else {
		hi = min(limit, len(f.ids))
	}
	more := hi < len(f.ids)
	if qv.Get("ending_before") != "" {
		more = lo > 0
	}
	writeJSON(w, http.StatusOK, chargePage(more, f.ids[lo:hi]...))
}

func (f *fakeCharges) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// TestChargesAllPageSizes walks one list at many page sizes, both ways:
// the items, their order and the number of requests must not depend on the
// page size.
func TestChargesAllPageSizes(t *testing.T) {
	t.Parallel()
	const total = 23
	ids := make([]string, total)
	for i := range ids {
		ids[i] = fmt.Sprintf("ch_%02d", total-i) // newest first
	}
	c, mux, _ := setup(t)
	fake := &fakeCharges{ids: ids}
	mux.Handle(chargesPattern, fake)
	for _, limit := range []int{0, 1, 2, 3, 7, 10, 22, 23, 100} {
		t.Run("limit="+strconv.Itoa(limit), func(t *testing.T) {
			size := limit
			if size == 0 {
				size = 10
			}
			check := func(p *justap.ChargeListParams, want []string) {
				t.Helper()
				before := fake.count()
				got, errs := collect(t, c.Charges.All(context.Background(), p), chargeID)
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
				wantRequests := max((len(want)+size-1)/size, 1)
				if n := fake.count() - before; n != wantRequests {
					t.Errorf("%d requests, want %d", n, wantRequests)
				}
			}
			check(&justap.ChargeListParams{Limit: limit}, ids)
			check(&justap.ChargeListParams{Limit: limit, StartingAfter: ids[4]}, ids[5:])
			// From the oldest, towards the newest: oldest first.
			check(&justap.ChargeListParams{Limit: limit, EndingBefore: ids[total-1]}, reversed(ids[:total-1]))
			check(&justap.ChargeListParams{Limit: limit, EndingBefore: ids[5]}, reversed(ids[:5]))
		})
	}
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// TestChargesAllConcurrentRanges ranges one sequence from several
// goroutines at once (run with -race).
func TestChargesAllConcurrentRanges(t *testing.T) {
	t.Parallel()
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("ch_%02d", 50-i)
	}
	c, mux, _ := setup(t)
	mux.Handle(chargesPattern, &fakeCharges{ids: ids})
	seq := c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 7, Paid: justap.Bool(true)})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []string
			for ch, err := range seq {
				if err != nil {
					t.Error(err)
					return
				}
				got = append(got, ch.ID)
			}
			if !slices.Equal(got, ids) {
				t.Errorf("got %v, want %v", got, ids)
			}
		}()
	}
	wg.Wait()
}

// TestChargesAllReleasesPages checks that the walk keeps no page it has
// moved past: once the third page is being read, the charges of the first
// one are garbage.
func TestChargesAllReleasesPages(t *testing.T) {
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = fmt.Sprintf("ch_%02d", 30-i)
	}
	c, mux, _ := setup(t)
	mux.Handle(chargesPattern, &fakeCharges{ids: ids})
	var first []weak.Pointer[justap.Charge]
	i := 0
	for ch, err := range c.Charges.All(context.Background(), &justap.ChargeListParams{Limit: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			first = append(first, weak.Make(ch))
		}
		if i == 20 {
			runtime.GC()
			for j, w := range first {
				if w.Value() != nil {
					t.Fatalf("charge %d of the first page is still reachable while reading the third", j)
				}
			}
		}
		i++
	}
	if i != 30 || len(first) != 10 {
		t.Fatalf("walked %d charges", i)
	}
}

// TestListRefusesOversizedPages: a page holding more items than the limit
// asked for (or than 100, the largest page, when none was) is malformed.
func TestListRefusesOversizedPages(t *testing.T) {
	t.Parallel()
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}
	tests := []struct {
		name  string
		limit int
		n     int
		ok    bool
	}{
		{"limit 10, 10 items", 10, 10, true},
		{"limit 10, 11 items", 10, 11, false},
		{"limit 1, 2 items", 1, 2, false},
		{"no limit, 100 items", 0, 100, true},
		{"no limit, 101 items", 0, 101, false},
		{"limit 10, 1000 items", 10, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			mux.HandleFunc("GET /transaction/v1/charges", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, chargePage(false, ids("ch_", tt.n)...))
			})
			mux.HandleFunc("GET /transaction/v1/charges/ch_1/refunds", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, refundPage(false, ids("re_", tt.n)...))
			})
			_, errC := c.Charges.List(context.Background(), &justap.ChargeListParams{Limit: tt.limit})
			_, errR := c.Refunds.List(context.Background(), "ch_1", &justap.RefundListParams{Limit: tt.limit})
			for what, err := range map[string]error{"charges": errC, "refunds": errR} {
				if tt.ok && err != nil {
					t.Errorf("%s: %v, want the page", what, err)
				}
				if !tt.ok && !errors.Is(err, justap.ErrMalformedResponse) {
					t.Errorf("%s: err = %v, want ErrMalformedResponse", what, err)
				}
			}
		})
	}
}

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

// TestAllRefusesPagesThatRepeat: a gateway whose cursor is inclusive (each
// page repeats the last item of the page before), repeats more than that,
// or serves a page oldest first (so the next cursor repeats the page's
// rest): the walk yields no charge or refund twice and ends with
// ErrMalformedResponse, rather than count money twice.
func TestAllRefusesPagesThatRepeat(t *testing.T) {
	t.Parallel()
	faults := []justaptest.Fault{
		{Kind: justaptest.FaultOverlapPage},
		{Kind: justaptest.FaultOverlapPage, Overlap: 2},
		{Kind: justaptest.FaultReorderPage},
	}
	for _, f := range faults {
		for _, backward := range []bool{false, true} {
			c, srv, clk := clockedFake(t)
			start := clk.Now()
			ch := paidCharge(t, c, srv, "order-0", 100000)
			for i := range 10 {
				clk.Set(start.Add(time.Duration(i) * time.Second))
				paidCharge(t, c, srv, fmt.Sprintf("order-%d", i+1), 100)
				_, err := c.Refunds.Create(context.Background(), refundParams(ch.ID, fmt.Sprintf("r-%d", i), 1))
				require.NoError(t, err)
			}
			name := fmt.Sprintf("%s overlap %d backward %v", f.Kind, f.Overlap, backward)
			walks := map[string]iter.Seq2[any, error]{}
			cp := &justap.ChargeListParams{Limit: 3}
			rp := &justap.RefundListParams{Limit: 3}
			if backward {
				// From the oldest charge/refund to the newest.
				all := srv.Charges()
				cp.EndingBefore = all[len(all)-1].ID
				refunds, _ := srv.Charge(ch.ID)
				rp.EndingBefore = refunds.Refunds[len(refunds.Refunds)-1].ID
			}
			walks["charges"] = anySeq(c.Charges.All(context.Background(), cp))
			walks["refunds"] = anySeq(c.Refunds.All(context.Background(), ch.ID, rp))
			for what, seq := range walks {
				f := f
				f.Op = justaptest.OpListCharges
				if what == "refunds" {
					f.Op = justaptest.OpListRefunds
				}
				srv.FailNext(100, f)
				seen := map[string]bool{}
				var last error
				for v, err := range seq {
					if err != nil {
						last = err
						break
					}
					id := ""
					switch v := v.(type) {
					case *justap.Charge:
						id = v.ID
					case *justap.Refund:
						id = v.ID
					}
					assert.False(t, seen[id], "%s, %s: %s yielded twice", name, what, id)
					seen[id] = true
				}
				srv.ClearFaults()
				assert.ErrorIs(t, last, justap.ErrMalformedResponse, "%s, %s: %d yielded", name, what, len(seen))
			}
		}
	}
}
