#!/usr/bin/env python3
"""Writes the hostile-input captures of issue 15 into OUTDIR, with OUTDIR/cases.json
(one JSON object per line: what each case plants and what must hold).

Usage: tests/hostile/gen.py OUTDIR [CASE...]

Deterministic: fixed seeds and a fixed packet-time origin, so two runs write
the same bytes. Needs Python 3 and the `zstandard` module (PyPI); without it the
`zstd` command-line tool is used for the zstd frames.
"""

import json
import os
import random
import struct
import subprocess
import sys
import zlib

sys.dont_write_bytecode = True  # nothing written next to the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire as W  # noqa: E402

try:
    import zstandard
except ImportError:  # the zstd CLI produces the same frame format
    zstandard = None

MIB = 1 << 20


def zstd_compress(data, content_size=True, level=3):
    if zstandard is not None:
        return zstandard.ZstdCompressor(level=level, write_content_size=content_size).compress(data)
    # the CLI writes the content size when it knows it (a file); not from a pipe
    args = ["zstd", "-q", "-c", f"-{level}", "--no-check"]
    if content_size:
        import tempfile

        with tempfile.NamedTemporaryFile() as t:
            t.write(data)
            t.flush()
            return subprocess.run(args + [t.name], check=True, capture_output=True).stdout
    return subprocess.run(args, input=data, check=True, capture_output=True).stdout


def zstd_claim(frame, fcs, single_segment):
    """Rewrites a zstd frame header to claim `fcs` bytes of content (8-byte
    Frame_Content_Size). With `single_segment` the window is the content size,
    so a decoder that believes the header sizes its window from the claim."""
    if frame[:4] != b"\x28\xb5\x2f\xfd":
        raise ValueError("not a zstd frame")
    fhd = frame[4]
    fcs_flag, single, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    if dict_flag:
        raise ValueError("dictionary frames are not expected")
    pos = 5
    wd = b""
    if not single:
        wd = frame[5:6]
        pos = 6
    fcs_size = {0: 1 if single else 0, 1: 2, 2: 4, 3: 8}[fcs_flag]
    blocks = frame[pos + fcs_size :]
    if not single_segment and not wd:
        raise ValueError("need a window descriptor to leave single-segment mode")
    new_fhd = (3 << 6) | (0x20 if single_segment else 0) | (fhd & 0x04)
    return frame[:4] + bytes([new_fhd]) + (b"" if single_segment else wd) + struct.pack("<Q", fcs) + blocks


class Capture:
    """A pcap file with a shared clock and a counter of client ports."""

    def __init__(self, path):
        self.path = path
        self.pcap = W.Pcap(path)
        self.clock = W.Clock()
        self.next_port = 40000
        self.connections = 0
        self.commands = 0

    def conn(self, client_ip="10.0.0.2", server_ip="10.0.0.1", port=3306):
        self.next_port += 1
        self.connections += 1
        k = self.connections
        c = W.TcpConn(self.pcap, self.clock, client_ip, self.next_port, server_ip, port, isn=(0x10000000 * k + 12345, 0x80000000 + 0x01000000 * k))
        c.open()
        return c

    def close(self):
        self.pcap.close()
        return os.path.getsize(self.path)


def exchange(cap, c, request, responses, first_resp_seq=1, request_seq=0):
    """One command and its response packets (one server segment)."""
    c.send(0, W.mpkt(request_seq, request))
    cap.commands += 1
    if responses:
        c.clock.sleep(120)
        c.send(1, W.mpkts(first_resp_seq, responses))


def login_native(cap, c, user=b"app", password=b"pw", salt=b"g6scvIIotx}-d3mMx7G?", version=b"5.5.5-10.11.6-MariaDB-0+deb12u1", caps=W.PYMYSQL_CAPS, db=b"shop", zstd_level=None, attrs=None):
    c.send(1, W.mpkt(0, W.greeting_mariadb(version=version, salt=salt)))
    resp = W.handshake_response(caps, user, W.native_scramble(password, salt), db=db, plugin=b"mysql_native_password", attrs=attrs or [(b"_client_name", b"pymysql")], zstd_level=zstd_level)
    c.send(0, W.mpkt(1, resp))
    c.send(1, W.mpkt(2, W.ok_packet()))


def quit_and_close(cap, c):
    c.send(0, W.mpkt(0, b"\x01"))
    cap.commands += 1
    c.close(first=0)


# --- 1. decompression bombs ---------------------------------------------------------

BOMB_QUERY = W.mpkt(0, b"\x03SELECT '" + b"A" * (0xFFFFFB - 10) + b"'")
assert len(BOMB_QUERY) == 0xFFFFFF


def bomb_conn(cap, algo):
    """A connection that negotiates compression (zlib: MariaDB + CLIENT_COMPRESS;
    zstd: MySQL 8 + CLIENT_ZSTD_COMPRESSION_ALGORITHM) and runs one small command."""
    c = cap.conn()
    if algo == "zlib":
        login_native(cap, c, caps=W.PYMYSQL_CAPS | W.CLIENT_COMPRESS)
    else:
        salt = b"Q1w2E3r4T5y6U7i8O9p0"
        c.send(1, W.mpkt(0, W.greeting_mysql8(salt=salt)))
        resp = W.handshake_response(W.PYMYSQL_CAPS | W.CLIENT_ZSTD, b"app", W.caching_sha2_scramble(b"pw", salt), db=b"shop", plugin=b"caching_sha2_password", attrs=[(b"_client_name", b"libmysql")], zstd_level=3)
        c.send(0, W.mpkt(1, resp))
        c.send(1, W.mpkt(2, W.auth_more_data(b"\x03")))  # fast auth success
        c.send(1, W.mpkt(3, W.ok_packet()))
    # compression is on from here: small packets go stored (uncompressed length 0)
    c.send(0, W.stored_frame(0, W.mpkt(0, W.com_query(b"SELECT 1"))))
    cap.commands += 1
    c.send(1, W.stored_frame(1, W.mpkts(1, W.resultset([b"1"], [[b"1"]]))))
    return c


