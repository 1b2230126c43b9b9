package dbtest

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justap-go/justap"
	"github.com/justap-go/justap/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// TestStoreClaims walks one notification through the store's states: won,
// held by another, released, won by the other, completed, done for all.
func TestStoreClaims(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		s := newStore(t, d, db)
		key := `"app_1" notify_id "nt_` + randomHex(t, 4) + `"`
		claim := func(token string) justap.ClaimResult { t.Helper(); return claim2(t, s, key, token) }
		assert.Equal(t, justap.ClaimWon, claim("a"))
		assert.Equal(t, justap.ClaimWon, claim("a"), "the holder claiming again (a retried Claim)")
		assert.Equal(t, justap.ClaimHeld, claim("b"))
		require.NoError(t, s.Release(ctx, key, "b"), "a release by who does not hold it")
		assert.Equal(t, justap.ClaimHeld, claim("b"), "b's release must not end a's claim")
		require.NoError(t, s.Release(ctx, key, "a"))
		assert.Equal(t, justap.ClaimWon, claim("b"), "released: the next copy takes it at once")
		assert.Equal(t, justap.ClaimHeld, claim("a"))
		require.NoError(t, s.Complete(ctx, key, "b"))
		require.NoError(t, s.Complete(ctx, key, "b"), "Complete twice")
		for _, token := range []string{"a", "b", "c"} {
			assert.Equal(t, justap.ClaimDone, claim(token))
		}
		require.NoError(t, s.Release(ctx, key, "b"))
		assert.Equal(t, justap.ClaimDone, claim("c"), "a release after completion undoes nothing")

		other := key + " other"
		assert.Equal(t, justap.ClaimWon, claim2(t, s, other, "c"), "keys are independent")
		_, err := s.Claim(ctx, other, "", time.Hour)
		assert.Error(t, err, "an empty token")
	})
}

func claim2(t *testing.T, s *sqlstore.Store, key, token string) justap.ClaimResult {
	t.Helper()
	res, err := s.Claim(ctx, key, token, time.Hour)
	require.NoError(t, err)
	return res
}

// TestStoreAtMostOneWinner claims each of 40 keys from 24 goroutines at
// once: exactly one wins each key, every other is held.
func TestStoreAtMostOneWinner(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		s := newStore(t, d, db)
		for k := range 40 {
			key := "race " + randomHex(t, 4) + " " + string(rune('a'+k%26))
			var wg sync.WaitGroup
			results := make([]justap.ClaimResult, 24)
			errs := make([]error, 24)
			start := make(chan struct{})
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = s.Claim(ctx, key, "token-"+string(rune('A'+i)), time.Minute)
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i, res := range results {
				require.NoError(t, errs[i])
				switch res {
				case justap.ClaimWon:
					won++
				case justap.ClaimHeld:
				default:
					t.Errorf("key %d, claim %d: %v", k, i, res)
				}
			}
			require.Equal(t, 1, won, "key %d: claims won", k)
		}
	})
}

// TestStoreLeaseEnds: a claim whose holder died is held until its lease
// ends, then taken by the next copy, once; the dead holder's late
// CompleteTx is refused.
func TestStoreLeaseEnds(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		s := newStore(t, d, db)
		key := "lease " + randomHex(t, 4)
		const lease = 400 * time.Millisecond
		res, err := s.Claim(ctx, key, "dead", lease)
		require.NoError(t, err)
		require.Equal(t, justap.ClaimWon, res)
		began := time.Now()
		held := 0
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err = s.Claim(ctx, key, "next", lease)
			require.NoError(t, err)
			if res != justap.ClaimHeld {
				break
			}
			held++
			require.True(t, time.Now().Before(deadline), "the lease never ended")
			time.Sleep(20 * time.Millisecond)
		}
		assert.Equal(t, justap.ClaimWon, res)
		assert.GreaterOrEqual(t, time.Since(began), lease-50*time.Millisecond, "taken before the lease ended")
		assert.Positive(t, held, "held while the lease lasted")
		res, err = s.Claim(ctx, key, "third", lease)
		require.NoError(t, err)
		assert.Equal(t, justap.ClaimHeld, res, "the new holder's lease holds")

		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		err = s.CompleteTx(ctx, tx, event(key, "dead"))
		assert.ErrorIs(t, err, sqlstore.ErrClaimLost, "the dead holder's claim was taken over")
		require.NoError(t, tx.Rollback())

		tx, err = db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, s.CompleteTx(ctx, tx, event(key, "next")))
		require.NoError(t, tx.Commit())
		res, err = s.Claim(ctx, key, "dead", lease)
		require.NoError(t, err)
		assert.Equal(t, justap.ClaimDone, res)
	})
}

func event(key, token string) *justap.ChargeEvent {
	return &justap.ChargeEvent{Type: justap.EventChargePaid, Claim: &justap.NotificationClaim{Key: key, Token: token}}
}

