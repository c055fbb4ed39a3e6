"""veil for Python: lookups and the OPRF primitives through libveil-client
(ctypes; the library is $VEIL_LIB, else a build dir of the source tree,
else the installed libveil-client.so.0), and reading query log exports
(pure Python)."""

from ._lib import Err, VeilError, version
from .client import Client, LookupResult, Status
from .logexport import (LogEntry, LogExport, LogFormatError, parse_log_export,
                        read_log_export)
from . import oprf

__all__ = ["Client", "Err", "LogEntry", "LogExport", "LogFormatError", "LookupResult", "Status",
           "VeilError", "oprf", "parse_log_export", "read_log_export", "version"]
