package justap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

// The outcomes a create can end in, as the package docs switch on them.
const (
	outSuccess = "success"
	outRefused = "refused"
	outUnknown = "unknown"
	outReused  = "reused id"
)

// outcomeOf classifies a create's result into exactly one outcome, as the
// README's switch does.
func outcomeOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return outSuccess
	}
	var e *justap.Error
	unknown := errors.As(err, &e) && e.OutcomeUnknown()
	reused := errors.Is(err, justap.ErrReusedID)
	switch {
	case unknown && reused:
		t.Errorf("err = %v is both a reused id and of unknown outcome", err)
		return outReused
	case reused:
		return outReused
	case unknown:
		return outUnknown
	}
	return outRefused
}

// step is what one attempt of the create meets: a fault the fake injects
// (server), or a 200 that the fake sends after creating and that is spoiled
// on its way to the client (client: "cut", a body cut off; "garble", a body
// that is not JSON; "huge", a body over the size limit), or neither.
type step struct {
	server *justaptest.Fault
	client string
}

func (s step) String() string {
	if s.server != nil {
		if s.server.Kind == justaptest.FaultStatus {
			return "status " + fmt.Sprint(s.server.Status)
		}
		return s.server.Kind.String()
	}
	if s.client != "" {
		return s.client + " 200"
	}
	return "ok"
}

// kind is the step's kind of fault, for the counts.
func (s step) kind() string {
	if s.server != nil {
		return s.server.Kind.String()
	}
	return "processed " + s.client + " 200"
}

// randomCase is one fault sequence: one create, what its attempts meet,
// the faults its lookup meets, and what follows it: a retry by hand and a
// walk of the lists.
type randomCase struct {
	refund bool
	// reuse: the merchant id was used before this create, daysAgo days
	// and an hour before it, by an object for the same money (same) or
	// for other money.
	reuse, same bool
	daysAgo     int
	amount      justap.Amount
	fullRefund  bool
	// priorFull: the earlier refund under the id refunded the whole
	// charge; with a partial one, a full refund under the id is other
	// money.
	priorFull bool
	steps     []step             // of the create's attempts, in order
	lookup    []justaptest.Fault // on the list the lookup reads
	// handRetry says how an unknown outcome is retried by hand later,
	// from a fresh Client: "continues" with ContinuesFrom(e.Began),
	// "plain" without it, or "" not at all; retrySteps are what its
	// attempts meet.
	handRetry  string
	retrySteps []step
	// walkFaults are the page faults the walks of the lists meet.
	walkFaults []justaptest.Fault
}

func serverFault(f justaptest.Fault) step { return step{server: &f} }

// randomStep draws one fault of any kind. A 409 is left out: a real
// gateway sends it only for an id that exists.
func randomStep(r *rand.Rand) step {
	switch r.IntN(11) {
	case 0, 1:
		statuses := []int{400, 401, 403, 404, 429, 500, 502, 503, 504}
		return serverFault(justaptest.Fault{Status: statuses[r.IntN(len(statuses))]})
	case 2:
		return serverFault(justaptest.Fault{Status: 502, Body: "<html><body>502 Bad Gateway</body></html>"})
	case 3:
		return serverFault(justaptest.Fault{Kind: justaptest.FaultHang})
	case 4:
		return serverFault(justaptest.Fault{Kind: justaptest.FaultReset})
	case 5:
		return serverFault(justaptest.Fault{Kind: justaptest.FaultMalformed})
	case 6, 7:
		return spoiled200(r)
	default:
		return serverFault(justaptest.Fault{Kind: justaptest.FaultDropResponse})
	}
}

func spoiled200(r *rand.Rand) step {
	return step{client: [...]string{"cut", "garble", "huge"}[r.IntN(3)]}
}

// refusalStep draws a status that refuses outright, or an unreadable 200.
func refusalStep(r *rand.Rand) step {
	switch r.IntN(6) {
	case 0:
		return serverFault(justaptest.Fault{Kind: justaptest.FaultMalformed})
	case 1:
		return spoiled200(r)
	}
	statuses := []int{400, 401, 403, 404}
	return serverFault(justaptest.Fault{Status: statuses[r.IntN(len(statuses))]})
}

