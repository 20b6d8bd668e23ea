//! `render(&app, frame)`: pure drawing of the model. Wire text in the report
//! is already sanitised (no control characters or escape sequences).

use super::app::{App, CONN_SORTS, STMT_SORTS, View, conn_latency};
use crate::model::{CloseCause, FindingKind, Severity};
use crate::report::fmt::human;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, TableState, Tabs, Wrap};

fn sev_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::Warning => Style::new().fg(Color::Yellow),
        Severity::Info => Style::new().fg(Color::Cyan),
    }
}

fn sev_tag(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::Warning => "WARN",
        Severity::Info => "info",
    }
}

fn ms(us: u64) -> String {
    if us >= 1_000_000 { format!("{:.1}s", us as f64 / 1e6) } else { format!("{:.1}ms", us as f64 / 1000.0) }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n.saturating_sub(1)).collect::<String>()) }
}

/// Draws the whole screen.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    let [tabs, body, status] = Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let titles: Vec<Line> = View::ALL.iter().enumerate().map(|(i, v)| Line::from(format!("{} {}", i + 1, v.title()))).collect();
    f.render_widget(
        Tabs::new(titles).select(app.view.index()).highlight_style(Style::new().add_modifier(Modifier::REVERSED)).divider("|"),
        tabs,
    );
    match &app.report {
        None => render_progress(app, f, body),
        Some(_) => match app.view {
            View::Overview => render_overview(app, f, body),
            View::Connections if app.detail => render_conn_detail(app, f, body),
            View::Connections => render_connections(app, f, body),
            View::Incidents if app.detail => render_incident_detail(app, f, body),
            View::Incidents => render_incidents(app, f, body),
            View::Statements => render_statements(app, f, body),
        },
    }
    render_status(app, f, status);
    if app.help {
        render_help(f, area);
    }
}

fn render_progress(app: &App, f: &mut Frame, area: Rect) {
    let (frames, bytes, total) = app.progress;
    let pct = total.filter(|t| *t > 0).map(|t| format!(" ({:.0}%)", bytes as f64 * 100.0 / t as f64)).unwrap_or_default();
    let text = format!("analysing... {frames} frames, {}{pct}", human(bytes));
    f.render_widget(Paragraph::new(text).block(Block::bordered().title("mywire")), area);
}

fn render_status(app: &App, f: &mut Frame, area: Rect) {
    let line = if app.filter_editing || !app.filter.is_empty() {
        let (style, note) = match &app.terms {
            Ok(_) => (Style::new(), String::new()),
            Err(e) => (Style::new().fg(Color::Red), format!("  {e}")),
        };
        Line::from(vec![Span::raw("/"), Span::styled(app.filter.clone(), style), Span::styled(note, Style::new().fg(Color::Red))])
    } else {
        let mut s = String::new();
        if app.live && app.paused {
            s.push_str("[PAUSED] ");
        }
        if app.skipped > 0 {
            s.push_str(&format!("({} updates skipped) ", app.skipped));
        }
        s.push_str("? help  q quit  Tab view  / filter  s sort");
        if app.live {
            s.push_str(if app.paused { "  space resume" } else { "  space pause" });
        }
        Line::from(Span::styled(s, Style::new().fg(Color::DarkGray)))
    };
    f.render_widget(Paragraph::new(line), area);
}

