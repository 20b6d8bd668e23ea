//! Errors the server returned to statements, grouped by error code, command
//! and statement shape (so a DBA sees "ERR 1146 x6 for `SELECT ... FROM t WHERE
//! id = ?`" once, with the connections and users it hit), and server-wide
//! refusals (ERR 1040 too many connections, 1129 host blocked).
//!
//! Errors another detector explains are left to it: 1153 (oversize packet),
//! 1156 (sequence ids). Login errors are connection ends (`drops.rs`).

use crate::config::AnalyzerConfig;
use crate::config::analysis::{MAX_ERROR_GROUPS, MAX_GROUP_CONNECTIONS, MAX_GROUP_USERS};
use crate::model::{CommandRecord, ErrorTally, Evidence, FindingKind, Severity, StatementErrors, TooManyConnections};
use crate::report::fmt::{commas, sanitize};
use crate::report::model::Finding;
use crate::sql::{fingerprint, redact_sql};
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Codes explained by another detector.
fn explained_elsewhere(code: u16) -> bool {
    matches!(code, 1153 | 1156)
}

/// Failed statements, grouped; bounded by [`MAX_ERROR_GROUPS`] (past it the
/// statements are still counted in `errors_by_code`, and the groups not made
/// are counted).
#[derive(Clone, Debug, Default)]
pub(super) struct ErrorGroups {
    index: HashMap<(u16, Option<String>, Option<String>), usize>,
    groups: Vec<StatementErrors>,
    /// Statements whose group could not be made (cap).
    pub(super) not_grouped: u64,
}

impl ErrorGroups {
    fn entry(
        &mut self,
        key: (u16, Option<String>, Option<String>),
        make: impl FnOnce() -> StatementErrors,
    ) -> Option<&mut StatementErrors> {
        if let Some(&i) = self.index.get(&key) {
            return self.groups.get_mut(i);
        }
        if self.groups.len() >= MAX_ERROR_GROUPS {
            return None;
        }
        self.index.insert(key, self.groups.len());
        self.groups.push(make());
        self.groups.last_mut()
    }

    fn note(g: &mut StatementErrors, conn: u64, user: Option<&str>, ts: Timestamp, n: u64) {
        g.count += n;
        g.first_ts = g.first_ts.min(ts);
        g.last_ts = g.last_ts.max(ts);
        if !g.connections.contains(&conn) && g.connections.len() < MAX_GROUP_CONNECTIONS {
            g.connections.push(conn);
        }
        if let Some(u) = user.map(sanitize)
            && !g.users.contains(&u)
            && g.users.len() < MAX_GROUP_USERS
        {
            g.users.push(u);
        }
    }

    /// A command the server answered with an error.
    pub(super) fn add_command(&mut self, cfg: &AnalyzerConfig, conn: u64, user: Option<&str>, c: &CommandRecord) {
        let Some(code) = c.response.error_code.filter(|&c| !explained_elsewhere(c)) else { return };
        let fp = c.sql.as_deref().map(fingerprint);
        let make = || StatementErrors {
            code,
            sqlstate: c.response.sqlstate.as_deref().map(sanitize),
            message: sanitize(c.response.message.as_deref().unwrap_or("")),
            count: 0,
            first_ts: c.ts,
            last_ts: c.ts,
            fingerprint: fp.as_deref().map(sanitize),
            example: c.sql.as_deref().map(|s| sanitize(&redact_sql(s, cfg.redact_literals)).chars().take(512).collect()),
            command: Some(c.command.clone()),
            connections: Vec::new(),
            users: Vec::new(),
        };
        match self.entry((code, Some(c.command.clone()), fp.clone()), make) {
            Some(g) => Self::note(g, conn, user, c.ts, 1),
            None => self.not_grouped += 1,
        }
    }

