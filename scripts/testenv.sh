#!/usr/bin/env bash
# scripts/testenv.sh: the real servers Portico's tests need, thrown away afterwards.
#
# Starts, on 127.0.0.1 only and on free ports:
#   - a fresh PostgreSQL cluster (role `portico`, superuser, trust auth, database `portico`)
#   - redis-server (no persistence)
#   - stripe-mock (pinned version, installed with `go install`)
# and checks that headless Chromium runs. Whatever is missing is installed first (apt-get,
# go install).
#
# Exported on success (a server that failed leaves its variable unset, so its tests skip):
#   TEST_DATABASE_URL     postgres://portico@127.0.0.1:PORT/portico?sslmode=disable
#   TEST_PG_BIN           directory holding initdb, pg_ctl, postgres (for fault tests)
#   TEST_PG_USER          unprivileged user the fault tests must run postgres as (when root)
#   TEST_REDIS_URL        redis://127.0.0.1:PORT/0
#   TEST_REDIS_SERVER_BIN path of redis-server (fault tests start/stop their own)
#   STRIPE_API_BASE       http://127.0.0.1:PORT   (no /v1 suffix)
#   CHROMIUM_PATH         path of the chromium binary
#   TESTENV_DIR           the temp dir holding data, sockets, logs and pidfiles
#
# With CI=true a server that cannot be installed or started is an error (non-zero status);
# otherwise it is a warning.
#
# Two ways to use it:
#
#   As a library (what scripts/test.sh does):
#       source scripts/testenv.sh
#       trap testenv_down EXIT
#       testenv_up || exit 1
#
#   As a command, from an interactive shell:
#       scripts/testenv.sh up [ENVFILE]      # prints and writes `export ...` lines to ENVFILE
#       source ENVFILE                        # default ENVFILE: ${TMPDIR:-/tmp}/portico-testenv.env
#       go test ./internal/store/...
#       scripts/testenv.sh down [ENVFILE]
#
# When sourced, this file does not change the caller's shell options; its functions check
# every step themselves and work both with and without `set -euo pipefail` in the caller.

# Pinned versions and tunables (override from the environment if needed).
: "${TESTENV_STRIPE_MOCK_VERSION:=v0.203.0}"
: "${TESTENV_WAIT_SECONDS:=30}"

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_testenv_log() { printf '[testenv] %s\n' "$*" >&2; }

_testenv_is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

# _testenv_problem NAME MESSAGE: records a server that could not be provided.
# In CI it is an error, locally a warning (the tests needing it will skip).
_testenv_problem() {
	if _testenv_is_ci; then
		_testenv_log "ERROR: $1: $2 (CI=true: a missing server fails the run)"
	else
		_testenv_log "WARNING: $1: $2 (its tests will be skipped)"
	fi
	_TESTENV_FAILED+=("$1")
}

# Runs a command with root rights: directly as root, else through passwordless sudo.
_testenv_as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

# Runs a command as the unprivileged PostgreSQL user (PostgreSQL refuses to run as root).
# `cd /` so the server never inherits a working directory it cannot read.
_testenv_as_pg_user() {
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u "$_TESTENV_PG_USER" -- "$@")
	else
		(cd / && "$@")
	fi
}

# _testenv_port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
_testenv_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _testenv_pick_port: sets _TESTENV_PORT to a free loopback port. Ports come from 20000-31999,
# below Linux's ephemeral range (32768+) so outgoing connections do not take them meanwhile,
# and are never reused within one run. A race with another program remains possible, so the
# start functions retry with another port.
_testenv_pick_port() {
	local i p
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		[[ " ${_TESTENV_USED_PORTS:-} " == *" $p "* ]] && continue
		if ! _testenv_port_in_use "$p"; then
			_TESTENV_USED_PORTS="${_TESTENV_USED_PORTS:-} $p"
			_TESTENV_PORT=$p
			return 0
		fi
	done
	return 1
}

