#![no_main]
//! Every message decoder on arbitrary payloads, with arbitrary capabilities.
use libfuzzer_sys::fuzz_target;
use mywire::mysql::messages::*;
use mywire::mysql::Capabilities;

fuzz_target!(|data: &[u8]| {
    let caps = Capabilities(data.get(..4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
    let _ = parse_handshake_v10(data);
    if let Ok((_, LoginRequest::Response(r))) = parse_login_request(data) {
        if let Some(a) = r.attrs {
            let _ = parse_connect_attrs(a);
        }
    }
    let _ = parse_ok(data, caps);
    let _ = parse_err(data);
    let _ = parse_eof(data);
    let _ = parse_prepare_ok(data);
    let _ = parse_column_def(data);
    let _ = parse_text_row(data, 64);
    if let Ok((_, c)) = parse_command(data, caps) {
        let _ = format!("{:?} {}", c, c.code());
        if let Command::StmtExecute { params, .. } = c {
            let n = usize::from(data.first().copied().unwrap_or(0));
            let _ = parse_execute_params(params, n, &mut Vec::new(), &[]);
        }
    }
});
