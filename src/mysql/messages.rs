//! Message decoders over complete logical-packet payloads.
//!
//! Each `parse_*` is a pure `nom` function; short or inconsistent input is
//! `Err(nom::Err::Error)` (malformed), never a panic. References are to
//! dev.mysql.com "Client/Server Protocol" and MariaDB's protocol pages.

use super::types::{Capabilities, CommandCode, StatusFlags};
use super::wire::{LenEnc, parse_lenenc, parse_lenenc_bytes, parse_lenenc_int, parse_nul_str};
use nom::bytes::complete::take;
use nom::number::complete::{le_f32, le_f64, le_i8, le_i16, le_i32, le_i64, le_u8, le_u16, le_u32};
use nom::{IResult, Parser};

fn fail<T>(i: &[u8]) -> IResult<&[u8], T> {
    Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify)))
}

/// Initial handshake packet, protocol 10 [Connection Phase › Protocol::HandshakeV10].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// Server version string, e.g. `5.5.5-10.11.19-MariaDB-0+deb12u1`.
    pub server_version: &'a [u8],
    /// Connection (thread) id, as `KILL` and `CONNECTION_ID()` use it.
    pub connection_id: u32,
    /// Server capabilities (lower 32 bits).
    pub capabilities: Capabilities,
    /// MariaDB extended capabilities (when the server is MariaDB).
    pub mariadb_caps: Option<u32>,
    /// Default collation id.
    pub charset: u8,
    /// Status flags.
    pub status: StatusFlags,
    /// Default authentication plugin.
    pub auth_plugin: Option<&'a [u8]>,
}

/// Parses a HandshakeV10 payload (first byte 0x0a).
pub fn parse_handshake_v10(i: &[u8]) -> IResult<&[u8], Handshake<'_>> {
    let (i, proto) = le_u8(i)?;
    if proto != 10 {
        return fail(i);
    }
    let (i, server_version) = parse_nul_str(i)?;
    let (i, connection_id) = le_u32(i)?;
    let (i, _salt1) = take(8usize).parse(i)?;
    let (i, _filler) = le_u8(i)?;
    let (i, cap_lo) = le_u16(i)?;
    let mut hs = Handshake {
        server_version,
        connection_id,
        capabilities: Capabilities(u32::from(cap_lo)),
        mariadb_caps: None,
        charset: 0,
        status: StatusFlags(0),
        auth_plugin: None,
    };
    if i.is_empty() {
        return Ok((i, hs));
    }
    let (i, charset) = le_u8(i)?;
    let (i, status) = le_u16(i)?;
    let (i, cap_hi) = le_u16(i)?;
    let caps = Capabilities(u32::from(cap_lo) | (u32::from(cap_hi) << 16));
    let (i, salt_len) = le_u8(i)?;
    let (i, _) = take(6usize).parse(i)?;
    let (i, ext) = le_u32(i)?;
    hs.charset = charset;
    hs.status = StatusFlags(status);
    hs.capabilities = caps;
    if !caps.has(Capabilities::LONG_PASSWORD) {
        hs.mariadb_caps = Some(ext);
    }
    let mut i = i;
    if caps.has(Capabilities::SECURE_CONNECTION) {
        let n = usize::from(salt_len).saturating_sub(8).max(13).min(i.len());
        i = &i[n..];
    }
    if caps.has(Capabilities::PLUGIN_AUTH) && !i.is_empty() {
        let (r, name) = match parse_nul_str(i) {
            Ok(v) => v,
            Err(_) => (&i[i.len()..], i), // some servers omit the final NUL
        };
        hs.auth_plugin = Some(name);
        i = r;
    }
    Ok((i, hs))
}

/// The client's reply to the handshake [Protocol::HandshakeResponse41 / 320, SSLRequest].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginRequest<'a> {
    /// SSLRequest: the rest of the stream is TLS.
    SslRequest {
        /// Client capabilities.
        capabilities: Capabilities,
    },
    /// A handshake response.
    Response(HandshakeResponse<'a>),
}

/// HandshakeResponse41 (or 320) fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeResponse<'a> {
    /// Client capabilities.
    pub capabilities: Capabilities,
    /// MariaDB extended client capabilities, when present.
    pub mariadb_caps: Option<u32>,
    /// The client's own max packet size.
    pub max_packet_size: u32,
    /// Collation id.
    pub charset: u8,
    /// User name.
    pub user: &'a [u8],
    /// Authentication response (a secret: never printed).
    pub auth_response: &'a [u8],
    /// Initial schema.
    pub database: Option<&'a [u8]>,
    /// Authentication plugin the client used.
    pub auth_plugin: Option<&'a [u8]>,
    /// Raw connection attributes (decoded on demand by [`parse_connect_attrs`]).
    pub attrs: Option<&'a [u8]>,
    /// zstd compression level, when zstd was requested.
    pub zstd_level: Option<u8>,
}

