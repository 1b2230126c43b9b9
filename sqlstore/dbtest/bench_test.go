package dbtest

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justap-go/justap"
)

// BenchmarkClaim measures a notification's round in the store as the
// handler makes it: Claim (won) then Complete, from 16 goroutines at once
// (as 16 notifications arriving together), on each database and on the
// in-memory store. claims/s is what one store sustains.
//
//	eval "$(scripts/testdbs.sh start)"
//	cd sqlstore/dbtest && go test -run '^$' -bench Claim -benchtime 5000x
func BenchmarkClaim(b *testing.B) {
	for _, d := range databases {
		b.Run(d.name, func(b *testing.B) {
			benchClaims(b, newStore(b, d, d.open(b)))
		})
	}
	b.Run("Memory", func(b *testing.B) {
		benchClaims(b, justap.NewMemoryNotificationStore(justap.DefaultNotificationStoreSize))
	})
}

func benchClaims(b *testing.B, s justap.NotificationStore) {
	prefix := randomHex(b, 4) + " "
	var seq atomic.Int64
	b.SetParallelism(8) // 16 goroutines on 2 cores; more with more
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := prefix + strconv.FormatInt(seq.Add(1), 10)
			res, err := s.Claim(ctx, key, "token", time.Minute)
			if err != nil || res != justap.ClaimWon {
				b.Errorf("Claim: %v, %v", res, err)
				return
			}
			if err := s.Complete(ctx, key, "token"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "claims/s")
}
