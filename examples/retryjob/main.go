// Command retryjob is the job that takes money and survives a restart:
// it stores what it asks for and when it first asked, and after an
// outcome it cannot know, it asks again with the same merchant id and
// justap.ContinuesFrom, until the outcome is final.
//
//	go run ./examples/retryjob
//
// It runs offline against the in-process fake of package justaptest, and
// makes the worst happen on purpose: the gateway creates the charge (and
// later the refund) but the answer is lost, and the lookup that would
// find it fails too, so the call ends with the outcome unknown. The
// process then "restarts", an hour later on the fake's clock: a new
// Client, the jobs read back from their file, and the retry continues the
// first call. Before the last retry it shows what a plain retry, without
// ContinuesFrom, is told hours later: a reused id for the same money. It
// ends by printing, from the fake's own state, that exactly one charge and
// one refund exist.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	err := run(ctx, os.Stdout)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "retryjob:", err)
		os.Exit(1)
	}
}

// A job is one create the shop wants done. It is stored before its first
// attempt, with the time of that attempt, so that every later attempt,
// in this process or the next, continues the same call.
type job struct {
	Kind       string    `json:"kind"`        // "charge" or "refund"
	MerchantID string    `json:"merchant_id"` // the idempotency key
	AmountFen  int64     `json:"amount_fen"`  // a charge's amount; 0 for a full refund
	ChargeID   string    `json:"charge_id"`   // the charge a refund is of
	Began      time.Time `json:"began"`       // when the first attempt began
	State      string    `json:"state"`       // "pending", "done" or "failed"
	Result     string    `json:"result"`      // the object's id, or why it failed
}

// jobs is the shop's store of jobs: a JSON file, standing in for the
// table a real shop keeps them in.
type jobs struct {
	path string
	now  func() time.Time
	list []*job
}

func (s *jobs) save() error {
	b, err := json.MarshalIndent(s.list, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.path, b, 0o600)
}

func openJobs(path string, now func() time.Time) (*jobs, error) {
	s := &jobs{path: path, now: now}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	return s, json.Unmarshal(b, &s.list)
}

// add stores a new job, stamped with now: the time its first attempt
// begins.
func (s *jobs) add(j *job) error {
	j.Began, j.State = s.now(), "pending"
	s.list = append(s.list, j)
	return s.save()
}

// attempt runs one attempt of a job and stores where it ended. It returns
// whether the job is still pending (the outcome is unknown).
func attempt(ctx context.Context, out io.Writer, c *justap.Client, j *job) (bool, error) {
	var (
		id        string
		recovered bool
		err       error
	)
	continues := justap.ContinuesFrom(j.Began)
	switch j.Kind {
	case "charge":
		var ch *justap.Charge
		ch, err = c.Charges.Create(ctx, &justap.ChargeCreateParams{
			MerchantTradeID: j.MerchantID,
			Amount:          justap.Amount(j.AmountFen),
			Channel:         justap.ChannelAlipayQR,
			Subject:         "T-shirt",
			Body:            "One T-shirt, size M",
			ClientIP:        "203.0.113.7",
		}, continues)
		if err == nil {
			id, recovered = ch.ID, ch.Recovered
		}
	case "refund":
		var r *justap.Refund
		r, err = c.Refunds.Create(ctx, &justap.RefundCreateParams{
			ChargeID:         j.ChargeID,
			MerchantRefundID: j.MerchantID,
			Description:      "returned",
			FullRefund:       true,
		}, continues)
		if err == nil {
			id, recovered = r.ID, r.Recovered
		}
	default:
		return false, fmt.Errorf("job %s: unknown kind %q", j.MerchantID, j.Kind)
	}
	var e *justap.Error
	switch {
	case err == nil:
		j.State, j.Result = "done", id
		how := "created"
		if recovered {
			how = "found: an earlier attempt of this call created it"
		}
		fmt.Fprintf(out, "  %s %s: done, %s %s\n", j.Kind, j.MerchantID, id, how)
	case errors.As(err, &e) && e.OutcomeUnknown():
		fmt.Fprintf(out, "  %s %s: outcome unknown, the job stays pending (%d attempts)\n", j.Kind, j.MerchantID, e.Attempts)
	default:
		// Refused, or the id names money this job did not ask for: a
		// person must look. Never retried under a new id by the job.
		j.State, j.Result = "failed", err.Error()
		fmt.Fprintf(out, "  %s %s: failed: %v\n", j.Kind, j.MerchantID, err)
	}
	return j.State == "pending", nil
}