/// Parses the client's handshake response (protocol 41 or 320) or an SSLRequest.
pub fn parse_login_request(input: &[u8]) -> IResult<&[u8], LoginRequest<'_>> {
    let (_, cap_lo) = le_u16(input)?;
    if u32::from(cap_lo) & Capabilities::PROTOCOL_41 == 0 {
        return parse_response_320(input);
    }
    let (i, caps) = le_u32(input)?;
    let caps = Capabilities(caps);
    let (i, max_packet_size) = le_u32(i)?;
    let (i, charset) = le_u8(i)?;
    let (i, filler) = take(23usize).parse(i)?;
    let mariadb_caps = if !caps.has(Capabilities::LONG_PASSWORD) {
        Some(u32::from_le_bytes([filler[19], filler[20], filler[21], filler[22]]))
    } else {
        None
    };
    if i.is_empty() && caps.has(Capabilities::SSL) {
        return Ok((i, LoginRequest::SslRequest { capabilities: caps }));
    }
    let (i, user) = parse_nul_str(i)?;
    let (i, auth_response) = if caps.has(Capabilities::AUTH_LENENC) {
        parse_lenenc_bytes(i)?
    } else if caps.has(Capabilities::SECURE_CONNECTION) {
        let (i, n) = le_u8(i)?;
        take(n).parse(i)?
    } else {
        parse_nul_str(i)?
    };
    let mut r = HandshakeResponse {
        capabilities: caps,
        mariadb_caps,
        max_packet_size,
        charset,
        user,
        auth_response,
        database: None,
        auth_plugin: None,
        attrs: None,
        zstd_level: None,
    };
    let mut i = i;
    if caps.has(Capabilities::CONNECT_WITH_DB) && !i.is_empty() {
        let (ni, db) = parse_nul_str(i)?;
        r.database = Some(db);
        i = ni;
    }
    if caps.has(Capabilities::PLUGIN_AUTH) && !i.is_empty() {
        let (ni, p) = parse_nul_str(i)?;
        r.auth_plugin = Some(p);
        i = ni;
    }
    if caps.has(Capabilities::CONNECT_ATTRS) && !i.is_empty() {
        let (ni, a) = parse_lenenc_bytes(i)?;
        r.attrs = Some(a);
        i = ni;
    }
    if caps.has(Capabilities::ZSTD) && !i.is_empty() {
        let (ni, l) = le_u8(i)?;
        r.zstd_level = Some(l);
        i = ni;
    }
    Ok((i, LoginRequest::Response(r)))
}

fn parse_response_320(i: &[u8]) -> IResult<&[u8], LoginRequest<'_>> {
    let (i, caps) = le_u16(i)?;
    let (i, mp) = take(3usize).parse(i)?;
    let caps = Capabilities(u32::from(caps));
    if i.is_empty() && caps.has(Capabilities::SSL) {
        return Ok((i, LoginRequest::SslRequest { capabilities: caps }));
    }
    let (i, user) = parse_nul_str(i)?;
    let (i, auth_response, database) = if caps.has(Capabilities::CONNECT_WITH_DB) {
        let (i, a) = parse_nul_str(i)?;
        let (i, db) = parse_nul_str(i).unwrap_or((&i[i.len()..], i));
        (i, a, Some(db))
    } else {
        (&i[i.len()..], i, None)
    };
    Ok((
        i,
        LoginRequest::Response(HandshakeResponse {
            capabilities: caps,
            mariadb_caps: None,
            max_packet_size: crate::mysql::wire::u24(mp),
            charset: 0,
            user,
            auth_response,
            database,
            auth_plugin: None,
            attrs: None,
            zstd_level: None,
        }),
    ))
}

/// Decodes connection attributes into key/value pairs.
#[allow(clippy::type_complexity)]
pub fn parse_connect_attrs(mut i: &[u8]) -> IResult<&[u8], Vec<(&[u8], &[u8])>> {
    let mut out = Vec::new();
    while !i.is_empty() && out.len() < 64 {
        let (r, k) = parse_lenenc_bytes(i)?;
        let (r, v) = parse_lenenc_bytes(r)?;
        out.push((k, v));
        i = r;
    }
    Ok((i, out))
}

/// OK packet [Generic Response Packets › OK_Packet] (header 0x00, or 0xfe as EOF replacement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OkPacket<'a> {
    /// Rows affected.
    pub affected_rows: u64,
    /// Last insert id.
    pub last_insert_id: u64,
    /// Status flags.
    pub status: StatusFlags,
    /// Warning count.
    pub warnings: u16,
    /// Human-readable info (e.g. `Records: 3  Duplicates: 0`).
    pub info: &'a [u8],
    /// Raw session-state changes (CLIENT_SESSION_TRACK with SERVER_SESSION_STATE_CHANGED);
    /// decoded by [`parse_session_state`].
    pub session_state: &'a [u8],
}

