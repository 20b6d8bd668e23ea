#!/usr/bin/env python3
"""Many connections from one: repeats every connection of a capture N times,
each copy on its own client port and later in time (timestamps shifted, TCP
checksums left as they are: mywire does not verify them), to measure memory
against the number of connections rather than bytes.

    benches/churn.py captures/basic.pcap 20000 /tmp/churn.pcap [PER_SECOND]

PER_SECOND (default 200) new connections start each second of packet time;
with mywire's 5 s linger after a close, about 5 x PER_SECOND are tracked at once.
"""
import struct
import sys


def main():
    src, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    per_second = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    data = open(src, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("churn: needs a little-endian microsecond pcap (tcpdump -w)")
    if struct.unpack_from("<I", data, 20)[0] != 1:
        sys.exit("churn: needs Ethernet frames")
    frames = []
    at = 24
    while at + 16 <= len(data):
        sec, usec, caplen, _orig = struct.unpack_from("<IIII", data, at)
        frames.append((sec * 1_000_000 + usec, data[at : at + 16 + caplen]))
        at += 16 + caplen
    # the server port: the destination of the first frame (the client's SYN)
    first = frames[0][1][16:]
    ihl = (first[14] & 0x0F) * 4
    server_port = struct.unpack_from(">H", first, 14 + ihl + 2)[0]
    with open(out, "wb") as w:
        w.write(data[:24])
        for i in range(copies):
            shift = i * 1_000_000 // per_second
            for t, rec in frames:
                rec = bytearray(rec)
                ts = t + shift
                struct.pack_into("<II", rec, 0, ts // 1_000_000, ts % 1_000_000)
                f = 16
                ihl = (rec[f + 14] & 0x0F) * 4
                tcp = f + 14 + ihl
                sport, dport = struct.unpack_from(">HH", rec, tcp)
                fresh = 10_000 + i % 50_000
                ip_octet = 2 + i // 50_000
                if dport == server_port:
                    struct.pack_into(">H", rec, tcp, fresh)
                    rec[f + 14 + 15] = ip_octet  # client address, last octet
                else:
                    struct.pack_into(">H", rec, tcp + 2, fresh)
                    rec[f + 14 + 19] = ip_octet
                w.write(rec)


if __name__ == "__main__":
    main()
