// Package sqlstore is a [justap.NotificationStore] on the merchant's own
// database, through database/sql: several instances of a shop behind one
// notify_url share it, so that a notification is handled by one of them at
// a time and, once handled, by none again. It supports PostgreSQL,
// MySQL/MariaDB and SQLite; it takes the merchant's *sql.DB and imports no
// driver, so it adds nothing to the merchant's go.sum.
//
//	store, err := sqlstore.New(db, sqlstore.Postgres)
//	if err != nil { … }
//	if err := store.CreateTable(ctx); err != nil { … } // or apply store.DDL() with your migrations
//	h, err := client.Notifications.Handler(onEvent,
//		justap.WithJustapPublicKey(justapKey), justap.WithNotificationStore(store))
//
// # Exactly-once effects
//
// The handler claims a notification before calling the merchant's
// function and completes the claim after the function returned. A shop
// that crashes between its own change and the completion would see the
// notification again; one that crashes between the completion and its
// change would lose it. [Store.CompleteTx] closes that gap: it completes
// the claim inside the merchant's transaction, so that the change (the
// order marked paid, the shipment queued) and the record that the
// notification was handled commit together or not at all:
//
//	func onEvent(ctx context.Context, ev *justap.ChargeEvent) error {
//		tx, err := db.BeginTx(ctx, nil)
//		if err != nil {
//			return err
//		}
//		defer tx.Rollback()
//		// … mark the order paid, queue the shipment, in tx …
//		if err := store.CompleteTx(ctx, tx, ev); err != nil {
//			return err // another instance took the notification over: it applies it
//		}
//		return tx.Commit()
//	}
//
// # Claims, leases and retention
//
// Each notification is one row, keyed by the SHA-256 of the handler's key.
// A claim holds it for the handler's lease ([justap.WithNotificationLease]);
// a claim whose lease ended (its instance died inside the function) is
// taken by the next copy. Times are the database's clock, in Unix
// milliseconds, so that the instances' clocks need not agree. A completed
// row is remembered for the retention ([WithRetention], default
// [DefaultRetention]); [Store.Expire] deletes older rows in bounded batches,
// and should run periodically (hourly, say).
//
// # Failures
//
// A store that fails makes the handler answer 500: Justap resends, and no
// notification is handled without its claim. A Complete that fails after
// the function succeeded is logged by the handler; the resend calls the
// function again, which is why it must be idempotent (or use CompleteTx).
//
// # SQLite
//
// SQLite serializes writers: give the connection a busy timeout (with
// modernc.org/sqlite, "file:shop.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"),
// or a claim that meets another instance's open transaction fails at once
// and the notification waits for Justap's resend. SQLite serves the
// instances of one host; replicas on several hosts need PostgreSQL or
// MySQL/MariaDB.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/justap-go/justap"
)

// Dialect is the SQL of a database server.
type Dialect int

