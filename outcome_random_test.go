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
// and the faults its lookup meets.
type randomCase struct {
	refund bool
	// reuse: the merchant id was used before this create, by an object for
	// the same money (same) or for other money.
	reuse, same bool
	amount      justap.Amount
	fullRefund  bool
	steps       []step             // of the create's attempts, in order
	lookup      []justaptest.Fault // on the list the lookup reads
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
	if c.refund && r.IntN(10) == 0 {
		c.fullRefund, c.amount = true, 0
	}
	if r.IntN(8) == 0 {
		c.reuse, c.same = true, r.IntN(2) == 0
		if c.refund && c.amount > 500 {
			c.amount = 1 + c.amount%500 // the earlier refund must fit the charge
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

// TestRandomFaultOutcomes runs 1,200 random fault sequences against the
// fake, half on create charge and half on create refund, and checks each
// call's outcome against the fake's state: no money moves twice, no call
// reports a refusal when it created its object, a success returns the
// object that exists, and a reused id names an object older than the call.
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

	var (
		mu       sync.Mutex
		counts   = map[string]int{}
		kinds    = map[string]int{}
		recov    int
		dropThen int
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := justaptest.NewServer(t)
			base := []justap.Option{
				justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()), justap.WithHTTPClient(srv.Client()),
			}
			setupClient, err := justap.NewClient(srv.APIKey(), base...)
			if err != nil {
				t.Error(err)
				return
			}
			st := &stepper{base: srv.Client().Transport, srv: srv}
			c, err := justap.NewClient(srv.APIKey(), append(base,
				justap.WithHTTPClient(&http.Client{Transport: st}),
				justap.WithMaxResponseBytes(maxBody),
				justap.WithMaxRetries(2),
				justap.WithRetryBackoff(time.Nanosecond, time.Nanosecond),
				justap.WithRequestTimeout(hangFor))...)
			if err != nil {
				t.Error(err)
				return
			}
			for i := w; i < sequences; i += workers {
				rc := cases[i]
				srv.Reset()
				out, recovered := runRandomCase(t, c, setupClient, srv, st, i, rc)
				mu.Lock()
				counts[out]++
				if recovered {
					recov++
				}
				for _, s := range rc.steps {
					kinds[s.kind()]++
				}
				for _, f := range rc.lookup {
					kinds[f.Kind.String()]++
				}
				if len(rc.steps) > 1 && rc.steps[0].String() == "drop_response" &&
					(rc.steps[1].server == nil || rc.steps[1].server.Kind == justaptest.FaultMalformed ||
						rc.steps[1].server.Status >= 400 && rc.steps[1].server.Status < 500) {
					dropThen++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	total := 0
	var lines []string
	for k, n := range counts {
		total += n
		lines = append(lines, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(lines)
	t.Logf("%d calls: %s (of the successes, %d recovered by a lookup); %d sequences were a lost answer then a 4xx or an unreadable 200",
		total, strings.Join(lines, " "), recov, dropThen)
	t.Logf("faults injected by kind: %v", kinds)
	if total != sequences {
		t.Errorf("%d calls classified, want %d", total, sequences)
	}
	for _, k := range []string{"status", "hang", "reset", "malformed", "drop_response",
		"processed cut 200", "processed garble 200", "processed huge 200"} {
		if kinds[k] == 0 {
			t.Errorf("no %s fault was injected", k)
		}
	}
	if counts[outSuccess] == 0 || counts[outRefused] == 0 || counts[outUnknown] == 0 || counts[outReused] == 0 || recov == 0 {
		t.Errorf("an outcome never occurred: %v, %d recovered; the sequences do not cover every branch", counts, recov)
	}
}

// runRandomCase runs one sequence on a fresh fake and checks its outcome
// against the fake's state. It returns the outcome and whether the create
// was recovered.
func runRandomCase(t *testing.T, c, setupClient *justap.Client, srv *justaptest.Server, st *stepper, i int, rc randomCase) (string, bool) {
	ctx := context.Background()
	id := fmt.Sprintf("m-%d", i)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("sequence %d (refund %v, reuse %v same %v, amount %v, steps %v, lookup faults %d): %s",
			i, rc.refund, rc.reuse, rc.same, rc.amount, rc.steps, len(rc.lookup), fmt.Sprintf(format, args...))
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
	// reused id.
	var chargeID string
	chargeAmount := justap.Amount(1000)
	if rc.refund {
		ch, err := setupClient.Charges.Create(ctx, fakeCharge("order-"+id, chargeAmount))
		if err != nil {
			fail("setup: %v", err)
			return outRefused, false
		}
		if err := srv.Pay(ch.ID); err != nil {
			fail("setup: %v", err)
		}
		chargeID = ch.ID
	}
	if rc.reuse {
		var err error
		amount := rc.amount
		if !rc.same || amount == 0 {
			amount = 7
		}
		if rc.refund {
			_, err = setupClient.Refunds.Create(ctx, refundParams(chargeID, id, amount))
		} else {
			_, err = setupClient.Charges.Create(ctx, fakeCharge(id, amount))
		}
		if err != nil {
			fail("setup: %v", err)
		}
	}
	before := holding(chargeID)

	op := justaptest.OpCreateCharge
	if rc.refund {
		op = justaptest.OpCreateRefund
	}
	st.plan(op, rc.steps)
	for _, f := range rc.lookup {
		f.Op = justaptest.OpListCharges
		if rc.refund {
			f.Op = justaptest.OpListRefunds
		}
		srv.FailNext(1, f)
	}

	var (
		err       error
		gotID     string
		recovered bool
		matches   bool
	)
	if rc.refund {
		p := refundParams(chargeID, id, rc.amount)
		p.FullRefund = rc.fullRefund
		var rf *justap.Refund
		rf, err = c.Refunds.Create(ctx, p)
		if err == nil {
			gotID, recovered = rf.ID, rf.Recovered
			matches = rf.ChargeID == chargeID && (rc.fullRefund || rf.Amount == rc.amount)
		}
	} else {
		var ch *justap.Charge
		ch, err = c.Charges.Create(ctx, fakeCharge(id, rc.amount))
		if err == nil {
			gotID, recovered = ch.ID, ch.Recovered
			matches = ch.Amount == rc.amount && ch.Channel == justap.ChannelAlipayQR && ch.AppID == srv.AppID()
		}
	}
	st.plan("", nil)
	srv.ClearFaults()
	after := holding(chargeID)
	out := outcomeOf(t, err)

	if len(after) > 1 {
		fail("money moved twice: %d objects under %s: %v", len(after), id, after)
	}
	created := len(after) > len(before)
	switch out {
	case outSuccess:
		if len(after) != 1 || after[0] != gotID || !matches {
			fail("success returned %s (matching %v); the fake holds %v", gotID, matches, after)
		}
	case outRefused:
		if created {
			fail("refused (%v), but the call created %v", err, after)
		}
	case outReused:
		if len(before) != 1 {
			fail("reused id (%v), but nothing held the id before the call", err)
			break
		}
		var e *justap.Error
		errors.As(err, &e)
		if e.Charge != nil && e.Charge.ID != before[0] || e.Refund != nil && e.Refund.ID != before[0] {
			fail("reused id names %v/%v, the fake holds %s", e.Charge, e.Refund, before[0])
		}
	case outUnknown:
		// Anything may have happened, once at most (checked above).
	}
	var e *justap.Error
	if err != nil && !errors.As(err, &e) {
		var v *justap.ValidationError
		if !errors.As(err, &v) {
			fail("err = %T %v, want a *justap.Error", err, err)
		}
	}
	if e != nil && (e.Method != http.MethodPost || e.Attempts < 1 || e.Attempts > 3) {
		fail("err = %v: method %s, %d attempts", err, e.Method, e.Attempts)
	}
	return out, recovered
}
