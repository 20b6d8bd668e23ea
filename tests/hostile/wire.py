"""Byte builders for the generated captures: a pcap writer, Ethernet/IPv4/TCP
frames, a TCP connection helper and MySQL/MariaDB protocol packets.

Used by tests/hostile/gen.py and tests/flood/gen.py. Everything is
deterministic: timestamps come from a fixed base clock, randomness from seeded
`random.Random` instances supplied by the callers. IPv4 header checksums are
computed; TCP checksums are left zero (captures of offloaded traffic look the
same, and neither mywire nor tshark validates them by default).

Layouts follow the real captures in captures/ (MariaDB 10.11 greeting,
PyMySQL's handshake response) and the public protocol documentation
(dev.mysql.com "Client/Server Protocol", MariaDB's protocol pages).
"""

import hashlib
import struct

# --- pcap --------------------------------------------------------------------

#: Fixed packet-time origin of every generated capture: 2023-11-14 22:13:20 UTC.
BASE_US = 1_700_000_000 * 1_000_000

LINKTYPE_ETHERNET = 1


class Pcap:
    """A classic little-endian, microsecond pcap file."""

    def __init__(self, path, snaplen=262144):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
        self.frames = 0

    def record(self, ts_us, frame, orig_len=None, caplen=None):
        """Writes one frame; `caplen` cuts it like a snaplen would (`orig_len` stays the wire length)."""
        if orig_len is None:
            orig_len = len(frame)
        if caplen is not None:
            frame = frame[:caplen]
        self.f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), orig_len))
        self.f.write(frame)
        self.frames += 1

    def raw(self, data):
        """Appends pre-built records (fast writers)."""
        self.f.write(data)

    def close(self):
        self.f.close()


class Clock:
    """Packet time in microseconds, advancing by `step` per frame unless told otherwise."""

    def __init__(self, start_us=BASE_US, step=50):
        self.now = start_us
        self.step = step

    def next(self, step=None):
        self.now += self.step if step is None else step
        return self.now

    def sleep(self, us):
        self.now += us


# --- L2-L4 -------------------------------------------------------------------

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

MAC_SERVER = bytes.fromhex("020000000001")
MAC_CLIENT = bytes.fromhex("020000000002")

