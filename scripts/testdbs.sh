#!/usr/bin/env bash
# Starts throw-away PostgreSQL and MariaDB servers on loopback for the
# store tests, and stops them.
#
#	eval "$(scripts/testdbs.sh start)"   # prints the exports the tests read
#	go test ./sqlstore/... ; (cd sqlstore/dbtest && go test ./...)
#	scripts/testdbs.sh stop
#
# It needs Debian's packages postgresql and mariadb-server
# (apt-get install postgresql mariadb-server). Their data lives in a
# temporary directory, removed by stop; nothing of the system's own
# servers is touched. Run it as root (as CI does) or as a user who may run
# the servers' binaries.
set -euo pipefail

state=${JUSTAP_TESTDBS_DIR:-/tmp/justap-testdbs}
pgport=${JUSTAP_TESTDBS_PGPORT:-55432}
myport=${JUSTAP_TESTDBS_MYPORT:-53306}

pgbin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/postgres" ] && { echo "$d"; return; }
	done
	dirname "$(command -v postgres)"
}

# as runs a command as the servers' user: PostgreSQL refuses root.
as() {
	if [ "$(id -u)" = 0 ]; then
		id justapdb >/dev/null 2>&1 || useradd --system --no-create-home justapdb
		runuser -u justapdb -- "$@"
	else
		"$@"
	fi
}

start() {
	stop >/dev/null 2>&1 || true
	mkdir -p "$state"
	chmod 755 "$state"
	local bin
	bin=$(pgbin)
	mkdir -p "$state/pg"
	[ "$(id -u)" = 0 ] && { id justapdb >/dev/null 2>&1 || useradd --system --no-create-home justapdb; chown justapdb "$state/pg"; }
	as "$bin/initdb" -D "$state/pg/data" -U justap --auth=trust -E UTF8 --no-sync >"$state/pg/initdb.log" 2>&1 ||
		{ cat "$state/pg/initdb.log" >&2; exit 1; }
	as "$bin/pg_ctl" -D "$state/pg/data" -l "$state/pg/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $pgport -k $state/pg -c fsync=off -c max_connections=200" start >&2 ||
		{ cat "$state/pg/server.log" >&2; exit 1; }

	mkdir -p "$state/my"
	mariadb-install-db --no-defaults --datadir="$state/my/data" --user="$(id -un)" \
		--auth-root-authentication-method=socket --skip-test-db >"$state/my/install.log" 2>&1 ||
		{ cat "$state/my/install.log" >&2; exit 1; }
	mariadbd --no-defaults --datadir="$state/my/data" --user="$(id -un)" --bind-address=127.0.0.1 \
		--port="$myport" --socket="$state/my/sock" --pid-file="$state/my/pid" \
		--innodb-flush-log-at-trx-commit=0 --max-connections=300 --log-error="$state/my/server.log" \
		>"$state/my/stdout.log" 2>&1 &
	local i
	for i in $(seq 120); do
		mariadb-admin --no-defaults -S "$state/my/sock" -u root ping >/dev/null 2>&1 && break
		sleep 0.5
	done
	mariadb --no-defaults -S "$state/my/sock" -u root -e \
		"CREATE USER IF NOT EXISTS 'justap'@'127.0.0.1' IDENTIFIED BY 'justap';
		 GRANT ALL ON *.* TO 'justap'@'127.0.0.1'; CREATE DATABASE IF NOT EXISTS justap;" >&2 ||
		{ cat "$state/my/server.log" >&2; exit 1; }

	echo "export JUSTAP_TEST_POSTGRES='postgres://justap@127.0.0.1:$pgport/postgres?sslmode=disable'"
	echo "export JUSTAP_TEST_MYSQL='justap:justap@tcp(127.0.0.1:$myport)/justap'"
}

stop() {
	local bin
	bin=$(pgbin)
	[ -d "$state/pg/data" ] && as "$bin/pg_ctl" -D "$state/pg/data" -m immediate stop >&2 || true
	if [ -S "$state/my/sock" ]; then
		mariadb-admin --no-defaults -S "$state/my/sock" -u root shutdown >&2 || true
	fi
	[ -f "$state/my/pid" ] && kill "$(cat "$state/my/pid")" 2>/dev/null || true
	rm -rf "$state"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
