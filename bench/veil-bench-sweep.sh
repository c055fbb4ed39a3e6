#!/usr/bin/env bash
# veil-bench-sweep.sh: veil-bench at several batch sizes, as a JSON series
# and an SVG chart of throughput against batch size.
#
#   bench/veil-bench-sweep.sh [--batches LIST] [--seconds S] [--handles N]
#                             [--auth keys|tokens] [--out-json FILE] [--out-svg FILE]
#                             [--build DIR] [--veild PATH] [--admin PATH] [--veil PATH]
#                             [--bench PATH] [--chart PATH] [-- VEIL-BENCH OPTIONS]
#
# For each batch size of LIST (commas or spaces; default 1,4,16,64,256,
# each a power of two the server's batch cap allows), run-veil-bench.sh
# starts a veild and runs `veil-bench --json --batch B` against it for S
# seconds (default veil-bench's own), with --handles N (default 10000) and
# --auth (default keys) passed through. The registry is made once, in a
# temporary state directory that every batch size reuses (each run enrols
# its own client key, or links its own issuer), and removed at the end.
# The options after -- go to every veil-bench run and win, being later.
#
# Then veil-bench-chart turns the runs into --out-json FILE (default
# veil-bench-sweep.json): the series (batch, items/s, requests/s, ratio to
# the floor, ratio per veild CPU-second, p50 and p99 in ms, the floor) and
# --out-svg FILE (default veil-bench-sweep.svg): the ratios and items/s
# against batch size on a log2 axis.
#
# The programs come from --build DIR (default: build-vb, else build, in the
# source tree) or one by one from --veild, --admin, --veil, --bench and
# --chart (veil-bench-chart). Progress goes to stderr. The exit status is
# 0, 1 when a run or the chart failed (the runs done are still charted
# when any succeeded), 2 for a usage error.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=veil-bench-sweep
build='' veild='' admin='' veil='' bench='' chart='' seconds='' auth=keys handles=10000
batches=1,4,16,64,256 out_json=veil-bench-sweep.json out_svg=veil-bench-sweep.svg

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
}
usage_error() {
	echo "$name: $*" >&2
	echo "usage: $name [--batches LIST] [--seconds S] [options] [-- VEIL-BENCH OPTIONS]" >&2
	echo "('$name --help' says more)" >&2
	exit 2
}
fail() {
	echo "$name: $*" >&2
	exit 1
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
	--build | --veild | --admin | --veil | --bench | --chart | --batches | --seconds | \
		--handles | --auth | --out-json | --out-svg) ;;
	*) usage_error "unknown option $option" ;;
	esac
	[ -n "$value" ] || usage_error "$option needs a value"
	variable=${option#--}
	printf -v "${variable//-/_}" '%s' "$value"
done
case $auth in keys | tokens) ;; *) usage_error "--auth takes keys or tokens, not '$auth'" ;; esac
case $handles in '' | *[!0-9]*) usage_error "--handles takes a whole number, not '$handles'" ;; esac
read -r -a batch_list <<<"${batches//,/ }"
[ "${#batch_list[@]}" -gt 0 ] || usage_error "--batches needs at least one batch size"
for b in "${batch_list[@]}"; do
	case $b in '' | *[!0-9]*) usage_error "--batches: '$b' is not a whole number" ;; esac
done

if [ -z "$build" ]; then
	for b in "$here/../build-vb" "$here/../build"; do
		[ -x "$b/bench/veil-bench" ] && { build=$b; break; }
	done
fi
[ -n "$veild" ] || veild=$build/server/daemon/veild
[ -n "$admin" ] || admin=$build/server/admin/veil-admin
[ -n "$veil" ] || veil=$build/client/veil
[ -n "$bench" ] || bench=$build/bench/veil-bench
[ -n "$chart" ] || chart=$build/bench/veil-bench-chart
for p in "$veild" "$admin" "$veil" "$bench" "$chart"; do
	[ -x "$p" ] || fail "no program at '$p' (use --build DIR or --veild/--admin/--veil/--bench/--chart)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-sweep.XXXXXX") || fail "cannot make a temp dir"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

status=0
runs=()
for b in "${batch_list[@]}"; do
	echo "$name: batch $b" >&2
	if bash "$here/run-veil-bench.sh" --veild "$veild" --admin "$admin" --veil "$veil" \
		--bench "$bench" --handles "$handles" --auth "$auth" --state "$work/state" -- \
		--json --batch "$b" ${seconds:+--seconds "$seconds"} "$@" >"$work/run-$b.json"; then
		runs+=("$work/run-$b.json")
	else
		echo "$name: the run at batch $b failed" >&2
		status=1
	fi
done
[ "${#runs[@]}" -gt 0 ] || fail "no run succeeded"
"$chart" --out-json "$out_json" --out-svg "$out_svg" "${runs[@]}" || fail "veil-bench-chart failed"
echo "$name: wrote $out_json and $out_svg" >&2
exit "$status"