def bomb_body(algo):
    return zstd_compress(BOMB_QUERY) if algo == "zstd" else zlib.compress(BOMB_QUERY, 9)


def gen_bomb(out, name, algo, frames):
    """`frames` pipelined 16 MiB COM_QUERYs, each one compressed frame that
    inflates to 0xFFFFFF bytes, sent in TSO-sized segments."""
    path = os.path.join(out, name + ".pcap")
    cap = Capture(path)
    c = bomb_conn(cap, algo)
    body = bomb_body(algo)
    data = b"".join(W.compressed_frame(k, body, 0xFFFFFF) for k in range(frames))
    per_seg = W.TSO_MAX // (len(body) + 7)
    seg = per_seg * (len(body) + 7)
    c.send(0, data, seg=seg)
    cap.commands += frames
    c.ack(1)
    c.close(first=0)
    size = cap.close()
    segments = (len(data) + seg - 1) // seg
    return {
        "name": name,
        "issue": 15,
        "kind": "bomb",
        "file": os.path.basename(path),
        "bytes": size,
        "plants": f"{algo} compressed protocol negotiated, then {frames} compressed frames of {len(body) + 7} bytes, each inflating to "
        f"16 MiB (0xFFFFFF bytes: one pipelined COM_QUERY), in {segments} TSO-sized TCP segment(s); {frames * 0xFFFFFF / MIB:.0f} MiB inflated in all",
        "must_hold": ["exit 0 in every format", "peak RSS under 64 MiB", "the cap hit is reported (a finding, an event or a counter about decompression)"],
        "inflated_bytes": frames * 0xFFFFFF,
    }


def gen_claims(out):
    """zstd frames whose own header (Frame_Content_Size) claims far more than the
    compressed protocol's 16 MiB - 1, between ordinary commands."""
    name = "bomb-zstd-header-claims"
    path = os.path.join(out, name + ".pcap")
    cap = Capture(path)
    c = bomb_conn(cap, "zstd")
    body = zstd_compress(BOMB_QUERY)
    variants = [
        ("FCS 1 TiB, window from the descriptor", zstd_claim(body, 1 << 40, False)),
        ("FCS 1 TiB, single segment (window = 1 TiB)", zstd_claim(body, 1 << 40, True)),
        ("FCS 100 MiB, single segment (window = 100 MiB)", zstd_claim(body, 100 * MIB, True)),
    ]
    for k, (_, b) in enumerate(variants):
        c.send(0, W.compressed_frame(0, b, 0xFFFFFF), seg=W.TSO_MAX)
        cap.commands += 1
        c.ack(1)
        c.clock.sleep(1000)
        # the next command after the bad frame: the stream must stay usable
        c.send(0, W.stored_frame(0, W.mpkt(0, W.com_query(b"SELECT %d" % (k + 2)))))
        cap.commands += 1
        c.send(1, W.stored_frame(1, W.mpkts(1, W.resultset([b"x"], [[b"%d" % (k + 2)]]))))
    c.close(first=0)
    size = cap.close()
    return {
        "name": name,
        "issue": 15,
        "kind": "bomb",
        "file": os.path.basename(path),
        "bytes": size,
        "plants": "zstd compressed protocol (MySQL 8); three frames whose compressed-protocol header says 0xFFFFFF but whose zstd "
        "frame header claims more: " + "; ".join(v for v, _ in variants) + "; each followed by an ordinary SELECT",
        "must_hold": ["exit 0 in every format", "peak RSS under 64 MiB", "the bad frames are reported (a finding, an event or a counter about decompression)"],
        "inflated_bytes": 3 * 0xFFFFFF,
    }


def gen_over_claim(out):
    """A frame whose header claims 13 bytes (one COM_QUERY "SELECT 2") but whose
    data inflates to 16 MiB more; one zlib and one zstd connection. A server
    inflating into a buffer of the claimed size fails and drops the connection."""
    name = "bomb-inflate-over-claim"
    path = os.path.join(out, name + ".pcap")
    cap = Capture(path)
    claimed = W.mpkt(0, W.com_query(b"SELECT 2"))
    inner = claimed + b"B" * (16 * MIB)
    for algo in ("zlib", "zstd"):
        c = bomb_conn(cap, algo)
        body = zlib.compress(inner, 9) if algo == "zlib" else zstd_compress(inner, content_size=False)
        c.send(0, W.compressed_frame(0, body, len(claimed)), seg=W.TSO_MAX)
        cap.commands += 1
        c.ack(1)
        c.clock.sleep(2000)
        c.close(first=1)
    size = cap.close()
    return {
        "name": name,
        "issue": 15,
        "kind": "bomb",
        "file": os.path.basename(path),
        "bytes": size,
        "plants": f"a zlib and a zstd connection each sending one compressed frame whose header claims {len(claimed)} uncompressed bytes "
        f"(a whole COM_QUERY 'SELECT 2') while its data inflates to {len(inner):,} bytes; the server then closes",
        "must_hold": ["exit 0 in every format", "peak RSS under 64 MiB", "the frame is reported as inflating past its header's claim (a finding, an event or a counter about decompression)"],
        "inflated_bytes": 2 * len(inner),
    }


