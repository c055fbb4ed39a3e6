#!/usr/bin/env bash
# run-veil-bench.sh: a registry, a veild serving it, and veil-bench against it.
#
#   bench/run-veil-bench.sh [--build DIR] [--handles N] [--server-threads N]
#                           [--batch-cap N] [--state DIR] [--perf FILE]
#                           [-- VEIL-BENCH OPTIONS]
#
# 1. A state directory (veil-admin keygen) holding the N handles (default
#    10000) of `veil-bench --print-handles N` (veil-admin import).
# 2. veild --threads N (default 2) on a free loopback TCP port.
# 3. veil-bench against it, with --handles, --server-pid and
#    --floor-threads set to match; the options after -- follow them (and
#    win, being later).
# 4. veild stopped. The exit status is veil-bench's (1 as well if veild
#    did not stop cleanly).
#
# --state DIR keeps the state in DIR and reuses it when it already holds N
# handles: importing 10^6 takes about a minute on 2 cores. Without it the
# state lives in a temporary directory removed at the end.
# --perf FILE records veild with `perf record -g` while veil-bench runs
# (read it with `perf report -i FILE`).
# The programs come from --build DIR (default: build-vb, else build, in the
# source tree) or one by one from --veild, --admin and --bench.
# Progress goes to stderr; stdout is veil-bench's alone (so --json pipes).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
build= veild= admin= bench= state= perf_out=
handles=10000 threads=2 batch_cap=

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
}
fail() {
	echo "run-veil-bench: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--veild) veild=$2; shift 2 ;;
	--admin) admin=$2; shift 2 ;;
	--bench) bench=$2; shift 2 ;;
	--handles) handles=$2; shift 2 ;;
	--server-threads) threads=$2; shift 2 ;;
	--batch-cap) batch_cap=$2; shift 2 ;;
	--state) state=$2; shift 2 ;;
	--perf) perf_out=$2; shift 2 ;;
	--help|-h) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $handles in ''|*[!0-9]*) fail "--handles takes a whole number" ;; esac
case $threads in ''|*[!0-9]*) fail "--server-threads takes a whole number" ;; esac

if [ -z "$build" ]; then
	for b in "$here/../build-vb" "$here/../build"; do
		[ -x "$b/bench/veil-bench" ] && { build=$b; break; }
	done
fi
[ -n "$veild" ] || veild=$build/server/daemon/veild
[ -n "$admin" ] || admin=$build/server/admin/veil-admin
[ -n "$bench" ] || bench=$build/bench/veil-bench
for p in "$veild" "$admin" "$bench"; do
	[ -x "$p" ] || fail "no program at '$p' (use --build DIR or --veild/--admin/--bench)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench.XXXXXX") || fail "cannot make a temp dir"
veild_pid= perf_pid=
cleanup() {
	[ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid"
	[ -n "$veild_pid" ] && kill -TERM "$veild_pid" 2>/dev/null && wait "$veild_pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The state.
[ -n "$state" ] || state=$work/state
if [ -d "$state/registry" ]; then
	have=$("$admin" info --state "$state" | sed -n 's/^handles //p')
	[ "$have" = "$handles" ] ||
		fail "$state holds $have handles, not $handles: remove it or choose another"
	echo "run-veil-bench: reusing $state ($handles handles)" >&2
else
	"$admin" keygen --state "$state" >/dev/null 2>"$work/keygen.err" ||
		fail "veil-admin keygen failed: $(cat "$work/keygen.err")"
	"$bench" --print-handles "$handles" | "$admin" import --state "$state" - >&2 ||
		fail "importing $handles handles failed"
fi
"$admin" info --state "$state" >"$work/info" || fail "veil-admin info failed"

# 2. veild on a port that is free; another process may take it first, so
# a bind failure is retried on another.
port=
for attempt in 1 2 3 4 5 6 7 8 9 10; do
	try=$(( (RANDOM * 32768 + RANDOM) % 30000 + 20000 ))
	"$veild" --state "$state" --listen "tcp://127.0.0.1:$try" --threads "$threads" --enrolment open \
		${batch_cap:+--batch-cap "$batch_cap"} 2>"$work/veild.err" &
	veild_pid=$!
	for _ in $(seq 200); do
		grep -q '^veild: ready' "$work/veild.err" && break
		kill -0 "$veild_pid" 2>/dev/null || break
		sleep 0.05
	done
	if grep -q '^veild: ready' "$work/veild.err"; then
		port=$try
		break
	fi
	kill -TERM "$veild_pid" 2>/dev/null
	wait "$veild_pid"
	veild_pid=
	grep -qi 'in use' "$work/veild.err" || fail "veild did not start: $(cat "$work/veild.err")"
done
[ -n "$port" ] || fail "no free port found for veild"
echo "run-veil-bench: $(head -n 1 "$work/veild.err") (pid $veild_pid)" >&2

if [ -n "$perf_out" ]; then
	perf record -g -p "$veild_pid" -o "$perf_out" 2>"$work/perf.err" &
	perf_pid=$!
	sleep 0.5
fi

# 3. The load.
"$bench" --server "tcp://127.0.0.1:$port" --server-key "$work/info" --handles "$handles" \
	--server-pid "$veild_pid" --floor-threads "$threads" "$@"
status=$?

# 4. Stop everything; veild's summary line goes to stderr.
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid" && wait "$perf_pid"
	perf_pid=
	tail -n 1 "$work/perf.err" >&2
fi
kill -TERM "$veild_pid"
wait "$veild_pid"
veild_status=$?
veild_pid=
tail -n 1 "$work/veild.err" | sed 's/^/run-veil-bench: /' >&2
[ "$veild_status" -eq 0 ] || { echo "run-veil-bench: veild exited $veild_status" >&2; status=1; }
exit "$status"
