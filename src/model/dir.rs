//! Packet direction and per-direction values.

use serde::Serialize;

/// Direction of a MySQL packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    /// 0 for client->server, 1 for server->client.
    pub fn idx(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
    /// `client` or `server`: who sent packets of this direction.
    pub fn sender(self) -> &'static str {
        match self {
            Dir::ToServer => "client",
            Dir::ToClient => "server",
        }
    }
}

/// A value per direction.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PerDir {
    /// Client to server.
    pub to_server: u64,
    /// Server to client.
    pub to_client: u64,
}

impl PerDir {
    /// Mutable access by direction.
    pub fn get_mut(&mut self, d: Dir) -> &mut u64 {
        match d {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }
    /// Value by direction.
    pub fn get(&self, d: Dir) -> u64 {
        match d {
            Dir::ToServer => self.to_server,
            Dir::ToClient => self.to_client,
        }
    }
}
