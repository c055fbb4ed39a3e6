"""The RFC 9497 OPRF primitives of libveil-client (OPRF mode), one
element at a time: blind, blind_evaluate, finalize, evaluate, derive_key.

Suites are RFC 9497 identifiers ("ristretto255-SHA512", "P256-SHA256",
"P384-SHA384", "P521-SHA512"); all values are bytes in the RFC's
encodings. mode is "oprf" (the only one offered: anything else raises
VeilError UNSUPPORTED).
"""

import ctypes
from collections import namedtuple

from ._lib import check, lib

SUITES = ("ristretto255-SHA512", "P256-SHA256", "P384-SHA384", "P521-SHA512")
_MODES = {"oprf": 1, "voprf": 2}

Sizes = namedtuple("Sizes", "element scalar output")


def _mode(mode):
    return _MODES.get(mode, 0)


def _in(data):
    """A read-only buffer for bytes (NULL for None)."""
    if data is None:
        return None
    data = bytes(data)
    return (ctypes.c_uint8 * max(len(data), 1)).from_buffer_copy(data or b"\0")


def _out(n):
    return (ctypes.c_uint8 * n)()


def sizes(suite):
    """Sizes(element=Ne, scalar=Ns, output=Nh) of suite; VeilError
    UNSUPPORTED when this build does not serve it."""
    e, s, o = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
    check(lib().veil_oprf_sizes(suite.encode(), ctypes.byref(e), ctypes.byref(s), ctypes.byref(o)))
    return Sizes(e.value, s.value, o.value)


def derive_key(suite, seed, info=b"", mode="oprf"):
    """RFC 9497 DeriveKeyPair: the secret key (Ns bytes)."""
    n = sizes(suite)
    sk = _out(n.scalar)
    check(lib().veil_oprf_derive_key(suite.encode(), _mode(mode), _in(seed), len(seed),
                                     _in(info) if info else None, len(info), sk))
    return bytes(sk)


def blind(suite, data, blind=None, mode="oprf"):
    """Client, Blind: (blind, blinded_element). blind=None draws a fresh
    random blind; a given one (Ns bytes) is for known-answer tests only."""
    n = sizes(suite)
    if blind is not None and len(blind) != n.scalar:
        raise ValueError("a blind is %d bytes in %s" % (n.scalar, suite))
    b, blinded = _out(n.scalar), _out(n.element)
    check(lib().veil_oprf_blind(suite.encode(), _mode(mode), _in(data), len(data),
                                _in(blind), b, blinded))
    return bytes(b), bytes(blinded)


def blind_evaluate(suite, sk, blinded, mode="oprf"):
    """Server, BlindEvaluate: the evaluated element (Ne bytes)."""
    n = sizes(suite)
    if len(blinded) != n.element:
        raise ValueError("a blinded element is %d bytes in %s" % (n.element, suite))
    out = _out(n.element)
    check(lib().veil_oprf_blind_evaluate(suite.encode(), _mode(mode), _in(sk), len(sk),
                                         _in(blinded), out))
    return bytes(out)


def finalize(suite, data, blind, blinded, evaluated, mode="oprf"):
    """Client, Finalize: the output F(k, data) (Nh bytes)."""
    n = sizes(suite)
    if len(blind) != n.scalar or len(blinded) != n.element or len(evaluated) != n.element:
        raise ValueError("a blind is %d bytes and an element %d in %s" % (n.scalar, n.element, suite))
    out = _out(n.output)
    check(lib().veil_oprf_finalize(suite.encode(), _mode(mode), _in(data), len(data), _in(blind),
                                   _in(blinded), _in(evaluated), out))
    return bytes(out)


def evaluate(suite, sk, data, mode="oprf"):
    """Server, Evaluate: F(k, data) computed directly (Nh bytes)."""
    n = sizes(suite)
    out = _out(n.output)
    check(lib().veil_oprf_evaluate(suite.encode(), _mode(mode), _in(sk), len(sk), _in(data),
                                   len(data), out))
    return bytes(out)
