#!/usr/bin/env python3
"""End-to-end live capture test against a real MariaDB on loopback.

Starts a private server (captures/record's Server), runs
`mywire live -i lo --port P --format ndjson --duration D -w FILE` in the
background, drives a workload (normal queries, an oversize INSERT, a wrong
sequence id, a KILL), then asserts the live findings and close causes, and
that the live result equals `mywire analyze` of the -w file.

Usage: tests/live/live_test.py [path/to/mywire]     (run as root)
"""

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
loader = importlib.machinery.SourceFileLoader("record", os.path.join(ROOT, "captures", "record"))
spec = importlib.util.spec_from_loader("record", loader)
rec = importlib.util.module_from_spec(spec)
loader.exec_module(rec)


def fail(msg):
    print("live_test: FAIL: " + msg)
    sys.exit(1)


def main():
    mywire = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "mywire")
    tmp = tempfile.mkdtemp(prefix="mywire-live-")
    live = None
    srv = None
    try:
        srv = rec.Server(tmp)
        srv.start()
        srv.sql("SET GLOBAL max_allowed_packet = 1048576")
        pcap = os.path.join(tmp, "live.pcap")
        out = os.path.join(tmp, "live.ndjson")
        live = subprocess.Popen([mywire, "live", "-i", "lo", "--port", str(srv.port), "--format", "ndjson",
                                 "--duration", "20", "-w", pcap, "-o", out, "--no-drop"],
                                stderr=subprocess.PIPE, text=True)
        line = live.stderr.readline()
        if "capturing on lo" not in line:
            fail("mywire live did not start: " + line + live.stderr.read())
        # a real `tcpdump -i any` capture alongside (Linux cooked SLL/SLL2 link type)
        anycap = os.path.join(tmp, "any.pcap")
        td = subprocess.Popen(["tcpdump", "-i", "any", "--immediate-mode", "-B", "262144", "-U", "-s", "0", "-Z", "root", "-w", anycap,
                               f"tcp port {srv.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        rec.PROCS.append(td)
        td.stderr.readline()
        time.sleep(0.5)

        import pymysql
        # 1. normal queries
        c, normal_port = rec.pymysql_connect(srv)
        cur = c.cursor()
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB)")
        cur.execute("INSERT INTO t VALUES (1, 'x')")
        cur.execute("SELECT * FROM t")
        cur.fetchall()
        c.close()
        # 2. oversize statement
        big, big_port = rec.pymysql_connect(srv, max_allowed_packet=64 << 20)
        try:
            big.cursor().execute("INSERT INTO t VALUES (2, %s)", (b"z" * 2_000_000,))
        except pymysql.err.MySQLError:
            pass
        # 3. wrong sequence id
        raw = rec.Raw(srv)
        raw.send_packet(3, b"\x03SELECT 1")
        try:
            raw.read_packet(3)
        except Exception:
            pass
        raw.wait_close(2)
        raw.s.close()
        # 4. KILL
        victim, victim_port = rec.pymysql_connect(srv)
        admin, _ = rec.pymysql_connect(srv)
        admin.cursor().execute(f"KILL {victim.thread_id()}")
        admin.close()
        time.sleep(0.5)

        live.send_signal(2)  # Ctrl-C: stop, finish analysis, write the report
        try:
            live.wait(30)
        except subprocess.TimeoutExpired:
            fail("mywire live did not stop on SIGINT")
        if live.returncode != 0:
            fail(f"mywire live exited {live.returncode}: {live.stderr.read()}")

        lines = [json.loads(l) for l in open(out)]
        summary = lines[-1]
        if summary["type"] != "summary":
            fail("last NDJSON line is not the summary")
        conns = {c["client"].rsplit(":", 1)[1]: c for c in lines if c["type"] == "connection"}
        findings = [f for f in lines if f["type"] == "finding"]
        kinds = sorted({f["kind"] for f in findings})
        print("live findings:", kinds)
        print("live close causes:", sorted(c["close"]["cause"] for c in conns.values()))
        if str(normal_port) not in conns or conns[str(normal_port)]["close"]["cause"] != "client_quit":
            fail("the normal connection should end with client_quit")
        if conns[str(big_port)]["close"]["cause"] != "server_error_close" or conns[str(big_port)]["close"].get("error_code") != 1153:
            fail(f"oversize connection: {conns[str(big_port)]['close']}")
        if "oversize_packet" not in kinds or "seq_out_of_order" not in kinds:
            fail(f"missing findings: {kinds}")
        if conns[str(victim_port)]["close"]["cause"] != "killed":
            fail(f"victim: {conns[str(victim_port)]['close']}")
        stats = summary["summary"]["capture"]["live"]["stats"]
        print("kernel drops:", stats["dropped_kernel"], "received:", stats["received"])

        td.send_signal(2)
        td_err = td.stderr.read()
        td.wait(10)
        td_drops = sum(int(l.split()[0]) for l in td_err.splitlines() if "dropped by kernel" in l)
        linktype = subprocess.run(["capinfos", "-E", anycap], capture_output=True, text=True).stdout
        anydoc = json.loads(subprocess.run([mywire, "analyze", "--format", "json", anycap], capture_output=True, text=True, check=True).stdout)
        any_causes = sorted(c["close"]["cause"] for c in anydoc["connections"])
        print("tcpdump -i any:", linktype.strip().splitlines()[-1].strip(), "->", any_causes)
        if td_drops:
            print(f"tcpdump -i any dropped {td_drops} packets: comparison skipped")
        elif any_causes != sorted(c["close"]["cause"] for c in conns.values()):
            shutil.copy(anycap, "/tmp/any-debug.pcap")
            fail(f"-i any capture decodes differently: {any_causes} (kept in /tmp/any-debug.pcap)")

        # the live result equals the offline analysis of the -w file
        off = subprocess.run([mywire, "analyze", "--format", "json", pcap], capture_output=True, text=True, check=True)
        doc = json.loads(off.stdout)
        off_kinds = sorted({f["kind"] for f in doc["findings"]})
        off_causes = sorted((c["client"], c["close"]["cause"]) for c in doc["connections"])
        live_causes = sorted((c["client"], c["close"]["cause"]) for c in conns.values())
        if stats["dropped_kernel"] == 0 and (off_kinds != sorted(k for k in kinds) or off_causes != live_causes):
            fail(f"live and offline differ:\n live {kinds} {live_causes}\n offline {off_kinds} {off_causes}")
        # capabilities instead of root: a copy with cap_net_raw,cap_net_admin runs as nobody
        capbin = os.path.join(tmp, "mywire-cap")
        shutil.copy(mywire, capbin)
        os.chmod(tmp, 0o755)
        subprocess.run(["setcap", "cap_net_raw,cap_net_admin=eip", capbin], check=True)
        r = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f"{capbin} live -i lo --duration 1 --format json"],
                           capture_output=True, text=True)
        if r.returncode != 0 or '"live"' not in r.stdout:
            fail(f"capability-only capture failed: {r.returncode} {r.stderr}")
        nocap = os.path.join(tmp, "mywire-nocap")
        shutil.copy(mywire, nocap)
        r = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f"{nocap} live -i lo --duration 1"], capture_output=True, text=True)
        if r.returncode != 2 or "setcap cap_net_raw,cap_net_admin=eip" not in r.stderr:
            fail(f"no-permission message: {r.returncode} {r.stderr}")
        print("live_test: 4 passed, 0 failed")
    finally:
        if live and live.poll() is None:
            live.kill()
        if srv:
            srv.stop()
        rec.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
