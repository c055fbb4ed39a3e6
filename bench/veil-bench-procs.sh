#!/usr/bin/env bash
# veil-bench-procs.sh: several veild processes on one state directory,
# behind one address, against one process with as many threads.
#
#   bench/veil-bench-procs.sh [--procs LIST] [--threads T] [--compare-threads M]
#                             [--batches LIST] [--seconds S] [--connections C]
#                             [--handles N] [--build DIR] [--veild PATH] [--admin PATH]
#                             [--veil PATH] [--bench PATH] [--haproxy PATH]
#                             [-- VEIL-BENCH OPTIONS]
#
# 1. One state directory (veil-admin keygen; the N handles, default 10000,
#    of `veil-bench --print-handles N` imported) and one client key
#    enrolled with `--quota unlimited`, in a temporary directory.
# 2. For each count P of --procs LIST (default 1,2): P veild processes,
#    each --threads T (default 1), on that one state directory, each on a
#    loopback TCP port of its own; in front of them HAProxy in TCP mode
#    (one thread, round robin over connections, its configuration in the
#    temporary directory) on one address. Then one process of
#    --compare-threads M threads (default 2; 0: none) behind the same
#    front, the threads-instead-of-processes case.
# 3. For each batch of --batches LIST (default 256,1): veil-bench against
#    the front's address with --connections C (default 4, every
#    configuration alike), --seconds S (default 10) and --floor-threads 2:
#    the ratio is to the floor of two cores, whatever the configuration.
# 4. A table (stdout): configuration, batch, items/s, requests/s, p50 ms,
#    ratio to the 2-core floor, and the items/s against the first
#    configuration's at the same batch. Each run's JSON stays in
#    --out-dir DIR when given.
#
# The front costs a hop: every configuration, one process included, goes
# through it, so the ratios between them are the processes' own. veil-bench
# and HAProxy run on the same machine and take CPU from veild: on a
# machine of 2 cores the ratios are below what separate hosts would show.
# The programs come from --build DIR (default: build-rel, else build-vb,
# else build, in the source tree) or one by one from --veild, --admin,
# --veil, --bench; haproxy from PATH unless --haproxy. Progress goes to
# stderr. The exit status is 0 when every run succeeded, 1 otherwise, 2
# for a usage error.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
name='veil-bench-procs'
build='' veild='' admin='' veil='' bench='' haproxy='' out_dir=''
procs=1,2 threads=1 compare_threads=2 batches=256,1 seconds=10 connections=4 handles=10000
ready_seconds=60

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
}
usage_error() {
	echo "$name: $*" >&2
	echo "usage: $name [--procs LIST] [--threads T] [--batches LIST] [options] [-- VEIL-BENCH OPTIONS]" >&2
	echo "('$name --help' says more)" >&2
	exit 2
}
fail() {
	echo "$name: $*" >&2
	exit 1
}
whole() {
	case $2 in '' | *[!0-9]*) usage_error "$1 takes a whole number, not '$2'" ;; esac
}

