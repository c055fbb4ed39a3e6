#!/usr/bin/env bash
# veil-bench-registry-sweep.sh: veil-bench at several registry sizes, as a
# JSON series and an SVG chart of latency against the number of handles
# registered.
#
#   bench/veil-bench-registry-sweep.sh [--sizes LIST] [--batches LIST] [--seconds S]
#                                      [--states DIR] [--out-json FILE] [--out-svg FILE]
#                                      [--build DIR] [--veild PATH] [--admin PATH]
#                                      [--veil PATH] [--bench PATH] [--chart PATH]
#                                      [-- VEIL-BENCH OPTIONS]
#
# For each size N of LIST (commas or spaces, in increasing order; default
# 10000,100000,1000000) a state directory holds the N handles of
# `veil-bench --print-handles N`, imported in one go (veil-admin import,
# which prints its handles/s); the size of its registry's data file is
# taken, and run-veil-bench.sh runs `veil-bench --json --batch B` against
# a fresh veild on it for every B of --batches (default 1,16,256) for S
# seconds (default veil-bench's own). Each run reports veild's peak
# resident memory, which counts the registry pages the run touched (they
# are mapped).
#
# The state of size N is DIR/N with --states DIR: kept, and reused by a
# later sweep when it holds N handles (importing 10^7 handles takes about
# eight minutes on 2 cores; a reused state reports no import rate).
# Without --states they live in a temporary directory removed at the end.
# The options after -- go to every veil-bench run and win, being later.
#
# Then `veil-bench-chart --by registry` turns the runs into --out-json
# FILE (default veil-bench-registry.json): every run's figures with its
# size and batch, plus per size the registry's bytes (and bytes per
# handle), veild's peak RSS and the import's handles/s; and --out-svg FILE
# (default veil-bench-registry.svg): p50 and p99 latency against the
# number of handles, one line per batch size.
#
# The programs come from --build DIR (default: build-vb, else build, in the
# source tree) or one by one. Progress goes to stderr. The exit status is
# 0, 1 when a step failed (the runs done are still charted when any
# succeeded), 2 for a usage error.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=veil-bench-registry-sweep
build='' veild='' admin='' veil='' bench='' chart='' seconds='' states=''
sizes=10000,100000,1000000 batches=1,16,256
out_json=veil-bench-registry.json out_svg=veil-bench-registry.svg

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
}
usage_error() {
	echo "$name: $*" >&2
	echo "usage: $name [--sizes LIST] [--batches LIST] [--seconds S] [options] [-- VEIL-BENCH OPTIONS]" >&2
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
	--build | --veild | --admin | --veil | --bench | --chart | --sizes | --batches | \
		--seconds | --states | --out-json | --out-svg) ;;
	*) usage_error "unknown option $option" ;;
	esac
	[ -n "$value" ] || usage_error "$option needs a value"
	variable=${option#--}
	printf -v "${variable//-/_}" '%s' "$value"
done
read -r -a size_list <<<"${sizes//,/ }"
read -r -a batch_list <<<"${batches//,/ }"
[ "${#size_list[@]}" -gt 0 ] || usage_error "--sizes needs at least one size"
[ "${#batch_list[@]}" -gt 0 ] || usage_error "--batches needs at least one batch size"
previous=0
for n in "${size_list[@]}"; do
	case $n in '' | *[!0-9]*) usage_error "--sizes: '$n' is not a whole number" ;; esac
	[ "$n" -gt "$previous" ] || usage_error "--sizes must increase, and start above 0"
	previous=$n
done
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

work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || fail "cannot make a temp dir"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
[ -n "$states" ] || states=$work
mkdir -p "$states" || fail "cannot make $states"

status=0
runs=()
: >"$work/facts"
for n in "${size_list[@]}"; do
	state=$states/$n rate=null
	if [ -d "$state/registry" ]; then
		have=$("$admin" info --state "$state" | sed -n 's/^handles //p')
		[ "$have" = "$n" ] || fail "$state holds '$have' handles, not $n: remove it"
		echo "$name: reusing $state ($n handles)" >&2
	else
		echo "$name: importing $n handles into $state" >&2
		"$admin" keygen --state "$state" >/dev/null 2>"$work/keygen.err" ||
			fail "veil-admin keygen failed: $(cat "$work/keygen.err")"
		"$bench" --print-handles "$n" |
			"$admin" import --state "$state" - 2>"$work/import.err" >"$work/import.out" ||
			fail "importing $n handles failed: $(tail -n 3 "$work/import.err")"
		cat "$work/import.out" >&2
		rate=$(sed -n 's/.* \([0-9][0-9]*\) handles\/s$/\1/p' "$work/import.out" | tail -n 1)
		[ -n "$rate" ] || rate=null
	fi
	bytes=$(stat -c %s "$state/registry/data.mdb") || fail "no registry data file in $state"
	peak=null
	for b in "${batch_list[@]}"; do
		echo "$name: $n handles, batch $b" >&2
		if bash "$here/run-veil-bench.sh" --veild "$veild" --admin "$admin" --veil "$veil" \
			--bench "$bench" --handles "$n" --state "$state" -- \
			--json --batch "$b" ${seconds:+--seconds "$seconds"} "$@" \
			>"$work/run-$n-$b.json" 2>"$work/run.err"; then
			runs+=("$work/run-$n-$b.json")
		else
			echo "$name: the run at $n handles, batch $b failed: $(tail -n 3 "$work/run.err")" >&2
			status=1
		fi
		rss=$(sed -n 's/^run-veil-bench: veild peak RSS \([0-9]*\) kB$/\1/p' "$work/run.err")
		[ -z "$rss" ] || { [ "$peak" != null ] && [ "$peak" -ge "$rss" ]; } || peak=$rss
	done
	echo "$n $bytes $peak $rate" >>"$work/facts"
done
[ "${#runs[@]}" -gt 0 ] || fail "no run succeeded"
"$chart" --by registry --facts "$work/facts" --out-json "$out_json" --out-svg "$out_svg" \
	"${runs[@]}" || fail "veil-bench-chart failed"
echo "$name: wrote $out_json and $out_svg" >&2
exit "$status"
