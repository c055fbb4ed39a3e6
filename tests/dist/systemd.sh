#!/usr/bin/env bash
# What systemd reads of the install, offline:
# - sysusers.d/veil.conf makes the veil user (no login shell) and group;
# - tmpfiles.d/veil.conf makes the state directories, 0700, owned by it;
# - each unit: `systemd-analyze verify` finds nothing to say of it, and
#   `systemd-analyze security --offline=true` scores it 2.0 or lower (0
#   is the most confined, 10 the least). verify wants the programs the
#   units start, so it reads a copy whose ExecStart names the built
#   program; security reads the unit as built.
# The first two run under a scratch --root, so nothing on this machine
# changes.
#
# Usage: systemd.sh SYSUSERS TMPFILES UNIT PROGRAM [UNIT PROGRAM ...]
# Skipped (exit status 77) when systemd-analyze is not installed
# (Debian: the systemd package).
set -u
MOST=2.0

analyze=$(command -v systemd-analyze) || {
	echo "1..0 # SKIP systemd-analyze is not installed (Debian package: systemd)"
	exit 77
}
[ $# -ge 4 ] && [ $(($# % 2)) -eq 0 ] || {
	echo "usage: $0 SYSUSERS TMPFILES UNIT PROGRAM [UNIT PROGRAM ...]" >&2
	exit 2
}
sysusers=$1 tmpfiles=$2
shift 2
dir=$(mktemp -d "${TMPDIR:-/tmp}/veil-systemd-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

echo "1..$((2 + $#))"
n=0 failed=0
ok() { # ok CONDITION-STATUS NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		failed=1
	fi
}

root=$dir/root
mkdir -p "$root/etc"
said=$(systemd-sysusers --root="$root" "$sysusers" 2>&1)
status=$?
entry=$(grep '^veil:' "$root/etc/passwd" 2>/dev/null)
uid=$(printf '%s' "$entry" | cut -d: -f3)
[ $status -eq 0 ] && [ -n "$uid" ] && grep -q '^veil:' "$root/etc/group" &&
	case $entry in *:/usr/sbin/nologin | *:/sbin/nologin) true ;; *) false ;; esac
ok $? "sysusers: the veil user and group, no login shell" "$said
$entry"

said=$(systemd-tmpfiles --root="$root" --create "$tmpfiles" 2>&1)
status=$?
modes=$(stat -c '%a %u' "$root/var/lib/veil" "$root/var/lib/veil-issuer" 2>&1)
[ $status -eq 0 ] && [ "$modes" = "700 $uid
700 $uid" ]
ok $? "tmpfiles: /var/lib/veil and /var/lib/veil-issuer, 0700, the veil user's" "$said
$modes"

while [ $# -gt 0 ]; do
	unit=$1 program=$(realpath "$2") || exit 2
	shift 2
	name=${unit##*/}
	# A copy under the unit's own name, starting the built program.
	sed "s|^ExecStart=[^ ]*|ExecStart=$program|" "$unit" >"$dir/$name"
	said=$("$analyze" verify --man=no "$dir/$name" 2>&1)
	status=$?
	[ $status -eq 0 ] && [ -z "$said" ]
	ok $? "$name: systemd-analyze verify says nothing" "$said"

	said=$("$analyze" security --offline=true --no-pager "$unit" 2>&1)
	score=$(printf '%s\n' "$said" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	detail=$(printf '%s\n' "$said" | grep -v '✓')
	[ -n "$score" ] && awk -v s="$score" -v m="$MOST" 'BEGIN { exit !(s <= m) }'
	ok $? "$name: systemd-analyze security scores ${score:-nothing} (at most $MOST)" "$detail"
done
exit $failed
