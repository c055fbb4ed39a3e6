#!/usr/bin/env bash
# The installed libveil-client, used as an app would use it (TAP):
#
#   test_install.sh MESON BUILD SOURCE VERSION SANITIZE CC CXX VEIL-ADMIN VEILD VEIL
#
# 1. `meson install --destdir` of BUILD into a temporary directory under
#    BUILD (removed at the end, kept on failure for a look).
# 2. The installed shared library: its soname, and that it exports only
#    veil_* symbols, every function the installed headers mark VEIL_EXPORT.
# 3. The installed headers from C++ (extern "C"), and the VEIL_VERSION_*
#    macros and veil_client_version() against the project's VERSION.
# 4. examples/lookup.c compiled with `cc $(pkg-config --cflags --libs
#    veil-client)`, the .pc found in the installed tree alone, and run
#    against a real veild (a registry of veil-admin, a client key of veil
#    keygen enrolled with veil-admin client add, veild on ipc): its answers
#    and its exit status. When the static archive is installed too, the
#    same program linked with `pkg-config --static` against it alone.
#
# SANITIZE is the build's b_sanitize: with a sanitized library the
# programs are compiled by the build's compiler (CC, CXX) with the same
# -fsanitize, whose runtime the library needs (it is linked into programs,
# not into the library); otherwise by cc and c++.
set -u -o pipefail