# --- 2. secrets ------------------------------------------------------------------------

ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


class Secrets:
    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.items = []

    def text(self, where):
        n = len(self.items) + 1
        s = f"Sx{n:02d}pw" + "".join(self.rnd.choice(ALNUM) for _ in range(10))
        self.items.append({"id": f"s{n:02d}", "text": s, "where": where})
        return s.encode()

    def binary(self, data, where):
        n = len(self.items) + 1
        self.items.append({"id": f"s{n:02d}", "hex": data.hex(), "where": where})
        return data

    def rand(self, n):
        return bytes(self.rnd.randrange(256) for _ in range(n))


def mariadb_1064(near):
    return W.err_packet(
        1064, b"42000", b"You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '" + near[:80] + b"' at line 1"
    )


def pad_to(prefix, suffix_before_secret, cut, before):
    """SQL `prefix` + a comment padding + `suffix_before_secret` such that the secret
    that follows starts `before` bytes ahead of byte `cut`."""
    fixed = len(prefix) + len(b" /**/ ") + len(suffix_before_secret)
    n = cut - before - fixed
    if n < 0:
        raise ValueError("cut too early")
    return prefix + b" /*" + b"p" * n + b"*/ " + suffix_before_secret


PUBLIC_KEY_PEM = (
    b"-----BEGIN PUBLIC KEY-----\n"
    + b"\n".join(
        b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + bytes(random.Random(7).choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(20))
        for _ in range(7)
    )
    + b"\n-----END PUBLIC KEY-----\n"
)


