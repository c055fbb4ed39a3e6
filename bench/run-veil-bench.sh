#!/usr/bin/env bash
# run-veil-bench.sh: a registry, a veild serving it, and veil-bench against it.
#
#   bench/run-veil-bench.sh [--build DIR] [--handles N] [--server-threads N]
#                           [--batch-cap N] [--suite NAME] [--state DIR] [--perf FILE]
#                           [--auth keys|tokens] [--queue N]
#                           [--veild PATH] [--admin PATH] [--veil PATH]
#                           [--bench PATH] [-- VEIL-BENCH OPTIONS]
#
# 1. A state directory (veil-admin keygen, of --suite NAME: an RFC 9497
#    suite, ristretto255-SHA512 by default, or P256-SHA256, P384-SHA384,
#    P521-SHA512) holding the N handles (default 10000) of
#    `veil-bench --print-handles N` (veil-admin import).
# 2. A client key of its own (veil keygen), enrolled with `veil-admin client
#    add --quota unlimited`: the load never runs out of quota, however fast
#    the machine sends it.
# 3. veild --threads N (default 2) on a free loopback TCP port, serving
#    enrolled keys only; --queue N sets veild's --queue (default: veild's,
#    4 per thread). Many connections of small batches fill a short queue
#    and are answered BUSY; a queue of at least --connections is never full.
# 4. veil-bench against it, with --client-key, --handles, --server-pid and
#    --floor-threads set to match; the options after -- follow them (and
#    win, being later).
#    With --auth tokens: instead of 2, an issuer state (veil-admin issuer
#    create) linked into the state (veil-admin tokens link); veild runs
#    with --auth tokens, and veil-bench with --tokens-state, making one
#    token per request with the copy of the issuer key before the clock
#    starts, and reporting the token check's share of a request's cost.
# 5. veild's peak resident memory reported (a line "run-veil-bench: veild
#    peak RSS N kB" on stderr, on Linux), and veild stopped. The exit
#    status is veil-bench's (1 as well if veild did not stop cleanly; 2 for
#    a usage error).
#
# --state DIR keeps the state in DIR and reuses it when it already holds N
# handles (and is of --suite, when given): importing 10^6 takes about a
# minute on 2 cores. Each run enrols
# a new key in it. Without it the state lives in a temporary directory
# removed at the end.
# --perf FILE records veild with `perf record -g` while veil-bench runs
# (read it with `perf report -i FILE`).
# The programs come from --build DIR (default: build-vb, else build, in the
# source tree) or one by one from --veild, --admin, --veil and --bench.
# Options take their value as `--opt value` or `--opt=value`; --help prints
# this, --version the version.
# Progress goes to stderr; stdout is veil-bench's alone (so --json pipes).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=run-veil-bench
build='' veild='' admin='' veil='' bench='' state='' perf=''
handles=10000 server_threads=2 batch_cap='' suite='' auth=keys queue=''
# How long veild may take to say it is ready: a deadline, not a count of
# tries, so that a slow machine only waits longer.
ready_seconds=60

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
}
usage_error() {
	echo "$name: $*" >&2
	echo "usage: $name [--build DIR] [--handles N] [--server-threads N] [options] [-- VEIL-BENCH OPTIONS]" >&2
	echo "('$name --help' says more)" >&2
	exit 2
}
fail() {
	echo "$name: $*" >&2
	exit 1
}
# The project's version, from the source tree's meson.build.
version() {
	sed -n "/^project(/,/)/s/^ *version: *'\([^']*\)'.*/\1/p" "$here/../meson.build"
}

while [ $# -gt 0 ]; do
	arg=$1
	shift
	case $arg in
	--) break ;;
	--help | -h) usage; exit 0 ;;
	--version) echo "$name $(version)"; exit 0 ;;
	--help=* | --version=*) usage_error "${arg%%=*} takes no value" ;;
	--*=*) option=${arg%%=*} value=${arg#*=} ;;
	--*) option=$arg value=${1-}; [ $# -gt 0 ] && shift ;;
	-*) usage_error "unknown option $arg" ;;
	*) usage_error "unexpected argument '$arg'" ;;
	esac
	case $option in
	--build | --veild | --admin | --veil | --bench | --handles | --server-threads | \
		--batch-cap | --suite | --state | --perf | --auth | --queue) ;;
	*) usage_error "unknown option $option" ;;
	esac
	[ -n "$value" ] || usage_error "$option needs a value"
	# --server-threads sets server_threads, and so on.
	variable=${option#--}
	printf -v "${variable//-/_}" '%s' "$value"
done
case $handles in *[!0-9]*) usage_error "--handles takes a whole number, not '$handles'" ;; esac
case $auth in keys | tokens) ;; *) usage_error "--auth takes keys or tokens, not '$auth'" ;; esac
case $server_threads in *[!0-9]*)
	usage_error "--server-threads takes a whole number, not '$server_threads'" ;;
esac
case $queue in *[!0-9]*) usage_error "--queue takes a whole number, not '$queue'" ;; esac

if [ -z "$build" ]; then
	for b in "$here/../build-vb" "$here/../build"; do
		[ -x "$b/bench/veil-bench" ] && { build=$b; break; }
	done