/// One session-state change [OK_Packet › session_state_info].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange<'a> {
    /// SESSION_TRACK_SYSTEM_VARIABLES: a variable and its new value.
    SystemVariable(&'a [u8], &'a [u8]),
    /// SESSION_TRACK_SCHEMA: the new default schema.
    Schema(&'a [u8]),
    /// SESSION_TRACK_STATE_CHANGE: "1" when the session state changed.
    StateChange(&'a [u8]),
    /// SESSION_TRACK_GTIDS (raw).
    Gtids(&'a [u8]),
    /// SESSION_TRACK_TRANSACTION_CHARACTERISTICS.
    TransactionCharacteristics(&'a [u8]),
    /// SESSION_TRACK_TRANSACTION_STATE.
    TransactionState(&'a [u8]),
    /// Any other type, kept raw.
    Other(u8, &'a [u8]),
}

/// Decodes the session-state block of an OK packet.
pub fn parse_session_state(mut i: &[u8]) -> IResult<&[u8], Vec<StateChange<'_>>> {
    let mut out = Vec::new();
    while !i.is_empty() && out.len() < 64 {
        let (r, t) = le_u8(i)?;
        let (r, data) = parse_lenenc_bytes(r)?;
        let c = match t {
            0 => {
                let (d, name) = parse_lenenc_bytes(data)?;
                let (_, value) = parse_lenenc_bytes(d)?;
                StateChange::SystemVariable(name, value)
            }
            1 => StateChange::Schema(parse_lenenc_bytes(data)?.1),
            2 => StateChange::StateChange(parse_lenenc_bytes(data)?.1),
            3 => StateChange::Gtids(data),
            4 => StateChange::TransactionCharacteristics(parse_lenenc_bytes(data)?.1),
            5 => StateChange::TransactionState(parse_lenenc_bytes(data)?.1),
            t => StateChange::Other(t, data),
        };
        out.push(c);
        i = r;
    }
    Ok((i, out))
}

/// Parses an OK packet payload.
pub fn parse_ok(i: &[u8], caps: Capabilities) -> IResult<&[u8], OkPacket<'_>> {
    let (i, h) = le_u8(i)?;
    if h != 0x00 && h != 0xfe {
        return fail(i);
    }
    let (i, affected_rows) = parse_lenenc_int(i)?;
    let (i, last_insert_id) = parse_lenenc_int(i)?;
    let (i, status) = le_u16(i)?;
    let (i, warnings) = le_u16(i)?;
    let mut session_state: &[u8] = &[];
    let (i, info) = if caps.has(Capabilities::SESSION_TRACK) && !i.is_empty() {
        let (r, info) = parse_lenenc_bytes(i).unwrap_or((&i[i.len()..], &[]));
        if status & StatusFlags::SESSION_STATE_CHANGED != 0 && !r.is_empty() {
            session_state = parse_lenenc_bytes(r).map(|(_, s)| s).unwrap_or(&[]);
        }
        (&r[r.len()..], info)
    } else if i.first().is_some_and(|&n| usize::from(n) + 1 == i.len()) {
        // MariaDB length-prefixes the info even without CLIENT_SESSION_TRACK
        (&i[i.len()..], &i[1..])
    } else {
        (&i[i.len()..], i)
    };
    Ok((i, OkPacket { affected_rows, last_insert_id, status: StatusFlags(status), warnings, info, session_state }))
}

/// ERR packet [Generic Response Packets › ERR_Packet].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrPacket<'a> {
    /// Error code, e.g. 1153.
    pub code: u16,
    /// SQLSTATE (absent before protocol 41).
    pub sqlstate: Option<&'a [u8]>,
    /// Error message.
    pub message: &'a [u8],
}

/// Parses an ERR packet payload (header 0xff).
pub fn parse_err(i: &[u8]) -> IResult<&[u8], ErrPacket<'_>> {
    let (i, h) = le_u8(i)?;
    if h != 0xff {
        return fail(i);
    }
    let (i, code) = le_u16(i)?;
    let (i, sqlstate) = if i.first() == Some(&b'#') && i.len() >= 6 { (&i[6..], Some(&i[1..6])) } else { (i, None) };
    Ok((&i[i.len()..], ErrPacket { code, sqlstate, message: i }))
}

/// EOF packet [Generic Response Packets › EOF_Packet]: header 0xfe, payload < 9 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EofPacket {
    /// Warning count.
    pub warnings: u16,
    /// Status flags.
    pub status: StatusFlags,
}

/// Parses an EOF packet payload.
pub fn parse_eof(i: &[u8]) -> IResult<&[u8], EofPacket> {
    let (r, h) = le_u8(i)?;
    if h != 0xfe || i.len() >= 9 {
        return fail(i);
    }
    if r.len() < 4 {
        return Ok((&r[r.len()..], EofPacket { warnings: 0, status: StatusFlags(0) }));
    }
    let (r, warnings) = le_u16(r)?;
    let (r, status) = le_u16(r)?;
    Ok((r, EofPacket { warnings, status: StatusFlags(status) }))
}

/// True when a payload is an EOF packet (0xfe and shorter than 9 bytes).
pub fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xfe) && p.len() < 9
}

/// COM_STMT_PREPARE_OK [Prepared Statements › COM_STMT_PREPARE Response].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareOk {
    /// Statement id.
    pub statement_id: u32,
    /// Number of result columns.
    pub num_columns: u16,
    /// Number of parameters.
    pub num_params: u16,
    /// Warning count.
    pub warnings: u16,
}

/// Parses COM_STMT_PREPARE_OK.
pub fn parse_prepare_ok(i: &[u8]) -> IResult<&[u8], PrepareOk> {
    let (i, h) = le_u8(i)?;
    if h != 0 {
        return fail(i);
    }
    let (i, statement_id) = le_u32(i)?;
    let (i, num_columns) = le_u16(i)?;
    let (i, num_params) = le_u16(i)?;
    let (i, warnings) = if i.len() >= 3 { (&i[3..], u16::from_le_bytes([i[1], i[2]])) } else { (i, 0) };
    Ok((i, PrepareOk { statement_id, num_columns, num_params, warnings }))
}

/// Column definition (protocol 41): the parts the analyser uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef<'a> {
    /// Schema.
    pub schema: &'a [u8],
    /// Table alias.
    pub table: &'a [u8],
    /// Column alias.
    pub name: &'a [u8],
    /// Column type (MYSQL_TYPE_*).
    pub column_type: u8,
    /// Column flags.
    pub flags: u16,
}