func newRandomCase(r *rand.Rand, i int) randomCase {
	c := randomCase{refund: r.IntN(2) == 0, amount: justap.Amount(1 + r.IntN(1500))}
	if c.refund && r.IntN(5) == 0 {
		c.fullRefund, c.amount = true, 0
	}
	if r.IntN(5) == 0 {
		c.reuse, c.same, c.daysAgo = true, r.IntN(2) == 0, r.IntN(3)
		if c.refund {
			if c.amount > 500 {
				c.amount = 1 + c.amount%500 // the earlier refund must fit the charge
			}
			// Full and partial refunds under one id.
			c.priorFull = c.fullRefund && c.same || r.IntN(4) == 0
		}
	}
	if i%4 == 0 {
		// A lost answer followed by a refusal or an unreadable 200: the
		// sequences that used to end in a false refusal.
		c.steps = append(c.steps, serverFault(justaptest.Fault{Kind: justaptest.FaultDropResponse}), refusalStep(r))
		if r.IntN(2) == 0 {
			c.steps = append(c.steps, randomStep(r))
		}
	} else {
		for range r.IntN(4) {
			c.steps = append(c.steps, randomStep(r))
		}
	}
	if r.IntN(6) == 0 {
		for range 1 + r.IntN(3) {
			st := randomStep(r)
			for st.server == nil {
				st = randomStep(r)
			}
			c.lookup = append(c.lookup, *st.server)
		}
	}
	switch r.IntN(4) {
	case 0, 1:
		c.handRetry = "continues"
	case 2:
		c.handRetry = "plain"
	}
	for range r.IntN(3) {
		c.retrySteps = append(c.retrySteps, randomStep(r))
	}
	switch r.IntN(4) {
	case 0:
		c.walkFaults = []justaptest.Fault{{Kind: justaptest.FaultOverlapPage}}
	case 1:
		c.walkFaults = []justaptest.Fault{{Kind: justaptest.FaultOverlapPage, Overlap: 2}}
	case 2:
		c.walkFaults = []justaptest.Fault{{Kind: justaptest.FaultReorderPage}}
	}
	return c
}

// stepper is the transport of a worker's client: it makes each attempt of
// a create meet its step, queuing the fake's fault just before the attempt
// is sent and spoiling the 200 that comes back.
type stepper struct {
	base http.RoundTripper
	srv  *justaptest.Server

	mu    sync.Mutex
	op    justaptest.Op
	steps []step
}

func (s *stepper) plan(op justaptest.Op, steps []step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.op, s.steps = op, steps
}

// maxBody is the response size limit of the workers' clients; a "huge"
// body exceeds it.
const maxBody = 64 << 10

func (s *stepper) RoundTrip(req *http.Request) (*http.Response, error) {
	var st step
	s.mu.Lock()
	if req.Method+" "+req.URL.Path == string(s.op) && len(s.steps) > 0 {
		st, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	if st.server != nil {
		f := *st.server
		f.Op = s.op
		s.srv.FailNext(1, f)
	}
	resp, err := s.base.RoundTrip(req)
	if err != nil || st.client == "" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	switch st.client {
	case "cut":
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(io.ErrUnexpectedEOF)))
	case "garble":
		resp.Body = io.NopCloser(bytes.NewReader(bytes.ReplaceAll(body, []byte(`"`), []byte(`'`))))
	case "huge":
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)-1]),
			bytes.NewReader([]byte(`,"pad":"`+strings.Repeat("x", maxBody)+`"}`))))
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	return resp, nil
}

// randomTally counts what the sequences met and how they ended.
type randomTally struct {
	mu        sync.Mutex
	outcomes  map[string]int // of the creates
	kinds     map[string]int // faults injected by kind
	recovered int
	dropThen  int
	sameMoney int // reused-id errors for the money asked for
	// Retries by hand, by how they were made ("continues" or "plain") and
	// how they ended.
	retries map[string]map[string]int
	// Retries by hand with ContinuesFrom that ended in ErrReusedID for
	// the object asked for (one the continued call made): must be 0.
	continuedReusedForAsked int
	// Walks of the lists: completed, and ended as malformed.
	walks, walksRefused int
}

func (t *randomTally) add(f func(*randomTally)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t)
}