const (
	// Postgres is PostgreSQL (9.5 or later), with any driver (pgx's stdlib,
	// lib/pq).
	Postgres Dialect = iota + 1
	// MySQL is MySQL (5.7 or later) or MariaDB (10.3 or later), with
	// github.com/go-sql-driver/mysql.
	MySQL
	// SQLite is SQLite (3.24 or later), with modernc.org/sqlite or
	// mattn/go-sqlite3.
	SQLite
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "Postgres"
	case MySQL:
		return "MySQL"
	case SQLite:
		return "SQLite"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// nowMS is the dialect's current time in Unix milliseconds, UTC.
func (d Dialect) nowMS() string {
	switch d {
	case Postgres:
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
	case MySQL:
		// Arithmetic on UTC alone: no session time zone, no DST.
		return "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)"
	default:
		return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
	}
}

// DefaultTable is the table's name unless [WithTable] sets another.
const DefaultTable = "justap_notifications"

// DefaultRetention is how long a handled notification is remembered
// unless [WithRetention] sets another: Justap resends for at most 25
// hours; a week also covers a resend asked for by hand in Justap's console
// in the days after.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultExpireBatch is how many rows one statement of [Store.Expire]
// deletes at most, unless [WithExpireBatch] sets another.
const DefaultExpireBatch = 1000

// ErrClaimLost is returned by [Store.CompleteTx] when the event's claim is
// no longer its handler's: its lease ended and another instance claimed
// the notification (and applies it), or it was completed already. Roll
// the transaction back.
var ErrClaimLost = errors.New("sqlstore: the notification's claim is no longer this handler's")

// Store is a [justap.NotificationStore] in a table of the merchant's
// database. It is safe for concurrent use, by one process or many.
type Store struct {
	db        *sql.DB
	dialect   Dialect
	table     string
	retention time.Duration
	batch     int
	q         queries
}

// queries are the store's statements, in the dialect's placeholders.
type queries struct {
	insert, read, takeOver, release, complete, completeTx, expire string
	ddl                                                           []string
	insertCounts                                                  bool // whether insert's affected rows tell a new row
}

// Option configures a [Store].
type Option func(*Store) error

// WithTable sets the table's name (default [DefaultTable]): letters,
// digits and underscores, optionally qualified by a schema ("shop.justap_notifications").
func WithTable(name string) Option {
	return func(s *Store) error {
		if !tableName.MatchString(name) {
			return fmt.Errorf("sqlstore: WithTable: %q is not a table name (letters, digits and _, optionally schema.table)", name)
		}
		s.table = name
		return nil
	}
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// WithRetention sets how long a handled notification is remembered
// (default [DefaultRetention]): a copy that arrives later is handled
// again. It must be positive.
func WithRetention(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return errors.New("sqlstore: WithRetention: the retention must be positive")
		}
		s.retention = d
		return nil
	}
}

// WithExpireBatch sets how many rows one statement of [Store.Expire]
// deletes at most (default [DefaultExpireBatch]), so that expiry never
// holds locks on many rows at once. It must be positive.
func WithExpireBatch(n int) Option {
	return func(s *Store) error {
		if n <= 0 {
			return errors.New("sqlstore: WithExpireBatch: the batch must be positive")
		}
		s.batch = n
		return nil
	}
}

// New returns a store in db, whose server speaks dialect. It does not
// touch the database: create the table with [Store.CreateTable], or apply
// [Store.DDL] with the shop's migrations.
func New(db *sql.DB, dialect Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New: nil *sql.DB")
	}
	if dialect != Postgres && dialect != MySQL && dialect != SQLite {
		return nil, fmt.Errorf("sqlstore: New: unknown dialect %v (use Postgres, MySQL or SQLite)", dialect)
	}
	s := &Store{db: db, dialect: dialect, table: DefaultTable, retention: DefaultRetention, batch: DefaultExpireBatch}
	for _, opt := range opts {
		if err := opt(s); err != nil {
			return nil, err
		}
	}
	s.q = buildQueries(dialect, s.table)
	return s, nil
}