/// Parses a ColumnDefinition41.
pub fn parse_column_def(i: &[u8]) -> IResult<&[u8], ColumnDef<'_>> {
    let (i, _catalog) = parse_lenenc_bytes(i)?;
    let (i, schema) = parse_lenenc_bytes(i)?;
    let (i, table) = parse_lenenc_bytes(i)?;
    let (i, _org_table) = parse_lenenc_bytes(i)?;
    let (i, name) = parse_lenenc_bytes(i)?;
    let (i, _org_name) = parse_lenenc_bytes(i)?;
    let (i, _fixed) = parse_lenenc_int(i)?;
    let (i, _charset) = le_u16(i)?;
    let (i, _len) = le_u32(i)?;
    let (i, column_type) = le_u8(i)?;
    let (i, flags) = le_u16(i)?;
    Ok((i, ColumnDef { schema, table, name, column_type, flags }))
}

/// Values of a text-protocol row (`None` = SQL NULL), at most `max` of them.
pub fn parse_text_row(mut i: &[u8], max: usize) -> IResult<&[u8], Vec<Option<&[u8]>>> {
    let mut out = Vec::new();
    while !i.is_empty() && out.len() < max {
        let (r, v) = parse_lenenc(i)?;
        match v {
            LenEnc::Null => {
                out.push(None);
                i = r;
            }
            LenEnc::Int(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let (r, s) = take(n).parse(r)?;
                out.push(Some(s));
                i = r;
            }
        }
    }
    Ok((i, out))
}

/// A client command [Command Phase], decoded as far as the analyser needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Command<'a> {
    /// COM_QUERY, with the number of query attributes sent.
    Query {
        /// SQL text.
        sql: &'a [u8],
        /// Query attributes (CLIENT_QUERY_ATTRIBUTES).
        attrs: u64,
    },
    /// COM_INIT_DB
    InitDb {
        /// Schema.
        schema: &'a [u8],
    },
    /// COM_FIELD_LIST
    FieldList {
        /// Table.
        table: &'a [u8],
    },
    /// COM_PROCESS_KILL
    ProcessKill {
        /// Connection id to kill.
        id: u32,
    },
    /// COM_STMT_PREPARE
    StmtPrepare {
        /// SQL text.
        sql: &'a [u8],
    },
    /// COM_STMT_EXECUTE (parameters decoded separately with the statement's types).
    StmtExecute {
        /// Statement id.
        statement_id: u32,
        /// Cursor flags.
        flags: u8,
        /// The parameter block (null bitmap, types, values).
        params: &'a [u8],
    },
    /// COM_STMT_SEND_LONG_DATA
    StmtSendLongData {
        /// Statement id.
        statement_id: u32,
        /// Parameter index.
        param: u16,
        /// Bytes of data in this packet.
        data_len: usize,
    },
    /// COM_STMT_CLOSE
    StmtClose {
        /// Statement id.
        statement_id: u32,
    },
    /// COM_STMT_RESET
    StmtReset {
        /// Statement id.
        statement_id: u32,
    },
    /// COM_STMT_FETCH
    StmtFetch {
        /// Statement id.
        statement_id: u32,
        /// Rows requested.
        rows: u32,
    },
    /// COM_STMT_BULK_EXECUTE (MariaDB)
    StmtBulkExecute {
        /// Statement id.
        statement_id: u32,
    },
    /// COM_CHANGE_USER
    ChangeUser {
        /// New user.
        user: &'a [u8],
        /// New schema.
        database: Option<&'a [u8]>,
    },
    /// COM_SET_OPTION
    SetOption {
        /// 0 = multi-statements on, 1 = off.
        option: u16,
    },
    /// COM_BINLOG_DUMP / COM_BINLOG_DUMP_GTID: a replica asks for the binlog stream.
    BinlogDump {
        /// Replica server id.
        server_id: u32,
        /// Binlog file name (may be empty for GTID).
        file: &'a [u8],
    },
    /// COM_REGISTER_SLAVE
    RegisterSlave {
        /// Replica server id.
        server_id: u32,
    },
    /// Any other command, by code (unknown codes included).
    Other {
        /// Command byte.
        code: CommandCode,
    },
}

impl Command<'_> {
    /// The command byte.
    pub fn code(&self) -> CommandCode {
        match self {
            Command::Query { .. } => CommandCode::QUERY,
            Command::InitDb { .. } => CommandCode::INIT_DB,
            Command::FieldList { .. } => CommandCode::FIELD_LIST,
            Command::ProcessKill { .. } => CommandCode::PROCESS_KILL,
            Command::StmtPrepare { .. } => CommandCode::STMT_PREPARE,
            Command::StmtExecute { .. } => CommandCode::STMT_EXECUTE,
            Command::StmtSendLongData { .. } => CommandCode::STMT_SEND_LONG_DATA,
            Command::StmtClose { .. } => CommandCode::STMT_CLOSE,
            Command::StmtReset { .. } => CommandCode::STMT_RESET,
            Command::StmtFetch { .. } => CommandCode::STMT_FETCH,
            Command::StmtBulkExecute { .. } => CommandCode::STMT_BULK_EXECUTE,
            Command::ChangeUser { .. } => CommandCode::CHANGE_USER,
            Command::SetOption { .. } => CommandCode::SET_OPTION,
            Command::BinlogDump { .. } => CommandCode::BINLOG_DUMP,
            Command::RegisterSlave { .. } => CommandCode::REGISTER_SLAVE,
            Command::Other { code } => *code,
        }
    }
}

