"""Loading libveil-client.so and declaring the functions used (ctypes)."""

import ctypes
import enum
import glob
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))


class Err(enum.IntEnum):
    """veil_err of <veil/veil_error.h>, in its order."""

    OK = 0
    ARGUMENT = 1
    NOMEM = 2
    UNSUPPORTED = 3
    ELEMENT = 4
    SCALAR = 5
    INVALID_INPUT = 6
    DERIVE_KEY_PAIR = 7
    INVERSE = 8
    VERIFY = 9
    LIMIT = 10
    PARSE = 11
    SYSTEM = 12
    CRYPTO = 13
    TIMEOUT = 14
    TRANSPORT = 15
    EXISTS = 16
    NOT_FOUND = 17
    PERMISSION = 18
    CORRUPT = 19
    BUSY = 20


class VeilError(Exception):
    """A libveil-client call that did not return VEIL_OK.

    code is an Err (or the int when unknown), message veil_strerror()'s
    text, last_error what veil_client_last_error() added ("" if nothing).
    """

    def __init__(self, code, message, last_error=""):
        try:
            code = Err(code)
        except ValueError:
            pass
        self.code = code
        self.message = message
        self.last_error = last_error
        text = message if not last_error else "%s: %s" % (message, last_error)
        super().__init__(text)


def _candidates():
    env = os.environ.get("VEIL_LIB")
    if env:
        return [env]
    found = []
    for build in ["build"] + sorted(glob.glob(os.path.join(_REPO, "build*"))):
        path = os.path.join(_REPO, build, "client", "libveil-client.so")
        if os.path.exists(path) and path not in found:
            found.append(path)
    found.append("libveil-client.so.0")  # installed: the dynamic loader's path
    return found


_lib = None


def lib():
    """The loaded library: $VEIL_LIB, else the first build dir's
    client/libveil-client.so in the source tree, else the installed one."""
    global _lib
    if _lib is not None:
        return _lib
    errors = []
    for path in _candidates():
        try:
            loaded = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        raise OSError("libveil-client.so not found (set VEIL_LIB): " + "; ".join(errors))
    _declare(loaded)
    _lib = loaded
    return _lib


def _declare(l):
    c = ctypes
    u8p = c.POINTER(c.c_uint8)
    sz = c.c_size_t
    l.veil_strerror.restype = c.c_char_p
    l.veil_strerror.argtypes = [c.c_int]
    l.veil_client_version.restype = c.c_char_p
    l.veil_client_version.argtypes = []
    for name, args in {
        "veil_oprf_sizes": [c.c_char_p, c.POINTER(sz), c.POINTER(sz), c.POINTER(sz)],
        "veil_oprf_derive_key": [c.c_char_p, c.c_int, u8p, sz, u8p, sz, u8p],
        "veil_oprf_blind": [c.c_char_p, c.c_int, u8p, sz, u8p, u8p, u8p],
        "veil_oprf_blind_evaluate": [c.c_char_p, c.c_int, u8p, sz, u8p, u8p],
        "veil_oprf_finalize": [c.c_char_p, c.c_int, u8p, sz, u8p, u8p, u8p, u8p],
        "veil_oprf_evaluate": [c.c_char_p, c.c_int, u8p, sz, u8p, sz, u8p],
        "veil_server_info_read": [c.c_char_p, c.c_void_p],
        "veil_client_key_read": [c.c_char_p, u8p],
        "veil_client_new": [c.c_void_p, c.POINTER(c.c_void_p)],
        "veil_client_set_threads": [c.c_void_p, c.c_uint],
        "veil_client_lookup": [c.c_void_p, c.POINTER(c.c_char_p), sz, c.c_void_p],
    }.items():
        f = getattr(l, name)
        f.restype = c.c_int
        f.argtypes = args
    l.veil_client_free.restype = None
    l.veil_client_free.argtypes = [c.c_void_p]
    l.veil_client_last_error.restype = c.c_char_p
    l.veil_client_last_error.argtypes = [c.c_void_p]


def strerror(code):
    return lib().veil_strerror(int(code)).decode()


def check(code, last_error=""):
    """Raises VeilError unless code is VEIL_OK."""
    if code != Err.OK:
        raise VeilError(code, strerror(code), last_error)


def version():
    """veil_client_version(): the library's version."""
    return lib().veil_client_version().decode()