func buildQueries(d Dialect, t string) queries {
	now := d.nowMS()
	q := queries{
		insert: "INSERT INTO " + t + " (key_hash, token, lease_until, done_at, created_at) VALUES (?, ?, " + now + " + ?, 0, " + now + ")",
		read: "SELECT token, done_at, CASE WHEN lease_until <= " + now + " THEN 1 ELSE 0 END FROM " + t +
			" WHERE key_hash = ?",
		// Takes over a claim whose lease ended: at most one caller's
		// condition holds, since the update moves the lease forward.
		takeOver:   "UPDATE " + t + " SET token = ?, lease_until = " + now + " + ? WHERE key_hash = ? AND done_at = 0 AND lease_until <= " + now,
		release:    "UPDATE " + t + " SET lease_until = 0 WHERE key_hash = ? AND token = ? AND done_at = 0",
		complete:   "UPDATE " + t + " SET done_at = " + now + ", token = '', lease_until = 0 WHERE key_hash = ? AND done_at = 0",
		completeTx: "UPDATE " + t + " SET done_at = " + now + ", token = '', lease_until = 0 WHERE key_hash = ? AND done_at = 0 AND token = ?",
	}
	expired := "created_at < " + now + " - ? AND lease_until < " + now
	// Column types: the key is 64 hex digits; the token is compared as
	// text, so never CHAR (PostgreSQL would pad it).
	key, token, ms, tail := "CHAR(64)", "VARCHAR(64)", "BIGINT", ""
	switch d {
	case MySQL:
		// A duplicate is left as it is; with clientFoundRows it counts as
		// affected, which is why Claim reads the row back.
		q.insert += " ON DUPLICATE KEY UPDATE key_hash = key_hash"
		q.expire = "DELETE FROM " + t + " WHERE " + expired + " ORDER BY created_at LIMIT ?"
		key, token, tail = "CHAR(64) CHARACTER SET ascii", "VARCHAR(64) CHARACTER SET ascii", " ENGINE=InnoDB"
	case SQLite:
		key, token, ms = "TEXT", "TEXT", "INTEGER"
		fallthrough
	default:
		q.insert += " ON CONFLICT (key_hash) DO NOTHING"
		q.insertCounts = true
		q.expire = "DELETE FROM " + t + " WHERE key_hash IN (SELECT key_hash FROM " + t + " WHERE " + expired + " LIMIT ?)"
	}
	cols := "\tkey_hash    " + key + " NOT NULL PRIMARY KEY, -- hex SHA-256 of the handler's key\n" +
		"\ttoken       " + token + " NOT NULL, -- the claim's holder; '' once done\n" +
		"\tlease_until " + ms + " NOT NULL, -- Unix ms: the claim holds until then\n" +
		"\tdone_at     " + ms + " NOT NULL DEFAULT 0, -- Unix ms it was handled; 0 while not\n" +
		"\tcreated_at  " + ms + " NOT NULL"
	if d == MySQL { // MySQL has no CREATE INDEX IF NOT EXISTS: the index goes in the table
		q.ddl = []string{"CREATE TABLE IF NOT EXISTS " + t + " (\n" + cols + ", -- Unix ms of the first claim\n" +
			"\tINDEX " + indexName(t) + " (created_at)\n)" + tail}
	} else {
		q.ddl = []string{"CREATE TABLE IF NOT EXISTS " + t + " (\n" + cols + " -- Unix ms of the first claim\n)",
			"CREATE INDEX IF NOT EXISTS " + indexName(t) + " ON " + t + " (created_at)"}
	}
	for _, p := range []*string{&q.insert, &q.read, &q.takeOver, &q.release, &q.complete, &q.completeTx, &q.expire} {
		*p = d.Rebind(*p)
	}
	return q
}

// indexName is the name of the table's index on created_at: in the
// table's schema, as PostgreSQL wants it unqualified.
func indexName(table string) string {
	_, name, _ := strings.Cut(table, ".")
	if name == "" {
		name = table
	}
	return name + "_created_at"
}

// Rebind writes a query's ? placeholders in the dialect's own form:
// PostgreSQL's $1, $2, …; as they are for MySQL and SQLite. The query must
// have no ? but its placeholders (none in a string literal). A shop whose
// code runs on several of these databases writes its own queries once
// with it, as the store does.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	return numbered(query)
}

// numbered turns ? placeholders into PostgreSQL's $1, $2, ….
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DDL returns the statements that create the store's table and its index,
// each ended by a semicolon, for the shop's migrations.
func (s *Store) DDL() string {
	return strings.Join(s.q.ddl, ";\n") + ";\n"
}

// CreateTable creates the store's table and its index, unless they exist.
func (s *Store) CreateTable(ctx context.Context) error {
	for _, stmt := range s.q.ddl {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: creating table %s: %w", s.table, err)
		}
	}
	return nil
}

