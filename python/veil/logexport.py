"""Reading `veil-admin log export` (JSON Lines), pure Python.

The first line is the header: {"schema": "veil-log-v2", the widths t_r and
t_b, the targets k_r and k_b, accounts, universe, entry_retention_days,
salt_retention_days, max_prefix_bits, "auth": "keys"|"tokens" (absent:
keys), "fields": [...]}. Each further line is an entry: {"day", "hour",
"requester", "items", "buckets", "status"}, plus "t_r"/"t_b" when its
widths differ from the header's, and "seq" for an entry stored before
this format (its items is then the exact count). Anything else is
refused with a LogFormatError naming the line.
"""

import io
import json
from dataclasses import dataclass
from typing import List, Tuple

SCHEMA = "veil-log-v2"
FIELDS = ["day", "hour", "requester", "items", "buckets", "status"]
_HEADER_INTS = ("t_r", "t_b", "k_r", "k_b", "accounts", "universe", "entry_retention_days",
                "salt_retention_days", "max_prefix_bits")
_HEADER_KEYS = set(_HEADER_INTS) | {"schema", "auth", "fields"}
_ENTRY_KEYS = set(FIELDS) | {"t_r", "t_b", "seq"}
MAX_WIDTH = 32


class LogFormatError(ValueError):
    """A log export that is not one: line is the 1-based line number."""

    def __init__(self, line, reason):
        self.line = line
        self.reason = reason
        super().__init__("log export, line %d: %s" % (line, reason))


@dataclass(frozen=True)
class LogEntry:
    day: int          # days since 1970-01-01, UTC
    hour: int         # 0..23
    requester: int    # requester digest, below 2 ** t_r
    items: int        # the item count's size class (= len(buckets))
    buckets: Tuple[int, ...]  # bucket digests, below 2 ** t_b
    status: int       # the wire status answered
    t_r: int          # the widths the entry was made with
    t_b: int
    legacy: bool      # stored before veil-log-v2 (it had "seq")


@dataclass(frozen=True)
class LogExport:
    header: dict
    entries: List[LogEntry]

    @property
    def auth(self):
        return self.header.get("auth", "keys")


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _object(n, text):
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise LogFormatError(n, "not JSON (%s)" % e.msg) from None
    if not isinstance(obj, dict):
        raise LogFormatError(n, "not a JSON object")
    return obj


def _header(text):
    h = _object(1, text)
    if h.get("schema") != SCHEMA:
        raise LogFormatError(1, "schema is %r, not %r" % (h.get("schema"), SCHEMA))
    unknown = sorted(set(h) - _HEADER_KEYS)
    if unknown:
        raise LogFormatError(1, "unknown header member %r" % unknown[0])
    for key in _HEADER_INTS:
        if key not in h:
            raise LogFormatError(1, "header has no %r" % key)
        if not _int(h[key]):
            raise LogFormatError(1, "header %r is not a non-negative integer" % key)
    for key in ("t_r", "t_b"):
        if h[key] > MAX_WIDTH:
            raise LogFormatError(1, "header %r is above %d" % (key, MAX_WIDTH))
    if h.get("auth", "keys") not in ("keys", "tokens"):
        raise LogFormatError(1, "auth is %r, not keys or tokens" % h["auth"])
    if h.get("fields") != FIELDS:
        raise LogFormatError(1, "fields are not %s" % FIELDS)
    return h


def _entry(n, text, h):
    e = _object(n, text)
    unknown = sorted(set(e) - _ENTRY_KEYS)
    if unknown:
        raise LogFormatError(n, "unknown member %r" % unknown[0])
    for key in FIELDS:
        if key not in e:
            raise LogFormatError(n, "no %r" % key)
    for key in ("day", "hour", "requester", "items", "status", "t_r", "t_b", "seq"):
        if key in e and not _int(e[key]):
            raise LogFormatError(n, "%r is not a non-negative integer" % key)
    t_r, t_b = e.get("t_r", h["t_r"]), e.get("t_b", h["t_b"])
    if t_r > MAX_WIDTH or t_b > MAX_WIDTH:
        raise LogFormatError(n, "a width above %d" % MAX_WIDTH)
    if e["hour"] > 23:
        raise LogFormatError(n, "hour %d is not 0..23" % e["hour"])
    if e["requester"] >> t_r:
        raise LogFormatError(n, "requester is not below 2^%d" % t_r)
    buckets = e["buckets"]
    if not isinstance(buckets, list) or not all(_int(b) for b in buckets):
        raise LogFormatError(n, "buckets is not a list of non-negative integers")
    if any(b >> t_b for b in buckets):
        raise LogFormatError(n, "a bucket digest is not below 2^%d" % t_b)
    legacy = "seq" in e
    if not legacy and e["items"] != len(buckets):
        raise LogFormatError(n, "items %d but %d bucket digests" % (e["items"], len(buckets)))
    return LogEntry(e["day"], e["hour"], e["requester"], e["items"], tuple(buckets),
                    e["status"], t_r, t_b, legacy)


def read_log_export(source):
    """A LogExport of source: a path or a file object (text or binary).
    Raises LogFormatError for anything that is not an export (see
    parse_log_export), OSError when the file cannot be read."""
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        with open(source, encoding="utf-8") as f:
            return _read(f)
    return _read(source)


def parse_log_export(text):
    """A LogExport of an export's text (str or UTF-8 bytes). Raises
    LogFormatError for anything that is not an export: no header, another
    schema, a malformed, empty or unterminated line, unknown members, a
    value out of its range."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return _read(io.StringIO(text))


def _read(f):
    header = None
    entries = []
    for n, line in enumerate(f, 1):
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        if not line.endswith("\n"):
            raise LogFormatError(n, "no final newline: the export is incomplete")
        text = line[:-1]
        if not text.strip():
            raise LogFormatError(n, "empty line")
        if header is None:
            header = _header(text)
        else:
            entries.append(_entry(n, text, header))
    if header is None:
        raise LogFormatError(1, "empty: no header")
    return LogExport(header, entries)
