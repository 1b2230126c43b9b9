package justaptest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	paid := f.paid(t, "paid", 1000)

	var (
		wg                        sync.WaitGroup
		sameWins, sameConflicts   atomic.Int32
		refundWins, refundRefused atomic.Int32
	)
	for g := 0; g < 10; g++ {
		wg.Add(4)
		go func() { // distinct charges
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := f.c.Charges.Create(ctx, params(fmt.Sprintf("g%d-%d", g, i), 100)); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() { // the same merchant_trade_id from every goroutine
			defer wg.Done()
			_, err := f.c.Charges.Create(ctx, params("same", 100))
			switch {
			case err == nil:
				sameWins.Add(1)
			case errors.Is(err, justap.ErrConflict):
				sameConflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
		go func() { // ¥1.00 refunds of a ¥10.00 charge, two per goroutine
			defer wg.Done()
			for i := 0; i < 2; i++ {
				_, err := f.refund(paid.ID, fmt.Sprintf("r%d-%d", g, i), 100)
				switch e := (*justap.Error)(nil); {
				case err == nil:
					refundWins.Add(1)
				case errors.As(err, &e) && e.Code == 9:
					refundRefused.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
		go func() { // readers, faults and counts alongside
			defer wg.Done()
			f.srv.FailNext(1, justaptest.Fault{Op: justaptest.OpGetRefund, Status: 500})
			for i := 0; i < 2; i++ {
				f.c.Charges.List(ctx, &justap.ChargeListParams{Limit: 20})
				f.c.Charges.Get(ctx, paid.ID)
				f.srv.Charges()
				f.srv.Counts()
			}
		}()
	}
	wg.Wait()

	if sameWins.Load() != 1 || sameConflicts.Load() != 9 {
		t.Errorf("same merchant_trade_id: %d created, %d conflicts; want 1 and 9", sameWins.Load(), sameConflicts.Load())
	}
	if refundWins.Load() != 10 || refundRefused.Load() != 10 {
		t.Errorf("refunds: %d made, %d refused; want 10 and 10", refundWins.Load(), refundRefused.Load())
	}
	if ch, _ := f.srv.Charge(paid.ID); ch.AmountRefunded != 1000 || !ch.Refunded || len(ch.Refunds) != 10 {
		t.Errorf("charge refunded %v in %d refunds", ch.AmountRefunded, len(ch.Refunds))
	}
	all := f.srv.Charges()
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.ID] {
			t.Errorf("id %s given twice", c.ID)
		}
		seen[c.ID] = true
	}
	if len(all) != 1+50+1 {
		t.Errorf("%d charges, want 52", len(all))
	}
	if n := f.srv.Count(justaptest.OpCreateCharge); n != 1+50+10 {
		t.Errorf("Count(OpCreateCharge) = %d, want 61", n)
	}
}
