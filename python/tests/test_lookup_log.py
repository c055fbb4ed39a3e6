"""Lookups against a real veild, then reading its real log export."""

import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import program
from veil import (Client, Err, LogFormatError, Status, VeilError, parse_log_export,
                  read_log_export)

READY_DEADLINE = 60  # seconds: bounds a veild that never starts, not a pace


def run(*argv, stdin=None):
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    assert r.returncode == 0, "%s: %s" % (argv, r.stderr)
    return r.stdout


class Veild:
    def __init__(self, tmp):
        self.admin, veild, veil = program("VEIL_ADMIN"), program("VEILD"), program("VEIL")
        self.dir = tmp
        self.state = os.path.join(tmp, "state")
        self.url = "ipc://" + os.path.join(tmp, "veild.sock")
        self.info = os.path.join(tmp, "server.info")
        self.key = os.path.join(tmp, "client.key")
        run(self.admin, "keygen", "--state", self.state)
        imports = os.path.join(tmp, "import.txt")
        with open(imports, "w") as f:
            f.write("(415) 555-0100,friend\nann@example.org\n")
        run(self.admin, "import", "--state", self.state, "--strict", "--region", "US", imports)
        with open(self.info, "w") as f:
            f.write(run(self.admin, "info", "--state", self.state))
        public = run(veil, "keygen", "--out", self.key).split()[0]
        run(self.admin, "client", "add", "--state", self.state, public)
        conf = os.path.join(tmp, "veild.conf")
        with open(conf, "w") as f:
            f.write("[log]\nk_r = 1\n")  # one enrolled account: a log it can keep
        self.proc = subprocess.Popen([veild, "--state", self.state, "--listen", self.url,
                                      "--config", conf, "--threads", "1"],
                                     stderr=subprocess.PIPE)
        self.err = b""
        self._wait_ready()
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _wait_ready(self):
        deadline = time.monotonic() + READY_DEADLINE
        fd = self.proc.stderr.fileno()
        while b"veild: ready" not in self.err:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
                self.stop()
                pytest.fail("veild never said it was ready: %s" % self.err.decode())
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk and self.proc.poll() is None:
                    self.proc.wait()
                self.err += chunk

    def _read_rest(self):
        for chunk in iter(lambda: os.read(self.proc.stderr.fileno(), 4096), b""):
            self.err += chunk

    def stop(self):
        """SIGTERM and wait: veild writes its queued log entries first."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server():
    tmp = tempfile.mkdtemp(prefix="veil-py-")
    s = Veild(tmp)
    yield s
    s.stop()
    shutil.rmtree(tmp, ignore_errors=True)


CONTACTS = ["(415) 555-0100", "bob@example.org", "not a contact", "ANN@example.org"]


def test_lookup_registered_not_registered_invalid(server):
    with Client(server.url, server.info, server.key, region="US") as c:
        results = c.lookup(CONTACTS)
        assert c.last_error() == ""
    assert [r.input for r in results] == CONTACTS
    assert [(r.handle, r.status, r.payload) for r in results] == [
        ("tel:+14155550100", Status.REGISTERED, b"friend"),
        ("mailto:bob@example.org", Status.NOT_REGISTERED, None),
        ("", Status.INVALID, None),
        ("mailto:ann@example.org", Status.REGISTERED, None),
    ]
    assert results[2].error and all(r.error is None for i, r in enumerate(results) if i != 2)


def test_the_same_answers_on_one_thread_and_four(server):
    answers = []
    for threads in (1, 4):
        with Client(server.url, server.info, server.key, region="US", threads=threads) as c:
            answers.append([(r.handle, r.status, r.payload) for r in c.lookup(CONTACTS)])
    assert answers[0] == answers[1]
    assert answers[0][0] == ("tel:+14155550100", Status.REGISTERED, b"friend")


def test_too_many_threads_are_refused(server):
    with pytest.raises(VeilError):
        Client(server.url, server.info, server.key, region="US", threads=100000)


def test_errors_carry_the_code_and_text(server):
    cases = [
        (Err.SYSTEM, lambda: Client(server.url, os.path.join(server.dir, "missing.info"),
                                    server.key)),
        (Err.NOT_FOUND, lambda: Client(server.url, server.info,
                                       os.path.join(server.dir, "missing.key"))),
        (Err.ARGUMENT, lambda: Client(server.url, server.info, None)),
        (Err.PARSE, lambda: Client(server.url, server.key, server.key)),
    ]
    for code, call in cases:
        with pytest.raises(VeilError) as e:
            call()
        assert e.value.code == code, e.value
        assert e.value.message and str(e.value).startswith(e.value.message)


def test_lookup_refused_names_the_reason(server):
    # A region the library does not know is refused when the client is made.
    with pytest.raises(VeilError) as e:
        Client(server.url, server.info, server.key, region="ZZZ")
    assert e.value.code == Err.ARGUMENT


def test_real_export_reads_back(server):
    with Client(server.url, server.info, server.key, region="US") as c:
        c.lookup(CONTACTS)
    assert server.stop() == 0
    text = run(server.admin, "log", "export", "--state", server.state)
    log = parse_log_export(text)
    assert log.header["schema"] == "veil-log-v2"
    assert log.auth == "keys" and log.header["accounts"] == 1 and log.header["k_r"] == 1
    assert len(log.entries) >= 1
    for e in log.entries:
        assert e.status == 0 and e.items == len(e.buckets) >= 3 and not e.legacy
        assert list(e.buckets) == sorted(e.buckets)
    path = os.path.join(server.dir, "export.jsonl")
    with open(path, "w") as f:
        f.write(text)
    assert read_log_export(path) == log


HEADER = ('{"schema":"veil-log-v2","t_r":2,"t_b":4,"k_r":1,"k_b":1,"accounts":4,'
          '"universe":100,"entry_retention_days":30,"salt_retention_days":2,'
          '"max_prefix_bits":32,"auth":"tokens",'
          '"fields":["day","hour","requester","items","buckets","status"]}\n')
ENTRY = '{"day":20419,"hour":14,"requester":3,"items":2,"buckets":[1,15],"status":0}\n'


def test_a_well_formed_export():
    log = parse_log_export(HEADER + ENTRY + ENTRY)
    assert log.auth == "tokens" and len(log.entries) == 2
    assert log.entries[0].buckets == (1, 15) and log.entries[0].t_b == 4
    legacy = parse_log_export(HEADER + '{"day":1,"hour":0,"requester":0,"items":3,'
                             '"buckets":[2],"status":0,"seq":7}\n')
    assert legacy.entries[0].legacy


MALFORMED = {
    "empty": ("", 1),
    "no final newline": (HEADER + ENTRY[:-1], 2),
    "schema v1 header": (HEADER.replace("v2", "v1"), 1),
    "no schema": (HEADER.replace('"schema":"veil-log-v2",', ""), 1),
    "header not json": ("{schema\n", 1),
    "header an array": ("[1]\n", 1),
    "header missing t_b": (HEADER.replace('"t_b":4,', ""), 1),
    "header width above 32": (HEADER.replace('"t_b":4', '"t_b":33'), 1),
    "auth unknown": (HEADER.replace('"tokens"', '"nobody"'), 1),
    "fields other": (HEADER.replace('"status"]', '"ip"]'), 1),
    "blank line": (HEADER + "\n" + ENTRY, 2),
    "entry truncated": (HEADER + ENTRY[:30] + "\n", 2),
    "entry missing status": (HEADER + ENTRY.replace(',"status":0', ""), 2),
    "entry extra member": (HEADER + ENTRY.replace('"status":0', '"status":0,"ip":"10.0.0.1"'), 2),
    "hour 24": (HEADER + ENTRY.replace('"hour":14', '"hour":24'), 2),
    "requester too wide": (HEADER + ENTRY.replace('"requester":3', '"requester":4'), 2),
    "bucket too wide": (HEADER + ENTRY.replace("[1,15]", "[1,16]"), 2),
    "bucket negative": (HEADER + ENTRY.replace("[1,15]", "[-1,15]"), 2),
    "bucket not integer": (HEADER + ENTRY.replace("[1,15]", '[1,"15"]'), 2),
    "items not the digests": (HEADER + ENTRY.replace('"items":2', '"items":4'), 2),
    "status a boolean": (HEADER + ENTRY.replace('"status":0', '"status":false'), 2),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_exports_are_refused(name):
    text, line = MALFORMED[name]
    with pytest.raises(LogFormatError) as e:
        parse_log_export(text)
    assert e.value.line == line
    assert str(e.value).startswith("log export, line %d: " % line)