/// Parses a client command payload. `caps` are the negotiated capabilities.
pub fn parse_command(i: &[u8], caps: Capabilities) -> IResult<&[u8], Command<'_>> {
    let (i, code) = le_u8(i)?;
    let code = CommandCode(code);
    let end = &i[i.len()..];
    let c = match code {
        CommandCode::QUERY => {
            if caps.has(Capabilities::QUERY_ATTRIBUTES) {
                let (sql, attrs) = parse_query_attributes(i)?;
                return Ok((end, Command::Query { sql, attrs }));
            }
            Command::Query { sql: i, attrs: 0 }
        }
        CommandCode::INIT_DB => Command::InitDb { schema: i },
        CommandCode::FIELD_LIST => {
            let (_, table) = parse_nul_str(i).unwrap_or((end, i));
            Command::FieldList { table }
        }
        CommandCode::PROCESS_KILL => Command::ProcessKill { id: le_u32(i)?.1 },
        CommandCode::STMT_PREPARE => Command::StmtPrepare { sql: i },
        CommandCode::STMT_EXECUTE => {
            let (r, statement_id) = le_u32(i)?;
            let (r, flags) = le_u8(r)?;
            let (r, _iterations) = le_u32(r)?;
            Command::StmtExecute { statement_id, flags, params: r }
        }
        CommandCode::STMT_SEND_LONG_DATA => {
            let (r, statement_id) = le_u32(i)?;
            let (r, param) = le_u16(r)?;
            Command::StmtSendLongData { statement_id, param, data_len: r.len() }
        }
        CommandCode::STMT_CLOSE => Command::StmtClose { statement_id: le_u32(i)?.1 },
        CommandCode::STMT_RESET => Command::StmtReset { statement_id: le_u32(i)?.1 },
        CommandCode::STMT_FETCH => {
            let (r, statement_id) = le_u32(i)?;
            let (_, rows) = le_u32(r)?;
            Command::StmtFetch { statement_id, rows }
        }
        CommandCode::STMT_BULK_EXECUTE => Command::StmtBulkExecute { statement_id: le_u32(i)?.1 },
        CommandCode::CHANGE_USER => {
            let (r, user) = parse_nul_str(i)?;
            let (r, _auth) = if caps.has(Capabilities::SECURE_CONNECTION) {
                let (r, n) = le_u8(r)?;
                take(n).parse(r)?
            } else {
                parse_nul_str(r)?
            };
            let database = parse_nul_str(r).ok().map(|(_, d)| d);
            Command::ChangeUser { user, database }
        }
        CommandCode::SET_OPTION => Command::SetOption { option: le_u16(i)?.1 },
        CommandCode::BINLOG_DUMP => {
            let (r, _pos) = le_u32(i)?;
            let (r, _flags) = le_u16(r)?;
            let (r, server_id) = le_u32(r)?;
            Command::BinlogDump { server_id, file: r }
        }
        CommandCode::BINLOG_DUMP_GTID => {
            let (r, _flags) = le_u16(i)?;
            let (r, server_id) = le_u32(r)?;
            let (r, n) = le_u32(r)?;
            let (_, file) = take(n).parse(r)?;
            Command::BinlogDump { server_id, file }
        }
        CommandCode::REGISTER_SLAVE => Command::RegisterSlave { server_id: le_u32(i)?.1 },
        _ => Command::Other { code },
    };
    Ok((end, c))
}

/// Skips the query-attribute block of a COM_QUERY; returns (sql, attribute count).
#[allow(clippy::type_complexity)]
fn parse_query_attributes(i: &[u8]) -> Result<(&[u8], u64), nom::Err<nom::error::Error<&[u8]>>> {
    let (r, count) = parse_lenenc_int(i)?;
    let (mut r, _sets) = parse_lenenc_int(r)?;
    if count > 0 {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n > r.len() {
            return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge)));
        }
        let (r2, nulls) = take(n.div_ceil(8)).parse(r)?;
        let (r2, bound) = le_u8(r2)?;
        let mut types = Vec::new();
        let mut rr = r2;
        if bound == 1 {
            for _ in 0..n {
                let (x, t) = le_u8(rr)?;
                let (x, f) = le_u8(x)?;
                let (x, _name) = parse_lenenc_bytes(x)?;
                types.push((t, f));
                rr = x;
            }
        }
        for (k, (t, f)) in types.iter().enumerate() {
            if nulls[k / 8] & (1 << (k % 8)) != 0 {
                continue;
            }
            rr = parse_binary_value(rr, *t, *f & 0x80 != 0)?.0;
        }
        r = rr;
    }
    Ok((r, count))
}

/// MYSQL_TYPE_* codes used by the binary protocol.
pub mod column_type {
    /// DECIMAL
    pub const DECIMAL: u8 = 0x00;
    /// TINY
    pub const TINY: u8 = 0x01;
    /// SHORT
    pub const SHORT: u8 = 0x02;
    /// LONG
    pub const LONG: u8 = 0x03;
    /// FLOAT
    pub const FLOAT: u8 = 0x04;
    /// DOUBLE
    pub const DOUBLE: u8 = 0x05;
    /// NULL
    pub const NULL: u8 = 0x06;
    /// TIMESTAMP
    pub const TIMESTAMP: u8 = 0x07;
    /// LONGLONG
    pub const LONGLONG: u8 = 0x08;
    /// INT24
    pub const INT24: u8 = 0x09;
    /// DATE
    pub const DATE: u8 = 0x0a;
    /// TIME
    pub const TIME: u8 = 0x0b;
    /// DATETIME
    pub const DATETIME: u8 = 0x0c;
    /// YEAR
    pub const YEAR: u8 = 0x0d;
}