    /// Errors of commands the session did not keep (only their count and message are known).
    pub(super) fn add_omitted(&mut self, conn: u64, user: Option<&str>, ts: Timestamp, code: u16, t: &ErrorTally) {
        if explained_elsewhere(code) {
            return;
        }
        let make = || StatementErrors {
            code,
            sqlstate: None,
            message: sanitize(&t.message),
            count: 0,
            first_ts: ts,
            last_ts: ts,
            fingerprint: None,
            example: None,
            command: None,
            connections: Vec::new(),
            users: Vec::new(),
        };
        match self.entry((code, None, None), make) {
            Some(g) => Self::note(g, conn, user, ts, t.count),
            None => self.not_grouped += t.count,
        }
    }

    /// Failed statements by error code, most frequent first (ties: lower code).
    pub(super) fn by_code(&self) -> Vec<(u16, u64)> {
        let mut by: BTreeMap<u16, u64> = BTreeMap::new();
        for g in &self.groups {
            *by.entry(g.code).or_insert(0) += g.count;
        }
        let mut v: Vec<(u16, u64)> = by.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// One finding per group, in order of first occurrence.
    pub(super) fn findings(&self) -> Vec<Finding> {
        let mut groups: Vec<&StatementErrors> = self.groups.iter().collect();
        groups.sort_by_key(|g| (g.first_ts, g.code));
        groups.into_iter().map(finding).collect()
    }
}

fn finding(g: &StatementErrors) -> Finding {
    let on = match g.connections.as_slice() {
        [one] => format!("connection #{one}"),
        many => format!("{} connections", many.len()),
    };
    let short: String = g.message.chars().take(72).collect();
    let cut = if g.message.chars().count() > 72 { "..." } else { "" };
    let title = format!(
        "ERR {}{} x{} on {on}: {short}{cut}",
        g.code,
        g.sqlstate.as_deref().map(|s| format!(" ({s})")).unwrap_or_default(),
        commas(g.count)
    );
    let what = match (&g.fingerprint, &g.command) {
        (Some(fp), _) => format!("{} statement(s) of the shape `{}`", commas(g.count), fp.chars().take(200).collect::<String>()),
        (None, Some(c)) => format!("{} {c} command(s)", commas(g.count)),
        (None, None) => format!("{} command(s) (not kept: over the per-connection cap)", commas(g.count)),
    };
    let when = if g.first_ts == g.last_ts {
        format!("at {}", g.first_ts.clock())
    } else {
        format!("between {} and {}", g.first_ts.clock(), g.last_ts.clock())
    };
    let users = if g.users.is_empty() { String::new() } else { format!(" (user {})", g.users.join(", ")) };
    let conns: Vec<String> = g.connections.iter().take(8).map(|c| format!("#{c}")).collect();
    let more = if g.connections.len() > 8 { format!(" and {} more", g.connections.len() - 8) } else { String::new() };
    let detail = format!("{what} failed {when} on connection(s) {}{more}{users}. The server said: {}", conns.join(", "), g.message);
    let mut f = Finding::new(FindingKind::StatementError, Severity::Warning, title, detail, Evidence::StatementErrors(g.clone()));
    f.ts = Some(g.first_ts);
    if let [one] = g.connections.as_slice() {
        f.connection = Some(*one);
    }
    f
}

/// Server-wide refusals: ERR 1040 / 1129 answered to logins.
pub(super) fn refusals(errors_by_code: &BTreeMap<u16, ErrorTally>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (code, t) in errors_by_code {
        if matches!(code, 1040 | 1129) {
            let title = format!("ERR {code} {} x{}", crate::mysql::errors::meaning(*code).unwrap_or(""), t.count);
            let detail = "The server refused new connections: raise max_connections or fix the pool sizing / connection leak.".into();
            let ev = Evidence::TooManyConnections(TooManyConnections { code: *code, count: t.count });
            out.push(Finding::new(FindingKind::TooManyConnections, Severity::Critical, title, detail, ev));
        }
    }
    out
}