while [ $# -gt 0 ]; do
	arg=$1
	shift
	case $arg in
	--) break ;;
	--help | -h) usage; exit 0 ;;
	--help=*) usage_error "--help takes no value" ;;
	--*=*) option=${arg%%=*} value=${arg#*=} ;;
	--*) option=$arg value=${1-}; [ $# -gt 0 ] && shift ;;
	-*) usage_error "unknown option $arg" ;;
	*) usage_error "unexpected argument '$arg'" ;;
	esac
	case $option in
	--build | --veild | --admin | --veil | --bench | --haproxy | --procs | --threads | \
		--compare-threads | --batches | --seconds | --connections | --handles | --out-dir) ;;
	*) usage_error "unknown option $option" ;;
	esac
	[ -n "$value" ] || usage_error "$option needs a value"
	variable=${option#--}
	printf -v "${variable//-/_}" '%s' "$value"
done
whole --threads "$threads"
whole --compare-threads "$compare_threads"
whole --seconds "$seconds"
whole --connections "$connections"
whole --handles "$handles"
[ "$threads" -ge 1 ] || usage_error "--threads must be 1 or more"
read -r -a proc_list <<<"${procs//,/ }"
read -r -a batch_list <<<"${batches//,/ }"
[ "${#proc_list[@]}" -gt 0 ] || usage_error "--procs needs at least one count"
[ "${#batch_list[@]}" -gt 0 ] || usage_error "--batches needs at least one batch size"
for p in "${proc_list[@]}"; do
	whole --procs "$p"
	[ "$p" -ge 1 ] || usage_error "--procs: counts are 1 or more"
done
for b in "${batch_list[@]}"; do whole --batches "$b"; done

if [ -z "$build" ]; then
	for b in "$here/../build-rel" "$here/../build-vb" "$here/../build"; do
		[ -x "$b/bench/veil-bench" ] && { build=$b; break; }
	done
fi
[ -n "$veild" ] || veild=$build/server/daemon/veild
[ -n "$admin" ] || admin=$build/server/admin/veil-admin
[ -n "$veil" ] || veil=$build/client/veil
[ -n "$bench" ] || bench=$build/bench/veil-bench
[ -n "$haproxy" ] || haproxy=$(command -v haproxy) || fail "no haproxy on PATH (use --haproxy)"
for p in "$veild" "$admin" "$veil" "$bench" "$haproxy"; do
	[ -x "$p" ] || fail "no program at '$p' (use --build DIR or --veild/--admin/--veil/--bench/--haproxy)"
done
[ -z "$out_dir" ] || mkdir -p "$out_dir" || fail "cannot make $out_dir"

work=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-procs.XXXXXX") || fail "cannot make a temp dir"
pids=() front_pid=''
stop_all() {
	[ -n "$front_pid" ] && kill -TERM "$front_pid" 2>/dev/null && wait "$front_pid" 2>/dev/null
	front_pid=''
	local status=0 pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" || status=1
	done
	pids=()
	return "$status"
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# 1. The state and the client.
state=$work/state
"$admin" keygen --state "$state" >/dev/null 2>"$work/setup.err" ||
	fail "veil-admin keygen failed: $(cat "$work/setup.err")"
"$bench" --print-handles "$handles" | "$admin" import --state "$state" - >/dev/null 2>"$work/setup.err" ||
	fail "importing $handles handles failed: $(cat "$work/setup.err")"
"$admin" info --state "$state" >"$work/info" || fail "veil-admin info failed"
client_public=$("$veil" keygen --out "$work/client.key" 2>"$work/setup.err") ||
	fail "veil keygen failed: $(cat "$work/setup.err")"
"$admin" client add --state "$state" --quota unlimited "$client_public" >/dev/null 2>"$work/setup.err" ||
	fail "veil-admin client add failed: $(cat "$work/setup.err")"
# One enrolled client: only a requester target of 1 can be met.
printf '[log]\nk_r = 1\n' >"$work/veild.ini"

random_port() {
	echo $(((RANDOM * 32768 + RANDOM) % 30000 + 20000))
}

# Starts one veild of $1 threads on a free port; appends its pid to pids
# and its port to ports. A port taken meanwhile is retried on another.
ports=()
start_veild() {
	local t=$1 try err pid deadline
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		try=$(random_port)
		err=$work/veild-$try.err
		: >"$err"
		"$veild" --state "$state" --listen "tcp://127.0.0.1:$try" --threads "$t" \
			--enrolment required --replay-budget 262144 --config "$work/veild.ini" 2>"$err" &
		pid=$!
		deadline=$((SECONDS + ready_seconds))
		until grep -q '^veild: ready' "$err"; do
			if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
				break
			fi
			sleep 0.05
		done
		if grep -q '^veild: ready' "$err"; then
			pids+=("$pid")
			ports+=("$try")
			return 0
		fi
		kill -TERM "$pid" 2>/dev/null
		wait "$pid"
		grep -qi 'in use' "$err" || { echo "$name: veild: $(cat "$err")" >&2; return 1; }
	done
	echo "$name: no free port for veild" >&2
	return 1
}

# HAProxy in TCP mode on a free port in front of the ports; sets front.
front=''
start_front() {
	local try cfg=$work/haproxy.cfg i deadline
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		try=$(random_port)
		{
			printf 'global\n\tnbthread 1\n\tmaxconn 4096\n'
			printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n'
			printf '\ttimeout client 300s\n\ttimeout server 300s\n'
			printf 'frontend veil\n\tbind 127.0.0.1:%s\n\tdefault_backend veilds\n' "$try"
			printf 'backend veilds\n\tbalance roundrobin\n'
			for i in "${!ports[@]}"; do
				printf '\tserver veild%s 127.0.0.1:%s\n' "$i" "${ports[$i]}"
			done
		} >"$cfg"
		"$haproxy" -db -f "$cfg" >"$work/haproxy.out" 2>&1 &
		front_pid=$!
		deadline=$((SECONDS + ready_seconds))
		while kill -0 "$front_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			if (exec 3<>"/dev/tcp/127.0.0.1/$try") 2>/dev/null; then
				front=$try
				return 0
			fi
			sleep 0.05
		done
		kill -TERM "$front_pid" 2>/dev/null
		wait "$front_pid" 2>/dev/null
		front_pid=''
		grep -qi 'in use\|cannot bind' "$work/haproxy.out" ||
			{ echo "$name: haproxy: $(cat "$work/haproxy.out")" >&2; return 1; }
	done
	echo "$name: no free port for haproxy" >&2
	return 1
}

# A number member of veil-bench's JSON ($2) from file $1; "-" when absent.
member() {
	local v
	v=$(grep -o "\"$2\":[-0-9.e+]*" "$1" | head -n 1 | cut -d: -f2)
	echo "${v:--}"
}

# The configurations: "P T" pairs.
configs=()
for p in "${proc_list[@]}"; do configs+=("$p $threads"); done
[ "$compare_threads" -eq 0 ] || configs+=("1 $compare_threads")

status=0
declare -A base
printf '%-22s %6s %12s %11s %8s %7s %9s\n' configuration batch items/s requests/s p50_ms ratio vs_first
for config in "${configs[@]}"; do
	read -r p t <<<"$config"
	label="$p proc x $t thread"
	echo "$name: $label: starting" >&2
	ports=()
	ok=1
	for ((i = 0; i < p; i++)); do start_veild "$t" || { ok=0; break; }; done
	[ "$ok" -eq 1 ] && { start_front || ok=0; }
	if [ "$ok" -eq 0 ]; then
		stop_all
		status=1
		continue
	fi
	for b in "${batch_list[@]}"; do
		out=$work/run-$p-$t-$b.json
		if ! "$bench" --server "tcp://127.0.0.1:$front" --server-key "$work/info" \
			--client-key "$work/client.key" --handles "$handles" --floor-threads 2 \
			--connections "$connections" --batch "$b" --seconds "$seconds" --json "$@" \
			>"$out" 2>"$work/bench.err"; then
			echo "$name: $label, batch $b: veil-bench failed: $(tail -n 3 "$work/bench.err")" >&2
			status=1
		fi
		[ -z "$out_dir" ] || cp "$out" "$out_dir/procs-$p-threads-$t-batch-$b.json"
		ips=$(member "$out" items_per_s)
		vs=-
		if [ -z "${base[$b]-}" ]; then
			base[$b]=$ips
		fi
		if [ "$ips" != - ] && [ "${base[$b]}" != - ]; then
			vs=$(awk -v a="$ips" -v b="${base[$b]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		fi
		printf '%-22s %6s %12.0f %11.1f %8.2f %7.3f %9s\n' "$label" "$b" "$ips" \
			"$(member "$out" requests_per_s)" "$(member "$out" p50)" \
			"$(member "$out" ratio)" "$vs" 2>/dev/null ||
			printf '%-22s %6s (no figures)\n' "$label" "$b"
	done
	stop_all || { echo "$name: $label: a veild did not stop cleanly" >&2; status=1; }
done
"$admin" verify --state "$state" >/dev/null 2>"$work/verify.err" ||
	{ echo "$name: veil-admin verify failed: $(cat "$work/verify.err")" >&2; status=1; }
echo "$name: $(nproc) cores online; veil-bench and haproxy share them with veild" >&2
exit "$status"