fn render_overview(app: &App, f: &mut Frame, area: Rect) {
    let r = app.report.as_deref().expect("report");
    let s = &r.summary;
    let (crit, warn) = (s.findings.critical, s.findings.warning);
    let vstyle = if crit > 0 {
        sev_style(Severity::Critical)
    } else if warn > 0 {
        sev_style(Severity::Warning)
    } else {
        Style::new().fg(Color::Green)
    };
    let verdict = s.verdict.as_str();
    let small = area.height < 16 || area.width < 60;
    let [top, rest] = Layout::vertical([Constraint::Length(if small { 2 } else { 3 }), Constraint::Min(0)]).areas(area);
    f.render_widget(Paragraph::new(Span::styled(verdict.to_string(), vstyle)).wrap(Wrap { trim: true }), top);
    let dec = &s.capture.decode;
    let conns = &r.connections;
    let gaps: u64 = conns.iter().map(|c| c.tcp.gaps).sum();
    let missed: u64 = conns.iter().map(|c| c.tcp.missed_bytes).sum();
    let retrans: u64 = conns.iter().map(|c| c.tcp.retransmissions).sum();
    let mid = conns.iter().filter(|c| c.mid_stream).count();
    let tls = conns.iter().filter(|c| c.tls).count();
    let drops = s.capture.live.as_ref().map(|l| l.stats.dropped_kernel);
    let span = r
        .inputs
        .iter()
        .filter_map(|i| Some((i.first_ts?, i.last_ts?)))
        .fold(None, |acc: Option<(crate::time::Timestamp, crate::time::Timestamp)>, (a, b)| {
            Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
        });
    let secs = span.map(|(a, b)| b.secs_since(a)).unwrap_or(0.0).max(0.001);
    let cmds = s.commands;
    let lim = &r.settings.max_allowed_packet;
    let limit = lim.bytes.or(lim.upper_bound);
    let limit_label = |l: u64| {
        if lim.bytes.is_some() {
            format!("─── max_allowed_packet {} ───", human(l))
        } else {
            format!("─── max_allowed_packet below {} ───", human(l))
        }
    };
    let counters = vec![
        Line::from(format!("connections {}   commands {} ({:.0}/s)   errors {}", s.connections, cmds, cmds as f64 / secs, s.errors)),
        Line::from(vec![
            Span::raw("findings "),
            Span::styled(format!("{crit} critical"), sev_style(Severity::Critical)),
            Span::raw(", "),
            Span::styled(format!("{warn} warning"), sev_style(Severity::Warning)),
            Span::raw(format!(", {} info", s.findings.info)),
        ]),
        Line::from(format!(
            "capture: {} frames, gaps {gaps} ({}), retrans {retrans}, mid-stream {mid}, tls {tls}{}",
            dec.frames,
            human(missed),
            drops.map(|d| format!(", kernel drops {d}")).unwrap_or_default()
        )),
        Line::from(format!(
            "max_allowed_packet: {}",
            match (lim.bytes, lim.upper_bound, lim.lower_bound) {
                (Some(b), _, _) => format!("{} [{}]", human(b), lim.source.key()),
                (None, Some(u), Some(l)) if l < u => format!("{} to {} (accepted / rejected)", human(l), human(u)),
                (None, Some(u), _) => format!("below {} (ERR 1153)", human(u)),
                (None, None, Some(l)) => format!("at least {} (accepted)", human(l)),
                _ => "unknown".into(),
            }
        )),
    ];
    if small {
        f.render_widget(Paragraph::new(counters).wrap(Wrap { trim: true }), rest);
        return;
    }
    let [cnt, charts] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(rest);
    f.render_widget(Paragraph::new(counters).block(Block::bordered().title("counters")).wrap(Wrap { trim: true }), cnt);
    let [spark, hist] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(charts);
    // commands per time bucket
    let buckets = (spark.width.saturating_sub(2)).max(1) as usize;
    let mut rate = vec![0u64; buckets];
    if let Some((a, _)) = span {
        for c in conns {
            for x in &c.commands {
                let i = ((x.ts.secs_since(a) / secs) * buckets as f64) as usize;
                rate[i.min(buckets - 1)] += 1;
            }
        }
    }
    f.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(format!("commands over {:.1}s", secs)))
            .data(&rate)
            .style(Style::new().fg(Color::Green)),
        spark,
    );
    // packet-size histogram (log2 buckets) with the max_allowed_packet line
    let mut counts = [0u64; 32];
    for c in conns {
        for x in &c.commands {
            counts[(64 - x.request_bytes.max(1).leading_zeros()) as usize % 32] += 1;
            if x.response.largest_packet > 0 {
                counts[(64 - x.response.largest_packet.leading_zeros()) as usize % 32] += 1;
            }
        }
    }
    let lo = counts.iter().position(|&n| n > 0).unwrap_or(0);
    let hi = counts.iter().rposition(|&n| n > 0).unwrap_or(0).max(limit.map(|l| (64 - l.leading_zeros()) as usize).unwrap_or(0).min(31));
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let barw = hist.width.saturating_sub(20) as u64;
    let mut lines = Vec::new();
    let mut limit_drawn = false;
    for (b, &n) in counts.iter().enumerate().take(hi + 1).skip(lo) {
        let upper = 1u64 << b.min(63);
        if let Some(l) = limit
            && !limit_drawn
            && upper > l
        {
            lines.push(Line::from(Span::styled(limit_label(l), Style::new().fg(Color::Red))));
            limit_drawn = true;
        }
        let w = if n == 0 { 0 } else { (n * barw).div_ceil(max) as usize };
        let over = limit.is_some_and(|l| upper / 2 >= l);
        let st = if over { Style::new().fg(Color::Red) } else { Style::new().fg(Color::Blue) };
        lines.push(Line::from(vec![
            Span::raw(format!("<{:>9} ", human(upper))),
            Span::styled("█".repeat(w), st),
            Span::raw(format!(" {n}")),
        ]));
    }
    if let Some(l) = limit
        && !limit_drawn
    {
        lines.push(Line::from(Span::styled(limit_label(l), Style::new().fg(Color::Red))));
    }
    let scroll = (lines.len() as u16).saturating_sub(hist.height.saturating_sub(2));
    f.render_widget(Paragraph::new(lines).block(Block::bordered().title("packet sizes")).scroll((scroll, 0)), hist);
}

