package sqlstore

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests on real servers are in the module sqlstore/dbtest, which has
// the drivers; these need none.

func TestNewRefuses(t *testing.T) {
	db := &sql.DB{} // never used: New does not touch the database
	for name, c := range map[string]struct {
		db   *sql.DB
		d    Dialect
		opts []Option
		want string
	}{
		"nil db":            {nil, Postgres, nil, "nil *sql.DB"},
		"no dialect":        {db, 0, nil, "unknown dialect Dialect(0)"},
		"unknown dialect":   {db, 9, nil, "unknown dialect Dialect(9)"},
		"empty table":       {db, Postgres, []Option{WithTable("")}, `"" is not a table name`},
		"injected table":    {db, MySQL, []Option{WithTable("t; DROP TABLE orders")}, "is not a table name"},
		"quoted table":      {db, SQLite, []Option{WithTable(`"t"`)}, "is not a table name"},
		"three-part table":  {db, Postgres, []Option{WithTable("a.b.c")}, "is not a table name"},
		"zero retention":    {db, Postgres, []Option{WithRetention(0)}, "retention must be positive"},
		"negative batch":    {db, Postgres, []Option{WithExpireBatch(-1)}, "batch must be positive"},
		"zero expire batch": {db, Postgres, []Option{WithExpireBatch(0)}, "batch must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(c.db, c.d, c.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestDDL(t *testing.T) {
	db := &sql.DB{}
	for d, want := range map[Dialect][]string{
		Postgres: {"CREATE TABLE IF NOT EXISTS shop.notes (", "key_hash    CHAR(64) NOT NULL PRIMARY KEY",
			"token       VARCHAR(64) NOT NULL", "lease_until BIGINT NOT NULL",
			"CREATE INDEX IF NOT EXISTS notes_created_at ON shop.notes (created_at);"},
		MySQL: {"CREATE TABLE IF NOT EXISTS shop.notes (", "CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY",
			"INDEX notes_created_at (created_at)", ") ENGINE=InnoDB;"},
		SQLite: {"key_hash    TEXT NOT NULL PRIMARY KEY", "lease_until INTEGER NOT NULL",
			"CREATE INDEX IF NOT EXISTS notes_created_at ON shop.notes (created_at);"},
	} {
		s, err := New(db, d, WithTable("shop.notes"))
		require.NoError(t, err)
		ddl := s.DDL()
		for _, w := range want {
			assert.Contains(t, ddl, w, "%v", d)
		}
		assert.NotContains(t, ddl, "token       CHAR", "%v: a CHAR token would be padded", d)
	}
	s, err := New(db, Postgres)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(s.DDL(), "CREATE TABLE IF NOT EXISTS "+DefaultTable+" ("))
	assert.Equal(t, DefaultRetention, s.retention)
	assert.Equal(t, 7*24*time.Hour, DefaultRetention)
}

// TestPlaceholders: PostgreSQL's statements number their parameters, the
// others keep ?; none mixes the two.
func TestPlaceholders(t *testing.T) {
	db := &sql.DB{}
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		s, err := New(db, d)
		require.NoError(t, err)
		q := s.q
		params := map[string]int{q.insert: 3, q.read: 1, q.takeOver: 3, q.release: 2, q.complete: 1, q.completeTx: 2, q.expire: 2}
		for stmt, n := range params {
			if d == Postgres {
				assert.NotContains(t, stmt, "?", stmt)
				assert.Contains(t, stmt, "$"+string(rune('0'+n)), stmt)
				assert.NotContains(t, stmt, "$"+string(rune('0'+n+1)), stmt)
			} else {
				assert.Equal(t, n, strings.Count(stmt, "?"), stmt)
				assert.NotContains(t, stmt, "$1", stmt)
			}
		}
	}
	assert.Equal(t, "a = $1 AND b = $2", Postgres.Rebind("a = ? AND b = ?"))
	assert.Equal(t, "a = ? AND b = ?", MySQL.Rebind("a = ? AND b = ?"))
	assert.Equal(t, "a = ? AND b = ?", SQLite.Rebind("a = ? AND b = ?"))
}

func TestDialectString(t *testing.T) {
	assert.Equal(t, "Postgres", Postgres.String())
	assert.Equal(t, "MySQL", MySQL.String())
	assert.Equal(t, "SQLite", SQLite.String())
	assert.Equal(t, "Dialect(7)", Dialect(7).String())
}

func TestHashKey(t *testing.T) {
	long := strings.Repeat("k", 10_000)
	assert.Len(t, hashKey(long), 64, "a key of any length is one fixed-length row key")
	assert.NotEqual(t, hashKey("a"), hashKey("A"))
}
