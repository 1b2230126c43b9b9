// Package dbtest tests package sqlstore on real database servers:
// PostgreSQL (through pgx), MariaDB or MySQL (through go-sql-driver/mysql)
// and SQLite (through modernc.org/sqlite, in a file). It is a module of its
// own so that the drivers never reach the go.sum of a module that imports
// justap.
//
// The tests read the servers' addresses from JUSTAP_TEST_POSTGRES and
// JUSTAP_TEST_MYSQL (scripts/testdbs.sh starts both and prints them); a
// server not given is skipped with a message that says how to start it,
// unless JUSTAP_TEST_REQUIRE_DBS=1 (as in CI), which makes that a failure.
// SQLite needs no server and always runs.
package dbtest