// TestRandomFaultOutcomes runs 1,200 random fault sequences against the
// fake, half on create charge and half on create refund, and checks each
// call's outcome against the fake's state: no money moves twice, no call
// reports a refusal when it created its object, a success returns the
// object this call created (never one older than the call, for the same
// money or not), and a reused id names an object older than the call.
//
// The sequences mix merchant ids reused days before (for the same money
// and for other money, a full and a partial refund under one id),
// answers lost before the gateway saw the request (a 503) and after (a
// dropped answer), retries by hand of the unknown outcomes from a fresh
// Client (with ContinuesFrom, which must end in the object, and without,
// which must not advise a new id), and walks of the lists through pages
// whose cursor is inclusive, repeats more, or is reordered (which must
// never yield money twice).
//
// Not parallel: attempts have 25 ms each and the test runs six
// workers of its own.
func TestRandomFaultOutcomes(t *testing.T) {
	const (
		sequences = 1200
		workers   = 6
		// hangFor bounds each attempt: a hung attempt costs this much.
		hangFor = 25 * time.Millisecond
	)
	r := rand.New(rand.NewPCG(12, 2026))
	cases := make([]randomCase, sequences)
	for i := range cases {
		cases[i] = newRandomCase(r, i)
	}

	tally := &randomTally{outcomes: map[string]int{}, kinds: map[string]int{},
		retries: map[string]map[string]int{"continues": {}, "plain": {}}}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clk := newFakeClock()
			srv := justaptest.NewServer(t, justaptest.WithClock(clk.Now))
			base := []justap.Option{
				justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()), justap.WithHTTPClient(srv.Client()),
			}
			setupClient, err := justap.NewClient(srv.APIKey(), base...)
			if err != nil {
				t.Error(err)
				return
			}
			faulty := func() (*justap.Client, *stepper) {
				st := &stepper{base: srv.Client().Transport, srv: srv}
				c, err := justap.NewClient(srv.APIKey(), append(base,
					justap.WithHTTPClient(&http.Client{Transport: st}),
					justap.WithMaxResponseBytes(maxBody),
					justap.WithMaxRetries(2),
					justap.WithRetryBackoff(time.Nanosecond, time.Nanosecond),
					justap.WithRequestTimeout(hangFor))...)
				if err != nil {
					panic(err) // the options are the test's own
				}
				return c, st
			}
			for i := w; i < sequences; i += workers {
				rc := cases[i]
				srv.Reset()
				clk.Set(time.Now())
				runRandomCase(t, faulty, setupClient, srv, clk, i, rc, tally)
				tally.add(func(t *randomTally) {
					for _, s := range append(rc.steps, rc.retrySteps...) {
						t.kinds[s.kind()]++
					}
					for _, f := range rc.lookup {
						t.kinds[f.Kind.String()]++
					}
					for _, f := range rc.walkFaults {
						t.kinds[f.Kind.String()]++
					}
					if len(rc.steps) > 1 && rc.steps[0].String() == "drop_response" &&
						(rc.steps[1].server == nil || rc.steps[1].server.Kind == justaptest.FaultMalformed ||
							rc.steps[1].server.Status >= 400 && rc.steps[1].server.Status < 500) {
						t.dropThen++
					}
				})
			}
		}()
	}
	wg.Wait()

	total := 0
	var lines []string
	for k, n := range tally.outcomes {
		total += n
		lines = append(lines, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(lines)
	t.Logf("%d calls: %s (of the successes, %d recovered by a lookup; of the reused ids, %d for the same money); "+
		"%d sequences were a lost answer then a 4xx or an unreadable 200",
		total, strings.Join(lines, " "), tally.recovered, tally.sameMoney, tally.dropThen)
	t.Logf("retries by hand of unknown outcomes: with ContinuesFrom %v (%d of its reused ids for the object asked for), without %v",
		tally.retries["continues"], tally.continuedReusedForAsked, tally.retries["plain"])
	t.Logf("walks: %d read whole, %d stopped as malformed; faults injected by kind: %v", tally.walks, tally.walksRefused, tally.kinds)
	if total != sequences {
		t.Errorf("%d calls classified, want %d", total, sequences)
	}
	for _, k := range []string{"status", "hang", "reset", "malformed", "drop_response",
		"processed cut 200", "processed garble 200", "processed huge 200", "overlap_page", "reorder_page"} {
		if tally.kinds[k] == 0 {
			t.Errorf("no %s fault was injected", k)
		}
	}
	o := tally.outcomes
	if o[outSuccess] == 0 || o[outRefused] == 0 || o[outUnknown] == 0 || o[outReused] == 0 || tally.recovered == 0 ||
		tally.sameMoney == 0 || tally.retries["continues"][outSuccess] == 0 || tally.retries["plain"][outReused] == 0 ||
		tally.walksRefused == 0 {
		t.Errorf("an outcome never occurred: %v, %d recovered, %d same money, retries %v, %d walks refused; "+
			"the sequences do not cover every branch", o, tally.recovered, tally.sameMoney, tally.retries, tally.walksRefused)
	}
}

// runRandomCase runs one sequence on a fresh fake and checks its outcome
// against the fake's state, then retries it by hand and walks the lists
// as the case says.
func runRandomCase(t *testing.T, faulty func() (*justap.Client, *stepper), setupClient *justap.Client,
	srv *justaptest.Server, clk *fakeClock, i int, rc randomCase, tally *randomTally) {
	ctx := context.Background()
	id := fmt.Sprintf("m-%d", i)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("sequence %d (refund %v full %v, reuse %v same %v prior full %v, amount %v, steps %v, lookup faults %d, hand retry %q %v): %s",
			i, rc.refund, rc.fullRefund, rc.reuse, rc.same, rc.priorFull, rc.amount, rc.steps, len(rc.lookup),
			rc.handRetry, rc.retrySteps, fmt.Sprintf(format, args...))
	}
	// What the fake holds under id: the ids of the objects.
	holding := func(chargeID string) []string {
		var ids []string
		if !rc.refund {
			for _, ch := range srv.Charges() {
				if ch.MerchantTradeID == id {
					ids = append(ids, ch.ID)
				}
			}
			return ids
		}
		ch, ok := srv.Charge(chargeID)
		if !ok {
			fail("the charge %s is gone", chargeID)
			return nil
		}
		var sum justap.Amount
		for _, rf := range ch.Refunds {
			sum += rf.Amount
			if rf.Metadata[justap.MerchantRefundIDMetadataKey] == id {
				ids = append(ids, rf.ID)
			}
		}
		if sum > ch.Amount {
			fail("refunds of %v exceed the charge's %v", sum, ch.Amount)
		}
		return ids
	}

	// Set up: the paid charge a refund needs, and the earlier object of a
	// reused id, made days (and an hour) before the create.
	var chargeID string
	chargeAmount := justap.Amount(1000)
	now := clk.Now()
	if rc.refund {
		clk.Set(now.Add(-time.Duration(rc.daysAgo+1) * 24 * time.Hour))
		ch, err := setupClient.Charges.Create(ctx, chargeParams("order-"+id, chargeAmount))
		if err != nil {
			fail("setup: %v", err)
			return
		}
		if err := srv.Pay(ch.ID); err != nil {
			fail("setup: %v", err)
		}
		chargeID = ch.ID
		// Other refunds of the charge, for the walks to page through.
		for _, x := range []string{"x-1", "x-2"} {
			if _, err := setupClient.Refunds.Create(ctx, refundParams(chargeID, x+"-"+id, 1)); err != nil {
				fail("setup: %v", err)
			}
		}
	}
	// Other charges, for the walks to page through.
	for _, x := range []string{"x-1", "x-2"} {
		if _, err := setupClient.Charges.Create(ctx, chargeParams(x+"-"+id, 100)); err != nil {
			fail("setup: %v", err)
		}
	}
	if rc.reuse {
		clk.Set(now.Add(-time.Duration(rc.daysAgo)*24*time.Hour - time.Hour))
		var err error
		amount := rc.amount
		if !rc.same || amount == 0 {
			amount = 7
		}
		if rc.refund {
			p := refundParams(chargeID, id, amount)
			if rc.priorFull {
				p.Amount, p.FullRefund = 0, true
			}
			_, err = setupClient.Refunds.Create(ctx, p)
		} else {
			_, err = setupClient.Charges.Create(ctx, chargeParams(id, amount))
		}
		if err != nil {
			fail("setup: %v", err)
		}
	}
	clk.Set(now)
	before := holding(chargeID)

	op, listOp := justaptest.OpCreateCharge, justaptest.OpListCharges
	if rc.refund {
		op, listOp = justaptest.OpCreateRefund, justaptest.OpListRefunds
	}
	// create makes the create with c, its attempts meeting steps, and
	// returns its outcome and the id of the object it returned.
	create := func(steps []step, opts ...justap.Option) (gotID string, recovered, matches bool, err error) {
		c, st := faulty()
		st.plan(op, steps)
		if rc.refund {
			p := refundParams(chargeID, id, rc.amount)
			p.FullRefund = rc.fullRefund
			var rf *justap.Refund
			rf, err = c.Refunds.Create(ctx, p, opts...)
			if err == nil {
				gotID, recovered = rf.ID, rf.Recovered
				matches = rf.ChargeID == chargeID && (rc.fullRefund || rf.Amount == rc.amount)
			}
		} else {
			var ch *justap.Charge
			ch, err = c.Charges.Create(ctx, chargeParams(id, rc.amount), opts...)
			if err == nil {
				gotID, recovered = ch.ID, ch.Recovered
				matches = ch.Amount == rc.amount && ch.Channel == justap.ChannelAlipayQR && ch.AppID == srv.AppID()
			}
		}
		st.plan("", nil)
		srv.ClearFaults()
		return gotID, recovered, matches, err
	}
	// createdAt is when the fake made the object with that id.
	createdAt := func(objectID string) time.Time {
		for _, ch := range srv.Charges() {
			if ch.ID == objectID {
				return ch.CreatedAt
			}
			for _, rf := range ch.Refunds {
				if rf.ID == objectID {
					return rf.CreatedAt
				}
			}
		}
		fail("no object %s", objectID)
		return time.Time{}
	}
	// check checks an outcome against the fake, given what it held before
	// the call; it returns the outcome.
	check := func(what string, before []string, began time.Time, err error, gotID string, matches bool) string {
		t.Helper()
		after := holding(chargeID)
		out := outcomeOf(t, err)
		if len(after) > 1 {
			fail("%s: money moved twice: %d objects under %s: %v", what, len(after), id, after)
		}
		created := len(after) > len(before)
		switch out {
		case outSuccess:
			if len(after) != 1 || after[0] != gotID || !matches {
				fail("%s: success returned %s (matching %v); the fake holds %v", what, gotID, matches, after)
			}
			if len(before) == 1 && before[0] == gotID && createdAt(gotID).Before(began.Add(-justap.ClockSkewAllowance)) {
				// (An object made within the allowance before the call may
				// be taken for this call's: a plain retry of a call that
				// made it a moment ago is.)
				fail("%s: wrong success: %s was made before the call, by another", what, gotID)
			}
		case outRefused:
			if created {
				fail("%s: refused (%v), but the call created %v", what, err, after)
			}
		case outReused:
			var e *justap.Error
			errors.As(err, &e)
			switch {
			case created:
				fail("%s: false refusal: reused id (%v), but the call created %v", what, err, after)
			case len(before) != 1:
				fail("%s: reused id (%v), but nothing held the id before the call", what, err)
			case e.Charge != nil && e.Charge.ID != before[0] || e.Refund != nil && e.Refund.ID != before[0]:
				fail("%s: reused id names %v/%v, the fake holds %s", what, e.Charge, e.Refund, before[0])
			case e.SameMoney() && strings.Contains(err.Error(), "new merchant id"):
				fail("%s: same money, yet the error advises a new merchant id: %v", what, err)
			case e.Charge != nil && e.SameMoney() != (e.Charge.Amount == rc.amount):
				fail("%s: SameMoney %v for charge of %v, asked %v", what, e.SameMoney(), e.Charge.Amount, rc.amount)
			case e.Refund != nil && !rc.fullRefund && e.SameMoney() != (e.Refund.Amount == rc.amount):
				fail("%s: SameMoney %v for refund of %v, asked %v", what, e.SameMoney(), e.Refund.Amount, rc.amount)
			case e.Refund != nil && rc.fullRefund && e.SameMoney() != (rc.priorFull || !rc.reuse):
				// Without reuse, the refund under the id is the full refund
				// an earlier call of this one made.
				fail("%s: SameMoney %v for a full refund; the refund under the id was full: %v", what, e.SameMoney(), rc.priorFull || !rc.reuse)
			}
		case outUnknown:
			// Anything may have happened, once at most (checked above).
		}
		var e *justap.Error
		if err != nil && !errors.As(err, &e) {
			var v *justap.ValidationError
			if !errors.As(err, &v) {
				fail("%s: err = %T %v, want a *justap.Error", what, err, err)
			}
		}
		if e != nil && (e.Method != http.MethodPost || e.Attempts < 1 || e.Attempts > 3) {
			fail("%s: err = %v: method %s, %d attempts", what, err, e.Method, e.Attempts)
		}
		return out
	}

	for _, f := range rc.lookup {
		f.Op = listOp
		srv.FailNext(1, f)
	}
	began := time.Now()
	gotID, recovered, matches, err := create(rc.steps)
	out := check("create", before, began, err, gotID, matches)
	var e *justap.Error
	errors.As(err, &e)
	tally.add(func(t *randomTally) {
		t.outcomes[out]++
		if recovered {
			t.recovered++
		}
		if out == outReused && e.SameMoney() {
			t.sameMoney++
		}
	})

	// A retry job's later try of an unknown outcome, from a fresh Client.
	if out == outUnknown && rc.handRetry != "" {
		var opts []justap.Option
		if rc.handRetry == "continues" {
			opts = append(opts, justap.ContinuesFrom(e.Began))
		}
		beforeRetry := holding(chargeID)
		gotID, _, matches, err := create(rc.retrySteps, opts...)
		var rout string
		if rc.handRetry == "continues" {
			// The call it continues began before the first create: what
			// either made is this call's.
			rout = check("hand retry "+rc.handRetry, before, began, err, gotID, matches)
		} else {
			rout = check("hand retry "+rc.handRetry, beforeRetry, time.Now(), err, gotID, matches)
		}
		forAsked := rc.handRetry == "continues" && rout == outReused && len(holding(chargeID)) > len(before)
		if forAsked {
			fail("hand retry with ContinuesFrom ended in ErrReusedID for the object asked for: %v", err)
		}
		tally.add(func(t *randomTally) {
			t.retries[rc.handRetry][rout]++
			if forAsked {
				t.continuedReusedForAsked++
			}
		})
	}

	// Walks of the lists, through pages served wrong: never an item twice,
	// a walk ends whole or as malformed, and one read whole adds up to
	// what the fake holds. each runs the walk, yielding every item, and
	// returns the error it ended with.
	walk := func(what string, want justap.Amount, each func(yield func(id string, amount justap.Amount)) error) {
		seen := map[string]bool{}
		var sum justap.Amount
		err := each(func(id string, amount justap.Amount) {
			if seen[id] {
				fail("a walk of the %s yielded %s twice", what, id)
			}
			seen[id] = true
			sum += amount
		})
		switch {
		case err != nil && !errors.Is(err, justap.ErrMalformedResponse):
			fail("a walk of the %s failed with %v, want ErrMalformedResponse or nothing", what, err)
		case err == nil && sum != want:
			fail("a walk of the %s read whole sums %v, the fake holds %v", what, sum, want)
		}
		tally.add(func(t *randomTally) {
			if err == nil {
				t.walks++
			} else {
				t.walksRefused++
			}
		})
	}
	for _, f := range rc.walkFaults {
		f.Op = justaptest.OpListCharges
		srv.FailNext(100, f)
		f.Op = justaptest.OpListRefunds
		srv.FailNext(100, f)
	}
	var chargeSum justap.Amount
	for _, ch := range srv.Charges() {
		chargeSum += ch.Amount
	}
	walk("charges", chargeSum, func(yield func(string, justap.Amount)) error {
		for ch, err := range setupClient.Charges.All(ctx, &justap.ChargeListParams{Limit: 1, CreatedGTE: time.Unix(1, 0)}) {
			if err != nil {
				return err
			}
			yield(ch.ID, ch.Amount)
		}
		return nil
	})
	if rc.refund {
		var refundSum justap.Amount
		for _, rf := range srv.Refunds(chargeID) {
			refundSum += rf.Amount
		}
		walk("refunds", refundSum, func(yield func(string, justap.Amount)) error {
			for rf, err := range setupClient.Refunds.All(ctx, chargeID, &justap.RefundListParams{Limit: 1}) {
				if err != nil {
					return err
				}
				yield(rf.ID, rf.Amount)
			}
			return nil
		})
	}
	srv.ClearFaults()
}