/// A decoded binary-protocol value, rendered for display.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// Any integer.
    Int(i128),
    /// FLOAT / DOUBLE.
    Float(f64),
    /// DATE / DATETIME / TIMESTAMP / TIME, formatted.
    Temporal(String),
    /// Strings, decimals, JSON, blobs: raw bytes.
    Bytes(&'a [u8]),
}

/// Parses one binary-protocol value of `t` [Binary Protocol Value].
pub fn parse_binary_value(i: &[u8], t: u8, unsigned: bool) -> IResult<&[u8], Value<'_>> {
    use column_type as ct;
    Ok(match t {
        ct::NULL => (i, Value::Null),
        ct::TINY => {
            if unsigned {
                le_u8.map(|v| Value::Int(v.into())).parse(i)?
            } else {
                le_i8.map(|v| Value::Int(v.into())).parse(i)?
            }
        }
        ct::SHORT | ct::YEAR => {
            if unsigned || t == ct::YEAR {
                le_u16.map(|v| Value::Int(v.into())).parse(i)?
            } else {
                le_i16.map(|v| Value::Int(v.into())).parse(i)?
            }
        }
        ct::LONG | ct::INT24 => {
            if unsigned {
                le_u32.map(|v| Value::Int(v.into())).parse(i)?
            } else {
                le_i32.map(|v| Value::Int(v.into())).parse(i)?
            }
        }
        ct::LONGLONG => {
            if unsigned {
                nom::number::complete::le_u64.map(|v| Value::Int(v.into())).parse(i)?
            } else {
                le_i64.map(|v| Value::Int(v.into())).parse(i)?
            }
        }
        ct::FLOAT => le_f32.map(|v| Value::Float(v.into())).parse(i)?,
        ct::DOUBLE => le_f64.map(Value::Float).parse(i)?,
        ct::DATE | ct::DATETIME | ct::TIMESTAMP => {
            let (r, n) = le_u8(i)?;
            let (r, b) = take(n).parse(r)?;
            let g = |k: usize| b.get(k).copied().unwrap_or(0);
            let year = u16::from_le_bytes([g(0), g(1)]);
            let mut s = format!("{year:04}-{:02}-{:02}", g(2), g(3));
            if n >= 7 {
                s.push_str(&format!(" {:02}:{:02}:{:02}", g(4), g(5), g(6)));
            }
            if n >= 11 {
                s.push_str(&format!(".{:06}", u32::from_le_bytes([g(7), g(8), g(9), g(10)])));
            }
            (r, Value::Temporal(s))
        }
        ct::TIME => {
            let (r, n) = le_u8(i)?;
            let (r, b) = take(n).parse(r)?;
            let g = |k: usize| b.get(k).copied().unwrap_or(0);
            let days = u32::from_le_bytes([g(1), g(2), g(3), g(4)]);
            let hours = days * 24 + u32::from(g(5));
            let mut s = format!("{}{hours:02}:{:02}:{:02}", if g(0) == 1 { "-" } else { "" }, g(6), g(7));
            if n >= 12 {
                s.push_str(&format!(".{:06}", u32::from_le_bytes([g(8), g(9), g(10), g(11)])));
            }
            (r, Value::Temporal(s))
        }
        _ => parse_lenenc_bytes.map(Value::Bytes).parse(i)?,
    })
}

