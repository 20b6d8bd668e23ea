//! The TUI model and `update(msg)`: no terminal types, so it is tested by
//! driving messages (no sleeps). Everything shown comes from one
//! [`Report`], the same model the text and JSON reporters use.

use crate::report::model::{ConnReport, Finding, Report};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The four views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Verdict, counters, sparkline, histogram.
    Overview,
    /// Connections table; Enter opens one.
    Connections,
    /// Findings by severity; Enter shows evidence.
    Incidents,
    /// Top statements (literals collapsed).
    Statements,
}

impl View {
    /// All views in tab order.
    pub const ALL: [View; 4] = [View::Overview, View::Connections, View::Incidents, View::Statements];
    /// Position in [`View::ALL`].
    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Connections => "Connections",
            View::Incidents => "Incidents",
            View::Statements => "Statements",
        }
    }
}

/// Messages the UI thread handles.
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// A new analysis result (final for files, a snapshot for live).
    Data(Box<Report>),
    /// Reading progress: frames and bytes so far, and the total bytes if known.
    Progress {
        /// Frames read.
        frames: u64,
        /// Bytes read.
        bytes: u64,
        /// Total input bytes, when known.
        total: Option<u64>,
    },
    /// A snapshot was dropped because the UI was busy (bounded channel).
    Skipped,
}

/// One filter term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// Substring anywhere (case-insensitive).
    Text(String),
    /// `user:NAME`
    User(String),
    /// `db:NAME`
    Db(String),
    /// `err:CODE`
    Err(u16),
    /// `port:N` (client or server)
    Port(u16),
    /// `kind:NAME` (finding kind)
    Kind(String),
}

/// Parses a filter; the error says what is wrong (shown live while typing).
pub fn parse_filter(s: &str) -> Result<Vec<Term>, String> {
    let mut out = Vec::new();
    for w in s.split_whitespace() {
        let term = match w.split_once(':') {
            None => Term::Text(w.to_lowercase()),
            Some(("user", v)) if !v.is_empty() => Term::User(v.to_lowercase()),
            Some(("db", v)) if !v.is_empty() => Term::Db(v.to_lowercase()),
            Some(("kind", v)) if !v.is_empty() => Term::Kind(v.to_lowercase()),
            Some(("err", v)) => Term::Err(v.parse().map_err(|_| format!("err: needs an error code, e.g. err:1153 (got {v:?})"))?),
            Some(("port", v)) => Term::Port(v.parse().map_err(|_| format!("port: needs a port number (got {v:?})"))?),
            Some((k, _)) if ["user", "db", "kind"].contains(&k) => return Err(format!("{k}: needs a value")),
            Some((k, _)) => return Err(format!("unknown filter key {k:?}: use user: db: err: port: kind: or plain text")),
        };
        out.push(term);
    }
    Ok(out)
}

fn port_of(ep: &str) -> Option<u16> {
    ep.rsplit(':').next()?.parse().ok()
}

/// Does a connection match every term?
pub fn conn_matches(c: &ConnReport, findings: &[Finding], terms: &[Term]) -> bool {
    let has = |o: &Option<String>, v: &str| o.as_deref().is_some_and(|x| x.to_lowercase().contains(v));
    terms.iter().all(|t| match t {
        Term::User(u) => has(&c.user, u),
        Term::Db(d) => has(&c.database, d),
        Term::Err(e) => c.close.error_code == Some(*e) || c.commands.iter().any(|x| x.response.error_code == Some(*e)),
        Term::Port(p) => port_of(&c.client) == Some(*p) || port_of(&c.server) == Some(*p),
        Term::Kind(k) => findings.iter().any(|f| f.connection == Some(c.id) && f.kind.as_str().contains(k.as_str())),
        Term::Text(s) => {
            [&c.client, &c.server, &c.close.cause.to_string()].iter().any(|x| x.to_lowercase().contains(s))
                || has(&c.user, s)
                || has(&c.database, s)
                || c.commands.iter().any(|x| has(&x.sql, s))
        }
    })
}

/// Does a finding match every term?
pub fn finding_matches(f: &Finding, conns: &[ConnReport], terms: &[Term]) -> bool {
    let conn = f.connection.and_then(|id| conns.iter().find(|c| c.id == id));
    terms.iter().all(|t| match t {
        Term::Kind(k) => f.kind.as_str().contains(k.as_str()),
        Term::Err(e) => f.evidence.error_code() == Some(*e) || f.title.contains(&e.to_string()),
        Term::Port(p) => [&f.client, &f.server].iter().any(|x| x.as_deref().and_then(port_of) == Some(*p)),
        Term::User(u) => conn.is_some_and(|c| c.user.as_deref().is_some_and(|x| x.to_lowercase().contains(u))),
        Term::Db(d) => conn.is_some_and(|c| c.database.as_deref().is_some_and(|x| x.to_lowercase().contains(d))),
        Term::Text(s) => f.title.to_lowercase().contains(s) || f.detail.to_lowercase().contains(s),
    })
}

