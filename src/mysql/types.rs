//! Wire enums as newtypes (rusticata style): unknown values are kept, never an error.

use std::fmt;

/// A command byte (the first payload byte of a client request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandCode(pub u8);

macro_rules! commands {
    ($($name:ident = $v:expr, $s:expr;)*) => {
        impl CommandCode {
            $( #[doc = $s] pub const $name: CommandCode = CommandCode($v); )*
            /// The protocol name, e.g. `COM_QUERY`; `None` for unknown codes.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $( $v => Some($s), )* _ => None }
            }
        }
    };
}

commands! {
    SLEEP = 0x00, "COM_SLEEP";
    QUIT = 0x01, "COM_QUIT";
    INIT_DB = 0x02, "COM_INIT_DB";
    QUERY = 0x03, "COM_QUERY";
    FIELD_LIST = 0x04, "COM_FIELD_LIST";
    CREATE_DB = 0x05, "COM_CREATE_DB";
    DROP_DB = 0x06, "COM_DROP_DB";
    REFRESH = 0x07, "COM_REFRESH";
    SHUTDOWN = 0x08, "COM_SHUTDOWN";
    STATISTICS = 0x09, "COM_STATISTICS";
    PROCESS_INFO = 0x0a, "COM_PROCESS_INFO";
    CONNECT = 0x0b, "COM_CONNECT";
    PROCESS_KILL = 0x0c, "COM_PROCESS_KILL";
    DEBUG = 0x0d, "COM_DEBUG";
    PING = 0x0e, "COM_PING";
    TIME = 0x0f, "COM_TIME";
    DELAYED_INSERT = 0x10, "COM_DELAYED_INSERT";
    CHANGE_USER = 0x11, "COM_CHANGE_USER";
    BINLOG_DUMP = 0x12, "COM_BINLOG_DUMP";
    TABLE_DUMP = 0x13, "COM_TABLE_DUMP";
    CONNECT_OUT = 0x14, "COM_CONNECT_OUT";
    REGISTER_SLAVE = 0x15, "COM_REGISTER_SLAVE";
    STMT_PREPARE = 0x16, "COM_STMT_PREPARE";
    STMT_EXECUTE = 0x17, "COM_STMT_EXECUTE";
    STMT_SEND_LONG_DATA = 0x18, "COM_STMT_SEND_LONG_DATA";
    STMT_CLOSE = 0x19, "COM_STMT_CLOSE";
    STMT_RESET = 0x1a, "COM_STMT_RESET";
    SET_OPTION = 0x1b, "COM_SET_OPTION";
    STMT_FETCH = 0x1c, "COM_STMT_FETCH";
    DAEMON = 0x1d, "COM_DAEMON";
    BINLOG_DUMP_GTID = 0x1e, "COM_BINLOG_DUMP_GTID";
    RESET_CONNECTION = 0x1f, "COM_RESET_CONNECTION";
    CLONE = 0x20, "COM_CLONE";
    STMT_BULK_EXECUTE = 0xfa, "COM_STMT_BULK_EXECUTE";
}

impl CommandCode {
    /// Commands the server never answers.
    pub fn expects_no_response(self) -> bool {
        matches!(self, CommandCode::QUIT | CommandCode::STMT_SEND_LONG_DATA | CommandCode::STMT_CLOSE)
    }
}

impl fmt::Display for CommandCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "COM_UNKNOWN_0x{:02x}", self.0),
        }
    }
}

/// Capability flags (lower 32 bits; MariaDB's extended flags are kept apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities(pub u32);

impl Capabilities {
    /// CLIENT_LONG_PASSWORD (MariaDB: CLIENT_MYSQL; unset means MariaDB extended caps).
    pub const LONG_PASSWORD: u32 = 1;
    /// CLIENT_CONNECT_WITH_DB
    pub const CONNECT_WITH_DB: u32 = 1 << 3;
    /// CLIENT_COMPRESS
    pub const COMPRESS: u32 = 1 << 5;
    /// CLIENT_LOCAL_FILES
    pub const LOCAL_FILES: u32 = 1 << 7;
    /// CLIENT_PROTOCOL_41
    pub const PROTOCOL_41: u32 = 1 << 9;
    /// CLIENT_SSL
    pub const SSL: u32 = 1 << 11;
    /// CLIENT_TRANSACTIONS
    pub const TRANSACTIONS: u32 = 1 << 13;
    /// CLIENT_SECURE_CONNECTION
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    /// CLIENT_MULTI_STATEMENTS
    pub const MULTI_STATEMENTS: u32 = 1 << 16;
    /// CLIENT_MULTI_RESULTS
    pub const MULTI_RESULTS: u32 = 1 << 17;
    /// CLIENT_PLUGIN_AUTH
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    /// CLIENT_CONNECT_ATTRS
    pub const CONNECT_ATTRS: u32 = 1 << 20;
    /// CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    pub const AUTH_LENENC: u32 = 1 << 21;
    /// CLIENT_SESSION_TRACK
    pub const SESSION_TRACK: u32 = 1 << 23;
    /// CLIENT_DEPRECATE_EOF
    pub const DEPRECATE_EOF: u32 = 1 << 24;
    /// CLIENT_QUERY_ATTRIBUTES (MySQL 8.0.23+)
    pub const QUERY_ATTRIBUTES: u32 = 1 << 27;
    /// CLIENT_ZSTD_COMPRESSION_ALGORITHM (MySQL 8.0.18+)
    pub const ZSTD: u32 = 1 << 26;

    /// True when every bit of `f` is set.
    pub fn has(self, f: u32) -> bool {
        self.0 & f == f
    }
}

/// Server status flags from OK/EOF packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusFlags(pub u16);

impl StatusFlags {
    /// SERVER_MORE_RESULTS_EXISTS
    pub const MORE_RESULTS: u16 = 0x0008;
    /// SERVER_STATUS_CURSOR_EXISTS
    pub const CURSOR_EXISTS: u16 = 0x0040;
    /// SERVER_SESSION_STATE_CHANGED
    pub const SESSION_STATE_CHANGED: u16 = 0x4000;

    /// True when more result sets follow.
    pub fn more_results(self) -> bool {
        self.0 & Self::MORE_RESULTS != 0
    }
}
