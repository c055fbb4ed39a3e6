#!/usr/bin/env bash
# Runs the Python package's tests (meson test's "python"): python3 -m pytest
# -q python/tests from the source tree, with VEIL_LIB, VEILD, VEIL_ADMIN and
# VEIL as meson sets them. Exit 77 (skipped) when no python3 has pytest, when
# the build made no shared library (default_library=static), or in a
# sanitized build (VEIL_SANITIZE other than none): an ASan library loads into
# an uninstrumented python only with the sanitizer runtime preloaded, and
# then reports the interpreter's own allocations; the gcc build tests it.
set -u
cd "$(dirname "$0")/../.."
if [ "${VEIL_SANITIZE:-none}" != none ]; then
	echo "skipped: sanitized build ($VEIL_SANITIZE); the plain build runs these tests"
	exit 77
fi
case "${VEIL_LIB:-}" in
*.so | *.so.*) ;;
*)
	echo "skipped: no shared libveil-client in this build (VEIL_LIB=${VEIL_LIB:-})"
	exit 77
	;;
esac
python=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pytest' 2>/dev/null; then
		python=$p
		break
	fi
done
if [ -z "$python" ]; then
	echo "skipped: no python3 with pytest (Debian: python3-pytest)"
	exit 77
fi
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -m pytest -q -p no:cacheprovider python/tests
