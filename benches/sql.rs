//! SQL text benches: the lexer, redaction, fingerprints and the per-query
//! scans on a 1 MB BLOB INSERT (hex literal, quoted literal) and on a
//! sysbench-like mix of OLTP statements. Throughput is over the SQL bytes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mywire::sql::fingerprint::fingerprint;
use mywire::sql::lexer::Lexer;
use mywire::sql::redact::redact;
use mywire::sql::scan::{WATCHED_VARS, scan_admin, statement_kind, values_rows};
use std::hint::black_box;
use std::time::Duration;

/// `INSERT ... VALUES (1, 0x<hex>)` of about `len` bytes.
fn hex_insert(len: usize) -> Vec<u8> {
    let mut v = b"INSERT INTO blobs (id, data) VALUES (1, 0x".to_vec();
    while v.len() < len - 1 {
        v.extend_from_slice(b"0123456789ABCDEF");
    }
    v.truncate(len - 1);
    v.push(b')');
    v
}

/// `INSERT ... VALUES (1, '<bytes with escapes>')` of about `len` bytes.
fn quoted_insert(len: usize) -> Vec<u8> {
    let mut v = b"INSERT INTO blobs (id, data) VALUES (1, _binary '".to_vec();
    let mut x: u32 = 1;
    while v.len() < len - 2 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        match (x >> 16) % 64 {
            0 => v.extend_from_slice(b"\\0"),
            1 => v.extend_from_slice(b"\\'"),
            2 => v.extend_from_slice(b"\\\\"),
            _ => v.push(b'a' + ((x >> 8) % 26) as u8),
        }
    }
    v.extend_from_slice(b"')");
    v
}

/// The statements of sysbench's oltp_read_write, with their literals.
fn sysbench_mix(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut x: u64 = 7;
    let mut rnd = |m: u64| {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    };
    let digits = |r: &mut dyn FnMut(u64) -> u64, groups: usize| -> String {
        (0..groups).map(|_| format!("{:011}", r(100_000_000_000))).collect::<Vec<_>>().join("-")
    };
    while out.len() < n {
        let t = rnd(16) + 1;
        let id = rnd(100_000) + 1;
        let s = match out.len() % 18 {
            0..=9 => format!("SELECT c FROM sbtest{t} WHERE id={id}"),
            10 => format!("SELECT c FROM sbtest{t} WHERE id BETWEEN {id} AND {}", id + 99),
            11 => format!("SELECT SUM(k) FROM sbtest{t} WHERE id BETWEEN {id} AND {}", id + 99),
            12 => format!("SELECT c FROM sbtest{t} WHERE id BETWEEN {id} AND {} ORDER BY c", id + 99),
            13 => format!("SELECT DISTINCT c FROM sbtest{t} WHERE id BETWEEN {id} AND {} ORDER BY c", id + 99),
            14 => format!("UPDATE sbtest{t} SET k=k+1 WHERE id={id}"),
            15 => format!("UPDATE sbtest{t} SET c='{}' WHERE id={id}", digits(&mut rnd, 10)),
            16 => format!("DELETE FROM sbtest{t} WHERE id={id}"),
            _ => format!(
                "INSERT INTO sbtest{t} (id, k, c, pad) VALUES ({id}, {}, '{}', '{}')",
                rnd(100_000),
                digits(&mut rnd, 10),
                digits(&mut rnd, 5)
            ),
        };
        out.push(s);
    }
    out
}

fn fast(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group("sql");
    g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    g
}

fn blobs(c: &mut Criterion) {
    let mut g = fast(c);
    for (name, sql) in [("1 MB hex-literal INSERT", hex_insert(1 << 20)), ("1 MB quoted-literal INSERT", quoted_insert(1 << 20))] {
        g.throughput(Throughput::Bytes(sql.len() as u64));
        g.bench_function(format!("lex: {name}"), |b| b.iter(|| black_box(Lexer::new(black_box(&sql)).count())));
        g.bench_function(format!("values_rows: {name}"), |b| b.iter(|| black_box(values_rows(black_box(&sql), sql.len() as u64 + 1))));
        g.bench_function(format!("old count_values_rows: {name}"), |b| {
            b.iter(|| black_box(mywire::sql::count_values_rows(black_box(&sql), sql.len() as u64 + 1)))
        });
        g.bench_function(format!("redact: {name}"), |b| b.iter(|| black_box(redact(black_box(&sql[..]), false).len())));
        g.bench_function(format!("fingerprint: {name}"), |b| b.iter(|| black_box(fingerprint(black_box(&sql[..])).len())));
    }
    g.finish();
}

fn mix(c: &mut Criterion) {
    let mut g = fast(c);
    let stmts = sysbench_mix(10_000);
    let bytes: usize = stmts.iter().map(String::len).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    let each = |f: &dyn Fn(&[u8]) -> usize| stmts.iter().map(|s| f(s.as_bytes())).sum::<usize>();
    g.bench_function("lex: sysbench mix (10k statements)", |b| b.iter(|| black_box(each(&|s| Lexer::new(s).count()))));
    g.bench_function("statement_kind: sysbench mix", |b| b.iter(|| black_box(each(&|s| statement_kind(s).map_or(0, <[u8]>::len)))));
    g.bench_function("values_rows: sysbench mix", |b| {
        b.iter(|| black_box(each(&|s| values_rows(s, s.len() as u64 + 1).map_or(0, |v| v.rows_seen as usize))))
    });
    g.bench_function("scan_admin: sysbench mix", |b| {
        b.iter(|| {
            black_box(each(&|s| {
                let mut n = 0;
                scan_admin(s, &WATCHED_VARS, |_| n += 1);
                n
            }))
        })
    });
    g.bench_function("redact: sysbench mix", |b| b.iter(|| black_box(each(&|s| redact(s, false).len()))));
    g.bench_function("redact literals: sysbench mix", |b| b.iter(|| black_box(each(&|s| redact(s, true).len()))));
    g.bench_function("fingerprint: sysbench mix", |b| b.iter(|| black_box(each(&|s| fingerprint(s).len()))));
    g.finish();
}

criterion_group!(benches, blobs, mix);
criterion_main!(benches);
