package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// testDSN is a new, empty database for one test: an SQLite file in the
// test's directory, or, when CHECKOUT_TEST_POSTGRES holds a PostgreSQL
// URL, a database of its own on that server (dropped at the end). CI runs
// the tests both ways; with CHECKOUT_TEST_REQUIRE_POSTGRES=1 a server that
// cannot be reached fails the test instead of falling back.
func testDSN(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("CHECKOUT_TEST_POSTGRES")
	if admin == "" {
		if os.Getenv("CHECKOUT_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("CHECKOUT_TEST_REQUIRE_POSTGRES=1 but CHECKOUT_TEST_POSTGRES is not set " +
				`(eval "$(scripts/testdbs.sh start)" and set it to $JUSTAP_TEST_POSTGRES)`)
		}
		return filepath.Join(t.TempDir(), "checkout.db")
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "shop_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CHECKOUT_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			db.Exec("DROP DATABASE " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
