//! Server-wide error bursts: ERR 1040 (too many connections) and 1129 (host
//! blocked) answered to logins.

use crate::model::{ErrorTally, Evidence, FindingKind, Severity, TooManyConnections};
use crate::report::model::Finding;
use std::collections::BTreeMap;

pub(super) fn detect(errors_by_code: &BTreeMap<u16, ErrorTally>) -> Vec<Finding> {
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