/// One statement fingerprint (literals collapsed to `?`).
#[derive(Clone, Debug, PartialEq)]
pub struct StmtStat {
    /// The fingerprint.
    pub text: String,
    /// Executions seen (listed commands only).
    pub count: u64,
    /// Sum of latencies, microseconds.
    pub total_us: u64,
    /// Request bytes.
    pub bytes: u64,
    /// Median latency.
    pub p50_us: u64,
    /// 95th percentile latency.
    pub p95_us: u64,
    /// Executions answered with an error.
    pub errors: u64,
}

/// Top statements from the listed commands.
pub fn statements(r: &Report) -> Vec<StmtStat> {
    let mut map: std::collections::HashMap<String, (StmtStat, Vec<u64>)> = std::collections::HashMap::new();
    for c in &r.connections {
        for x in &c.commands {
            let Some(sql) = &x.sql else { continue };
            let key = crate::sql::fingerprint(sql);
            let key: String = key.chars().take(200).collect();
            let e = map
                .entry(key.clone())
                .or_insert_with(|| (StmtStat { text: key, count: 0, total_us: 0, bytes: 0, p50_us: 0, p95_us: 0, errors: 0 }, Vec::new()));
            e.0.count += 1;
            e.0.bytes += x.request_bytes;
            e.0.errors += u64::from(x.response.error_code.is_some());
            if let Some(l) = x.latency_us {
                e.0.total_us += l;
                e.1.push(l);
            }
        }
    }
    let mut out: Vec<StmtStat> = map
        .into_values()
        .map(|(mut s, mut lat)| {
            lat.sort_unstable();
            s.p50_us = percentile(&lat, 50);
            s.p95_us = percentile(&lat, 95);
            s
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(b.total_us.cmp(&a.total_us)).then(a.text.cmp(&b.text)));
    out
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// Latency p50 and p99 of one connection's listed commands.
pub fn conn_latency(c: &ConnReport) -> (u64, u64) {
    let mut v: Vec<u64> = c.commands.iter().filter_map(|x| x.latency_us).collect();
    v.sort_unstable();
    (percentile(&v, 50), percentile(&v, 99))
}

/// Sort columns of the connections table.
pub const CONN_SORTS: [&str; 6] = ["id", "commands", "bytes", "largest", "errors", "p99"];
/// Sort columns of the statements table.
pub const STMT_SORTS: [&str; 4] = ["count", "total time", "bytes", "p95"];

/// The whole UI state. The UI thread owns it; nothing else touches it.
#[derive(Debug)]
pub struct App {
    /// The analysis shown (None while the first one is being computed).
    pub report: Option<Box<Report>>,
    /// Statements derived from `report`.
    pub stmts: Vec<StmtStat>,
    /// Reading progress.
    pub progress: (u64, u64, Option<u64>),
    /// Current view.
    pub view: View,
    /// Selected row per view.
    pub selected: [usize; 4],
    /// Detail pane open (connection or incident).
    pub detail: bool,
    /// Scroll offset inside the detail pane.
    pub detail_scroll: u16,
    /// Help overlay shown.
    pub help: bool,
    /// Filter text.
    pub filter: String,
    /// Filter being edited.
    pub filter_editing: bool,
    /// Parsed filter (Err while invalid).
    pub terms: Result<Vec<Term>, String>,
    /// Sort column index per table view.
    pub sort: [usize; 4],
    /// Sort ascending instead of descending.
    pub sort_ascending: bool,
    /// Live capture: updates paused.
    pub paused: bool,
    /// Live source (space pauses).
    pub live: bool,
    /// Snapshots skipped because the UI lagged.
    pub skipped: u64,
    /// Set when the user quits.
    pub quit: bool,
}

impl App {
    /// An empty app; `live` enables pause.
    pub fn new(live: bool) -> Self {
        App {
            report: None,
            stmts: Vec::new(),
            progress: (0, 0, None),
            view: View::Overview,
            selected: [0; 4],
            detail: false,
            detail_scroll: 0,
            help: false,
            filter: String::new(),
            filter_editing: false,
            terms: Ok(Vec::new()),
            sort: [0; 4],
            sort_ascending: false,
            paused: false,
            live,
            skipped: 0,
            quit: false,
        }
    }

    fn terms(&self) -> &[Term] {
        self.terms.as_deref().unwrap_or(&[])
    }

    /// Connections after filter and sort.
    pub fn conn_rows(&self) -> Vec<&ConnReport> {
        let Some(r) = &self.report else { return Vec::new() };
        let mut v: Vec<&ConnReport> = r.connections.iter().filter(|c| conn_matches(c, &r.findings, self.terms())).collect();
        let key = |c: &ConnReport| -> u64 {
            match self.sort[1] {
                1 => c.commands_total,
                2 => c.bytes.to_server + c.bytes.to_client,
                3 => c.largest_packet.to_server.max(c.largest_packet.to_client),
                4 => c.errors,
                5 => conn_latency(c).1,
                _ => c.id,
            }
        };
        v.sort_by_key(|c| key(c));
        if self.sort[1] != 0 && !self.sort_ascending || self.sort[1] == 0 && self.sort_ascending {
            v.reverse();
        }
        v
    }

    /// Findings after filter, most severe first.
    pub fn incident_rows(&self) -> Vec<&Finding> {
        let Some(r) = &self.report else { return Vec::new() };
        r.findings.iter().filter(|f| finding_matches(f, &r.connections, self.terms())).collect()
    }

    /// Statements after filter and sort.
    pub fn stmt_rows(&self) -> Vec<&StmtStat> {
        let texts: Vec<String> = self.terms().iter().filter_map(|t| if let Term::Text(s) = t { Some(s.clone()) } else { None }).collect();
        let mut v: Vec<&StmtStat> = self.stmts.iter().filter(|s| texts.iter().all(|t| s.text.to_lowercase().contains(t))).collect();
        let key = |s: &StmtStat| match self.sort[3] {
            1 => s.total_us,
            2 => s.bytes,
            3 => s.p95_us,
            _ => s.count,
        };
        v.sort_by_key(|s| std::cmp::Reverse(key(s)));
        if self.sort_ascending {
            v.reverse();
        }
        v
    }

    fn rows_in_view(&self) -> usize {
        match self.view {
            View::Overview => 0,
            View::Connections => self.conn_rows().len(),
            View::Incidents => self.incident_rows().len(),
            View::Statements => self.stmt_rows().len(),
        }
    }

    fn clamp(&mut self) {
        let n = self.rows_in_view();
        let i = self.view.index();
        self.selected[i] = self.selected[i].min(n.saturating_sub(1));
    }

    fn move_sel(&mut self, delta: i64) {
        if self.detail {
            self.detail_scroll = (i64::from(self.detail_scroll) + delta).clamp(0, u16::MAX.into()) as u16;
            return;
        }
        let i = self.view.index();
        let n = self.rows_in_view() as i64;
        self.selected[i] = (self.selected[i] as i64 + delta).clamp(0, (n - 1).max(0)) as usize;
    }

    fn switch(&mut self, v: View) {
        self.view = v;
        self.detail = false;
        self.detail_scroll = 0;
        self.clamp();
    }

    /// Handles one message.
    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Data(r) => {
                if self.paused {
                    self.skipped += 1;
                    return;
                }
                self.stmts = statements(&r);
                self.report = Some(r);
                self.clamp();
            }
            Msg::Progress { frames, bytes, total } => self.progress = (frames, bytes, total),
            Msg::Skipped => self.skipped += 1,
            Msg::Key(k) => self.key(k),
        }
    }

    fn key(&mut self, k: KeyEvent) {
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if self.filter_editing {
            match k.code {
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Esc => {
                    self.filter_editing = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.terms = parse_filter(&self.filter);
            self.clamp();
            return;
        }
        if self.help {
            self.help = false;
            return;
        }
        let page = 10;
        match k.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab => self.switch(View::ALL[(self.view.index() + 1) % 4]),
            KeyCode::BackTab => self.switch(View::ALL[(self.view.index() + 3) % 4]),
            KeyCode::Char(c @ '1'..='4') => self.switch(View::ALL[(c as u8 - b'1') as usize]),
            KeyCode::Char('j') | KeyCode::Down => self.move_sel(1),
            KeyCode::Char('k') | KeyCode::Up => self.move_sel(-1),
            KeyCode::PageDown => self.move_sel(page),
            KeyCode::PageUp => self.move_sel(-page),
            KeyCode::Char('g') | KeyCode::Home => self.move_sel(-(1 << 30)),
            KeyCode::Char('G') | KeyCode::End => self.move_sel(1 << 30),
            KeyCode::Enter if matches!(self.view, View::Connections | View::Incidents) && self.rows_in_view() > 0 => {
                self.detail = true;
                self.detail_scroll = 0;
            }
            KeyCode::Esc => {
                if self.detail {
                    self.detail = false;
                } else {
                    self.filter.clear();
                    self.terms = Ok(Vec::new());
                }
            }
            KeyCode::Char('/') => {
                self.filter_editing = true;
                self.detail = false;
            }
            KeyCode::Char('s') => {
                let i = self.view.index();
                let n = match self.view {
                    View::Connections => CONN_SORTS.len(),
                    View::Statements => STMT_SORTS.len(),
                    _ => 1,
                };
                self.sort[i] = (self.sort[i] + 1) % n;
            }
            KeyCode::Char('S') => self.sort_ascending = !self.sort_ascending,
            KeyCode::Char(' ') if self.live => self.paused = !self.paused,
            _ => {}
        }
    }
}