/// Decodes COM_STMT_EXECUTE parameters given the statement's parameter count
/// and the types remembered from an earlier execute (updated in place when
/// the packet binds new types). Parameters sent as long data carry no value.
pub fn parse_execute_params<'a>(
    i: &'a [u8],
    num_params: usize,
    types: &mut Vec<(u8, u8)>,
    long_data: &[u16],
) -> IResult<&'a [u8], Vec<Value<'a>>> {
    if num_params == 0 {
        return Ok((i, Vec::new()));
    }
    if num_params > i.len().saturating_mul(8) {
        return fail(i);
    }
    let (i, nulls) = take(num_params.div_ceil(8)).parse(i)?;
    let (mut i, bound) = le_u8(i)?;
    if bound == 1 {
        types.clear();
        for _ in 0..num_params {
            let (r, t) = le_u8(i)?;
            let (r, f) = le_u8(r)?;
            types.push((t, f));
            i = r;
        }
    }
    if types.len() != num_params {
        return fail(i);
    }
    let mut out = Vec::with_capacity(num_params.min(64));
    for (k, &(t, f)) in types.iter().enumerate() {
        if nulls[k / 8] & (1 << (k % 8)) != 0 {
            out.push(Value::Null);
        } else if long_data.contains(&(k as u16)) {
            out.push(Value::Bytes(b"<long data>"));
        } else {
            let (r, v) = parse_binary_value(i, t, f & 0x80 != 0)?;
            out.push(v);
            i = r;
        }
    }
    Ok((i, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::testdata as td;

    const PYMYSQL_CAPS: Capabilities = Capabilities(0x003a_a20d);

    #[test]
    fn handshake_v10_mariadb() {
        let (rest, h) = parse_handshake_v10(td::GREETING).unwrap();
        assert!(rest.is_empty());
        assert_eq!(h.server_version, b"5.5.5-10.11.19-MariaDB-0+deb12u1");
        assert_eq!(h.connection_id, 6);
        assert_eq!(h.capabilities, Capabilities(0x81ff_fffe));
        assert!(h.mariadb_caps.is_some(), "CLIENT_MYSQL unset: MariaDB extended capabilities present");
        assert_eq!((h.charset, h.status), (8, StatusFlags(2)));
        assert_eq!(h.auth_plugin, Some(&b"mysql_native_password"[..]));
        for n in 0..40 {
            assert!(parse_handshake_v10(&td::GREETING[..n]).is_err(), "truncated to {n}");
        }
        for n in 40..td::GREETING.len() {
            let _ = parse_handshake_v10(&td::GREETING[..n]); // never panics
        }
    }

    #[test]
    fn handshake_response41_pymysql() {
        let (_, r) = parse_login_request(td::LOGIN).unwrap();
        let LoginRequest::Response(r) = r else { panic!("not a response") };
        assert_eq!(r.capabilities, PYMYSQL_CAPS);
        assert_eq!(r.max_packet_size, 16_777_215);
        assert_eq!(r.charset, 45);
        assert_eq!(r.user, b"app");
        assert_eq!(r.auth_response.len(), 20);
        assert_eq!(r.database, Some(&b"shop"[..]));
        assert_eq!(r.auth_plugin, Some(&b"mysql_native_password"[..]));
        let (_, attrs) = parse_connect_attrs(r.attrs.unwrap()).unwrap();
        assert!(attrs.contains(&(&b"_client_name"[..], &b"pymysql"[..])), "{attrs:?}");
        for n in 0..td::LOGIN.len() {
            let _ = parse_login_request(&td::LOGIN[..n]);
        }
        for n in 0..36 {
            assert!(parse_login_request(&td::LOGIN[..n]).is_err(), "truncated to {n}");
        }
        // SSLRequest: the 32-byte prefix with CLIENT_SSL
        let mut ssl = td::LOGIN[..32].to_vec();
        ssl[1] |= 0x08;
        assert!(matches!(parse_login_request(&ssl), Ok((_, LoginRequest::SslRequest { .. }))));
    }

    #[test]
    fn ok_err_eof() {
        let (_, ok) = parse_ok(td::OK_INFO, PYMYSQL_CAPS).unwrap();
        assert_eq!(
            ok,
            OkPacket {
                affected_rows: 3,
                last_insert_id: 2,
                status: StatusFlags(2),
                warnings: 0,
                info: b"Records: 3  Duplicates: 0  Warnings: 0",
                session_state: b"",
            }
        );
        let (_, e) = parse_err(td::ERR_1064).unwrap();
        assert_eq!((e.code, e.sqlstate), (1064, Some(&b"42000"[..])));
        assert!(e.message.starts_with(b"You have an error in your SQL syntax"));
        assert_eq!(parse_eof(td::EOF), Ok((&[][..], EofPacket { warnings: 0, status: StatusFlags(0x22) })));
        assert!(is_eof(td::EOF) && !is_eof(td::OK_INFO));
        for n in 0..7 {
            assert!(parse_ok(&td::OK_INFO[..n], PYMYSQL_CAPS).is_err(), "OK truncated to {n}");
        }
        for n in 0..3 {
            assert!(parse_err(&td::ERR_1064[..n]).is_err(), "ERR truncated to {n}");
        }
        for n in 0..td::ERR_1064.len() {
            let _ = parse_err(&td::ERR_1064[..n]);
        }
    }

    #[test]
    fn ok_with_session_state_changes() {
        // OK after `USE test` with CLIENT_SESSION_TRACK: schema change and a system variable,
        // laid out as the spec gives it (OK_Packet › session_state_info)
        let caps = Capabilities(PYMYSQL_CAPS.0 | Capabilities::SESSION_TRACK);
        let mut p = vec![0x00, 0, 0, 0x02, 0x40, 0, 0, 0];
        let state = [&[1u8, 5, 4][..], b"test", &[0, 15, 10], b"autocommit", &[3], b"OFF"].concat();
        p.push(state.len() as u8);
        p.extend_from_slice(&state);
        let (_, ok) = parse_ok(&p, caps).unwrap();
        assert_eq!(ok.status, StatusFlags(0x4002));
        let (_, changes) = parse_session_state(ok.session_state).unwrap();
        assert_eq!(changes, vec![StateChange::Schema(b"test"), StateChange::SystemVariable(b"autocommit", b"OFF")]);
        for n in 0..state.len() {
            let _ = parse_session_state(&state[..n]);
        }
        assert!(parse_session_state(&[0, 5, 200]).is_err());
    }

    #[test]
    fn column_definition_and_rows() {
        let (_, c) = parse_column_def(td::COLUMN_DEF).unwrap();
        assert_eq!(c, ColumnDef { schema: b"shop", table: b"items", name: b"id", column_type: column_type::LONG, flags: 0x4203 });
        for n in 0..td::COLUMN_DEF.len() - 3 {
            // decimals and the filler after the flags are optional
            assert!(parse_column_def(&td::COLUMN_DEF[..n]).is_err(), "truncated to {n}");
        }
        assert_eq!(parse_text_row(td::TEXT_ROW, 8).unwrap().1, vec![Some(&b"1"[..]), Some(b"apple"), Some(b"1.25")]);
        assert_eq!(parse_text_row(td::VAR_ROW, 8).unwrap().1, vec![Some(&b"max_allowed_packet"[..]), Some(b"16777216")]);
        assert_eq!(parse_text_row(&[0xfb, 0x01, b'x'], 8).unwrap().1, vec![None, Some(&b"x"[..])]);
        assert!(parse_text_row(&td::TEXT_ROW[..5], 8).is_err());
    }

    #[test]
    fn prepared_statements() {
        assert_eq!(
            parse_prepare_ok(td::PREPARE_OK),
            Ok((&[][..], PrepareOk { statement_id: 1, num_columns: 0, num_params: 5, warnings: 0 }))
        );
        for n in 0..9 {
            assert!(parse_prepare_ok(&td::PREPARE_OK[..n]).is_err());
        }
        let (_, cmd) = parse_command(td::EXECUTE, PYMYSQL_CAPS).unwrap();
        let Command::StmtExecute { statement_id, flags, params } = cmd else { panic!("{cmd:?}") };
        assert_eq!((statement_id, flags), (1, 0));
        let mut types = Vec::new();
        let (_, vals) = parse_execute_params(params, 5, &mut types, &[]).unwrap();
        assert_eq!(
            vals,
            vec![
                Value::Int(1),
                Value::Bytes(b"alpha"),
                Value::Bytes(b"\x00\x01binary"),
                Value::Temporal("2026-11-24 09:30:15.123456".into()),
                Value::Bytes(b"12.345"),
            ]
        );
        // the types bound by this execute are remembered for the next one
        assert_eq!(types.len(), 5);
        let (_, Command::StmtExecute { params, .. }) = parse_command(td::EXECUTE_NULLS, PYMYSQL_CAPS).unwrap() else { panic!() };
        let (_, vals) = parse_execute_params(params, 5, &mut types, &[]).unwrap();
        assert_eq!(vals[1], Value::Null);
        assert_eq!(vals[2], Value::Null);
        assert_eq!(vals[3], Value::Temporal("2001-01-02 03:04:05".into()));
        for n in 0..params.len() {
            let mut t = types.clone();
            let _ = parse_execute_params(&params[..n], 5, &mut t, &[]);
        }
    }

    #[test]
    fn commands() {
        assert_eq!(
            parse_command(td::COM_QUERY, PYMYSQL_CAPS).unwrap().1,
            Command::Query { sql: b"SELECT id, name, price FROM items ORDER BY id", attrs: 0 }
        );
        assert_eq!(parse_command(td::CHANGE_USER, PYMYSQL_CAPS).unwrap().1, Command::ChangeUser { user: b"app", database: Some(b"shop") });
        assert_eq!(parse_command(&[0x0c, 7, 0, 0, 0], PYMYSQL_CAPS).unwrap().1, Command::ProcessKill { id: 7 });
        assert_eq!(parse_command(&[0x99, 1, 2], PYMYSQL_CAPS).unwrap().1, Command::Other { code: CommandCode(0x99) });
        assert_eq!(CommandCode(0x99).to_string(), "COM_UNKNOWN_0x99");
        // query attributes (CLIENT_QUERY_ATTRIBUTES): one string attribute, then the SQL
        let caps = Capabilities(PYMYSQL_CAPS.0 | Capabilities::QUERY_ATTRIBUTES);
        let mut q = vec![0x03, 1, 1, 0, 1, 0xfe, 0, 1, b'a', 2, b'h', b'i'];
        q.extend_from_slice(b"SELECT 1");
        assert_eq!(parse_command(&q, caps).unwrap().1, Command::Query { sql: b"SELECT 1", attrs: 1 });
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let hostile: &[&[u8]] = &[
            &[],
            &[0x0a],
            &[0x0a, b'x'],                                           // version without NUL
            &[0xff],                                                 // ERR without a code
            &[0x00, 0xff],                                           // OK with an invalid lenenc
            &[0x00, 0xfe, 1, 2],                                     // OK with a truncated 8-byte lenenc
            &[0x03, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // huge lenenc in column def
            &[0x17, 1, 0, 0],                                        // short COM_STMT_EXECUTE
            &[0x18, 1],                                              // short COM_STMT_SEND_LONG_DATA
            &[0x1e, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],       // BINLOG_DUMP_GTID with a hostile name length
        ];
        for h in hostile {
            let _ = parse_handshake_v10(h);
            let _ = parse_login_request(h);
            let _ = parse_ok(h, PYMYSQL_CAPS);
            let _ = parse_err(h);
            let _ = parse_eof(h);
            let _ = parse_prepare_ok(h);
            let _ = parse_column_def(h);
            let _ = parse_text_row(h, 8);
            let _ = parse_command(h, Capabilities(u32::MAX));
            let _ = parse_execute_params(h, 3, &mut Vec::new(), &[]);
            let _ = parse_execute_params(h, 100_000, &mut Vec::new(), &[]);
        }
        assert!(parse_command(&[0x17, 1, 0, 0], PYMYSQL_CAPS).is_err());
        assert!(parse_command(&[0x1e, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], PYMYSQL_CAPS).is_err());
        assert!(parse_execute_params(&[0; 4], 100_000, &mut Vec::new(), &[]).is_err(), "param count beyond the packet");
    }
}