fn table_state(sel: usize, n: usize) -> TableState {
    TableState::default().with_selected(if n == 0 { None } else { Some(sel) })
}

fn render_connections(app: &App, f: &mut Frame, area: Rect) {
    let rows = app.conn_rows();
    if area.width < 60 {
        let body: Vec<Row> = rows
            .iter()
            .map(|c| Row::new(vec![c.id.to_string(), c.close.cause.to_string(), c.commands_total.to_string(), c.errors.to_string()]))
            .collect();
        let n = rows.len();
        let t = Table::new(body, [Constraint::Length(4), Constraint::Min(12), Constraint::Length(5), Constraint::Length(4)])
            .header(Row::new(vec!["id", "close", "cmds", "err"]).style(Style::new().add_modifier(Modifier::BOLD)))
            .block(Block::bordered().title(format!("connections ({n})")))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
        f.render_stateful_widget(t, area, &mut table_state(app.selected[1], n));
        return;
    }
    let narrow = area.width < 100;
    let header = if narrow {
        vec!["id", "client", "user", "close", "cmds", "err", "largest"]
    } else {
        vec!["id", "client", "user", "db", "close", "cmds", "bytes", "largest", "err", "p50", "p99"]
    };
    let body: Vec<Row> = rows
        .iter()
        .map(|c| {
            let (p50, p99) = conn_latency(c);
            let largest = human(c.largest_packet.to_server.max(c.largest_packet.to_client));
            let mut close = c.close.cause.to_string();
            if let Some(e) = c.close.error_code {
                close.push_str(&format!(" {e}"));
            }
            let style = if matches!(c.close.cause, CloseCause::ServerErrorClose | CloseCause::Killed) || c.close.error_code.is_some() {
                sev_style(Severity::Critical)
            } else if c.errors > 0 {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            let cells = if narrow {
                vec![
                    c.id.to_string(),
                    c.client.clone(),
                    c.user.clone().unwrap_or_default(),
                    close,
                    c.commands_total.to_string(),
                    c.errors.to_string(),
                    largest,
                ]
            } else {
                vec![
                    c.id.to_string(),
                    c.client.clone(),
                    c.user.clone().unwrap_or_default(),
                    c.database.clone().unwrap_or_default(),
                    close,
                    c.commands_total.to_string(),
                    human(c.bytes.to_server + c.bytes.to_client),
                    largest,
                    c.errors.to_string(),
                    ms(p50),
                    ms(p99),
                ]
            };
            Row::new(cells.into_iter().map(Cell::from)).style(style)
        })
        .collect();
    let widths: Vec<Constraint> = if narrow {
        vec![
            Constraint::Length(3),
            Constraint::Length(21),
            Constraint::Length(6),
            Constraint::Min(23),
            Constraint::Length(5),
            Constraint::Length(3),
            Constraint::Length(9),
        ]
    } else {
        vec![
            Constraint::Length(4),
            Constraint::Length(22),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Min(18),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Length(8),
            Constraint::Length(8),
        ]
    };
    let title = format!("connections ({}) sort: {}{}", rows.len(), CONN_SORTS[app.sort[1]], if app.sort_ascending { " asc" } else { "" });
    let n = rows.len();
    let t = Table::new(body, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::bordered().title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(t, area, &mut table_state(app.selected[1], n));
}

fn render_conn_detail(app: &App, f: &mut Frame, area: Rect) {
    let rows = app.conn_rows();
    let Some(c) = rows.get(app.selected[1]) else { return };
    let r = app.report.as_deref().expect("report");
    let mut lines = vec![
        Line::from(Span::styled(format!("#{} {} -> {}", c.id, c.client, c.server), Style::new().add_modifier(Modifier::BOLD))),
        Line::from(format!(
            "user {}  db {}  server {}  thread {}",
            c.user.as_deref().unwrap_or("-"),
            c.database.as_deref().unwrap_or("-"),
            c.server_version.as_deref().unwrap_or("-"),
            c.connection_id.map(|i| i.to_string()).unwrap_or_else(|| "-".into())
        )),
        Line::from(format!("close: {} ({}) {}", c.close.cause, c.close.initiator, c.close.detail)),
        Line::from(format!(
            "bytes {} / {}  largest {} / {}  tcp {}",
            human(c.bytes.to_server),
            human(c.bytes.to_client),
            human(c.largest_packet.to_server),
            human(c.largest_packet.to_client),
            c.tcp.history
        )),
    ];
    for fnd in r.findings.iter().filter(|x| x.connection == Some(c.id)) {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", sev_tag(fnd.severity)), sev_style(fnd.severity)),
            Span::raw(fnd.title.clone()),
        ]));
    }
    lines.push(Line::from(Span::styled(
        "time            command           latency  response / statement",
        Style::new().add_modifier(Modifier::BOLD),
    )));
    for x in &c.commands {
        let resp = match x.response.error_code {
            Some(e) => format!("ERR {e}"),
            None => match x.response.rows {
                Some(n) => format!("{} rows", n),
                None => x.response.kind.to_string(),
            },
        };
        let what = x.sql.clone().or(x.argument.clone()).unwrap_or_default();
        let st = if x.response.error_code.is_some() || x.request_incomplete { sev_style(Severity::Critical) } else { Style::new() };
        lines.push(Line::from(Span::styled(
            format!(
                "{} {:<17} {:>8} {:<9} {}",
                x.ts.clock().get(..12).unwrap_or(""),
                cut(&x.command, 17),
                x.latency_us.map(ms).unwrap_or_else(|| "-".into()),
                cut(&resp, 9),
                cut(&what, 200)
            ),
            st,
        )));
    }
    if c.commands_omitted > 0 {
        lines.push(Line::from(format!("... {} more commands not listed", c.commands_omitted)));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title("connection (Esc back, j/k scroll)")).scroll((app.detail_scroll, 0)),
        area,
    );
}

