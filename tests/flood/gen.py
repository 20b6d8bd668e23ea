#!/usr/bin/env python3
"""Writes the flood captures of issue 14 into OUTDIR, with OUTDIR/cases.json
(one JSON object per line: what each case plants and what must hold).

Usage: tests/flood/gen.py OUTDIR [CASE...]

Deterministic (fixed seeds, fixed packet-time origin). The frames are written
by a fast path that packs only the fields that change per packet; the layouts
are those of tests/hostile/wire.py (Ethernet/IPv4/TCP, IPv4 checksums right,
TCP checksums zero).
"""

import json
import os
import struct
import sys

sys.dont_write_bytecode = True  # nothing written next to the sources
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hostile"))
import wire as W  # noqa: E402

REC = struct.Struct("<IIII")
IP = struct.Struct("!BBHHHBBH4s4s")
TCP = struct.Struct("!HHIIBBHHH")
ETH_C2S = W.MAC_SERVER + W.MAC_CLIENT + b"\x08\x00"
ETH_S2C = W.MAC_CLIENT + W.MAC_SERVER + b"\x08\x00"
SERVER = W.ip4("10.0.0.1")


def ip_hdr(src, dst, total):
    s = 0x4500 + total + 0x4000 + 0x4006 + (src[0] << 8 | src[1]) + (src[2] << 8 | src[3]) + (dst[0] << 8 | dst[1]) + (dst[2] << 8 | dst[3])
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return IP.pack(0x45, 0, total, 0, 0x4000, 64, 6, ~s & 0xFFFF, src, dst)


