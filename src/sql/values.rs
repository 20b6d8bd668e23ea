//! Counting the rows of a multi-row INSERT/REPLACE ... VALUES, for batching advice.

use crate::model::ValuesRows;

/// Counts the row tuples after `VALUES` in an INSERT/REPLACE (quote-aware).
/// `total_len` is the whole statement's size, for extrapolating past the kept bytes.
pub fn count_values_rows(sql: &[u8], total_len: u64) -> Option<ValuesRows> {
    let head: Vec<u8> = sql.iter().take(16).map(|b| b.to_ascii_lowercase()).collect();
    let head = String::from_utf8_lossy(&head);
    let head = head.trim_start();
    if !(head.starts_with("insert") || head.starts_with("replace")) {
        return None;
    }
    let (mut quote, mut esc, mut depth) = (0u8, false, 0u32);
    let (mut values_at, mut first_row, mut last_end, mut rows) = (None, 0usize, 0usize, 0u64);
    let mut i = 0;
    while i < sql.len() {
        let c = sql[i];
        if quote != 0 {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == quote {
                quote = 0;
            } else {
                // inside a literal (a BLOB's hex or escaped bytes, most of a big
                // INSERT): jump to the next quote or backslash
                i = memchr::memchr2(quote, b'\\', &sql[i..]).map_or(sql.len(), |k| i + k);
                continue;
            }
        } else if matches!(c, b'\'' | b'"' | b'`') {
            quote = c;
        } else if values_at.is_none() {
            if (c == b'v' || c == b'V') && sql.get(i..i + 6).is_some_and(|w| w.eq_ignore_ascii_case(b"values")) {
                values_at = Some(i + 6);
                i += 6;
                continue;
            }
        } else if c == b'(' {
            if depth == 0 && rows == 0 {
                first_row = i;
            }
            depth += 1;
        } else if c == b')' && depth > 0 {
            depth -= 1;
            if depth == 0 {
                rows += 1;
                last_end = i + 1;
            }
        }
        i += 1;
    }
    values_at?;
    if rows == 0 {
        // one row that runs past the kept bytes: a single huge value
        return (depth > 0).then(|| ValuesRows {
            rows_seen: 0,
            bytes_per_row: total_len.saturating_sub(first_row as u64),
            rows_estimated: 1,
        });
    }
    let per_f = (last_end - first_row) as f64 / rows as f64;
    let per = (per_f.round() as u64).max(1);
    let whole = sql.len() as u64 >= total_len.saturating_sub(1);
    let estimated = if whole { rows } else { ((total_len.saturating_sub(first_row as u64) as f64 / per_f).round() as u64).max(rows) };
    Some(ValuesRows { rows_seen: rows, bytes_per_row: per, rows_estimated: estimated })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_rows_are_counted_quote_aware() {
        let sql = b"INSERT INTO t (a, b) VALUES (1, 'x)'), (2, 'y(\\')'),(3,\"z\")";
        let v = count_values_rows(sql, sql.len() as u64).unwrap();
        assert_eq!((v.rows_seen, v.rows_estimated), (3, 3));
        // kept prefix of a bigger statement: extrapolated from bytes per row
        let big: Vec<u8> = [&b"INSERT INTO t VALUES "[..], &b"(1,'abcdefgh'),".repeat(100)].concat();
        let v = count_values_rows(&big[..big.len() - 1], 1_000_000).unwrap();
        assert_eq!((v.rows_seen, v.bytes_per_row), (100, 15));
        assert!(v.rows_estimated > 60_000 && v.rows_estimated < 70_000);
        let one = count_values_rows(b"INSERT INTO docs (body) VALUES (X'6d79", 6_000_036).unwrap();
        assert_eq!((one.rows_seen, one.rows_estimated), (0, 1));
        assert_eq!(count_values_rows(b"SELECT 1", 8), None);
        assert_eq!(count_values_rows(b"insert into t select * from u", 30), None);
    }

    /// The byte-at-a-time scan `count_values_rows` used before it skipped literals
    /// with memchr: the oracle for the fast one.
    fn values_rows_naive(sql: &[u8]) -> (Option<usize>, u64, usize, usize, u32) {
        let (mut quote, mut esc, mut depth) = (0u8, false, 0u32);
        let (mut values_at, mut first_row, mut last_end, mut rows) = (None, 0usize, 0usize, 0u64);
        let mut i = 0;
        while i < sql.len() {
            let c = sql[i];
            if quote != 0 {
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    esc = true;
                } else if c == quote {
                    quote = 0;
                }
            } else if matches!(c, b'\'' | b'"' | b'`') {
                quote = c;
            } else if values_at.is_none() {
                if (c == b'v' || c == b'V') && sql.get(i..i + 6).is_some_and(|w| w.eq_ignore_ascii_case(b"values")) {
                    values_at = Some(i + 6);
                    i += 6;
                    continue;
                }
            } else if c == b'(' {
                if depth == 0 && rows == 0 {
                    first_row = i;
                }
                depth += 1;
            } else if c == b')' && depth > 0 {
                depth -= 1;
                if depth == 0 {
                    rows += 1;
                    last_end = i + 1;
                }
            }
            i += 1;
        }
        (values_at, rows, first_row, last_end, depth)
    }

    proptest::proptest! {
        #[test]
        fn values_rows_fast_scan_matches_the_byte_scan(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "INSERT INTO t VALUES ", "values", "(", ")", ",", "'", "\"", "`", "\\", "\\'", "x", "X'00ff'", "'a)b('", " ",
            ]), 0..60)
        ) {
            let sql = format!("insert into t (a) {}", parts.concat());
            let total = sql.len() as u64 + 100;
            let naive = values_rows_naive(sql.as_bytes());
            let fast = count_values_rows(sql.as_bytes(), total);
            // same rows and first row whenever the naive scan finds VALUES
            match (naive.0, fast) {
                (None, f) => proptest::prop_assert!(f.is_none()),
                (Some(_), Some(v)) => {
                    proptest::prop_assert_eq!(v.rows_seen, naive.1);
                    if naive.1 > 0 {
                        let per = (((naive.3 - naive.2) as f64 / naive.1 as f64).round() as u64).max(1);
                        proptest::prop_assert_eq!(v.bytes_per_row, per);
                    }
                }
                (Some(_), None) => proptest::prop_assert!(naive.1 == 0 && naive.4 == 0),
            }
        }
    }
}
