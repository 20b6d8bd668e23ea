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
        let ms = |us: u64| us as f64 / 1000.0;
        let title = format!("{} took {:.1} ms ({})", cmd.command, ms(cmd.latency_us.unwrap_or(0)), cx.who);
        // the statement itself is shown once, from the evidence's preview
        let detail = format!(
            "From the request's first packet to the response's last, by packet timestamps (threshold --slow {:.0} ms); the server's own time is at most this.",
            ms(slow)
        );
        let ev = Evidence::SlowCommand(SlowCommand { latency_us: cmd.latency_us, command_index: cmd.index, sql_preview: sql });
        out.push(Finding::new(FindingKind::SlowCommand, Severity::Warning, title, detail, ev).on(rep).at(Some(cmd.ts)));
    }
}
