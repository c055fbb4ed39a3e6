#!/usr/bin/env bash
# The example configuration files name exactly the keys their daemon
# reads, section by section: those its --help lists under --config
# ("section [S] with keys a, b (default N), c; ..."). A key is a line
# "key = value" or "#key = value" (a commented default); prose comments
# have a space after the '#'.
#
# Usage: conf_keys.sh PROGRAM CONF [PROGRAM CONF ...]
set -u
[ $(($# % 2)) -eq 0 ] && [ $# -gt 0 ] || {
	echo "usage: $0 PROGRAM CONF [PROGRAM CONF ...]" >&2
	exit 2
}

# help_keys PROGRAM: "section key" lines from PROGRAM --help, sorted.
help_keys() {
	"$1" --help | sed -n '/--config FILE/,/options win/p' | tr '\n' ' ' |
		sed -e 's/  */ /g' -e 's/.*INI file; //' -e 's/ *Command-line options win.*//' \
			-e 's/([^)]*)//g' -e 's/  */ /g' -e 's/\. *$/;/' | tr ';' '\n' |
		sed -n 's/^ *section \[\([a-z_]*\)\] with keys \(.*\)$/\1 \2/p' |
		while read -r section keys; do
			for key in ${keys//,/ }; do
				echo "$section $key"
			done
		done | sort
}

# conf_keys CONF: "section key" lines of CONF, sorted.
conf_keys() {
	awk '/^\[[a-z_]+\]/ { section = substr($1, 2, length($1) - 2) }
	     /^#?[a-z_]+ = / { key = $1; sub(/^#/, "", key); print section, key }' "$1" | sort
}

echo "1..$(($# / 2))"
n=0 failed=0
while [ $# -gt 0 ]; do
	program=$(realpath "$1") conf=$2 || exit 2
	shift 2
	n=$((n + 1))
	want=$(help_keys "$program")
	have=$(conf_keys "$conf")
	if [ -n "$want" ] && [ "$want" = "$have" ]; then
		echo "ok $n - ${conf##*/}: the keys of ${program##*/} --help, no more, no fewer"
	else
		echo "not ok $n - ${conf##*/}: the keys of ${program##*/} --help, no more, no fewer"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$have") |
			sed -e 's/^</# only in --help:/' -e 's/^>/# only in the file:/' | grep '^#'
		failed=1
	fi
done
exit $failed