// work runs every pending job until none is pending, waiting between
// rounds, or until ctx ends (the next process picks the jobs up again).
// rounds limits the rounds (0: no limit), which is how this program
// "crashes" after its first.
func work(ctx context.Context, out io.Writer, c *justap.Client, s *jobs, rounds int, wait time.Duration) error {
	for round := 1; ; round++ {
		pending := 0
		for _, j := range s.list {
			if j.State != "pending" {
				continue
			}
			again, err := attempt(ctx, out, c, j)
			if err != nil {
				return err
			}
			if err := s.save(); err != nil {
				return err
			}
			if again {
				pending++
			}
		}
		if pending == 0 || round == rounds {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// newClient is what a process does when it starts.
func newClient(fake *justaptest.Server) (*justap.Client, error) {
	return justap.NewClient(fake.APIKey(), justap.WithBaseURL(fake.URL), justap.WithAppID(fake.AppID()),
		justap.WithMaxRetries(1))
}

// loseTheAnswer makes the gateway do the next create of op but lose its
// answer, and fail the lookups that would find the object.
func loseTheAnswer(fake *justaptest.Server, op, lookup justaptest.Op) {
	fake.FailNext(1, justaptest.Fault{Op: op, Kind: justaptest.FaultDropResponse})
	fake.FailNext(2, justaptest.Fault{Op: lookup, Kind: justaptest.FaultStatus, Status: 503})
}

// scene is the time the story is at: the fake gateway's clock and the
// jobs' stamps, hours behind this machine's until the last process, so
// that a retry comes hours after its first attempt, as after a real
// outage. The Client's own clock is this machine's.
type scene struct{ behind atomic.Int64 }

func (c *scene) now() time.Time      { return time.Now().Add(-time.Duration(c.behind.Load())) }
func (c *scene) set(d time.Duration) { c.behind.Store(int64(d)) }

func run(ctx context.Context, out io.Writer) error {
	var clock scene
	clock.set(2 * time.Hour)
	fake, err := justaptest.StartServer(justaptest.WithClock(clock.now))
	if err != nil {
		return err
	}
	defer fake.Close()
	dir, err := os.MkdirTemp("", "retryjob")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jobs.json")
	fmt.Fprintf(out, "Jobs are kept in %s; the gateway is the in-process fake (justaptest), no money moves.\n\n", filepath.Base(path))

	// 1. Two hours ago, a process stores the charge job, tries once, and
	// stops: the gateway created the charge, but nobody knows.
	fmt.Fprintln(out, "Process 1, two hours ago: charge ¥19.99 under order-1001; the answer and the lookup are lost.")
	c, err := newClient(fake)
	if err != nil {
		return err
	}
	s, err := openJobs(path, clock.now)
	if err != nil {
		return err
	}
	if err := s.add(&job{Kind: "charge", MerchantID: "order-1001", AmountFen: 1999}); err != nil {
		return err
	}
	loseTheAnswer(fake, justaptest.OpCreateCharge, justaptest.OpListCharges)
	if err := work(ctx, out, c, s, 1, 0); err != nil {
		return err
	}

	// 2. An hour later a new process, with a new Client, reads the jobs
	// back from the file: the pending one continues the first call.
	clock.set(time.Hour)
	fmt.Fprintln(out, "Process 2, an hour ago (restarted): the pending job continues the first call.")
	c, err = newClient(fake)
	if err != nil {
		return err
	}
	if s, err = openJobs(path, clock.now); err != nil {
		return err
	}
	if err := work(ctx, out, c, s, 0, time.Second); err != nil {
		return err
	}
	charge := s.list[0]
	if charge.State != "done" {
		return fmt.Errorf("the charge job ended %s: %s", charge.State, charge.Result)
	}
	if err := fake.Pay(charge.Result); err != nil { // the customer pays
		return err
	}
	fmt.Fprintf(out, "The customer paid %s.\n", charge.Result)

	// 3. The full refund meets the same bad luck.
	fmt.Fprintln(out, "Process 2: refund all of it under refund-1001; the answer and the lookup are lost.")
	if err := s.add(&job{Kind: "refund", MerchantID: "refund-1001", ChargeID: charge.Result}); err != nil {
		return err
	}
	loseTheAnswer(fake, justaptest.OpCreateRefund, justaptest.OpListRefunds)
	if err := work(ctx, out, c, s, 1, 0); err != nil {
		return err
	}

	// 4. Now, a third process. A create that does not say it continues an
	// earlier call cannot be told from a reused merchant id: the objects
	// were made hours before it began.
	clock.set(0)
	fmt.Fprintln(out, "Process 3, now (restarted).")
	c, err = newClient(fake)
	if err != nil {
		return err
	}
	if err := plainRetries(ctx, out, c, charge.Result); err != nil {
		return err
	}
	if s, err = openJobs(path, clock.now); err != nil {
		return err
	}
	fmt.Fprintln(out, "The job's retry continues the first call:")
	if err := work(ctx, out, c, s, 0, time.Second); err != nil {
		return err
	}

	// 5. What the gateway holds: its own state, not what the SDK said.
	var charges, refunds int
	var refunded justap.Amount
	for _, ch := range fake.Charges() {
		if ch.MerchantTradeID != "order-1001" {
			continue
		}
		charges++
		for _, r := range fake.Refunds(ch.ID) {
			refunds++
			refunded += r.Amount
		}
	}
	fmt.Fprintf(out, "\nThe gateway holds %d charge under order-1001 and %d refund of it (¥%s refunded).\n",
		charges, refunds, refunded)
	if charges != 1 || refunds != 1 {
		return errors.New("money moved more than once")
	}
	return nil
}

// plainRetries asks for the charge and the refund again without
// ContinuesFrom, and shows what the SDK then says.
func plainRetries(ctx context.Context, out io.Writer, c *justap.Client, chargeID string) error {
	_, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
		MerchantTradeID: "order-1001", Amount: justap.Amount(1999), Channel: justap.ChannelAlipayQR,
		Subject: "T-shirt", Body: "One T-shirt, size M", ClientIP: "203.0.113.7",
	})
	if err := sayReused(out, "charge order-1001", err); err != nil {
		return err
	}
	_, err = c.Refunds.Create(ctx, &justap.RefundCreateParams{
		ChargeID: chargeID, MerchantRefundID: "refund-1001", Description: "returned", FullRefund: true,
	})
	return sayReused(out, "refund refund-1001", err)
}

func sayReused(out io.Writer, what string, err error) error {
	var e *justap.Error
	if !errors.As(err, &e) || !errors.Is(err, justap.ErrReusedID) {
		return fmt.Errorf("%s without ContinuesFrom: want a reused id, got %v", what, err)
	}
	fmt.Fprintf(out, "  %s without ContinuesFrom: reused id, same money: %t\n    %v\n", what, e.SameMoney(), err)
	return nil
}