def pkt(ts, c2s, src, dst, sport, dport, seq, ack, flags, payload=b"", options=b"", claimed=None):
    """One pcap record; `claimed` = TCP payload length announced by IP when the
    payload was cut by the snaplen (only the headers are kept)."""
    plen = len(payload) if claimed is None else claimed
    tcp = TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(options) // 4) << 4, flags, 65535, 0, 0) + options
    f = (ETH_C2S if c2s else ETH_S2C) + ip_hdr(src, dst, 20 + len(tcp) + plen) + tcp + payload
    orig = len(f) - len(payload) + plen
    return REC.pack(ts // 1_000_000, ts % 1_000_000, len(f), orig) + f


def client_addr(i):
    """A distinct client address per flow: 10.(2+i/65536).(i/256%256).(i%256), ports cycling."""
    i += 1
    return bytes([10, 2 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF]), 40000 + (i * 7919) % 20000


def isn(i, side):
    return (i * 2654435761 + (0x5A5A5A5A if side else 0x12345678)) & 0xFFFFFFFF


def gen_syn_flood(out, n=200_000):
    name = "syn-flood"
    path = os.path.join(out, name + ".pcap")
    pc = W.Pcap(path)
    t = W.BASE_US
    buf = bytearray()
    for i in range(n):
        src, sport = client_addr(i)
        t += 5
        buf += pkt(t, True, src, SERVER, sport, 3306, isn(i, 0), 0, W.SYN, options=W.SYN_OPTIONS)
        if len(buf) > 1 << 22:
            pc.raw(buf)
            buf = bytearray()
    pc.raw(buf)
    pc.close()
    return {
        "name": name,
        "issue": 14,
        "file": name + ".pcap",
        "bytes": os.path.getsize(path),
        "plants": f"{n:,} SYN-only flows to port 3306 from distinct client addresses (5 us apart), never answered",
        "must_hold": ["each analysis under 5 s wall and 128 MiB peak RSS", "-j1 and -j2 JSON reports byte-identical", f"summary.capture.flows.tcp_connections == {n:,}"],
        "expect": {"summary.capture.flows.tcp_connections": n},
    }


def gen_greeting_flood(out, n=200_000):
    name = "greeting-flood"
    path = os.path.join(out, name + ".pcap")
    pc = W.Pcap(path)
    t = W.BASE_US
    buf = bytearray()
    salt = b"g6scvIIotx}-d3mMx7G?"
    g0 = W.mpkt(0, W.greeting_mariadb(conn_id=0, salt=salt))
    cid_off = 4 + 1 + len(b"5.5.5-10.11.6-MariaDB-0+deb12u1") + 1
    for i in range(n):
        src, sport = client_addr(i)
        c, s = isn(i, 0), isn(i, 1)
        g = g0[:cid_off] + struct.pack("<I", i + 1) + g0[cid_off + 4 :]
        buf += pkt(t + 1, True, src, SERVER, sport, 3306, c, 0, W.SYN, options=W.SYN_OPTIONS)
        buf += pkt(t + 2, False, SERVER, src, 3306, sport, s, c + 1, W.SYN | W.ACK, options=W.SYN_OPTIONS)
        buf += pkt(t + 3, True, src, SERVER, sport, 3306, c + 1, s + 1, W.ACK)
        buf += pkt(t + 4, False, SERVER, src, 3306, sport, s + 1, c + 1, W.PSH | W.ACK, g)
        buf += pkt(t + 5, True, src, SERVER, sport, 3306, c + 1, s + 1 + len(g), W.ACK)
        t += 10
        if len(buf) > 1 << 22:
            pc.raw(buf)
            buf = bytearray()
    pc.raw(buf)
    pc.close()
    return {
        "name": name,
        "issue": 14,
        "file": name + ".pcap",
        "bytes": os.path.getsize(path),
        "plants": f"{n:,} flows that complete the TCP handshake and receive a MariaDB greeting ({len(g0)} bytes), ACK it, and never send or close",
        "must_hold": ["each analysis under 5 s wall and 128 MiB peak RSS", "-j1 and -j2 JSON reports byte-identical", f"summary.connections == {n:,} (totals stay exact)"],
        "expect": {"summary.connections": n, "summary.capture.flows.tcp_connections": n},
    }


def one_connection_to_command_phase(buf, t):
    """Handshake, greeting, login, OK on one connection; returns (t, client seq, server seq, client payload bytes)."""
    src, sport = W.ip4("10.0.0.2"), 40001
    c, s = 0x10000000, 0x80000000
    buf += pkt(t + 1, True, src, SERVER, sport, 3306, c, 0, W.SYN, options=W.SYN_OPTIONS)
    buf += pkt(t + 2, False, SERVER, src, 3306, sport, s, c + 1, W.SYN | W.ACK, options=W.SYN_OPTIONS)
    c, s = c + 1, s + 1
    buf += pkt(t + 3, True, src, SERVER, sport, 3306, c, s, W.ACK)
    salt = b"g6scvIIotx}-d3mMx7G?"
    g = W.mpkt(0, W.greeting_mariadb(salt=salt))
    buf += pkt(t + 4, False, SERVER, src, 3306, sport, s, c, W.PSH | W.ACK, g)
    s += len(g)
    login = W.mpkt(1, W.handshake_response(W.PYMYSQL_CAPS, b"app", W.native_scramble(b"pw", salt), db=b"shop", plugin=b"mysql_native_password", attrs=[(b"_client_name", b"pymysql")]))
    buf += pkt(t + 5, True, src, SERVER, sport, 3306, c, s, W.PSH | W.ACK, login)
    c += len(login)
    ok = W.mpkt(2, W.ok_packet())
    buf += pkt(t + 6, False, SERVER, src, 3306, sport, s, c, W.PSH | W.ACK, ok)
    s += len(ok)
    return t + 10, c, s, len(login), (src, sport)


def gen_ooo_snaplen(out, n=1_000_000, seg=1448):
    name = "ooo-snaplen"
    path = os.path.join(out, name + ".pcap")
    pc = W.Pcap(path)
    buf = bytearray()
    t, c, s, login, (src, sport) = one_connection_to_command_phase(buf, W.BASE_US)
    # the first `seg` bytes after the login are never captured: every later segment is out of order
    tmpl = bytearray(pkt(0, True, src, SERVER, sport, 3306, 0, s, W.ACK, b"", claimed=seg))
    tcp_seq = 16 + 14 + 20 + 4
    for k in range(n):
        t += 2
        REC.pack_into(tmpl, 0, t // 1_000_000, t % 1_000_000, 54, 54 + seg)
        struct.pack_into("!I", tmpl, tcp_seq, (c + seg * (k + 1)) & 0xFFFFFFFF)
        buf += tmpl
        if len(buf) > 1 << 22:
            pc.raw(buf)
            buf = bytearray()
    pc.raw(buf)
    pc.close()
    return {
        "name": name,
        "issue": 14,
        "file": name + ".pcap",
        "bytes": os.path.getsize(path),
        "plants": f"one MySQL connection in command phase; the next {seg} client bytes are never captured, then {n:,} client segments of {seg} bytes "
        "each, cut by a 54-byte snaplen (headers only, 0 payload bytes kept), all behind that one hole",
        "must_hold": ["each analysis under 5 s wall and 128 MiB peak RSS", "-j1 and -j2 JSON reports byte-identical", "the connection's bytes_to_server counts every segment on the wire"],
        "expect": {"summary.connections": 1, "connections.0.tcp.bytes_to_server": login + n * seg},
    }


def gen_one_byte(out, n=1_000_000, hole=5):
    name = "one-byte-segments"
    path = os.path.join(out, name + ".pcap")
    pc = W.Pcap(path)
    buf = bytearray()
    t, c, s, login, (src, sport) = one_connection_to_command_phase(buf, W.BASE_US)
    # a COM_QUERY whose header and command byte (`hole` bytes) were lost; its SQL follows one byte per segment
    sql = b"INSERT INTO t VALUES (1,'abcdefghij'),(2,'klmnopqrst'),(3,'uvwxyz0123');"
    tmpl = bytearray(pkt(0, True, src, SERVER, sport, 3306, 0, s, W.PSH | W.ACK, b"x"))
    tcp_seq = 16 + 14 + 20 + 4
    last = len(tmpl) - 1
    for k in range(n):
        t += 2
        REC.pack_into(tmpl, 0, t // 1_000_000, t % 1_000_000, 55, 55)
        struct.pack_into("!I", tmpl, tcp_seq, (c + hole + k) & 0xFFFFFFFF)
        tmpl[last] = sql[k % len(sql)]
        buf += tmpl
        if len(buf) > 1 << 22:
            pc.raw(buf)
            buf = bytearray()
    pc.raw(buf)
    pc.close()
    return {
        "name": name,
        "issue": 14,
        "file": name + ".pcap",
        "bytes": os.path.getsize(path),
        "plants": f"one MySQL connection in command phase; the first {hole} bytes of a COM_QUERY are never captured, then {n:,} one-byte client segments "
        "of its SQL, all behind that hole",
        "must_hold": ["each analysis under 5 s wall and 128 MiB peak RSS", "-j1 and -j2 JSON reports byte-identical", "the connection's bytes_to_server counts every segment on the wire"],
        "expect": {"summary.connections": 1, "connections.0.tcp.bytes_to_server": login + n},
    }


GENERATORS = {
    "syn-flood": gen_syn_flood,
    "greeting-flood": gen_greeting_flood,
    "ooo-snaplen": gen_ooo_snaplen,
    "one-byte-segments": gen_one_byte,
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
            f.write(json.dumps(GENERATORS[w](out), sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