def gen_secrets(out):
    name = "secrets"
    path = os.path.join(out, name + ".pcap")
    cap = Capture(path)
    S = Secrets(1515)
    ms = W.PYMYSQL_CAPS | W.CLIENT_MULTI_STATEMENTS
    salt_m = b"Q1w2E3r4T5y6U7i8O9p0"
    salt_a = b"g6scvIIotx}-d3mMx7G?"
    OK = [W.ok_packet()]

    # C1: MySQL 8.0, caching_sha2_password fast path; MySQL syntax that succeeds
    c = cap.conn()
    c.send(1, W.mpkt(0, W.greeting_mysql8(salt=salt_m)))
    scr = S.binary(W.caching_sha2_scramble(b"c1-login-password", salt_m), "caching_sha2_password fast-path scramble (32 bytes) in the handshake response")
    c.send(0, W.mpkt(1, W.handshake_response(ms, b"admin", scr, db=b"mysql", plugin=b"caching_sha2_password", attrs=[(b"_client_name", b"libmysql")])))
    c.send(1, W.mpkt(2, W.auth_more_data(b"\x03")))
    c.send(1, W.mpkt(3, W.ok_packet()))
    q = lambda sql, resp=OK: exchange(cap, c, W.com_query(sql), resp)  # noqa: E731
    q(b"CREATE USER 'u01'@'%' IDENTIFIED WITH caching_sha2_password BY '" + S.text("CREATE USER ... IDENTIFIED WITH caching_sha2_password BY") + b"'")
    q(b"ALTER USER 'u01'@'%' IDENTIFIED WITH caching_sha2_password BY '" + S.text("ALTER USER ... IDENTIFIED WITH caching_sha2_password BY") + b"'")
    q(
        b"SELECT 1; CREATE USER 'u03'@'%' IDENTIFIED WITH caching_sha2_password BY '" + S.text("inside a multi-statement query") + b"'; SELECT 2",
        W.resultset([b"1"], [[b"1"]], more=True) + [W.ok_packet(status=W.SERVER_STATUS_AUTOCOMMIT | W.SERVER_MORE_RESULTS_EXISTS)] + W.resultset([b"2"], [[b"2"]]),
    )
    q(b"CREATE USER 'u04'@'%' IDENTIFIED\t\n   BY '" + S.text("tab, newline and spaces between IDENTIFIED and BY") + b"'")
    q(b"CREATE USER 'u05'@'%' IDENTIFIED /* pick a strong one */ BY '" + S.text("block comment between IDENTIFIED and BY") + b"'")
    q(b"CREATE USER 'u06'@'%' IDENTIFIED -- new hire\nBY '" + S.text("-- line comment between IDENTIFIED and BY") + b"'")
    q(b"CREATE USER 'u07'@'%' IDENTIFIED # ticket 42\n BY '" + S.text("# comment between IDENTIFIED and BY") + b"'")
    q(b"ALTER USER 'u08'@'%' IDENTIFIED BY /*c*/ '" + S.text("BY /*c*/ '...'") + b"'")
    q(b"CREATE USER 'u09'@'%' IDENTIFIED BY _utf8mb4'" + S.text("BY _utf8mb4'...' (charset introducer)") + b"'")
    q(b"ALTER USER 'u10'@'%' IDENTIFIED BY '" + S.text("ALTER USER ... IDENTIFIED BY 'new' (with REPLACE)") + b"' REPLACE '" + S.text("ALTER USER ... REPLACE 'old'") + b"'")
    q(b"CHANGE REPLICATION SOURCE TO SOURCE_HOST='db1.internal', SOURCE_USER='repl', SOURCE_PASSWORD='" + S.text("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD=") + b"'")
    q(b"START REPLICA USER='repl' PASSWORD='" + S.text("START REPLICA USER='u' PASSWORD=") + b"'")
    q(b'SET PASSWORD FOR \'u01\'@\'%\' = "' + S.text('SET PASSWORD FOR u = "..." (double quotes)') + b'"')
    q(b"/* lead */ SET PASSWORD = '" + S.text("/* lead */ SET PASSWORD = '...'") + b"'")
    long_sql = pad_to(b"CREATE USER 'u17'@'%'", b"IDENTIFIED WITH caching_sha2_password BY '", 4096, 8)
    q(long_sql + S.text("a statement over 4 KiB whose secret straddles the 4096-byte SQL cut (8 bytes before it)") + b"'")
    pdus_sql = pad_to(b"CREATE USER 'u18'@'%'", b"IDENTIFIED BY '", 200, 8)
    q(pdus_sql + S.text("secret straddling byte 200 (the query column of `mywire pdus`)") + b"'")
    # prepared statements: the password is a bound parameter
    exchange(cap, c, b"\x16ALTER USER 'u19'@'%' IDENTIFIED BY ?", [W.prepare_ok(1, 0, 1), W.column_def(b"?"), W.eof_packet()])
    exchange(cap, c, W.stmt_execute(1, [(0xFD, S.text("COM_STMT_EXECUTE binding the password of ALTER USER u IDENTIFIED BY ?"))]), OK)
    exchange(cap, c, b"\x19" + struct.pack("<I", 1), [])
    exchange(cap, c, b"\x16ALTER USER 'u20'@'%' IDENTIFIED BY ?", [W.prepare_ok(2, 0, 1), W.column_def(b"?"), W.eof_packet()])
    exchange(cap, c, W.stmt_send_long_data(2, 0, S.text("COM_STMT_SEND_LONG_DATA carrying the password of ALTER USER u IDENTIFIED BY ?")), [])
    exchange(cap, c, W.stmt_execute(2, [(0xFE, ...)]), OK)
    quit_and_close(cap, c)

    # C2: MariaDB 10.11, mysql_native_password; MariaDB syntax, and MySQL syntax it rejects with ERR 1064 echoing the text
    c = cap.conn()
    c.send(1, W.mpkt(0, W.greeting_mariadb(salt=salt_a)))
    scr = S.binary(W.native_scramble(b"c2-login-password", salt_a), "mysql_native_password scramble (20 bytes) in the handshake response")
    c.send(0, W.mpkt(1, W.handshake_response(ms, b"admin", scr, db=b"mysql", plugin=b"mysql_native_password", attrs=[(b"_client_name", b"pymysql")])))
    c.send(1, W.mpkt(2, W.ok_packet()))
    q = lambda sql, resp=OK: exchange(cap, c, W.com_query(sql), resp)  # noqa: E731
    q(b"CREATE USER u21 IDENTIFIED VIA ed25519 USING PASSWORD('" + S.text("IDENTIFIED VIA ed25519 USING PASSWORD('...')") + b"')")
    q(
        b"CREATE USER u22 IDENTIFIED VIA mysql_native_password USING '" + S.text("IDENTIFIED VIA mysql_native_password USING '...'") + b"'",
        [W.err_packet(1372, b"HY000", b"Password hash should be a 41-digit hexadecimal number")],
    )
    q(b"CHANGE MASTER TO MASTER_HOST='db1.internal', MASTER_USER='repl', MASTER_PASSWORD='" + S.text("CHANGE MASTER TO MASTER_PASSWORD=") + b"'")
    q(b"CREATE SERVER s1 FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'db2.internal', DATABASE 'shop', USER 'fed', PASSWORD '" + S.text("CREATE SERVER ... OPTIONS (USER 'u', PASSWORD '...')") + b"')")
    sp = S.text("SELECT PASSWORD ('...') with a space before the parenthesis")
    hashed = S.binary(W.native_hash(sp), "the *HEX hash PASSWORD() returned (a result row)")
    q(b"SELECT PASSWORD ('" + sp + b"')", W.resultset([b"PASSWORD ('...')"], [[hashed]]))
    q(b"DO 1; ALTER USER u21 IDENTIFIED BY '" + S.text("ALTER USER ... IDENTIFIED BY inside DO 1; ...; DO 2") + b"'; DO 2", [W.ok_packet(status=W.SERVER_STATUS_AUTOCOMMIT | W.SERVER_MORE_RESULTS_EXISTS)] * 2 + OK)
    for sql_head, secret_where, near in [
        (b"CREATE USER 'u23'@'%' IDENTIFIED WITH caching_sha2_password BY '", "ERR 1064 echo: IDENTIFIED WITH ... BY on MariaDB", b"BY '%s'"),
        (b"ALTER USER u21 IDENTIFIED BY 'x' REPLACE '", "ERR 1064 echo: REPLACE 'old' on MariaDB", b"REPLACE '%s'"),
        (b"CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='", "ERR 1064 echo: CHANGE REPLICATION SOURCE on MariaDB", b"REPLICATION SOURCE TO SOURCE_PASSWORD='%s'"),
        (b"START REPLICA USER='repl' PASSWORD='", "ERR 1064 echo: START REPLICA USER= PASSWORD= on MariaDB", b"USER='repl' PASSWORD='%s'"),
    ]:
        s = S.text(secret_where)
        q(sql_head + s + b"'", [mariadb_1064(near % s)])
    long2 = pad_to(b"ALTER USER u21", b"IDENTIFIED BY '", 4096, 10)
    q(long2 + S.text("over 4 KiB on MariaDB, straddling the 4096-byte cut (10 bytes before it)") + b"'")
    exchange(cap, c, b"\x16SET PASSWORD FOR u21 = PASSWORD(?)", [W.prepare_ok(5, 0, 1), W.column_def(b"?"), W.eof_packet()])
    exchange(cap, c, W.stmt_execute(5, [(0xFE, S.text("COM_STMT_EXECUTE binding SET PASSWORD FOR u = PASSWORD(?)"))]), OK)
    # COM_CHANGE_USER with a scramble, answered by an auth switch; then with a clear-text plugin
    cu = S.binary(W.native_scramble(b"c2-change-user-password", salt_a), "COM_CHANGE_USER auth data (native scramble)")
    exchange(cap, c, W.com_change_user(b"app2", cu, b"shop", b"mysql_native_password", attrs=[(b"_client_name", b"pymysql")]), [W.auth_switch_request(b"mysql_native_password", b"N3wS4ltN3wS4ltN3wS4l\x00")])
    c.send(0, W.mpkt(2, S.binary(W.native_scramble(b"c2-change-user-password", b"N3wS4ltN3wS4ltN3wS4l"), "auth switch response to COM_CHANGE_USER (native scramble)")))
    c.send(1, W.mpkt(3, W.ok_packet()))
    clear_cu = S.text("COM_CHANGE_USER with mysql_clear_password: the password in clear")
    exchange(cap, c, W.com_change_user(b"app3", clear_cu + b"\x00", b"shop", b"mysql_clear_password"), OK)
    quit_and_close(cap, c)

    # C3..C10: authentication data of every plugin
    def auth_conn(greeting, response, steps):
        """steps: list of (side, payload) after the handshake response (seq continues)."""
        c = cap.conn()
        c.send(1, W.mpkt(0, greeting))
        c.send(0, W.mpkt(1, response))
        seq = 2
        for side, payload in steps:
            c.send(side, W.mpkt(seq, payload))
            seq += 1
        exchange(cap, c, W.com_query(b"SELECT 1"), W.resultset([b"1"], [[b"1"]]))
        quit_and_close(cap, c)

    base = W.PYMYSQL_CAPS
    # caching_sha2 full authentication, password sent in clear (as over TLS or a socket; here plain TCP)
    pw = S.text("caching_sha2_password full auth: the password in clear, NUL-terminated")
    auth_conn(
        W.greeting_mysql8(salt=salt_m, conn_id=21),
        W.handshake_response(base, b"app", S.binary(W.caching_sha2_scramble(pw, salt_m), "caching_sha2 scramble before full auth"), db=b"shop", plugin=b"caching_sha2_password"),
        [(1, W.auth_more_data(b"\x04")), (0, pw + b"\x00"), (1, W.ok_packet())],
    )
    # caching_sha2 full authentication with the server's RSA key: the client asks for it, then sends the encrypted password
    auth_conn(
        W.greeting_mysql8(salt=salt_m, conn_id=22),
        W.handshake_response(base, b"app", S.binary(W.caching_sha2_scramble(b"c4-password", salt_m), "caching_sha2 scramble before RSA full auth"), db=b"shop", plugin=b"caching_sha2_password"),
        [(1, W.auth_more_data(b"\x04")), (0, b"\x02"), (1, W.auth_more_data(PUBLIC_KEY_PEM)), (0, S.binary(S.rand(256), "caching_sha2 RSA-encrypted password (256 bytes; random stand-in)")), (1, W.ok_packet())],
    )
    # sha256_password: clear text in the handshake response (as over TLS), and the RSA exchange
    auth_conn(
        W.greeting_mysql8(salt=salt_m, conn_id=23, plugin=b"sha256_password"),
        W.handshake_response(base, b"app", S.text("sha256_password: the password in clear in the handshake response") + b"\x00", db=b"shop", plugin=b"sha256_password"),
        [(1, W.ok_packet())],
    )
    auth_conn(
        W.greeting_mysql8(salt=salt_m, conn_id=24, plugin=b"sha256_password"),
        W.handshake_response(base, b"app", b"\x01", db=b"shop", plugin=b"sha256_password"),
        [(1, W.auth_more_data(PUBLIC_KEY_PEM)), (0, S.binary(S.rand(256), "sha256_password RSA-encrypted password (256 bytes; random stand-in)")), (1, W.ok_packet())],
    )
    # mysql_clear_password chosen by the client, and reached through an auth switch
    auth_conn(
        W.greeting_mariadb(salt=salt_a, conn_id=25),
        W.handshake_response(base, b"ldapuser", S.text("mysql_clear_password in the handshake response") + b"\x00", db=b"shop", plugin=b"mysql_clear_password"),
        [(1, W.ok_packet())],
    )
    auth_conn(
        W.greeting_mariadb(salt=salt_a, conn_id=26),
        W.handshake_response(base, b"ldapuser", S.binary(W.native_scramble(b"c8-pw", salt_a), "native scramble before a switch to mysql_clear_password"), db=b"shop", plugin=b"mysql_native_password"),
        [(1, W.auth_switch_request(b"mysql_clear_password", b"")), (0, S.text("auth switch response of mysql_clear_password: the password in clear") + b"\x00"), (1, W.ok_packet())],
    )
    # MariaDB ed25519 through an auth switch (32-byte nonce, 64-byte signature)
    auth_conn(
        W.greeting_mariadb(salt=salt_a, conn_id=27),
        W.handshake_response(base, b"eduser", S.binary(W.native_scramble(b"c9-pw", salt_a), "native scramble before a switch to client_ed25519"), db=b"shop", plugin=b"mysql_native_password"),
        [(1, W.auth_switch_request(b"client_ed25519", S.rand(32))), (0, S.binary(S.rand(64), "client_ed25519 signature (64 bytes; random stand-in)")), (1, W.ok_packet())],
    )
    # MySQL 8 switching a caching_sha2 client to mysql_native_password with a new salt
    auth_conn(
        W.greeting_mysql8(salt=salt_m, conn_id=28),
        W.handshake_response(base, b"legacy", S.binary(W.caching_sha2_scramble(b"c10-pw", salt_m), "caching_sha2 scramble before a switch to mysql_native_password"), db=b"shop", plugin=b"caching_sha2_password"),
        [(1, W.auth_switch_request(b"mysql_native_password", b"Sw1tchS4ltSw1tchS4lt\x00")), (0, S.binary(W.native_scramble(b"c10-pw", b"Sw1tchS4ltSw1tchS4lt"), "auth switch response (native scramble)")), (1, W.ok_packet())],
    )
    size = cap.close()
    return {
        "name": name,
        "issue": 15,
        "kind": "secrets",
        "file": os.path.basename(path),
        "bytes": size,
        "plants": f"{len(S.items)} unique secrets over {cap.connections} connections: passwords in every SQL form (CREATE/ALTER USER, multi-statements, "
        "comments and whitespace between IDENTIFIED and BY, charset introducers, VIA ... USING, REPLACE, replication and FEDERATED options, "
        "SET PASSWORD with double quotes and a leading comment, PASSWORD ( ... ), the 4096- and 200-byte cuts), ERR 1064 messages echoing them, "
        "prepared statements binding them, and the authentication data of every plugin",
        "must_hold": [
            "no planted secret, its hex, base64, 6-byte prefix or suffix appears in text, JSON, NDJSON, pdus, text --redact-literals or JSON --commands all output, stdout or stderr",
            "mywire still decodes the capture: every connection and command is in the JSON report",
        ],
        "secrets": S.items,
        "connections": cap.connections,
        "commands": cap.commands,
    }


