//! Per-layer benches: MySQL framing (many small packets; one 16 MiB packet),
//! TCP reassembly (in order; 10 % reordered), and capture reading + L2-L4 decode.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mywire::capture::{FileSource, MergedSource};
use mywire::decode::{DecodeStats, decode};
use mywire::mysql::framing::{Control, Framer};
use mywire::reassembly::{HalfStream, StreamEvent, StreamSink};
use mywire::time::Timestamp;
use std::hint::black_box;

fn packets(n: usize, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * (len + 4));
    for i in 0..n {
        v.extend_from_slice(&(len as u32).to_le_bytes()[..3]);
        v.push(i as u8);
        v.extend(std::iter::repeat_n(b'x', len));
    }
    v
}

fn framing(c: &mut Criterion) {
    let mut g = c.benchmark_group("framing");
    let small = packets(100_000, 60);
    g.throughput(Throughput::Bytes(small.len() as u64));
    for chunk in [1448usize, 65536] {
        g.bench_function(format!("100k x 64 B packets, {chunk} B segments"), |b| {
            b.iter(|| {
                let mut fr = Framer::new(256 << 10);
                let mut n = 0u64;
                for seg in small.chunks(chunk) {
                    fr.feed(seg, Timestamp(0), &mut |p| {
                        n += p.len;
                        Control::Continue
                    });
                }
                black_box(n)
            })
        });
    }
    let mut big = packets(1, 0xFF_FFFF);
    big.extend(packets(1, 100));
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("one 16 MiB packet + continuation, 64 KiB segments", |b| {
        b.iter(|| {
            let mut fr = Framer::new(256 << 10);
            let mut n = 0u64;
            for seg in big.chunks(65536) {
                fr.feed(seg, Timestamp(0), &mut |p| {
                    n += p.len;
                    Control::Continue
                });
            }
            black_box(n)
        })
    });
    g.finish();
}

struct Count(u64);
impl StreamSink for Count {
    fn on_event(&mut self, _: usize, _: Timestamp, ev: StreamEvent<'_>) {
        if let StreamEvent::Data(d) = ev {
            self.0 += d.len() as u64;
        }
    }
}

fn reassembly(c: &mut Criterion) {
    let mut g = c.benchmark_group("reassembly");
    let payload = vec![7u8; 1448];
    let n = 50_000u32;
    g.throughput(Throughput::Bytes(u64::from(n) * 1448));
    for reorder in [false, true] {
        let mut order: Vec<u32> = (0..n).collect();
        if reorder {
            for i in (0..n as usize - 1).step_by(10) {
                order.swap(i, i + 1);
            }
        }
        g.bench_function(if reorder { "1448 B segments, 10% swapped" } else { "1448 B segments, in order" }, |b| {
            b.iter(|| {
                let mut h = HalfStream::default();
                let mut sink = Count(0);
                h.on_segment(999, true, false, false, 100, &[], 0, Timestamp(0), 4 << 20, 0, &mut sink);
                for &i in &order {
                    h.on_segment(1000 + i * 1448, false, false, false, 100, &payload, 0, Timestamp(0), 4 << 20, 0, &mut sink);
                }
                black_box(sink.0)
            })
        });
    }
    g.finish();
}

fn read_decode(c: &mut Criterion) {
    let raw = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/captures/large-packet.pcap.zst")).unwrap();
    let bytes: &'static [u8] = Box::leak(zstd::decode_all(&raw[..]).unwrap().into_boxed_slice());
    let mut g = c.benchmark_group("capture+decode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(20);
    g.bench_function("large-packet.pcap: read + etherparse", |b| {
        b.iter(|| {
            let mut m = MergedSource::new(vec![FileSource::from_reader("bench", Box::new(bytes)).unwrap()]);
            let mut st = DecodeStats::default();
            let mut n = 0usize;
            while let Some(f) = m.next_frame() {
                if let Some(s) = decode(&f, &mut st) {
                    n += s.payload.len();
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, framing, reassembly, read_decode);
criterion_main!(benches);
