#!/usr/bin/env bash
# Gives the tests a real PostgreSQL server: a private cluster owned by the
# postgres OS user, listening on 127.0.0.1 only, with a test database.
# Installs Debian's postgresql when no server binaries are found (needs
# root), reuses the cluster when it is already running, and restarts it
# from its data when it is not.
#
# Prints one line for eval, and nothing else on stdout:
#   eval "$(scripts/postgres.sh)"    # exports FLOWGUARD_TEST_POSTGRES
#   scripts/postgres.sh stop         # stops the cluster, keeps its data
#
# FLOWGUARD_PG_DIR chooses where the cluster lives (default
# /tmp/flowguard-postgres). Progress goes to stderr.
set -euo pipefail

dir=${FLOWGUARD_PG_DIR:-/tmp/flowguard-postgres}
data=$dir/data
db=flowguard_test

log() { echo "postgres.sh: $*" >&2; }

bindir() {
	local d
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
	done
	return 0
}

as_pg() { runuser -u postgres -- "$@"; }

bin=$(bindir)
if [ "${1:-}" = stop ]; then
	if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
		as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
	fi
	exit 0
fi

if [ -z "$bin" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "PostgreSQL is not installed and installing it needs root"
		exit 1
	fi
	log "installing Debian's postgresql"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
	bin=$(bindir)
	[ -n "$bin" ] || { log "no initdb/pg_ctl under /usr/lib/postgresql after installing"; exit 1; }
fi

# port_free: nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

create() {
	log "creating a cluster in $data"
	rm -rf "$data"
	mkdir -p "$dir"
	chown postgres: "$dir"
	chmod 700 "$dir"
	# Trust over loopback only: a throwaway cluster for tests.
	as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
}

start() {
	port=$(cat "$dir/port" 2>/dev/null || echo 55432)
	while ! port_free "$port"; do port=$((port + 1)); done
	echo "$port" >"$dir/port"
	log "starting on 127.0.0.1:$port"
	as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c max_connections=200" >&2
}

if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
	[ -f "$data/PG_VERSION" ] || create
	if ! start; then
		tail -n 20 "$dir/server.log" >&2 || true
		log "the cluster in $data does not start; making a new one"
		create
		start
	fi
fi
port=$(cat "$dir/port")

psql() { as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -X -q -t -A "$@"; }
if [ "$(psql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
	psql -d postgres -c "CREATE DATABASE $db" >&2
fi
echo "export FLOWGUARD_TEST_POSTGRES='postgres://postgres@127.0.0.1:$port/$db?sslmode=disable'"
