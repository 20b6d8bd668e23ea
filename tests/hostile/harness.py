"""Shared runner machinery for tests/hostile/run and tests/flood/run: run a
command under /usr/bin/time (wall seconds, peak RSS) with a timeout and an
address-space limit, keep its stdout/stderr as bytes, and print result lines.
"""

import os
import resource
import signal
import subprocess
import tempfile
import time

MIB = 1 << 20

#: Address-space limit for every measured run: a run that blows up fails with an
#: allocation error instead of taking the shared machine's memory.
AS_LIMIT = 4 << 30


class Run:
    """One measured run."""

    def __init__(self, argv, rc, wall, rss_kib, out, err, timed_out, note=""):
        self.argv = argv
        self.rc = rc
        self.wall = wall
        self.rss_kib = rss_kib
        self.out = out
        self.err = err
        self.timed_out = timed_out
        self.note = note

    @property
    def rss_mib(self):
        return None if self.rss_kib is None else self.rss_kib / 1024

    def brief(self):
        if self.timed_out:
            return f"timed out after {self.wall:.0f} s"
        rss = "?" if self.rss_kib is None else f"{self.rss_mib:.1f} MiB"
        s = f"rc {self.rc}, {self.wall:.2f} s, {rss}"
        return s + (f", {self.note}" if self.note else "")


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def measured(argv, timeout, stdin=None, cwd=None):
    """Runs `argv` under `/usr/bin/time -f '%e %M'`. stdout/stderr go to files
    (never a pipe that could fill) and are returned as bytes."""
    with tempfile.TemporaryDirectory(prefix="mywire-run-") as d:
        tf, of, ef = (os.path.join(d, n) for n in ("time", "out", "err"))
        with open(of, "wb") as fo, open(ef, "wb") as fe:
            t0 = time.monotonic()
            p = subprocess.Popen(
                ["/usr/bin/time", "-f", "%e %M", "-o", tf] + list(argv),
                stdout=fo,
                stderr=fe,
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_limit,
            )
            timed_out = False
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)  # the session this call started: time and mywire
                p.wait()
            wall = time.monotonic() - t0
        out = open(of, "rb").read()
        err = open(ef, "rb").read()
        rc, rss, note = p.returncode, None, ""
        if os.path.exists(tf):
            lines = open(tf, errors="replace").read().strip().splitlines()
            for line in lines:
                if line.startswith("Command terminated by signal"):
                    note = line.strip().lower()
                    rc = -int(line.split()[-1])
            if lines:
                parts = lines[-1].split()
                if len(parts) == 2:
                    try:
                        wall, rss = float(parts[0]), int(parts[1])
                    except ValueError:
                        pass
        return Run(argv, rc, wall, rss, out, err, timed_out, note)


class Results:
    """Collects `PASS|FAIL|SKIP name: detail` lines and prints them as they come."""

    def __init__(self, suite):
        self.suite = suite
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def add(self, status, name, detail, extra=()):
        self.counts[status] += 1
        print(f"{status} {name}: {detail}", flush=True)
        for line in extra:
            print(f"    {line}", flush=True)

    def check(self, name, problems, measured_text, extra=()):
        """PASS when `problems` is empty, else FAIL listing them."""
        if problems:
            self.add("FAIL", name, "; ".join(problems) + f" ({measured_text})", extra)
        else:
            self.add("PASS", name, measured_text, extra)

    def summary(self):
        c = self.counts
        print(f"{self.suite}: {c['PASS']} passed, {c['FAIL']} failed, {c['SKIP']} skipped", flush=True)
        return 1 if c["FAIL"] else 0


# --- terminal-safety scan ----------------------------------------------------


def unsafe_bytes(data, allow=b"\n"):
    """Offsets and names of bytes a terminal would interpret: raw C0 controls (but
    `allow`), DEL, C1 controls as UTF-8 (C2 80..C2 9F), bidi controls
    (U+202A..U+202E, U+2066..U+2069), and bytes that are not UTF-8 (a lone 0x9b is
    CSI on an 8-bit terminal)."""
    found = []
    n = len(data)
    i = 0
    while i < n:
        b = data[i]
        if b < 0x20 and b not in allow:
            found.append((i, f"C0 0x{b:02x}"))
        elif b == 0x7F:
            found.append((i, "DEL"))
        elif b == 0xC2 and i + 1 < n and 0x80 <= data[i + 1] <= 0x9F:
            found.append((i, f"C1 U+{data[i + 1]:04X}"))
        elif b == 0xE2 and i + 2 < n and data[i + 1] == 0x80 and 0xAA <= data[i + 2] <= 0xAE:
            found.append((i, f"bidi U+20{data[i + 2] - 0x80:02X}"))
        elif b == 0xE2 and i + 2 < n and data[i + 1] == 0x81 and 0xA6 <= data[i + 2] <= 0xA9:
            found.append((i, f"bidi U+20{data[i + 2] - 0x80 + 0x40:02X}"))
        i += 1
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        found.append((e.start, f"invalid UTF-8 byte 0x{data[e.start]:02x}"))
    return found


def summarize_unsafe(found, limit=4):
    kinds = {}
    for _, k in found:
        kinds[k] = kinds.get(k, 0) + 1
    return ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:limit])