# --- 3. terminal safety --------------------------------------------------------------

ESC_TITLE = b"\x1b]0;pwned\x07"
ESC_CLEAR = b"\x1b[2J"
C1_CSI = "\u009b".encode()  # C2 9B
RLO = "\u202e".encode()  # E2 80 AE
LRI = "\u2066".encode()  # E2 81 A6
EVIL_NAME = b"term-" + ESC_TITLE + ESC_CLEAR + RLO + C1_CSI + b".pcap"


def gen_terminal(out):
    name = "terminal"
    path = os.path.join(out.encode(), EVIL_NAME)
    cap = Capture(path)
    caps = W.PYMYSQL_CAPS | W.CLIENT_SESSION_TRACK | W.CLIENT_MULTI_STATEMENTS
    salt = b"g6scvIIotx}-d3mMx7G?"
    # T1: everything a hostile server or client can put into text fields
    c = cap.conn()
    c.send(1, W.mpkt(0, W.greeting_mariadb(version=b"5.5.5-10.11.6-MariaDB" + ESC_TITLE + ESC_CLEAR, salt=salt)))
    user = b"\x1b[31mroot\x1b[0m" + C1_CSI + b"31m"
    db = b"shop" + ESC_CLEAR + RLO
    attrs = [(b"_client_name", b"pymysql" + ESC_TITLE), (b"program_name\x1b[5m", b"app" + C1_CSI + LRI + b"\x7f")]
    c.send(0, W.mpkt(1, W.handshake_response(caps, user, W.native_scramble(b"pw", salt), db=db, plugin=b"mysql_native_password", attrs=attrs)))
    c.send(1, W.mpkt(2, W.ok_packet(track=True, session_state=W.state_change(1, b"shop" + ESC_TITLE))))
    q = lambda sql, resp: exchange(cap, c, W.com_query(sql), resp)  # noqa: E731
    q(b"SELECT '" + ESC_CLEAR + C1_CSI + RLO + b"\x7f\x9b'", W.resultset([b"x" + ESC_CLEAR], [[ESC_CLEAR + C1_CSI]]))
    q(b"SELEKT " + ESC_TITLE, [W.err_packet(1064, b"\x7f" + C1_CSI + b"AB", b"You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'SELEKT " + ESC_TITLE + b"' at line 1")])
    q(b"DO 1", [W.err_packet(1105, RLO + b"HY", b"Unknown error " + LRI + b"\x1b[5m" + C1_CSI)])
    q(b"DO 2", [W.err_packet(1146, b"4" + ESC_CLEAR, b"Table 'shop.t" + RLO + b"' doesn't exist")])
    state = (
        W.state_change(0, b"character_set_client" + ESC_CLEAR, b"utf8mb4" + C1_CSI + RLO)
        + W.state_change(0, b"wait_timeout", b"28800" + ESC_CLEAR)
        + W.state_change(0, b"max_allowed_packet", b"1048576" + RLO)
        + W.state_change(1, b"db" + ESC_TITLE + RLO)
        + W.state_change(2, b"1")
        + W.state_change(5, b"T\x7f" + C1_CSI + b"_" + RLO)
    )
    q(b"SET NAMES utf8mb4", [W.ok_packet(track=True, info=b"info" + ESC_CLEAR, session_state=state)])
    exchange(cap, c, b"\x02shop" + ESC_CLEAR + C1_CSI, [W.ok_packet(track=True)])
    exchange(cap, c, b"\x04t" + ESC_TITLE + b"\x00", [W.eof_packet()])
    exchange(cap, c, b"\x16DO ?", [W.prepare_ok(1, 0, 1), W.column_def(b"?"), W.eof_packet()])
    exchange(cap, c, W.stmt_execute(1, [(0xFD, b"v" + ESC_CLEAR + C1_CSI + RLO + b"\x7f")]), [W.ok_packet(track=True)])
    # the server kills the connection with an unsolicited ERR, then closes
    c.send(1, W.mpkt(0, W.err_packet(1927, b"70100", b"Connection was killed" + ESC_CLEAR + RLO)))
    c.close(first=1)
    # T2: a server refusing the client before any greeting
    c = cap.conn(client_ip="10.0.0.3")
    c.send(1, W.mpkt(0, W.err_packet(1130, b"HY000", b"Host '10.0.0.3" + ESC_TITLE + b"' is not allowed to connect to this MariaDB server")))
    c.close(first=1)
    # T3: MySQL 8 with an escape in the plugin names
    c = cap.conn(client_ip="10.0.0.4")
    salt_m = b"Q1w2E3r4T5y6U7i8O9p0"
    c.send(1, W.mpkt(0, W.greeting_mysql8(salt=salt_m, plugin=b"caching_sha2_password" + ESC_CLEAR)))
    c.send(0, W.mpkt(1, W.handshake_response(W.PYMYSQL_CAPS, b"app", W.caching_sha2_scramble(b"pw", salt_m), db=b"shop", plugin=b"caching_sha2_password" + C1_CSI)))
    c.send(1, W.mpkt(2, W.auth_switch_request(b"mysql_native_password" + ESC_TITLE + RLO, salt + b"\x00")))
    c.send(0, W.mpkt(3, W.native_scramble(b"pw", salt)))
    c.send(1, W.mpkt(4, W.ok_packet()))
    exchange(cap, c, W.com_query(b"SELECT 1"), W.resultset([b"1"], [[b"1"]]))
    quit_and_close(cap, c)
    size = cap.close()
    planted = {
        "ESC ] title": ESC_TITLE.hex(),
        "ESC [2J": ESC_CLEAR.hex(),
        "U+009B (C1 CSI)": C1_CSI.hex(),
        "U+202E (RLO)": RLO.hex(),
        "U+2066 (LRI)": LRI.hex(),
        "DEL": "7f",
    }
    return {
        "name": name,
        "issue": 15,
        "kind": "terminal",
        "file": EVIL_NAME.decode(),
        "bytes": size,
        "plants": "escape sequences, C1 controls, DEL and bidi overrides in: the server version, user, schema, connection attributes, plugin names, "
        "SQL, SQLSTATEs of three ERRs (DEL + U+009B, U+202E), ERR messages, OK session-state changes (variables, schema, transaction state), "
        "COM_INIT_DB, COM_FIELD_LIST, a prepared-statement parameter, an unsolicited ERR 1927, an ERR 1130 instead of a greeting; "
        "and the capture's own file name",
        "must_hold": [
            "no raw C0 byte (except \\n, and \\t in pdus), DEL, C1 (U+0080..U+009F in UTF-8) or bidi control (U+202A..U+202E, U+2066..U+2069) in any output, stderr included",
            "JSON output escapes them as \\u sequences (raw bytes checked, not the parsed JSON)",
            "the same for errors naming a missing or non-capture file with such a name",
        ],
        "planted": planted,
        "connections": cap.connections,
    }