if [ $# -ne 10 ]; then
	echo "usage: test_install.sh MESON BUILD SOURCE VERSION SANITIZE CC CXX VEIL-ADMIN VEILD VEIL" >&2
	exit 2
fi
meson=$1 build=$2 source=$3 version=$4 sanitize=$5
admin=$8 veild=$9 veil=${10}
cc=(cc) cxx=(c++)
if [ "$sanitize" != none ]; then
	cc=("$6" "-fsanitize=$sanitize") cxx=("$7" "-fsanitize=$sanitize")
	# The library holds C++ (libphonenumber's caller), whose UBSan checks
	# need the C++ part of clang's runtime and the C++ library it uses,
	# which a link by the C driver leaves out.
	case ${6##*/} in clang*) cc+=(-fsanitize-link-c++-runtime -lstdc++) ;; esac
fi

tests=0 failed=0
ok() {
	tests=$((tests + 1))
	echo "ok $tests - $1"
}
not_ok() {
	tests=$((tests + 1))
	failed=$((failed + 1))
	echo "not ok $tests - $1"
	shift
	local line
	for line in "$@"; do echo "# $line"; done
}
skip() {
	tests=$((tests + 1))
	echo "ok $tests # SKIP $1"
}
bail() {
	echo "Bail out! $*"
	exit 1
}

mkdir -p "$build/tests/install" || bail "cannot make $build/tests/install"
work=$(mktemp -d "$build/tests/install/run.XXXXXX") || bail "cannot make a temp dir"
destdir=$work/destdir
veild_pid=''
cleanup() {
	if [ -n "$veild_pid" ]; then
		kill -TERM "$veild_pid" 2>/dev/null
		wait "$veild_pid"
	fi
	if [ "$failed" -eq 0 ]; then
		rm -rf "$work"
	else
		echo "# kept for a look: $work"
	fi
}
trap cleanup EXIT

echo "1..14"

# 1. The install.
if out=$("$meson" install -C "$build" --destdir "$destdir" --no-rebuild --quiet 2>&1); then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir" "$out"
	bail "nothing installed"
fi
pc=$(find "$destdir" -name veil-client.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || bail "no veil-client.pc installed"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
includedir=$(find "$destdir" -type d -path '*/include/veil' | head -n 1)
# pkg-config sees the installed tree alone: its .pc, with the DESTDIR
# put before the paths it names (the libraries it requires are the
# system's).
pkgconf() {
	PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$destdir pkg-config "$@" veil-client
}
missing=()
for f in "$includedir/veil_client.h" "$includedir/veil_error.h" "$includedir/veil_version.h" \
	"$libdir/libveil-client.so.$version" "$libdir/libveil-client.so.0" "$libdir/libveil-client.so"; do
	[ -e "$f" ] || missing+=("${f#"$destdir"}")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "headers under include/veil/, the library and its links under libdir"
else
	not_ok "headers under include/veil/, the library and its links under libdir" \
		"missing: ${missing[*]}"
fi
echo "# installed into $destdir:"
(cd "$destdir" && find . -mindepth 1 | sort | sed 's/^/#   /')

# 2. The shared library's ABI.
lib=$libdir/libveil-client.so.$version
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
link=$(readlink "$libdir/libveil-client.so.0")
if [ "$soname" = libveil-client.so.0 ] && [ "$link" = "libveil-client.so.$version" ]; then
	ok "soname libveil-client.so.0, a link of that name to libveil-client.so.$version"
else
	not_ok "soname libveil-client.so.0" "soname '$soname', libveil-client.so.0 -> '$link'"
fi
# Every defined dynamic symbol is the library's API: none of the internal
# modules (buf_, json_, oprf_, ...), of the C++ normalizer, or of the
# sanitizers leaks. No ELF symbol is allowed either (_init, _fini and the
# like are not exported by the version script).
exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort)
others=$(grep -v '^veil_' <<<"$exported")
if [ -n "$exported" ] && [ -z "$others" ]; then
	ok "exports only veil_ symbols ($(wc -l <<<"$exported") of them)"
else
	not_ok "exports only veil_ symbols" "also exported: $(tr '\n' ' ' <<<"$others")"
fi
declared=$(cat "$includedir"/*.h | tr '\n' ' ' |
	grep -o 'VEIL_EXPORT [^;(]*veil_[a-z0-9_]*(' | grep -o 'veil_[a-z0-9_]*($' | tr -d '(' | sort)
if [ -n "$declared" ] && [ "$declared" = "$exported" ]; then
	ok "exports exactly the functions the installed headers mark VEIL_EXPORT"
else
	not_ok "exports exactly the functions the installed headers mark VEIL_EXPORT" \
		"declared but not exported: $(comm -23 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')" \
		"exported but not declared: $(comm -13 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')"
fi

# 3. The headers from C++, and the version. Without the extern "C" guards
# the C++ program would ask for mangled names the library does not have.
cat >"$work/version.cc" <<'CC'
#include <veil/veil_client.h>

#include <cstdio>

int
main()
{
	std::printf("%d.%d.%d %s %s\n", VEIL_VERSION_MAJOR, VEIL_VERSION_MINOR, VEIL_VERSION_PATCH,
	            VEIL_VERSION_STRING, veil_client_version());
	return veil_strerror(VEIL_OK)[0] == '\0';
}
CC
# shellcheck disable=SC2046 # pkg-config's flags are words
if out=$("${cxx[@]}" -std=c++11 -Wall -Wextra -Wpedantic -Werror -o "$work/version" \
	"$work/version.cc" $(pkgconf --cflags --libs) 2>&1); then
	ok "a C++ program builds against the installed headers and library"
else
	not_ok "a C++ program builds against the installed headers and library" "$out"
fi
got=$(LD_LIBRARY_PATH=$libdir "$work/version" 2>&1)
if [ "$got" = "$version $version $version" ]; then
	ok "VEIL_VERSION_MAJOR.MINOR.PATCH, VEIL_VERSION_STRING and veil_client_version() say $version"
else
	not_ok "the version macros and veil_client_version() say $version" "got '$got'"
fi

# 4. The example, built against the installed tree alone.
# shellcheck disable=SC2046
if out=$("${cc[@]}" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/lookup" \
	"$source/examples/lookup.c" $(pkgconf --cflags --libs) 2>&1); then
	ok "examples/lookup.c builds with pkg-config --cflags --libs veil-client"
else
	not_ok "examples/lookup.c builds with pkg-config --cflags --libs veil-client" "$out"
	bail "no example to run"
fi

# A registry of two handles, a client key enrolled in it, veild on ipc.
state=$work/state
step() {
	local out
	out=$("$@" 2>&1) || bail "setup failed: $* : $out"
	printf '%s' "$out"
}
step "$admin" keygen --state "$state" >/dev/null
printf '(415) 555-0100,friend\nann@example.org\n' >"$work/import.txt"
step "$admin" import --state "$state" --strict --region US "$work/import.txt" >/dev/null
step "$admin" info --state "$state" >"$work/server.info"
public=$(step "$veil" keygen --out "$work/client.key")
step "$admin" client add --state "$state" "$public" >/dev/null
stranger=$(step "$veil" keygen --out "$work/stranger.key")
[ -n "$stranger" ] || bail "veil keygen printed no key"

# The log's requester target refers to the enrolled clients, here one:
# only a target of 1 can be met.
printf '[log]\nk_r = 1\n' >"$work/veild.ini"
url=ipc://$work/veild.sock
: >"$work/veild.err"
"$veild" --state "$state" --listen "$url" --threads 1 --enrolment required \
	--config "$work/veild.ini" 2>"$work/veild.err" &
veild_pid=$!
# Ready when it says so: a deadline, not a count of tries, so that a slow
# machine only waits longer.
deadline=$((SECONDS + 120))
until grep -q '^veild: ready' "$work/veild.err"; do
	kill -0 "$veild_pid" 2>/dev/null || bail "veild exited: $(cat "$work/veild.err")"
	[ "$SECONDS" -lt "$deadline" ] || bail "veild never said it was ready"
	sleep 0.05
done

contacts=("(415) 555-0100" "Ann@Example.ORG" "+1 415 555 0199" "not a contact")
want=$(printf '%s\n' \
	$'(415) 555-0100\ttel:+14155550100\tregistered\tfriend' \
	$'Ann@Example.ORG\tmailto:ann@example.org\tregistered' \
	$'+1 415 555 0199\ttel:+14155550199\tnot registered' \
	$'not a contact\t-\terror: ')
# run_lookup PROGRAM KEY: the program's output, then its exit status.
run_lookup() {
	"$1" "$url" "$work/server.info" "$2" US "${contacts[@]}" 2>&1
	echo "exit $?"
}
# The error text of an invalid contact is the library's; the rest is exact.
answers_ok() {
	local got
	got=$(sed '$d' <<<"$1" | sed 's/\(\terror: \).*/\1/')
	[ "$got" = "$want" ] && [ "$(tail -n 1 <<<"$1")" = "exit 0" ]
}
got=$(LD_LIBRARY_PATH=$libdir run_lookup "$work/lookup" "$work/client.key")
if answers_ok "$got"; then
	ok "the example answers each contact right against veild, exit 0"
else
	not_ok "the example answers each contact right against veild, exit 0" \
		"want:" "$want" "exit 0" "got:" "$got"
fi
if LD_LIBRARY_PATH=$libdir ldd "$work/lookup" | grep "libveil-client.so.0 => $libdir/" >/dev/null; then
	ok "the example runs with the installed libveil-client.so.0"
else
	not_ok "the example runs with the installed libveil-client.so.0" \
		"$(LD_LIBRARY_PATH=$libdir ldd "$work/lookup")"
fi

# Exit status: 1 for a key veild does not know, 1 for a key file others
# may read (nothing sent), 2 for a usage error; no answer printed.
got=$(LD_LIBRARY_PATH=$libdir run_lookup "$work/lookup" "$work/stranger.key")
chmod 0644 "$work/stranger.key"
loose=$(LD_LIBRARY_PATH=$libdir run_lookup "$work/lookup" "$work/stranger.key")
usage=$(LD_LIBRARY_PATH=$libdir "$work/lookup" "$url" 2>&1; echo "exit $?")
if [ "$(tail -n 1 <<<"$got")" = "exit 1" ] && ! grep -q registered <<<"$got" &&
	[ "$(tail -n 1 <<<"$loose")" = "exit 1" ] && grep -q "readable by others" <<<"$loose" &&
	[ "$(tail -n 1 <<<"$usage")" = "exit 2" ] && grep -q "^usage: lookup" <<<"$usage"; then
	ok "exit 1 for an unenrolled key and for a key file others may read, 2 for a usage error"
else
	not_ok "exit 1 for an unenrolled key and for a key file others may read, 2 for a usage error" \
		"unenrolled:" "$got" "0644 key file:" "$loose" "usage:" "$usage"
fi

# The static archive, when installed: the same program linked against it
# alone (the shared library removed from a copy of the tree), with the
# private libraries of `pkg-config --static`.
if [ -e "$libdir/libveil-client.a" ]; then
	static=$work/static
	cp -a "$destdir" "$static"
	rm -f "${static}${libdir#"$destdir"}"/libveil-client.so*
	# shellcheck disable=SC2046
	if out=$("${cc[@]}" -std=c11 -o "$work/lookup-static" "$source/examples/lookup.c" \
		$(PKG_CONFIG_PATH=${static}${pcdir#"$destdir"} PKG_CONFIG_SYSROOT_DIR=$static \
			pkg-config --static --cflags --libs veil-client) 2>&1) &&
		! readelf -d "$work/lookup-static" | grep 'libveil-client' >/dev/null; then
		ok "examples/lookup.c links statically with pkg-config --static"
		got=$(run_lookup "$work/lookup-static" "$work/client.key")
		if answers_ok "$got"; then
			ok "the statically linked example answers the same"
		else
			not_ok "the statically linked example answers the same" "got:" "$got"
		fi
	else
		not_ok "examples/lookup.c links statically with pkg-config --static" "$out"
		not_ok "the statically linked example answers the same" "not built"
	fi
else
	skip "no static archive installed (default_library=shared)"
	skip "no static archive installed (default_library=shared)"
fi

# veild stops cleanly.
kill -TERM "$veild_pid"
wait "$veild_pid"
status=$?
veild_pid=''
if [ "$status" -eq 0 ]; then
	ok "veild stops cleanly"
else
	not_ok "veild stops cleanly" "exit $status" "$(cat "$work/veild.err")"
fi
[ "$tests" -eq 14 ] || echo "# planned 14 tests, ran $tests"
[ "$failed" -eq 0 ]