// TestStoreCompleteTx: the completion commits with the merchant's change,
// or rolls back with it.
func TestStoreCompleteTx(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		s := newStore(t, d, db)
		orders := "orders_" + randomHex(t, 4)
		_, err := db.Exec("CREATE TABLE " + orders + " (id VARCHAR(64) PRIMARY KEY)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Exec("DROP TABLE " + orders) })
		insert := "INSERT INTO " + orders + " (id) VALUES (?)"
		if d.dialect == sqlstore.Postgres {
			insert = strings.Replace(insert, "?", "$1", 1)
		}
		key := "tx " + randomHex(t, 4)
		res, err := s.Claim(ctx, key, "a", time.Hour)
		require.NoError(t, err)
		require.Equal(t, justap.ClaimWon, res)

		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.Exec(insert, "order-1")
		require.NoError(t, err)
		require.NoError(t, s.CompleteTx(ctx, tx, event(key, "a")))
		require.NoError(t, tx.Rollback(), "the shop crashed before commit")
		res, err = s.Claim(ctx, key, "b", time.Hour)
		require.NoError(t, err)
		assert.Equal(t, justap.ClaimHeld, res, "rolled back: still a's claim, not done")
		var n int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+orders).Scan(&n))
		assert.Equal(t, 0, n)

		tx, err = db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.Exec(insert, "order-1")
		require.NoError(t, err)
		require.NoError(t, s.CompleteTx(ctx, tx, event(key, "a")))
		require.NoError(t, tx.Commit())
		res, err = s.Claim(ctx, key, "b", time.Hour)
		require.NoError(t, err)
		assert.Equal(t, justap.ClaimDone, res)
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+orders).Scan(&n))
		assert.Equal(t, 1, n)

		tx, err = db.BeginTx(ctx, nil)
		require.NoError(t, err)
		assert.ErrorIs(t, s.CompleteTx(ctx, tx, event(key, "a")), sqlstore.ErrClaimLost, "completed twice")
		assert.NoError(t, s.CompleteTx(ctx, tx, &justap.ChargeEvent{}), "an event without a claim (a sweep's)")
		assert.NoError(t, s.CompleteTx(ctx, tx, nil))
		require.NoError(t, tx.Rollback())
		assert.Error(t, s.CompleteTx(ctx, nil, event(key, "a")))
	})
}

// TestStoreExpire deletes rows past the retention in batches, and never a
// held claim or a row within the retention.
func TestStoreExpire(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		s := newStore(t, d, db, sqlstore.WithRetention(time.Millisecond), sqlstore.WithExpireBatch(7))
		table := tableOf(t, s)
		oldKey := func(i int) string { return "old " + string(rune('a'+i%26)) + string(rune('a'+i/26)) }
		for i := range 30 {
			key := oldKey(i)
			_, err := s.Claim(ctx, key, "t", time.Hour)
			require.NoError(t, err)
			if i < 20 {
				require.NoError(t, s.Complete(ctx, key, "t"))
			} else if i < 25 {
				require.NoError(t, s.Release(ctx, key, "t"))
			}
		}
		time.Sleep(20 * time.Millisecond) // past the retention of 1 ms
		n, err := s.Expire(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(25), n, "20 done and 5 released, in batches of 7; 5 held kept")
		var left int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&left))
		assert.Equal(t, 5, left)
		res, err := s.Claim(ctx, oldKey(25), "other", time.Hour)
		require.NoError(t, err)
		assert.Equal(t, justap.ClaimHeld, res, "a held claim survives expiry")

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.Expire(cancelled)
		assert.ErrorIs(t, err, context.Canceled)

		young := newStore(t, d, db) // the default retention
		require.NoError(t, young.Complete(ctx, "never claimed", "t"))
		_, err = young.Claim(ctx, "young", "t", time.Hour)
		require.NoError(t, err)
		require.NoError(t, young.Complete(ctx, "young", "t"))
		n, err = young.Expire(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "within the retention")
		res, err = young.Claim(ctx, "young", "u", time.Hour)
		require.NoError(t, err)
		assert.Equal(t, justap.ClaimDone, res)
	})
}

// tableOf reads the store's table name from its DDL.
func tableOf(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	f := strings.Fields(s.DDL())
	require.GreaterOrEqual(t, len(f), 6)
	return f[5] // CREATE TABLE IF NOT EXISTS name
}

// TestStoreDDL applies the published DDL by hand, as a migration would,
// then CreateTable on top of it: both work, and the store runs on it.
func TestStoreDDL(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d database, db *sql.DB) {
		table := "ddl_" + randomHex(t, 4)
		s, err := sqlstore.New(db, d.dialect, sqlstore.WithTable(table))
		require.NoError(t, err)
		t.Cleanup(func() { db.Exec("DROP TABLE " + table) })
		for _, stmt := range strings.Split(s.DDL(), ";\n") {
			if strings.TrimSpace(stmt) != "" {
				_, err := db.Exec(stmt)
				require.NoError(t, err, stmt)
			}
		}
		require.NoError(t, s.CreateTable(ctx), "CreateTable on an existing table")
		require.NoError(t, s.CreateTable(ctx), "and again")
		assert.Equal(t, justap.ClaimWon, claim2(t, s, "k", "t"))
	})
}