fi
[ -n "$veild" ] || veild=$build/server/daemon/veild
[ -n "$admin" ] || admin=$build/server/admin/veil-admin
[ -n "$veil" ] || veil=$build/client/veil
[ -n "$bench" ] || bench=$build/bench/veil-bench
for p in "$veild" "$admin" "$veil" "$bench"; do
	[ -x "$p" ] || fail "no program at '$p' (use --build DIR or --veild/--admin/--veil/--bench)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench.XXXXXX") || fail "cannot make a temp dir"
veild_pid='' perf_pid=''
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
	have=$("$admin" info --state "$state" | sed -n 's/^oprf-key [0-9]* \([^ ]*\) .*/\1/p' | head -n 1)
	[ -z "$suite" ] || [ "$have" = "$suite" ] ||
		fail "$state is of suite $have, not $suite: remove it or choose another"
	echo "$name: reusing $state ($handles handles, $have)" >&2
else
	"$admin" keygen --state "$state" ${suite:+--suite "$suite"} >/dev/null 2>"$work/keygen.err" ||
		fail "veil-admin keygen failed: $(cat "$work/keygen.err")"
	"$bench" --print-handles "$handles" | "$admin" import --state "$state" - >&2 ||
		fail "importing $handles handles failed"
fi
"$admin" info --state "$state" >"$work/info" || fail "veil-admin info failed"

# 2. The client key, enrolled with a quota the load cannot exhaust; or, in
# tokens mode, the issuer's key copied into the state.
client=()
if [ "$auth" = tokens ]; then
	"$admin" issuer create --state "$work/issuer" --name issuer.bench.example \
		>/dev/null 2>"$work/issuer.err" ||
		fail "veil-admin issuer create failed: $(cat "$work/issuer.err")"
	"$admin" tokens link --state "$state" --issuer "$work/issuer" \
		--origin lookup.bench.example >/dev/null 2>"$work/issuer.err" ||
		fail "veil-admin tokens link failed: $(cat "$work/issuer.err")"
	client=(--tokens-state "$state")
else
	client_key=$work/client.key
	client_public=$("$veil" keygen --out "$client_key" 2>"$work/client.err") ||
		fail "veil keygen failed: $(cat "$work/client.err")"
	"$admin" client add --state "$state" --quota unlimited "$client_public" \
		>/dev/null 2>"$work/client.err" ||
		fail "veil-admin client add failed: $(cat "$work/client.err")"
	client=(--client-key "$client_key")
fi
# The log's requester target refers to the enrolled clients, here one or a
# few: only a target of 1 can be met (nobody is hidden among them).
printf '[log]\nk_r = 1\n' >"$work/veild.ini"

# 3. veild on a port that is free; another process may take it first, so
# a bind failure is retried on another.
port=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	try=$(( (RANDOM * 32768 + RANDOM) % 30000 + 20000 ))
	: >"$work/veild.err" # exists before the ready-wait reads it
	"$veild" --state "$state" --listen "tcp://127.0.0.1:$try" --threads "$server_threads" \
		--enrolment required --replay-budget 262144 --auth "$auth" --config "$work/veild.ini" \
		${batch_cap:+--batch-cap "$batch_cap"} ${queue:+--queue "$queue"} 2>"$work/veild.err" &
	veild_pid=$!
	deadline=$((SECONDS + ready_seconds))
	until grep -q '^veild: ready' "$work/veild.err"; do
		if ! kill -0 "$veild_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			break
		fi
		sleep 0.05
	done
	if grep -q '^veild: ready' "$work/veild.err"; then
		port=$try
		break
	fi
	kill -TERM "$veild_pid" 2>/dev/null
	wait "$veild_pid"
	veild_pid=
	grep -qi 'in use' "$work/veild.err" ||
		fail "veild did not start within $ready_seconds s: $(cat "$work/veild.err")"
done
[ -n "$port" ] || fail "no free port found for veild"
echo "$name: $(head -n 1 "$work/veild.err") (pid $veild_pid)" >&2

if [ -n "$perf" ]; then
	perf record -g -p "$veild_pid" -o "$perf" 2>"$work/perf.err" &
	perf_pid=$!
	sleep 0.5
fi

# 4. The load.
"$bench" --server "tcp://127.0.0.1:$port" --server-key "$work/info" "${client[@]}" \
	--handles "$handles" --server-pid "$veild_pid" --floor-threads "$server_threads" "$@"
status=$?

# 5. Stop everything; veild's summary line goes to stderr.
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid" && wait "$perf_pid"
	perf_pid=
	tail -n 1 "$work/perf.err" >&2
fi
# veild's peak resident memory (Linux): the registry pages it touched
# count too, being mapped.
peak_rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$veild_pid/status" 2>/dev/null)
[ -z "$peak_rss" ] || echo "$name: veild peak RSS $peak_rss kB" >&2
kill -TERM "$veild_pid"
wait "$veild_pid"
veild_status=$?
veild_pid=
tail -n 1 "$work/veild.err" | sed "s/^/$name: /" >&2
[ "$veild_status" -eq 0 ] || { echo "$name: veild exited $veild_status" >&2; status=1; }
exit "$status"
