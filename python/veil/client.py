"""Lookups through libveil-client: Client(...).lookup(contacts)."""

import ctypes
import enum
from dataclasses import dataclass
from typing import Optional

from ._lib import VeilError, check, lib, strerror

KEY_SIZE = 32
MAX_HANDLE = 320
MAX_PAYLOAD = 64
OPRF_KEY_SIZE = 67
SUITE_NAME_SIZE = 24
MAX_OPRF_KEYS = 8
TOKEN_NAME_SIZE = 256


class _OprfKey(ctypes.Structure):
    _fields_ = [("key_id", ctypes.c_uint32),
                ("suite", ctypes.c_char * SUITE_NAME_SIZE),
                ("public_key_len", ctypes.c_size_t),
                ("public_key", ctypes.c_uint8 * OPRF_KEY_SIZE)]


class _Options(ctypes.Structure):
    """veil_client_options, field for field."""

    _fields_ = [("server_url", ctypes.c_char_p),
                ("server_key", ctypes.c_uint8 * KEY_SIZE),
                ("mode", ctypes.c_int),
                ("oprf_key_count", ctypes.c_size_t),
                ("oprf_keys", _OprfKey * MAX_OPRF_KEYS),
                ("client_secret", ctypes.POINTER(ctypes.c_uint8)),
                ("region", ctypes.c_char_p),
                ("timeout_ms", ctypes.c_int),
                ("deadline_ms", ctypes.c_int),
                ("prefix_bits", ctypes.c_uint),
                ("min_bucket", ctypes.c_uint64),
                ("universe", ctypes.c_uint64),
                ("require_verifiable", ctypes.c_int),
                ("refresh_seconds", ctypes.c_uint),
                ("auth", ctypes.c_int),
                ("token_issuer", ctypes.c_char * TOKEN_NAME_SIZE),
                ("token_origin", ctypes.c_char * TOKEN_NAME_SIZE),
                ("token_file", ctypes.c_char_p),
                ("fallback_urls", ctypes.POINTER(ctypes.c_char_p)),
                ("fallback_url_count", ctypes.c_size_t)]


class _Result(ctypes.Structure):
    """veil_lookup_result."""

    _fields_ = [("status", ctypes.c_int),
                ("handle", ctypes.c_char * (MAX_HANDLE + 1)),
                ("error", ctypes.c_char_p),
                ("has_payload", ctypes.c_int),
                ("payload_len", ctypes.c_size_t),
                ("payload", ctypes.c_uint8 * MAX_PAYLOAD)]


class Status(enum.Enum):
    NOT_REGISTERED = 0
    REGISTERED = 1
    INVALID = 2  # could not be normalized: see LookupResult.error


@dataclass(frozen=True)
class LookupResult:
    input: str               # the contact as given
    handle: str              # normalized ("tel:+14155550100"), "" when invalid
    status: Status
    payload: Optional[bytes]  # what is registered with the handle, if any
    error: Optional[str]     # why the contact is invalid, else None


class Client:
    """A client of one veild, pinned as `veil-admin info` describes it.

    server_url: tcp://HOST:PORT or ipc:///PATH; server_info_path: the
    file `veil-admin info` wrote; client_key_path: the key `veil keygen`
    wrote (keys mode); region: default region of national phone numbers
    ("US"); token_file: the token file (tokens mode); threads: the worker
    threads a lookup normalizes, blinds and finalizes on (0, the default:
    the cores online; the answers are the same whatever the number).
    Raises VeilError.
    Use as a context manager, or call close().
    """

    def __init__(self, server_url, server_info_path, client_key_path=None, region=None,
                 token_file=None, timeout_ms=0, threads=0):
        l = lib()
        self._handle = None
        opts = _Options()
        check(l.veil_server_info_read(server_info_path.encode(), ctypes.byref(opts)))
        secret = (ctypes.c_uint8 * KEY_SIZE)()
        try:
            if client_key_path is not None:
                check(l.veil_client_key_read(client_key_path.encode(), secret))
                opts.client_secret = secret
            # Kept referenced while the client lives.
            self._url = server_url.encode()
            self._region = region.encode() if region is not None else None
            self._token_file = token_file.encode() if token_file is not None else None
            opts.server_url = self._url
            opts.region = self._region
            opts.token_file = self._token_file
            opts.timeout_ms = timeout_ms
            handle = ctypes.c_void_p()
            check(l.veil_client_new(ctypes.byref(opts), ctypes.byref(handle)))
            self._handle = handle
            if threads:
                check(l.veil_client_set_threads(handle, threads))
        finally:
            ctypes.memset(secret, 0, KEY_SIZE)  # the library keeps its own copy

    def lookup(self, contacts):
        """LookupResult for each contact (str), in order. Raises VeilError
        (with veil_client_last_error()'s text) when the lookup fails."""
        if self._handle is None:
            raise ValueError("client is closed")
        contacts = list(contacts)
        if not contacts:
            return []
        l = lib()
        encoded = [c.encode() for c in contacts]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        results = (_Result * len(encoded))()
        err = l.veil_client_lookup(self._handle, array, len(encoded), results)
        if err != 0:
            raise VeilError(err, strerror(err), l.veil_client_last_error(self._handle).decode())
        out = []
        for text, r in zip(contacts, results):
            payload = bytes(r.payload[:r.payload_len]) if r.has_payload else None
            out.append(LookupResult(text, r.handle.decode(), Status(r.status), payload,
                                    r.error.decode() if r.error else None))
        return out

    def last_error(self):
        """veil_client_last_error(): "" when nothing failed."""
        if self._handle is None:
            return ""
        return lib().veil_client_last_error(self._handle).decode()

    def close(self):
        if self._handle is not None:
            lib().veil_client_free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
