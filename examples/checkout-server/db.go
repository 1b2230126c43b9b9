package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, when -db is a postgres:// URL
	"github.com/justap-go/justap/sqlstore"
	_ "modernc.org/sqlite" // SQLite in a file, the default: pure Go, so go run needs no C compiler
)

// shopDB is the shop's database: its orders, their shipments, and the
// notifications it handled (package sqlstore's table).
type shopDB struct {
	*sql.DB
	dialect sqlstore.Dialect
	store   *sqlstore.Store
}

// openDB opens the shop's database: PostgreSQL when dsn is a postgres://
// or postgresql:// URL, else an SQLite file at that path. It creates the
// tables it lacks.
//
// The SQLite driver is modernc.org/sqlite, SQLite translated to Go: it
// needs no cgo and no C toolchain, so `go run` works on a machine with
// only Go, and cross-compiles. (mattn/go-sqlite3 is faster but needs cgo
// and gcc.) The busy timeout makes a writer wait for another's
// transaction instead of failing; WAL lets readers run beside a writer.
func openDB(ctx context.Context, dsn string) (*shopDB, error) {
	d := &shopDB{dialect: sqlstore.SQLite}
	driver, source := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		d.dialect, driver, source = sqlstore.Postgres, "pgx", dsn
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, err
	}
	d.DB = db
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	if d.store, err = sqlstore.New(db, d.dialect); err != nil {
		db.Close()
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// migrate creates the shop's tables, unless they exist.
func (d *shopDB) migrate(ctx context.Context) error {
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS orders (
			id             VARCHAR(64) PRIMARY KEY,
			charge_id      VARCHAR(64) NOT NULL DEFAULT '',
			status         VARCHAR(16) NOT NULL DEFAULT 'unpaid', -- unpaid, then paid once
			refunds        INTEGER NOT NULL DEFAULT 0,            -- refunds asked for, to number the next
			pending_refund VARCHAR(80) NOT NULL DEFAULT ''        -- a refund id whose outcome is unknown
		)`,
		`CREATE TABLE IF NOT EXISTS shipments (
			order_id  VARCHAR(64) NOT NULL REFERENCES orders (id),
			charge_id VARCHAR(64) NOT NULL
		)`,
	} {
		if _, err := d.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating the shop's tables: %w", err)
		}
	}
	return d.store.CreateTable(ctx)
}

// q writes a query's ? placeholders in the database's own form.
func (d *shopDB) q(query string) string { return d.dialect.Rebind(query) }
