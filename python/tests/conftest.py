"""Shared setting: the package on sys.path, and the programs' paths from
the environment meson test gives (VEIL_LIB, VEILD, VEIL_ADMIN, VEIL)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
REPO = os.path.dirname(os.path.dirname(HERE))
VECTORS = os.path.join(REPO, "tests", "vectors", "rfc9497_all_suites.json")


def program(name):
    """The path of a built program from the environment, or skip."""
    path = os.environ.get(name)
    if not path:
        pytest.skip("%s is not set (meson test sets it)" % name)
    return path
