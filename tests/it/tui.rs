//! TUI: TestBackend snapshots of every view at 80x24, 120x40 and 40x10 on a
//! real capture, and `update` driven by messages (no sleeps, no terminal).

use crate::util::{analyze_with, capture};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mywire::config::AnalyzeOptions;
use mywire::report::tui::app::{App, Msg, Term, View};
use mywire::report::tui::view::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(name: &str) -> App {
    let mut opts = AnalyzeOptions::new(&[]);
    opts.cfg.commands = mywire::analysis::CommandsMode::All;
    let r = analyze_with(&[capture(name)], opts);
    let mut a = App::new(false);
    a.update(Msg::Data(Box::new(r)));
    a
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn keys(a: &mut App, s: &str) {
    for ch in s.chars() {
        a.update(key(KeyCode::Char(ch)));
    }
}

fn screen(a: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(a, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn snapshots_of_every_view_at_three_sizes() {
    let mut a = app("gone-away");
    for (w, h) in [(80, 24), (120, 40), (40, 10)] {
        for (i, v) in View::ALL.iter().enumerate() {
            keys(&mut a, &(i + 1).to_string());
            assert_eq!(a.view, *v);
            insta::assert_snapshot!(format!("{}-{w}x{h}", v.title().to_lowercase()), screen(&a, w, h));
        }
    }
    // the incident and connection details at 80x24
    keys(&mut a, "3");
    a.update(key(KeyCode::Enter));
    insta::assert_snapshot!("incident-detail-80x24", screen(&a, 80, 24));
    a.update(key(KeyCode::Esc));
    keys(&mut a, "2");
    a.update(key(KeyCode::Enter));
    insta::assert_snapshot!("connection-detail-80x24", screen(&a, 80, 24));
}

#[test]
fn keys_drive_the_model() {
    let mut a = app("drops");
    assert_eq!(a.view, View::Overview);
    a.update(key(KeyCode::Tab));
    assert_eq!(a.view, View::Connections);
    a.update(key(KeyCode::BackTab));
    a.update(key(KeyCode::BackTab));
    assert_eq!(a.view, View::Statements);
    keys(&mut a, "2jjj");
    assert_eq!(a.selected[1], 3);
    keys(&mut a, "G");
    assert_eq!(a.selected[1], 4);
    keys(&mut a, "g");
    assert_eq!(a.selected[1], 0);
    a.update(key(KeyCode::Enter));
    assert!(a.detail);
    a.update(key(KeyCode::Esc));
    assert!(!a.detail);
    // sort by commands, descending
    keys(&mut a, "s");
    assert_eq!(a.conn_rows()[0].commands_total, 3);
    // help overlay: any key closes it, without acting
    keys(&mut a, "?");
    assert!(a.help);
    keys(&mut a, "q");
    assert!(!a.help && !a.quit);
    keys(&mut a, "q");
    assert!(a.quit);
    let mut b = app("drops");
    b.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(b.quit);
}

#[test]
fn filter_validates_live_and_filters_every_view() {
    let mut a = app("drops");
    keys(&mut a, "2/err:");
    assert!(a.filter_editing);
    assert!(a.terms.as_ref().unwrap_err().contains("err: needs an error code"));
    keys(&mut a, "x");
    assert!(a.terms.is_err());
    for _ in 0.."err:x".len() {
        a.update(key(KeyCode::Backspace));
    }
    keys(&mut a, "kind:connection_drop");
    assert_eq!(a.terms, Ok(vec![Term::Kind("connection_drop".into())]));
    a.update(key(KeyCode::Enter));
    assert!(!a.filter_editing);
    assert_eq!(a.conn_rows().len(), 4, "four connections have a drop finding");
    keys(&mut a, "3");
    assert_eq!(a.incident_rows().len(), 4);
    keys(&mut a, "/");
    for _ in 0..30 {
        a.update(key(KeyCode::Backspace));
    }
    keys(&mut a, "bogus:1");
    assert!(a.terms.as_ref().unwrap_err().contains("unknown filter key"));
    a.update(key(KeyCode::Esc));
    assert_eq!((a.filter.as_str(), a.terms.clone()), ("", Ok(vec![])));
    keys(&mut a, "/port:");
    let port = a.report.as_ref().unwrap().connections[2].client.rsplit(':').next().unwrap().to_string();
    keys(&mut a, &port);
    a.update(key(KeyCode::Enter));
    keys(&mut a, "2");
    assert_eq!(a.conn_rows().len(), 1);
}

#[test]
fn live_pause_skips_updates_and_counts_them() {
    let mut a = App::new(true);
    let r = analyze_with(&[capture("basic")], AnalyzeOptions::new(&[]));
    a.update(Msg::Progress { frames: 10, bytes: 1000, total: None });
    assert!(screen(&a, 80, 24).contains("analysing... 10 frames"));
    keys(&mut a, " ");
    assert!(a.paused);
    a.update(Msg::Data(Box::new(r)));
    assert!(a.report.is_none());
    assert_eq!(a.skipped, 1);
    assert!(screen(&a, 80, 24).contains("[PAUSED]"));
    a.update(Msg::Skipped);
    assert!(screen(&a, 80, 24).contains("2 updates skipped"));
}

#[test]
fn wire_text_cannot_reach_the_terminal_raw() {
    // a report whose SQL had an escape sequence: the report model escapes it
    let mut bytes = std::fs::read(capture("basic")).unwrap();
    let needle = b"SELECT id, name, price FROM items ORDER BY id";
    let pos = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    bytes[pos + 7] = 0x1b;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("esc.pcap");
    std::fs::write(&p, bytes).unwrap();
    let mut opts = AnalyzeOptions::new(&[]);
    opts.cfg.commands = mywire::analysis::CommandsMode::All;
    let r = analyze_with(&[p.to_string_lossy().into_owned()], opts);
    let mut a = App::new(false);
    a.update(Msg::Data(Box::new(r)));
    keys(&mut a, "2");
    a.update(key(KeyCode::Enter));
    let s = screen(&a, 200, 40);
    assert!(!s.contains('\u{1b}'));
    assert!(s.contains("\\u{1b}"), "{s}");
}
