#![no_main]
//! A session fed arbitrary (direction, chunk) events, gaps and closes included.
use libfuzzer_sys::fuzz_target;
use mywire::config::Limits;
use mywire::model::Dir;
use mywire::session::Session;
use mywire::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let mut s = Session::new(Limits::default(), data.first().is_some_and(|b| b & 1 == 1));
    let mut i = 1;
    let mut t = 0;
    while i + 2 <= data.len() {
        let ctl = data[i];
        let len = usize::from(data[i + 1]);
        i += 2;
        let end = (i + len).min(data.len());
        let dir = if ctl & 1 == 0 { Dir::ToServer } else { Dir::ToClient };
        t += 1;
        match ctl >> 5 {
            0 => s.on_gap(dir, Timestamp(t), len as u64),
            1 if ctl & 2 != 0 => s.on_fin(dir, Timestamp(t)),
            1 => s.on_rst(dir, Timestamp(t)),
            _ => s.on_data(dir, Timestamp(t), &data[i..end]),
        }
        i = end;
    }
    s.finish(false);
    assert!(s.summary().commands.len() <= Limits::default().max_commands_per_conn + s.summary().commands_total as usize);
    assert!(s.summary().seq_anomalies.len() <= Limits::default().max_events_per_conn);
});
