#!/usr/bin/env bash
# The layering rule of README.md ("What is where"), checked on every
# #include "..." of the source tree:
#   common <- proto <- (server | client) <- bench; tests may use anything.
# A header is found by name in the folders below; an #include that names a
# header of a layer the including file may not use is reported, with the
# file and line. Exit status 1 when any is found.
set -u
cd "$(dirname "$0")/.." || exit 2

# layer FILE: the layer a source or header belongs to.
layer() {
	case $1 in
	common/*) echo common ;;
	proto/*) echo proto ;;
	server/*) echo server ;;
	client/*) echo client ;;
	bench/*) echo bench ;;
	*) echo other ;;
	esac
}

# allowed FROM TO: may a file of layer FROM include a header of layer TO?
allowed() {
	case "$1:$2" in
	common:common) return 0 ;;
	proto:common | proto:proto) return 0 ;;
	server:common | server:proto | server:server) return 0 ;;
	client:common | client:proto | client:client) return 0 ;;
	bench:*) return 0 ;;
	*) return 1 ;;
	esac
}

# Every header of the layered folders, by name. Names are unique across them.
declare -A home
while IFS= read -r h; do
	name=${h##*/}
	if [ -n "${home[$name]:-}" ]; then
		echo "layers: header name $name is used twice: ${home[$name]} and $h" >&2
		exit 1
	fi
	home[$name]=$h
done < <(find common proto server client bench -name '*.h' | sort)

checked=0 bad=0
while IFS= read -r f; do
	from=$(layer "$f")
	while IFS=: read -r line text; do
		name=${text#*\"}
		name=${name%%\"*}
		name=${name##*/}
		target=${home[$name]:-}
		[ -n "$target" ] || continue # a generated or system header
		checked=$((checked + 1))
		to=$(layer "$target")
		if ! allowed "$from" "$to"; then
			echo "layers: $f:$line includes $target ($from may not use $to)" >&2
			bad=$((bad + 1))
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done < <(find common proto server client bench \( -name '*.c' -o -name '*.cc' -o -name '*.h' \) | sort)

echo "layers: $checked includes checked, $bad across the layers"
[ "$checked" -gt 0 ] && [ "$bad" -eq 0 ]