# --- 4. counters ---------------------------------------------------------------------

def fast_exchanges(cap, c, n, request_of, response_of, fields, gap_us=200, reply_us=80):
    """`n` request/response exchanges on `c`, each one client segment and one server
    segment, written from templates. `request_of(0)` / `response_of(0)` give the
    template payloads (full MySQL packets, fixed lengths); `fields` lists
    (which, offset_in_payload, fn(i) -> bytes) patches applied per exchange."""
    req0, resp0 = request_of(0), response_of(0)
    (cip, cport), (sip, sport) = c.addr
    fq = W.frame(W.MAC_CLIENT, W.MAC_SERVER, cip, sip, cport, sport, 0, 0, W.ACK | W.PSH, req0)
    fr = W.frame(W.MAC_SERVER, W.MAC_CLIENT, sip, cip, sport, cport, 0, 0, W.ACK | W.PSH, resp0)
    unit = struct.pack("<IIII", 0, 0, len(fq), len(fq)) + fq + struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr
    rq = 16 + len(fq)
    ts_q, ts_r = 0, rq
    tcp_q, tcp_r = 16 + 14 + 20 + 4, rq + 16 + 14 + 20 + 4
    pay_q, pay_r = 16 + 54, rq + 16 + 54
    patches = [((pay_q if which == "req" else pay_r) + off, fn) for which, off, fn in fields]
    TS = struct.Struct("<II")
    SA = struct.Struct(">II")
    lq, lr = len(req0), len(resp0)
    cseq, sseq = c.seq
    t = c.clock.now
    chunk = 20000
    ulen = len(unit)
    i = 0
    while i < n:
        m = min(chunk, n - i)
        buf = bytearray(unit * m)
        for k in range(m):
            j = i + k
            b = k * ulen
            tq = t + (j + 1) * gap_us
            TS.pack_into(buf, b + ts_q, tq // 1_000_000, tq % 1_000_000)
            tr = tq + reply_us
            TS.pack_into(buf, b + ts_r, tr // 1_000_000, tr % 1_000_000)
            cs = (cseq + j * lq) & 0xFFFFFFFF
            ss = (sseq + j * lr) & 0xFFFFFFFF
            SA.pack_into(buf, b + tcp_q, cs, ss)
            SA.pack_into(buf, b + tcp_r, ss, (cs + lq) & 0xFFFFFFFF)
            for off, fn in patches:
                v = fn(j)
                buf[b + off : b + off + len(v)] = v
        cap.pcap.raw(buf)
        i += m
    c.seq[0] = (cseq + n * lq) & 0xFFFFFFFF
    c.seq[1] = (sseq + n * lr) & 0xFFFFFFFF
    c.clock.now = t + n * gap_us + reply_us
    cap.commands += n


def gen_counters(out, n=1_000_000):
    cases = []
    # SET wait_timeout=NNNNNN with OKs: one server-variable observation each
    name = "counters-set-wait-timeout"
    path = os.path.join(out, name + ".pcap")
    cap = Capture(path)
    c = cap.conn()
    login_native(cap, c)
    head = b"SET wait_timeout="
    value = lambda i: b"%06d" % (100000 + i % 900000)  # noqa: E731
    fast_exchanges(cap, c, n, lambda i: W.mpkt(0, W.com_query(head + value(i))), lambda i: W.mpkt(1, W.ok_packet()), [("req", 4 + 1 + len(head), value)])
    quit_and_close(cap, c)
    size = cap.close()
    cases.append(
        {
            "name": name,
            "issue": 15,
            "kind": "counters",
            "file": os.path.basename(path),
            "bytes": size,
            "plants": f"one connection sending {n:,} COM_QUERY 'SET wait_timeout=NNNNNN' (each answered by OK): {n:,} server-variable observations",
            "must_hold": ["exit 0", "peak RSS under 128 MiB", "summary.not_listed.observations == observations planted - observations remembered (the documented cap)"],
            "observations": n,
        }
    )
    # KILL n answered by ERR 1094 unknown thread: one KILL observation each
    name = "counters-kill"
    path = os.path.join(out, name + ".pcap")
    cap = Capture(path)
    c = cap.conn()
    login_native(cap, c)
    target = lambda i: b"%07d" % (1000000 + i)  # noqa: E731
    msg = b"Unknown thread id: "
    fast_exchanges(
        cap,
        c,
        n,
        lambda i: W.mpkt(0, W.com_query(b"KILL " + target(i))),
        lambda i: W.mpkt(1, W.err_packet(1094, b"HY000", msg + target(i))),
        [("req", 4 + 1 + 5, target), ("resp", 4 + 1 + 2 + 6 + len(msg), target)],
    )
    quit_and_close(cap, c)
    size = cap.close()
    cases.append(
        {
            "name": name,
            "issue": 15,
            "kind": "counters",
            "file": os.path.basename(path),
            "bytes": size,
            "plants": f"one connection sending {n:,} COM_QUERY 'KILL NNNNNNN' (distinct targets, each answered by ERR 1094 Unknown thread id): {n:,} KILL observations",
            "must_hold": ["exit 0", "peak RSS under 128 MiB", "summary.not_listed.observations == KILLs planted - KILLs remembered (the documented cap)"],
            "observations": n,
        }
    )
    return cases


# --- 5. files written as root (fixtures are built by the runner) -------------------------

FILES_CASE = {
    "name": "files-as-root",
    "issue": 15,
    "kind": "files",
    "file": None,
    "plants": "nothing in a capture: the runner prepares old report and pcap files, a symlink planted by another user in a sticky "
    "world-writable directory, and runs `mywire live -i lo` against loopback traffic it generates",
    "must_hold": [
        "live --user nosuchuser -o old.json: exit 2 and old.json unchanged",
        "live -w old.pcap -o /nonexistent/x: fails and old.pcap unchanged",
        "-o / -w through a symlink owned by another user in a sticky world-writable directory does not write the root-only target",
        "--buffer-size 100G: exit 2 at once",
        "kill -9 during a run with -o old.json (live and analyze): old.json intact",
    ],
}


GENERATORS = {
    "bomb-zstd-60": lambda out: [gen_bomb(out, "bomb-zstd-60", "zstd", 60)],
    "bomb-zstd-300": lambda out: [gen_bomb(out, "bomb-zstd-300", "zstd", 300)],
    "bomb-zlib-60": lambda out: [gen_bomb(out, "bomb-zlib-60", "zlib", 60)],
    "bomb-zlib-300": lambda out: [gen_bomb(out, "bomb-zlib-300", "zlib", 300)],
    "bomb-zstd-header-claims": lambda out: [gen_claims(out)],
    "bomb-inflate-over-claim": lambda out: [gen_over_claim(out)],
    "secrets": lambda out: [gen_secrets(out)],
    "terminal": lambda out: [gen_terminal(out)],
    "counters": gen_counters,
    "files-as-root": lambda out: [dict(FILES_CASE)],
}


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    wanted = sys.argv[2:] or list(GENERATORS)
    unknown = [w for w in wanted if w not in GENERATORS]
    if unknown:
        print(f"gen.py: unknown case(s) {unknown}; known: {list(GENERATORS)}", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "cases.json"), "w") as f:
        for w in wanted:
            for case in GENERATORS[w](out):
                f.write(json.dumps(case, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