#: TCP options of a Linux SYN: MSS 1460, SACK permitted, timestamps, window scale 7.
SYN_OPTIONS = bytes.fromhex("020405b4") + bytes.fromhex("0402080a") + b"\x00\x00\x00\x01\x00\x00\x00\x00" + bytes.fromhex("01030307")


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_header(src, dst, payload_len, ident=0):
    """20-byte IPv4 header (DF, TTL 64, TCP) with a correct checksum."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0x4000, 64, 6, 0, src, dst)
    return h[:10] + struct.pack("!H", ip_checksum(h)) + h[12:]


def tcp_header(sport, dport, seq, ack, flags, window=65535, options=b""):
    if len(options) % 4:
        raise ValueError("TCP options must be padded to 4 bytes")
    off = (5 + len(options) // 4) << 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off, flags, window, 0, 0) + options


def frame(src_mac, dst_mac, src, dst, sport, dport, seq, ack, flags, payload=b"", window=65535, options=b"", claimed=None):
    """An Ethernet/IPv4/TCP frame. `claimed` is the TCP payload length the IP
    header announces when only part of it is included (snaplen cuts)."""
    tcp = tcp_header(sport, dport, seq, ack, flags, window, options)
    plen = len(payload) if claimed is None else claimed
    return src_mac + dst_mac + b"\x08\x00" + ipv4_header(src, dst, len(tcp) + plen) + tcp + payload


#: Largest TCP payload of one IPv4 packet without options (a TSO/GRO super-segment as
#: captured on the sending host or on loopback).
TSO_MAX = 65535 - 40


class TcpConn:
    """One TCP connection between a client (side 0) and a server (side 1)."""

    def __init__(self, pcap, clock, client_ip, client_port, server_ip="10.0.0.1", server_port=3306, isn=(1_000_000, 2_000_000), mss=1448):
        self.w = pcap
        self.clock = clock
        self.addr = [(ip4(client_ip), client_port), (ip4(server_ip), server_port)]
        self.mac = [MAC_CLIENT, MAC_SERVER]
        self.seq = [isn[0], isn[1]]
        self.mss = mss

    def emit(self, side, flags, payload=b"", seq=None, ack=None, options=b"", step=None, claimed=None, caplen=None):
        (sip, sp), (dip, dp) = self.addr[side], self.addr[1 - side]
        seq = self.seq[side] if seq is None else seq
        ack = self.seq[1 - side] if ack is None else ack
        f = frame(self.mac[side], self.mac[1 - side], sip, dip, sp, dp, seq, ack, flags, payload, options=options, claimed=claimed)
        orig = len(f) if claimed is None else len(f) - len(payload) + claimed
        self.w.record(self.clock.next(step), f, orig_len=orig, caplen=caplen)

    def open(self):
        """Three-way handshake."""
        self.emit(0, SYN, options=SYN_OPTIONS, ack=0)
        self.seq[0] += 1
        self.emit(1, SYN | ACK, options=SYN_OPTIONS)
        self.seq[1] += 1
        self.emit(0, ACK)

    def send(self, side, data, seg=None, step=None):
        """Sends `data` from `side` in segments of at most `seg` bytes (default: the MSS)."""
        seg = seg or self.mss
        for i in range(0, len(data), seg):
            chunk = data[i : i + seg]
            last = i + seg >= len(data)
            self.emit(side, ACK | (PSH if last else 0), chunk, step=step)
            self.seq[side] += len(chunk)

    def ack(self, side):
        """A pure ACK from `side`."""
        self.emit(side, ACK)

    def close(self, first=0):
        """FIN from `first`, FIN+ACK from the other side, last ACK."""
        self.emit(first, FIN | ACK)
        self.seq[first] += 1
        self.emit(1 - first, FIN | ACK)
        self.seq[1 - first] += 1
        self.emit(first, ACK)


# --- MySQL -------------------------------------------------------------------

CLIENT_LONG_PASSWORD = 1
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_COMPRESS = 1 << 5
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SSL = 1 << 11
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_AUTH_LENENC = 1 << 21
CLIENT_SESSION_TRACK = 1 << 23
CLIENT_DEPRECATE_EOF = 1 << 24
CLIENT_ZSTD = 1 << 26

#: PyMySQL 1.1's capabilities, as in captures/basic.pcap (0x003aa20d).
PYMYSQL_CAPS = 0x003AA20D

#: MariaDB 10.11's greeting capabilities (lower 16: 0xfffe, upper: 0x81ff; no CLIENT_MYSQL bit).
MARIADB_SERVER_CAPS = 0x81FFFFFE
#: MySQL 8.0's greeting capabilities (with CLIENT_ZSTD_COMPRESSION_ALGORITHM).
MYSQL8_SERVER_CAPS = 0xDFFFFFFF

SERVER_STATUS_AUTOCOMMIT = 0x0002
SERVER_MORE_RESULTS_EXISTS = 0x0008
SERVER_SESSION_STATE_CHANGED = 0x4000


def mpkt(seq, payload):
    """One physical MySQL packet: int<3> length, int<1> sequence id, payload."""
    if len(payload) > 0xFFFFFF:
        raise ValueError("payload longer than one physical packet")
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def mpkts(first_seq, payloads):
    return b"".join(mpkt(first_seq + i, p) for i, p in enumerate(payloads))


def lenenc_int(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lenenc_str(b):
    return lenenc_int(len(b)) + b


def greeting_mariadb(version=b"5.5.5-10.11.6-MariaDB-0+deb12u1", conn_id=7, salt=b"g6scvIIotx}-d3mMx7G?", plugin=b"mysql_native_password", caps=MARIADB_SERVER_CAPS, ext=0x1D, charset=0x08):
    """HandshakeV10 as MariaDB 10.11 sends it (layout of captures/basic.pcap)."""
    assert len(salt) == 20
    return (
        b"\x0a" + version + b"\x00" + struct.pack("<I", conn_id) + salt[:8] + b"\x00"
        + struct.pack("<H", caps & 0xFFFF) + bytes([charset]) + struct.pack("<H", SERVER_STATUS_AUTOCOMMIT)
        + struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 6 + struct.pack("<I", ext)
        + salt[8:] + b"\x00" + plugin + b"\x00"
    )


def greeting_mysql8(version=b"8.0.36", conn_id=11, salt=b"Q1w2E3r4T5y6U7i8O9p0", plugin=b"caching_sha2_password", caps=MYSQL8_SERVER_CAPS):
    """HandshakeV10 as MySQL 8.0 sends it (10 reserved bytes, utf8mb4 collation 255)."""
    assert len(salt) == 20
    return (
        b"\x0a" + version + b"\x00" + struct.pack("<I", conn_id) + salt[:8] + b"\x00"
        + struct.pack("<H", caps & 0xFFFF) + b"\xff" + struct.pack("<H", SERVER_STATUS_AUTOCOMMIT)
        + struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 10 + salt[8:] + b"\x00" + plugin + b"\x00"
    )


def handshake_response(caps, user, auth, db=None, plugin=None, attrs=None, zstd_level=None, max_packet=0x00FFFFFF, charset=0x2D):
    """HandshakeResponse41. `attrs` is a list of (key, value) byte pairs."""
    out = struct.pack("<IIB", caps, max_packet, charset) + b"\x00" * 23 + user + b"\x00"
    if caps & CLIENT_AUTH_LENENC:
        out += lenenc_str(auth)
    elif caps & CLIENT_SECURE_CONNECTION:
        out += bytes([len(auth)]) + auth
    else:
        out += auth + b"\x00"
    if caps & CLIENT_CONNECT_WITH_DB:
        out += (db or b"") + b"\x00"
    if caps & CLIENT_PLUGIN_AUTH:
        out += (plugin or b"") + b"\x00"
    if caps & CLIENT_CONNECT_ATTRS:
        out += lenenc_str(b"".join(lenenc_str(k) + lenenc_str(v) for k, v in (attrs or [])))
    if caps & CLIENT_ZSTD:
        out += bytes([zstd_level if zstd_level is not None else 3])
    return out


def ok_packet(affected=0, insert_id=0, status=SERVER_STATUS_AUTOCOMMIT, warnings=0, info=b"", session_state=None, track=False):
    """OK_Packet; with `track` (CLIENT_SESSION_TRACK) the info is length-encoded and
    `session_state` (raw bytes) follows when SERVER_SESSION_STATE_CHANGED is set."""
    out = b"\x00" + lenenc_int(affected) + lenenc_int(insert_id)
    if session_state is not None:
        status |= SERVER_SESSION_STATE_CHANGED
    out += struct.pack("<HH", status, warnings)
    if track:
        out += lenenc_str(info)
        if session_state is not None:
            out += lenenc_str(session_state)
    else:
        out += info
    return out


def state_change(kind, *fields):
    """One session-state change entry: type, then its length-encoded data."""
    data = b"".join(lenenc_str(f) for f in fields)
    return bytes([kind]) + lenenc_str(data)


def err_packet(code, sqlstate, message):
    """ERR_Packet (protocol 41: '#' and a 5-byte SQLSTATE)."""
    assert len(sqlstate) == 5, sqlstate
    return b"\xff" + struct.pack("<H", code) + b"#" + sqlstate + message


def eof_packet(status=SERVER_STATUS_AUTOCOMMIT, warnings=0):
    return b"\xfe" + struct.pack("<HH", warnings, status)


def column_def(name, ctype=0xFD, schema=b"", table=b"", charset=0x2D, length=1024, flags=0, decimals=0):
    """ColumnDefinition41."""
    return (
        lenenc_str(b"def") + lenenc_str(schema) + lenenc_str(table) + lenenc_str(table) + lenenc_str(name) + lenenc_str(name)
        + b"\x0c" + struct.pack("<HIBHB", charset, length, ctype, flags, decimals) + b"\x00\x00"
    )


def text_row(values):
    return b"".join(b"\xfb" if v is None else lenenc_str(v) for v in values)


def resultset(columns, rows, more=False):
    """Payloads of a text result set without CLIENT_DEPRECATE_EOF."""
    status = SERVER_STATUS_AUTOCOMMIT | (SERVER_MORE_RESULTS_EXISTS if more else 0)
    out = [lenenc_int(len(columns))] + [column_def(c) for c in columns] + [eof_packet()]
    out += [text_row(r) for r in rows]
    out.append(eof_packet(status))
    return out


def com_query(sql):
    return b"\x03" + sql


def prepare_ok(stmt_id, ncols, nparams, warnings=0):
    return b"\x00" + struct.pack("<IHHBH", stmt_id, ncols, nparams, 0, warnings)


def stmt_execute(stmt_id, params, bind=True):
    """COM_STMT_EXECUTE with `params` = [(type, value)]: bytes (length-encoded),
    None (NULL) or ... (sent before with COM_STMT_SEND_LONG_DATA: no value here).
    `bind` sends the types (new-params-bound)."""
    out = b"\x17" + struct.pack("<IBI", stmt_id, 0, 1)
    if params:
        nulls = bytearray((len(params) + 7) // 8)
        for i, (_, v) in enumerate(params):
            if v is None:
                nulls[i // 8] |= 1 << (i % 8)
        out += bytes(nulls) + (b"\x01" if bind else b"\x00")
        if bind:
            out += b"".join(struct.pack("<BB", t, 0) for t, _ in params)
        out += b"".join(lenenc_str(v) for _, v in params if isinstance(v, bytes))
    return out


def stmt_send_long_data(stmt_id, param, data):
    return b"\x18" + struct.pack("<IH", stmt_id, param) + data


def com_change_user(user, auth, db, plugin, attrs=None, charset=0x2D):
    """COM_CHANGE_USER (CLIENT_SECURE_CONNECTION: 1-byte auth length)."""
    out = b"\x11" + user + b"\x00" + bytes([len(auth)]) + auth + db + b"\x00" + struct.pack("<H", charset) + plugin + b"\x00"
    if attrs is not None:
        out += lenenc_str(b"".join(lenenc_str(k) + lenenc_str(v) for k, v in attrs))
    return out


def auth_switch_request(plugin, data):
    return b"\xfe" + plugin + b"\x00" + data


def auth_more_data(data):
    return b"\x01" + data


# --- authentication responses (computed with hashlib, never hand-rolled) --------


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def native_scramble(password, salt):
    """mysql_native_password: SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw)))."""
    h1 = hashlib.sha1(password).digest()
    return xor(h1, hashlib.sha1(salt + hashlib.sha1(h1).digest()).digest())


def caching_sha2_scramble(password, salt):
    """caching_sha2_password fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + salt)."""
    h1 = hashlib.sha256(password).digest()
    return xor(h1, hashlib.sha256(hashlib.sha256(h1).digest() + salt).digest())


def native_hash(password):
    """The `*HEX` account hash PASSWORD() returns (mysql_native_password)."""
    return b"*" + hashlib.sha1(hashlib.sha1(password).digest()).hexdigest().upper().encode()


# --- compressed protocol -----------------------------------------------------


def compressed_frame(seq, body, uncompressed_len):
    """A compressed-protocol frame: int<3> compressed length, int<1> sequence id,
    int<3> uncompressed length (0 = stored as is), then the body."""
    return struct.pack("<I", len(body))[:3] + bytes([seq & 0xFF]) + struct.pack("<I", uncompressed_len)[:3] + body


def stored_frame(seq, data):
    return compressed_frame(seq, data, 0)
