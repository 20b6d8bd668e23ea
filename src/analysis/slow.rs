//! `--slow MS`: commands slower than the threshold (at most
//! [`MAX_SLOW_FINDINGS`] findings over the run).

use super::Context;
use crate::config::analysis::MAX_SLOW_FINDINGS;
use crate::model::{Evidence, FindingKind, FinishedConn, Severity, SlowCommand};
use crate::report::fmt::sanitize;
use crate::report::model::{ConnReport, Finding};
use crate::sql::redact_sql;

pub(super) fn detect(cx: &Context<'_>, fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>, slow_count: &mut u64) {
    let Some(slow) = cx.cfg.slow_us else { return };
    for cmd in fc.summary.commands.iter().filter(|c| c.latency_us.is_some_and(|l| l >= slow)) {
        *slow_count += 1;
        if *slow_count > MAX_SLOW_FINDINGS {
            break;
        }
        let sql = cmd.sql.as_deref().map(|s| sanitize(&redact_sql(s, cx.cfg.redact_literals)).chars().take(120).collect::<String>());
        let title = format!("{} took {:.1} ms ({})", cmd.command, cmd.latency_us.unwrap_or(0) as f64 / 1000.0, cx.who);
        let ev = Evidence::SlowCommand(SlowCommand { latency_us: cmd.latency_us, command_index: cmd.index, sql_preview: sql.clone() });
        out.push(Finding::new(FindingKind::SlowCommand, Severity::Warning, title, sql.unwrap_or_default(), ev).on(rep).at(Some(cmd.ts)));
    }
}