// hashKey is the row's key: fixed length, whatever the handler's key.
func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Claim implements [justap.NotificationStore]: it inserts the
// notification's row held by token, or takes over a row whose lease
// ended; it reads the row back to decide, so that what the driver counts
// as affected does not matter.
func (s *Store) Claim(ctx context.Context, key, token string, lease time.Duration) (justap.ClaimResult, error) {
	if token == "" {
		return 0, errors.New("sqlstore: Claim: empty token")
	}
	k, ms := hashKey(key), lease.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	// A row can vanish between the statements only if Expire deletes it;
	// a second round settles that.
	for range 2 {
		res, err := s.db.ExecContext(ctx, s.q.insert, k, token, ms)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: claiming a notification: %w", err)
		}
		if n, err := res.RowsAffected(); s.q.insertCounts && err == nil && n == 1 {
			return justap.ClaimWon, nil
		}
		held, done, ended, found, err := s.read(ctx, k)
		if err != nil {
			return 0, err
		}
		if found && ended && done == 0 && held != token {
			if _, err := s.db.ExecContext(ctx, s.q.takeOver, token, ms, k); err != nil {
				return 0, fmt.Errorf("sqlstore: taking over a notification's claim: %w", err)
			}
			held, done, _, found, err = s.read(ctx, k)
			if err != nil {
				return 0, err
			}
		}
		switch {
		case !found:
			continue
		case done != 0:
			return justap.ClaimDone, nil
		case held == token:
			return justap.ClaimWon, nil
		default:
			return justap.ClaimHeld, nil
		}
	}
	return 0, errors.New("sqlstore: claiming a notification: its row was deleted twice while claimed; is the retention shorter than the lease?")
}

// read returns the row of k: its holder, when it was done, whether its
// lease ended, and whether it exists.
func (s *Store) read(ctx context.Context, k string) (token string, doneAt int64, ended, found bool, err error) {
	var e int
	err = s.db.QueryRowContext(ctx, s.q.read, k).Scan(&token, &doneAt, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, false, nil
	}
	if err != nil {
		return "", 0, false, false, fmt.Errorf("sqlstore: reading a notification's claim: %w", err)
	}
	return token, doneAt, e == 1, true, nil
}

// Complete implements [justap.NotificationStore]: the notification is
// done, whoever holds its claim now, since the function handled it.
func (s *Store) Complete(ctx context.Context, key, token string) error {
	if _, err := s.db.ExecContext(ctx, s.q.complete, hashKey(key)); err != nil {
		return fmt.Errorf("sqlstore: completing a notification: %w", err)
	}
	return nil
}

// Release implements [justap.NotificationStore]: it ends token's claim at
// once, so that the next copy may take it.
func (s *Store) Release(ctx context.Context, key, token string) error {
	if _, err := s.db.ExecContext(ctx, s.q.release, hashKey(key), token); err != nil {
		return fmt.Errorf("sqlstore: releasing a notification's claim: %w", err)
	}
	return nil
}

// CompleteTx completes the event's claim inside tx, a transaction of the
// store's database: the notification is recorded as handled when tx
// commits, and not at all if it rolls back. It returns [ErrClaimLost]
// when the claim is no longer the event's (its lease ended and another
// instance claimed the notification, or it was completed already): roll
// tx back and return the error, so that the change is applied once, by
// the claim's holder. An event without a claim (ev.Claim nil: it does not
// come from a handler) needs no record, and CompleteTx returns nil.
func (s *Store) CompleteTx(ctx context.Context, tx *sql.Tx, ev *justap.ChargeEvent) error {
	if tx == nil {
		return errors.New("sqlstore: CompleteTx: nil transaction")
	}
	if ev == nil || ev.Claim == nil {
		return nil
	}
	res, err := tx.ExecContext(ctx, s.q.completeTx, hashKey(ev.Claim.Key), ev.Claim.Token)
	if err != nil {
		return fmt.Errorf("sqlstore: completing a notification in the transaction: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: completing a notification in the transaction: %w", err)
	}
	if n != 1 {
		return ErrClaimLost
	}
	return nil
}

// Expire deletes the rows older than the retention whose claims are not
// held, in statements of at most the batch ([WithExpireBatch]), until none
// is left or ctx ends. It returns how many rows it deleted.
func (s *Store) Expire(ctx context.Context) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.db.ExecContext(ctx, s.q.expire, s.retention.Milliseconds(), s.batch)
		if err != nil {
			return total, fmt.Errorf("sqlstore: expiring notifications: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlstore: expiring notifications: %w", err)
		}
		total += n
		if n < int64(s.batch) {
			return total, nil
		}
	}
}