# _testenv_wait SECONDS COMMAND...: retries COMMAND every 0.2 s until it succeeds or time is up.
_testenv_wait() {
	local deadline=$((SECONDS + $1))
	shift
	while ((SECONDS < deadline)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}

# _testenv_alive PIDFILE: true when the process named in PIDFILE runs.
_testenv_alive() {
	local pid
	[[ -s "$1" ]] || return 1
	pid=$(<"$1")
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# _testenv_kill_pidfile PIDFILE: SIGTERM, wait up to 5 s, then SIGKILL.
_testenv_kill_pidfile() {
	local pid i
	[[ -s "$1" ]] || return 0
	pid=$(<"$1")
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# Prints the last lines of a server log to stderr, to explain a failure.
_testenv_show_log() {
	[[ -s "$1" ]] || return 0
	_testenv_log "last lines of $1:"
	tail -n 15 "$1" | sed 's/^/    /' >&2
}

# --------------------------------------------------------------------------------------------
# Installation of what is missing
# --------------------------------------------------------------------------------------------

# Directory of the newest PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin).
_testenv_find_pg_bin() {
	local d
	# shellcheck disable=SC2012 # plain version directories; sort -V puts 15 after 9
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
		echo "$d"
		return 0
	fi
	if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
		return 0
	fi
	return 1
}

_testenv_find_redis() { command -v redis-server 2>/dev/null; }

_testenv_find_chromium() {
	local c
	# A CHROMIUM_PATH set before testenv_up wins (kept in _TESTENV_CHROMIUM_HINT).
	for c in "${_TESTENV_CHROMIUM_HINT:-}" chromium chromium-browser google-chrome-stable google-chrome; do
		[[ -n "$c" ]] || continue
		command -v "$c" 2>/dev/null && return 0
	done
	return 1
}

_testenv_stripe_mock_path() {
	local bin
	bin=$(go env GOBIN 2>/dev/null)
	[[ -n "$bin" ]] || bin="$(go env GOPATH 2>/dev/null | cut -d: -f1)/bin"
	echo "$bin/stripe-mock"
}

# apt-get with retries while another apt/dpkg run holds the lock (e.g. an install started in
# the background). We wait for it and never kill it. Quiet unless it fails.
_testenv_apt() {
	local try out
	for ((try = 1; try <= 90; try++)); do
		if out=$(DEBIAN_FRONTEND=noninteractive _testenv_as_root apt-get -qq \
			-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 "$@" 2>&1 </dev/null); then
			return 0
		fi
		if grep -qiE 'could not get lock|unable to lock|is another process using it' <<<"$out"; then
			((try == 1)) && _testenv_log "apt is locked by another process; waiting for it..."
			sleep 10
			continue
		fi
		printf '%s\n' "$out" | tail -n 20 >&2
		return 1
	done
	_testenv_log "gave up waiting for the apt lock"
	return 1
}

_TESTENV_APT_UPDATED=""

# testenv_apt_install PACKAGE...: installs Debian packages, running `apt-get update` once per
# run first. Tries all packages at once, then one by one so one failure does not block others.
# Returns non-zero if any package failed.
testenv_apt_install() {
	local p status=0
	(($# > 0)) || return 0
	if ! _testenv_as_root true; then
		_testenv_log "cannot install $* (not root and no passwordless sudo)"
		return 1
	fi
	if [[ -z "$_TESTENV_APT_UPDATED" ]]; then
		_testenv_log "apt-get update"
		_testenv_apt update || _testenv_log "apt-get update failed; trying to install anyway"
		_TESTENV_APT_UPDATED=1
	fi
	_testenv_log "apt-get install $*"
	_testenv_apt install -y --no-install-recommends "$@" && return 0
	for p in "$@"; do
		_testenv_apt install -y --no-install-recommends "$p" || {
			_testenv_log "could not install $p"
			status=1
		}
	done
	return $status
}

# testenv_ensure COMMAND:PACKAGE...: installs PACKAGE for each COMMAND not found on PATH
# (nor in /usr/sbin, /sbin, where e.g. nginx lives). Returns non-zero if something failed.
testenv_ensure() {
	local pair cmd pkg missing=()
	for pair in "$@"; do
		cmd=${pair%%:*}
		pkg=${pair#*:}
		command -v "$cmd" >/dev/null 2>&1 || [[ -x "/usr/sbin/$cmd" || -x "/sbin/$cmd" ]] ||
			missing+=("$pkg")
	done
	((${#missing[@]} == 0)) || testenv_apt_install "${missing[@]}"
}

# Installs the packages of the servers that are missing (one apt-get update, one install).
_testenv_install_missing() {
	local missing=()
	_testenv_find_pg_bin >/dev/null || missing+=(postgresql)
	_testenv_find_redis >/dev/null || missing+=(redis-server)
	_testenv_find_chromium >/dev/null || missing+=(chromium)
	((${#missing[@]} == 0)) || testenv_apt_install "${missing[@]}" || true

	local sm
	sm=$(_testenv_stripe_mock_path)
	if [[ ! -x "$sm" ]]; then
		_testenv_log "go install github.com/stripe/stripe-mock@$TESTENV_STRIPE_MOCK_VERSION"
		# Outside the repository, so our go.mod plays no part.
		(cd / && GOFLAGS='' go install "github.com/stripe/stripe-mock@$TESTENV_STRIPE_MOCK_VERSION") >&2 ||
			_testenv_log "go install of stripe-mock failed"
	fi
}

# --------------------------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------------------------

# The unprivileged user PostgreSQL runs as: `postgres` if it exists, else `portico-test`.
_testenv_pg_user() {
	if [[ $EUID -ne 0 ]]; then
		_TESTENV_PG_USER=$(id -un)
		return 0
	fi
	if id -u postgres >/dev/null 2>&1; then
		_TESTENV_PG_USER=postgres
		return 0
	fi
	if ! id -u portico-test >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
			portico-test || return 1
	fi
	_TESTENV_PG_USER=portico-test
}

_testenv_start_postgres() {
	local bin dir="$TESTENV_DIR/pg" try port
	bin=$(_testenv_find_pg_bin) || {
		_testenv_problem postgres "PostgreSQL server binaries not found (apt-get install postgresql)"
		return 1
	}
	_testenv_pg_user || {
		_testenv_problem postgres "could not create the unprivileged user portico-test"
		return 1
	}
	echo "PG_BIN=$bin" >>"$TESTENV_DIR/state"
	echo "PG_USER=$_TESTENV_PG_USER" >>"$TESTENV_DIR/state"

	# Data, socket and log all live in $dir, owned by the server's user.
	mkdir -p "$dir" && chmod 700 "$dir"
	[[ $EUID -ne 0 ]] || chown "$_TESTENV_PG_USER:" "$dir"

	if ! _testenv_as_pg_user "$bin/initdb" -D "$dir/data" -U portico --auth=trust -E UTF8 \
		--locale=C --no-sync --no-instructions >"$TESTENV_DIR/initdb.log" 2>&1; then
		_testenv_show_log "$TESTENV_DIR/initdb.log"
		_testenv_problem postgres "initdb failed"
		return 1
	fi
	# Settings for throwaway test data: speed over durability, many connections
	# (go test runs packages in parallel, each with its own pool), loopback only.
	_testenv_as_pg_user tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- added by scripts/testenv.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 1GB
log_min_messages = warning
log_min_error_statement = panic
EOF

	for ((try = 1; try <= 3; try++)); do
		_testenv_pick_port || break
		port=$_TESTENV_PORT
		if _testenv_as_pg_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
			-o "-p $port" -w -t "$TESTENV_WAIT_SECONDS" start >/dev/null 2>&1 &&
			_testenv_wait "$TESTENV_WAIT_SECONDS" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
			if ! "$bin/createdb" -h 127.0.0.1 -p "$port" -U portico portico 2>"$TESTENV_DIR/createdb.log"; then
				_testenv_show_log "$TESTENV_DIR/createdb.log"
				_testenv_problem postgres "createdb portico failed"
				return 1
			fi
			export TEST_DATABASE_URL="postgres://portico@127.0.0.1:$port/portico?sslmode=disable"
			export TEST_PG_BIN="$bin"
			[[ $EUID -ne 0 ]] || export TEST_PG_USER="$_TESTENV_PG_USER"
			_testenv_log "postgres  $TEST_DATABASE_URL"
			return 0
		fi
		# Most likely the port was taken meanwhile: stop whatever started and try another.
		_testenv_as_pg_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
	done
	_testenv_show_log "$dir/postgres.log"
	_testenv_problem postgres "PostgreSQL did not start"
	return 1
}

_testenv_redis_ping() {
	if command -v redis-cli >/dev/null 2>&1; then
		[[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == "PONG" ]]
	else
		_testenv_port_in_use "$1"
	fi
}

_testenv_start_redis() {
	local bin try port pidfile="$TESTENV_DIR/redis.pid" log="$TESTENV_DIR/redis.log"
	bin=$(_testenv_find_redis) || {
		_testenv_problem redis "redis-server not found (apt-get install redis-server)"
		return 1
	}
	for ((try = 1; try <= 3; try++)); do
		_testenv_pick_port || break
		port=$_TESTENV_PORT
		rm -f "$pidfile"
		"$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
			--daemonize yes --pidfile "$pidfile" --logfile "$log" --dir "$TESTENV_DIR" \
			>/dev/null 2>&1
		if _testenv_wait "$TESTENV_WAIT_SECONDS" _testenv_redis_ping "$port"; then
			export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
			export TEST_REDIS_SERVER_BIN="$bin"
			_testenv_log "redis     $TEST_REDIS_URL"
			return 0
		fi
		_testenv_kill_pidfile "$pidfile"
	done
	_testenv_show_log "$log"
	_testenv_problem redis "redis-server did not start"
	return 1
}

# stripe-mock answers 401 without a key; any HTTP answer means it is up.
_testenv_stripe_ping() {
	local reply
	reply=$(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET /v1/customers HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_123\r\n\r\n' >&3
		head -c 12 <&3
	) 2>/dev/null
	[[ "$reply" == HTTP/* ]]
}

_testenv_start_stripe_mock() {
	local bin try port pidfile="$TESTENV_DIR/stripe-mock.pid" log="$TESTENV_DIR/stripe-mock.log"
	bin=$(_testenv_stripe_mock_path)
	[[ -x "$bin" ]] || {
		_testenv_problem stripe-mock "$bin not found (go install github.com/stripe/stripe-mock@$TESTENV_STRIPE_MOCK_VERSION)"
		return 1
	}
	for ((try = 1; try <= 3; try++)); do
		_testenv_pick_port || break
		port=$_TESTENV_PORT
		# Loopback only. stripe-mock v0.203.0 also opens HTTPS on *:12112 unless told otherwise
		# (only -http-port turns that off, and it binds every interface), so HTTPS goes to a
		# loopback port of the kernel's choosing. PORT is unset because stripe-mock reads it.
		# nohup + own stdin: it outlives `scripts/testenv.sh up` and ignores the terminal.
		env -u PORT nohup "$bin" -http-addr "127.0.0.1:$port" -https-addr "127.0.0.1:" \
			</dev/null >"$log" 2>&1 &
		echo $! >"$pidfile"
		if _testenv_wait "$TESTENV_WAIT_SECONDS" _testenv_stripe_ping "$port"; then
			export STRIPE_API_BASE="http://127.0.0.1:$port"
			_testenv_log "stripe    $STRIPE_API_BASE"
			return 0
		fi
		_testenv_kill_pidfile "$pidfile"
	done
	_testenv_show_log "$log"
	_testenv_problem stripe-mock "stripe-mock did not start"
	return 1
}

# Chromium is not a server, but the browser tests need it to run headless here.
_testenv_check_chromium() {
	local bin
	bin=$(_testenv_find_chromium) || {
		_testenv_problem chromium "chromium not found (apt-get install chromium)"
		return 1
	}
	# --no-sandbox: the sandbox refuses to run as root. The output goes to a variable, not a
	# pipe into `grep -q`, which would close early and fail the pipe under `set -o pipefail`.
	local dom
	dom=$(timeout 60 "$bin" --headless --no-sandbox --disable-gpu --user-data-dir="$TESTENV_DIR/chromium" \
		--dump-dom 'data:text/html,<p>portico-ok</p>' 2>"$TESTENV_DIR/chromium.log")
	if [[ "$dom" != *portico-ok* ]]; then
		_testenv_show_log "$TESTENV_DIR/chromium.log"
		_testenv_problem chromium "$bin does not run headless"
		return 1
	fi
	export CHROMIUM_PATH="$bin"
	_testenv_log "chromium  $CHROMIUM_PATH"
}

# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------

# testenv_up: installs what is missing, starts the servers, exports their variables.
# Returns non-zero only with CI=true and something missing. Pair it with testenv_down in an
# EXIT trap set *before* calling it, so a half-started environment is cleaned up too.
testenv_up() {
	_TESTENV_FAILED=()
	_TESTENV_CHROMIUM_HINT=${CHROMIUM_PATH:-}
	unset TEST_DATABASE_URL TEST_PG_BIN TEST_PG_USER TEST_REDIS_URL TEST_REDIS_SERVER_BIN \
		STRIPE_API_BASE CHROMIUM_PATH

	_testenv_install_missing

	# The temp dir must be traversable by the postgres user; its pg/ subdir is private.
	TESTENV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/portico-testenv.XXXXXX") || {
		_testenv_log "ERROR: mktemp failed"
		return 1
	}
	chmod 755 "$TESTENV_DIR"
	export TESTENV_DIR
	: >"$TESTENV_DIR/state"

	# `|| true`: failures are collected in _TESTENV_FAILED, and must not trip a caller's `set -e`.
	_testenv_start_postgres || true
	_testenv_start_redis || true
	_testenv_start_stripe_mock || true
	_testenv_check_chromium || true

	if ((${#_TESTENV_FAILED[@]} > 0)); then
		if _testenv_is_ci; then
			_testenv_log "ERROR: not available: ${_TESTENV_FAILED[*]}"
			return 1
		fi
		_testenv_log "WARNING: not available: ${_TESTENV_FAILED[*]}; the tests needing them skip"
	fi
	return 0
}

# testenv_down: stops everything testenv_up started and removes its temp dir. Safe to call
# more than once, and after a partial or failed testenv_up.
testenv_down() {
	local dir="${TESTENV_DIR:-}" pg_bin="" pg_user="" line
	[[ -n "$dir" && -d "$dir" && "$(basename "$dir")" == portico-testenv.* ]] || return 0

	if [[ -s "$dir/state" ]]; then
		while IFS= read -r line; do
			case "$line" in
			PG_BIN=*) pg_bin=${line#PG_BIN=} ;;
			PG_USER=*) pg_user=${line#PG_USER=} ;;
			esac
		done <"$dir/state"
	fi

	if [[ -n "$pg_bin" && -f "$dir/pg/data/postmaster.pid" ]]; then
		_TESTENV_PG_USER=${pg_user:-postgres}
		_testenv_as_pg_user "$pg_bin/pg_ctl" -D "$dir/pg/data" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
			_testenv_log "WARNING: pg_ctl stop failed"
		# Belt and braces: if pg_ctl could not stop it, kill the postmaster (first line).
		if [[ -f "$dir/pg/data/postmaster.pid" ]]; then
			head -n 1 "$dir/pg/data/postmaster.pid" >"$dir/postmaster.pid.copy"
			_testenv_kill_pidfile "$dir/postmaster.pid.copy"
		fi
	fi
	_testenv_kill_pidfile "$dir/redis.pid"
	_testenv_kill_pidfile "$dir/stripe-mock.pid"

	rm -rf -- "$dir"
	unset TESTENV_DIR TEST_DATABASE_URL TEST_PG_BIN TEST_PG_USER TEST_REDIS_URL \
		TEST_REDIS_SERVER_BIN STRIPE_API_BASE CHROMIUM_PATH
	_testenv_log "servers stopped, $dir removed"
	return 0
}

# --------------------------------------------------------------------------------------------
# Command mode: scripts/testenv.sh up|down [ENVFILE]
# --------------------------------------------------------------------------------------------

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -uo pipefail
	envfile=${2:-${TMPDIR:-/tmp}/portico-testenv.env}
	case "${1:-}" in
	up)
		if [[ -s "$envfile" ]]; then
			echo "testenv: $envfile exists; run '$0 down $envfile' first" >&2
			exit 1
		fi
		# On failure, clean up what did start.
		testenv_up || {
			testenv_down
			exit 1
		}
		{
			for v in TESTENV_DIR TEST_DATABASE_URL TEST_PG_BIN TEST_PG_USER TEST_REDIS_URL \
				TEST_REDIS_SERVER_BIN STRIPE_API_BASE CHROMIUM_PATH; do
				# Single quotes: the URLs hold `?`. None of the values holds a quote.
				[[ -z "${!v:-}" ]] || printf "export %s='%s'\n" "$v" "${!v}"
			done
		} >"$envfile"
		cat "$envfile"
		echo "testenv: written to $envfile; 'source $envfile', and later '$0 down $envfile'" >&2
		;;
	down)
		if [[ ! -s "$envfile" ]]; then
			echo "testenv: $envfile not found; nothing to stop" >&2
			exit 0
		fi
		# shellcheck source=/dev/null
		TESTENV_DIR=$(. "$envfile" && echo "${TESTENV_DIR:-}")
		testenv_down
		rm -f "$envfile"
		;;
	*)
		echo "usage: $0 up|down [ENVFILE]   (or: source $0; testenv_up; ...; testenv_down)" >&2
		exit 2
		;;
	esac
fi
