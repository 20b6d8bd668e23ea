//! Password redaction and literal masking of SQL text.

/// Replaces passwords in SQL: `IDENTIFIED BY '...'`, `IDENTIFIED WITH p AS '...'`,
/// `PASSWORD('...')`, `SET PASSWORD ... = '...'`. With `all_literals`, every
/// string and number literal becomes `?`.
pub fn redact_sql(sql: &str, all_literals: bool) -> String {
    let b = sql.as_bytes();
    let lower = sql.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut secret_next = false;
    let is_set_password = lower.trim_start().starts_with("set password") || lower.contains("alter user") && lower.contains("password");
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            // string literal with '' / \' escapes
            let q = c;
            let mut j = i + 1;
            while j < b.len() {
                if b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if b[j] == q {
                    if j + 1 < b.len() && b[j + 1] == q {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            if secret_next || (is_set_password && q == b'\'') {
                out.push_str("'***'");
            } else if all_literals {
                out.push('?');
            } else {
                out.push_str(&sql[i..end]);
            }
            secret_next = false;
            i = end;
            continue;
        }
        if all_literals && c.is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                j += 1;
            }
            out.push('?');
            i = j;
            continue;
        }
        for kw in ["identified by", "password(", " as "] {
            if lb[i..].starts_with(kw.as_bytes()) && (kw != " as " || lower[..i].contains("identified with")) {
                secret_next = true;
            }
        }
        // keep char boundaries intact
        let ch_len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + ch_len]);
        if !c.is_ascii_whitespace() && c != b'(' && !c.is_ascii_alphabetic() && c != b'=' {
            // a non-literal token after the keyword cancels it
            if secret_next && c != b' ' {
                secret_next = c == b'(';
            }
        }
        i += ch_len;
    }
    out
}

/// Collapses literals for statement fingerprints (`IN (?, ?)` kept as is).
pub fn fingerprint(sql: &str) -> String {
    let r = redact_sql(sql, true);
    let mut out = String::with_capacity(r.len());
    let mut last_space = false;
    for c in r.chars() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_by_default() {
        assert_eq!(redact_sql("CREATE USER 'bob'@'%' IDENTIFIED BY 's3cr''et'", false), "CREATE USER 'bob'@'%' IDENTIFIED BY '***'");
        assert_eq!(redact_sql("SET PASSWORD FOR bob = PASSWORD('x')", false), "SET PASSWORD FOR bob = PASSWORD('***')");
        assert_eq!(
            redact_sql("ALTER USER a IDENTIFIED WITH mysql_native_password AS '*ABC'", false),
            "ALTER USER a IDENTIFIED WITH mysql_native_password AS '***'"
        );
        assert_eq!(redact_sql("SELECT 'keep', 42", false), "SELECT 'keep', 42");
        assert_eq!(redact_sql("SELECT 'x', 42 FROM t1 WHERE a=1.5", true), "SELECT ?, ? FROM t1 WHERE a=?");
        assert_eq!(fingerprint("SELECT  *\nFROM t WHERE id = 7"), "SELECT * FROM t WHERE id = ?");
    }
}
