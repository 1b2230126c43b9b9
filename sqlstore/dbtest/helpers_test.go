package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/justap-go/justap/sqlstore"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"
)

// TestMain fails the package's tests if any goroutine outlives them.
// Drivers' own pool goroutines end when their *sql.DB closes.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// database is one server the tests run on.
type database struct {
	name    string
	dialect sqlstore.Dialect
	open    func(t testing.TB) *sql.DB
}

// databases are the servers the tests run on: each test runs once on each.
var databases = []database{
	{"PostgreSQL", sqlstore.Postgres, fromEnv("pgx", "JUSTAP_TEST_POSTGRES")},
	{"MariaDB", sqlstore.MySQL, fromEnv("mysql", "JUSTAP_TEST_MYSQL")},
	{"SQLite", sqlstore.SQLite, openSQLite},
}

// howToRun is what a skipped test says.
const howToRun = `; start the servers with: eval "$(scripts/testdbs.sh start)" ` +
	`(needs Debian's postgresql and mariadb-server), run the tests, then scripts/testdbs.sh stop`

// fromEnv opens the server whose DSN is in the environment variable env,
// or skips (fails, with JUSTAP_TEST_REQUIRE_DBS=1) when it is not set or
// cannot be reached.
func fromEnv(driver, env string) func(t testing.TB) *sql.DB {
	return func(t testing.TB) *sql.DB {
		t.Helper()
		dsn := os.Getenv(env)
		if dsn == "" {
			unavailable(t, env+" is not set"+howToRun)
		}
		if driver == "mysql" {
			dsn += "?parseTime=false&multiStatements=false"
		}
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		if err := db.PingContext(context.Background()); err != nil {
			unavailable(t, env+": "+err.Error()+howToRun)
		}
		db.SetMaxOpenConns(64)
		db.SetMaxIdleConns(64)
		return db
	}
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("JUSTAP_TEST_REQUIRE_DBS") == "1" {
		t.Fatal("JUSTAP_TEST_REQUIRE_DBS=1 but the server is unavailable: " + why)
	}
	t.Skip(why)
}

// openSQLite opens a new SQLite database in a file of the test's: WAL, and
// a busy timeout so that writers wait for each other instead of failing.
func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// eachDatabase runs f as a subtest on each database.
func eachDatabase(t *testing.T, f func(t *testing.T, d database, db *sql.DB)) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			f(t, d, d.open(t))
		})
	}
}

// newStore returns a store in a table of its own, created, and dropped
// when the test ends.
func newStore(t testing.TB, d database, db *sql.DB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	table := "justap_notifications_" + randomHex(t, 6)
	s, err := sqlstore.New(db, d.dialect, append([]sqlstore.Option{sqlstore.WithTable(table)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, s.CreateTable(context.Background()))
	t.Cleanup(func() { db.Exec("DROP TABLE " + table) })
	return s
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
