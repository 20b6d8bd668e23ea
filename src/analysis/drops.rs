//! Connections lost: a finding for each close the client suffered from
//! (killed, a fatal server error, the server closing under a pending command
//! or before the client used the connection again, refused, login rejected).

use super::Context;
use crate::model::{CloseCause, ConnectionDrop, Evidence, FindingKind, FinishedConn, Severity};
use crate::report::fmt::size;
use crate::report::model::{ConnReport, Finding};

pub(super) fn detect(_cx: &Context<'_>, fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>) {
    use CloseCause::*;
    let st = &fc.summary;
    let c = &rep.close;
    let sev = match c.cause {
        Killed | ServerErrorClose => Some(Severity::Critical),
        ServerClosed | ServerReset if c.pending_command.is_some() => Some(Severity::Critical),
        ServerClosed | ServerReset | ServerIdleTimeout if c.client_bytes_after_close > 0 => Some(Severity::Critical),
        ServerClosed | ServerReset | ServerIdleTimeout | ClientReset => Some(Severity::Warning),
        ClientAborted if c.pending_command.is_some() => Some(Severity::Warning),
        ClientAborted | Evicted => Some(Severity::Info),
        Refused => Some(Severity::Warning),
        AuthFailed => Some(if c.error_code == Some(1040) || c.error_code == Some(1129) { Severity::Critical } else { Severity::Warning }),
        _ => None,
    };
    // the client's own limit explains this close (client.rs says it)
    let sev = if super::client::hit(fc, rep).is_some() { None } else { sev };
    // Behind TLS the COM_QUIT and any error are invisible: a close says little.
    let sev = if rep.tls { sev.map(|_| Severity::Info) } else { sev };
    let Some(sev) = sev else { return };
    let used_dead = if c.client_bytes_after_close > 0 {
        format!(" The client then sent {} on the dead connection and got an error (2006/2013).", size(c.client_bytes_after_close))
    } else {
        String::new()
    };
    let ts = st.end.first_rst_ts.into_iter().chain(st.end.first_fin_ts).min().or(Some(rep.end_ts));
    let id = rep.id;
    let title = match c.cause {
        Killed => match c.killed_by {
            Some(by) => format!("connection #{id} was killed by connection #{by}"),
            None => format!("connection #{id} was killed"),
        },
        ServerErrorClose => format!("the server closed connection #{id} after ERR {}", c.error_code.unwrap_or(0)),
        ServerClosed | ServerReset => {
            let how = if c.cause == ServerReset { "reset" } else { "closed" };
            match &c.pending_command {
                Some(p) => format!("the server {how} connection #{id} during a {p}"),
                None => format!("the server {how} connection #{id} with no error seen"),
            }
        }
        ServerIdleTimeout => format!("connection #{id} was closed by the server's idle timeout"),
        ClientReset => format!("the client reset connection #{id}"),
        ClientAborted => format!("the client closed connection #{id} without COM_QUIT"),
        Refused => format!("connection refused by {}", rep.server),
        AuthFailed => format!(
            "login rejected{} (ERR {})",
            rep.user.as_deref().map(|u| format!(" for user '{u}'")).unwrap_or_default(),
            c.error_code.unwrap_or(0)
        ),
        Evicted => format!("connection #{id} is no longer tracked"),
        ClosedInsideTls => {
            format!("TLS connection #{id} {} by the {}", if st.end.first_rst.is_some() { "reset" } else { "closed" }, c.initiator)
        }
        ClientQuit | OpenAtCaptureEnd => format!("connection #{id} ended"),
    };
    let title = format!("{title} ({} -> {})", rep.client, rep.server);
    let ev = Evidence::ConnectionDrop(ConnectionDrop {
        cause: c.cause,
        initiator: c.initiator,
        pending_command: c.pending_command.clone(),
        idle_secs: c.idle_secs,
        error_code: c.error_code,
        killed_by: c.killed_by,
        client_bytes_after_close: c.client_bytes_after_close,
    });
    let detail = format!("{}.{used_dead}", crate::report::fmt::capitalize(&c.detail));
    out.push(Finding::new(FindingKind::ConnectionDrop, sev, title, detail, ev).on(rep).at(ts));
}