fn render_incidents(app: &App, f: &mut Frame, area: Rect) {
    let rows = app.incident_rows();
    let body: Vec<Row> = rows
        .iter()
        .map(|x| {
            Row::new(vec![
                Cell::from(Span::styled(sev_tag(x.severity), sev_style(x.severity))),
                Cell::from(x.ts.map(|t| t.clock().get(..12).unwrap_or("").to_string()).unwrap_or_default()),
                Cell::from(x.kind.as_str()),
                Cell::from(x.title.clone()),
            ])
        })
        .collect();
    let n = rows.len();
    let t = Table::new(body, [Constraint::Length(4), Constraint::Length(12), Constraint::Length(18), Constraint::Min(10)])
        .header(Row::new(vec!["sev", "time", "kind", "title"]).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::bordered().title(format!("incidents ({n}) Enter: evidence")))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(t, area, &mut table_state(app.selected[2], n));
}

fn render_incident_detail(app: &App, f: &mut Frame, area: Rect) {
    let rows = app.incident_rows();
    let Some(x) = rows.get(app.selected[2]) else { return };
    let r = app.report.as_deref().expect("report");
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} {} ", sev_tag(x.severity), x.kind), sev_style(x.severity)),
            Span::raw(x.ts.map(|t| t.to_string()).unwrap_or_default()),
        ]),
        Line::from(Span::styled(x.title.clone(), Style::new().add_modifier(Modifier::BOLD))),
        Line::from(""),
        Line::from(x.detail.clone()),
        Line::from(""),
        Line::from(Span::styled("evidence", Style::new().add_modifier(Modifier::BOLD))),
    ];
    // keys sorted, as in the JSON report
    let evidence = serde_json::to_value(&x.evidence).unwrap_or_default();
    for l in serde_json::to_string_pretty(&evidence).unwrap_or_default().lines() {
        lines.push(Line::from(l.to_string()));
    }
    if matches!(x.kind, FindingKind::OversizePacket | FindingKind::NearLimitPacket | FindingKind::ConnectionDrop)
        && !r.recommendations.is_empty()
    {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("recommendations", Style::new().add_modifier(Modifier::BOLD))));
        for rec in &r.recommendations {
            lines.push(Line::from(format!("- {}", rec.title)));
            lines.push(Line::from(rec.detail.clone()));
            if let Some(c) = &rec.my_cnf {
                lines.push(Line::from(format!("  my.cnf: {}", c.replace('\n', "  "))));
            }
            if let Some(q) = &rec.sql {
                lines.push(Line::from(format!("  now:    {q}")));
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title("incident (Esc back, j/k scroll)"))
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

fn render_statements(app: &App, f: &mut Frame, area: Rect) {
    let rows = app.stmt_rows();
    let body: Vec<Row> = rows
        .iter()
        .map(|s| {
            let st = if s.errors > 0 { Style::new().fg(Color::Yellow) } else { Style::new() };
            Row::new(vec![
                s.count.to_string(),
                ms(s.total_us),
                human(s.bytes),
                ms(s.p50_us),
                ms(s.p95_us),
                s.errors.to_string(),
                s.text.clone(),
            ])
            .style(st)
        })
        .collect();
    let n = rows.len();
    let widths = [
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(4),
        Constraint::Min(10),
    ];
    let title = format!("statements ({n}) sort: {}{}", STMT_SORTS[app.sort[3]], if app.sort_ascending { " asc" } else { "" });
    let t = Table::new(body, widths)
        .header(
            Row::new(vec!["count", "total", "bytes", "p50", "p95", "err", "statement"]).style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(Block::bordered().title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(t, area, &mut table_state(app.selected[3], n));
}

fn render_help(f: &mut Frame, area: Rect) {
    let w = area.width.min(60);
    let h = area.height.min(20);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let text = vec![
        Line::from("Tab / Shift-Tab, 1-4   switch view"),
        Line::from("j k / arrows           move"),
        Line::from("g G / PgUp PgDn        top, bottom, page"),
        Line::from("Enter / Esc            open / close details"),
        Line::from("/                      filter: text user: db: err:1153"),
        Line::from("                       port: kind:  (Enter keeps, Esc clears)"),
        Line::from("s / S                  sort column / order"),
        Line::from("space                  pause / resume (live)"),
        Line::from("q, Ctrl-C              quit"),
    ];
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(text).block(Block::default().borders(Borders::ALL).title("help (any key closes)")), r);
}
