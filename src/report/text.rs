//! The text postmortem: verdict, incident timeline, connection table,
//! recommendations. Readable at 80 columns; wire text is already sanitised.

use super::fmt::{commas, human, size};
use super::model::Report;
use crate::model::{Compression, Severity};
use std::io::{self, Write};

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING ",
        Severity::Info => "info    ",
    }
}

fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > indent && line + 1 + word.chars().count() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line = indent;
        } else if line > indent {
            out.push(' ');
            line += 1;
        } else if line == 0 {
            out.push_str(&" ".repeat(indent));
            line = indent;
        }
        out.push_str(word);
        line += word.chars().count();
    }
    out
}

/// Writes the postmortem.
pub fn write(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let s = &r.summary;
    writeln!(w, "mywire {} postmortem", r.generator.version)?;
    for i in &r.inputs {
        writeln!(w, "  input: {}", i.path)?;
        writeln!(
            w,
            "         {}, {} frames, {}{}",
            i.format,
            commas(i.frames),
            human(i.bytes),
            match (i.first_ts, i.last_ts) {
                (Some(a), Some(b)) => format!(", {} .. {}", a.clock(), b.clock()),
                _ => String::new(),
            }
        )?;
        if let Some(a) = i.first_ts {
            writeln!(w, "         from {a}")?;
        }
    }
    for warn in &r.warnings {
        writeln!(w, "{}", wrap(&format!("warning: {warn}"), 2, 80))?;
    }
    writeln!(w)?;
    writeln!(w, "{}", wrap(&s.verdict, 0, 80))?;
    writeln!(w, "  {} MySQL connection(s), {} command(s), {} server error(s)", s.connections, s.commands, s.errors)?;
    writeln!(w, "  findings: {} critical, {} warning, {} info", s.findings.critical, s.findings.warning, s.findings.info)?;
    let nl = &s.not_listed;
    let (nc, nf, ncmd) = (nl.connections, nl.findings, nl.commands);
    if nc + nf + ncmd > 0 {
        let text = format!(
            "not listed below (report memory caps): {nc} connection(s) without findings, {nf} lower-severity finding(s), {ncmd} command record(s); --format ndjson streams every connection in full"
        );
        writeln!(w, "{}", wrap(&text, 2, 80))?;
    }
    let lim = &r.settings.max_allowed_packet;
    let lim_txt = match (lim.bytes, lim.upper_bound, lim.lower_bound) {
        (Some(b), _, _) => format!("{} [{}]", size(b), lim.source.key()),
        (None, Some(u), Some(l)) if l < u => format!("{} to {} (accepted / rejected)", human(l), human(u)),
        (None, Some(u), _) => format!("below {} (from ERR 1153)", size(u)),
        (None, None, Some(l)) => format!("at least {} (accepted)", size(l)),
        _ => "unknown".into(),
    };
    writeln!(w, "  max_allowed_packet: {lim_txt}")?;

    let important: Vec<_> = r.findings.iter().filter(|f| f.severity >= Severity::Warning).collect();
    if !important.is_empty() {
        writeln!(w, "\nINCIDENTS")?;
        let mut timeline = important.clone();
        timeline.sort_by_key(|f| f.ts);
        for f in timeline {
            writeln!(w, "{} {} {}", f.ts.map(|t| t.clock()).unwrap_or_else(|| "               ".into()), sev(f.severity), f.kind)?;
            writeln!(w, "{}", wrap(&f.title, 4, 80))?;
            writeln!(w, "{}", wrap(&f.detail, 4, 80))?;
            if let Some(sql) = f.evidence.sql_preview() {
                let short: String = sql.chars().take(62).collect();
                writeln!(w, "    statement: {short}{}", if sql.chars().count() > 62 { "..." } else { "" })?;
            }
        }
    }
    let infos: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Info).collect();
    if !infos.is_empty() {
        writeln!(w, "\nCONTEXT")?;
        for f in infos.iter().take(20) {
            writeln!(w, "{}", wrap(&format!("- {}", f.title), 0, 80))?;
        }
        if infos.len() > 20 {
            writeln!(w, "- ... and {} more", infos.len() - 20)?;
        }
    }
    if !s.errors_by_code.is_empty() {
        writeln!(w, "\nSERVER ERRORS")?;
        for c in &s.errors_by_code {
            writeln!(w, "{}", wrap(&format!("{:>5} x{:<5} {}", c.code, c.count, c.message), 2, 80))?;
        }
    }
    writeln!(w, "\nCONNECTIONS")?;
    // the user column is as wide as the longest name (up to 24 characters; a longer one ends with ~)
    let uw = r.connections.iter().map(|c| c.user.as_deref().map_or(1, |u| u.chars().count())).max().unwrap_or(4).clamp(4, 24);
    writeln!(w, "  {:>3} {:<21} {:<uw$} {:>5} {:>4} {:>7} close", "id", "client", "user", "cmds", "err", "largest")?;
    for c in &r.connections {
        let mut user: String = c.user.clone().unwrap_or_else(|| "-".into());
        if user.chars().count() > uw {
            user = user.chars().take(uw - 1).chain(std::iter::once('~')).collect();
        }
        let largest = c.largest_packet.to_server.max(c.largest_packet.to_client);
        let mut close = c.close.cause.to_string();
        if let Some(code) = c.close.error_code {
            close.push_str(&format!(" {code}"));
        }
        let flags = format!(
            "{}{}{}",
            if c.tls { " tls" } else { "" },
            if c.compression != Compression::None { " zip" } else { "" },
            if c.mid_stream { " mid" } else { "" }
        );
        writeln!(
            w,
            "  {:>3} {:<21} {:<uw$} {:>5} {:>4} {:>7} {}{}",
            c.id,
            c.client,
            user,
            c.commands_total,
            c.errors,
            short_size(largest),
            close,
            flags
        )?;
    }
    if !r.recommendations.is_empty() {
        writeln!(w, "\nRECOMMENDATIONS")?;
        for (i, rec) in r.recommendations.iter().enumerate() {
            writeln!(w, "{}", wrap(&format!("{}. {}", i + 1, rec.title), 0, 80))?;
            writeln!(w, "{}", wrap(&rec.detail, 3, 80))?;
            if let Some(c) = &rec.my_cnf {
                writeln!(w, "   my.cnf:")?;
                for l in c.lines() {
                    writeln!(w, "     {l}")?;
                }
            }
            if let Some(q) = &rec.sql {
                writeln!(w, "   now:    {q}")?;
            }
            if let Some(c) = &rec.client {
                writeln!(w, "{}", wrap(&format!("client: {c}"), 3, 80))?;
            }
        }
    }
    Ok(())
}

fn short_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1}M", n as f64 / (1 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1}K", n as f64 / 1024.0)
    } else {
        format!("{n}B")
    }
}
