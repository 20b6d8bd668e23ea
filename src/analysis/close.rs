//! How a connection ended: the close cause, from the TCP close, the last
//! server error, KILLs seen elsewhere, and the idle time against wait_timeout.

use super::Analyzer;
use crate::model::{AuthResult, CloseCause, Dir, FinishedConn, Initiator};
use crate::mysql::errors;
use crate::report::fmt::{sanitize, secs};
use crate::report::model::CloseInfo;
use crate::sql::redact_sql;
use crate::time::Timestamp;

impl Analyzer {
    pub(super) fn classify(&self, fc: &FinishedConn) -> CloseInfo {
        let st = &fc.summary;
        let e = &st.end;
        let pending_rec = e.pending_command.and_then(|i| st.commands.iter().find(|c| c.index == i));
        let pending = pending_rec.map(|c| c.command.clone());
        let pending_sql = pending_rec
            .and_then(|c| c.sql.as_deref())
            .map(|s| sanitize(&redact_sql(s, self.cfg.redact_literals)).chars().take(120).collect::<String>());
        // "COM_QUERY (SELECT SLEEP(30))": the statement in flight, named
        let running = match (&pending, &pending_sql) {
            (Some(c), Some(s)) => Some(format!("{c} `{s}`")),
            (Some(c), None) => Some(c.clone()),
            _ => None,
        };
        let mut ci = CloseInfo {
            cause: CloseCause::OpenAtCaptureEnd,
            initiator: Initiator::None,
            pending_command: pending.clone(),
            pending_sql,
            idle_secs: None,
            error_code: None,
            killed_by: None,
            client_bytes_after_close: e.client_bytes_after_server_close,
            detail: String::new(),
        };
        if e.evicted {
            ci.cause = CloseCause::Evicted;
            ci.detail = "no packets for the idle timeout (or the connection table was full); tracking stopped".into();
            return ci;
        }
        let fin = e.first_fin.zip(e.first_fin_ts);
        let rst = e.first_rst.zip(e.first_rst_ts);
        let first = match (fin, rst) {
            (Some(f), Some(r)) => Some(if r.1 < f.1 { (r.0, r.1, true) } else { (f.0, f.1, false) }),
            (Some(f), None) => Some((f.0, f.1, false)),
            (None, Some(r)) => Some((r.0, r.1, true)),
            (None, None) => None,
        };
        let Some((dir, close_ts, is_rst)) = first else {
            ci.detail = "still open when the capture ended".into();
            return ci;
        };
        ci.initiator = Initiator::from(dir);
        if is_rst && dir == Dir::ToClient && fc.tcp.refused() {
            ci.cause = CloseCause::Refused;
            ci.detail =
                "the server host answered the SYN with a RST: nothing listens on that port (clients see 2002/2003 \"Can't connect\")"
                    .into();
            return ci;
        }
        ci.idle_secs = e.last_activity.map(|t| (close_ts.secs_since(t) * 1e6).round() / 1e6);
        let idle = ci.idle_secs.unwrap_or(0.0);
        let how = if is_rst { "reset" } else { "closed" };
        if st.tls {
            // without the keys, COM_QUIT, errors and the statement in flight are all encrypted
            ci.cause = CloseCause::ClosedInsideTls;
            ci.detail = format!(
                "the {} {how} the TLS-encrypted connection; whether a COM_QUIT, an error or a statement came before cannot be seen inside TLS",
                ci.initiator
            );
            return ci;
        }
        // The client hung up while logging in: an ERR the server sends after that
        // (1158 "error reading communication packets") is its reaction, not a rejection.
        let hung_up = dir == Dir::ToServer && e.last_error.as_ref().is_none_or(|err| err.ts >= close_ts);
        let login_unfinished =
            st.identity.auth_result.is_none() || (hung_up && matches!(e.last_error.as_ref().map(|e| e.code), Some(1158 | 1159 | 1043)));
        if login_unfinished && dir == Dir::ToServer && st.identity.server_version.is_some() && !st.mid_stream {
            ci.cause = if is_rst { CloseCause::ClientReset } else { CloseCause::ClientAborted };
            let step = if st.identity.auth_switch {
                "after the server asked it to switch authentication method, before it answered"
            } else if st.identity.login_sent {
                "after sending its login, before the server's answer"
            } else {
                "after the server's greeting, without sending a login"
            };
            let reaction = match e.last_error.as_ref() {
                Some(err) if err.ts >= close_ts => format!("; the server's ERR {} that followed is its reaction", err.code),
                _ => String::new(),
            };
            ci.detail = format!("the client {how} the connection during authentication, {step}{reaction}");
            return ci;
        }
        if let Some(result @ AuthResult::Error(_)) = st.identity.auth_result {
            ci.cause = CloseCause::AuthFailed;
            ci.error_code = e.last_error.as_ref().map(|e| e.code);
            let who = st.identity.user.as_deref().map(|u| format!(" of user '{}'", sanitize(u))).unwrap_or_default();
            ci.detail = match e.last_error.as_ref().filter(|err| !err.message.is_empty()) {
                Some(err) => format!("the server rejected the login{who} with ERR {}: {}", err.code, sanitize(&err.message)),
                None => format!("the server rejected the login{who} ({result})"),
            };
            return ci;
        }
        if e.quit_sent {
            ci.cause = CloseCause::ClientQuit;
            ci.detail = "COM_QUIT, clean close".into();
            return ci;
        }
        match dir {
            Dir::ToClient => {
                if let Some(err) = &e.last_error
                    && errors::is_fatal(err.code)
                    && err.ts <= close_ts
                    && close_ts.secs_since(err.ts) < 5.0
                {
                    let code = err.code;
                    ci.error_code = Some(code);
                    ci.cause = match code {
                        4031 => CloseCause::ServerIdleTimeout,
                        1927 => CloseCause::Killed,
                        _ => CloseCause::ServerErrorClose,
                    };
                    let message =
                        if err.message.is_empty() { errors::meaning(code).unwrap_or("error").to_string() } else { sanitize(&err.message) };
                    ci.detail = format!(
                        "the server sent ERR {code} ({message}) and {how} the connection {:.3} ms later{}",
                        close_ts.secs_since(err.ts) * 1000.0,
                        running.as_ref().map(|r| format!(", while the client waited for its {r}")).unwrap_or_default()
                    );
                    if code == 1927 {
                        ci.killed_by = self.killer(st.identity.connection_id, fc.start_ts, close_ts);
                    }
                    return ci;
                }
                if let Some(by) = self.killer(st.identity.connection_id, fc.start_ts, close_ts) {
                    ci.cause = CloseCause::Killed;
                    ci.killed_by = Some(by);
                    ci.detail = format!(
                        "KILL {} sent by connection #{by}; the server {how} this connection{}",
                        st.identity.connection_id.unwrap_or(0),
                        running.as_ref().map(|r| format!(" while it was running {r}")).unwrap_or_default()
                    );
                    return ci;
                }
                let wait = self.wait_timeout(fc.id);
                if pending.is_none() && wait.is_some_and(|w| idle + 0.5 >= w) {
                    ci.cause = CloseCause::ServerIdleTimeout;
                    ci.detail = format!("idle {} >= wait_timeout {} s; the server closed it", secs(idle), wait.unwrap_or(0.0));
                    return ci;
                }
                ci.cause = if is_rst { CloseCause::ServerReset } else { CloseCause::ServerClosed };
                ci.detail = match &running {
                    Some(p) => format!(
                        "the server {how} the connection while a {p} was waiting for its response: the client sees \"MySQL server has gone away\" (2006) or \"Lost connection\" (2013)"
                    ),
                    None => format!(
                        "the server {} the connection after {} idle, with no error and no KILL in the capture (wait_timeout unknown)",
                        if is_rst { "reset" } else { "closed" },
                        secs(idle)
                    ),
                };
            }
            Dir::ToServer => {
                ci.cause = if is_rst { CloseCause::ClientReset } else { CloseCause::ClientAborted };
                ci.detail = match &running {
                    Some(p) => format!(
                        "the client {} while its {p} was still running (process killed, timeout or crash)",
                        if is_rst { "reset the connection" } else { "closed without COM_QUIT" }
                    ),
                    None => format!("the client {} without COM_QUIT", if is_rst { "reset the connection" } else { "closed" }),
                };
            }
        }
        ci
    }

    /// The connection that KILLed thread `target` between `start` and `close`.
    fn killer(&self, target: Option<u32>, start: Timestamp, close: Timestamp) -> Option<u64> {
        let t = target?;
        self.kills.iter().filter(|k| k.target == t && !k.query_only && k.ts >= start && k.ts <= close).map(|k| k.by_conn).next_back()
    }

    /// wait_timeout as seen on connection `conn`, else as seen globally.
    fn wait_timeout(&self, conn: u64) -> Option<f64> {
        use crate::model::VarSource;
        let own = self.vars.iter().rfind(|v| v.conn == conn && v.var.name == "wait_timeout");
        let any = self.vars.iter().rfind(|v| v.var.name == "wait_timeout" && v.var.how != VarSource::SetSession);
        own.or(any).and_then(|v| v.var.value.parse::<f64>().ok())
    }
}
