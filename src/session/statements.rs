//! Prepared statements of one connection: their SQL and parameter types,
//! so COM_STMT_EXECUTE can be shown with its statement and decoded values.

use std::collections::HashMap;

/// One prepared statement.
#[derive(Clone, Debug, Default)]
pub struct Stmt {
    /// The prepared SQL (capped).
    pub sql: String,
    /// Parameters the server announced.
    pub num_params: u16,
    /// Parameter types from the last execute that sent them (type, flags).
    pub types: Vec<(u8, u8)>,
    /// Parameters sent with COM_STMT_SEND_LONG_DATA since the last execute.
    pub long_data: Vec<u16>,
}

/// The statements of one connection, by id, at most `cap` of them.
#[derive(Clone, Debug, Default)]
pub struct Statements {
    map: HashMap<u32, Stmt>,
}

impl Statements {
    /// The statement with `id`.
    pub fn get(&self, id: u32) -> Option<&Stmt> {
        self.map.get(&id)
    }

    /// The statement with `id`, mutably.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Stmt> {
        self.map.get_mut(&id)
    }

    /// Remembers `st` unless `cap` statements are known already (a known id is
    /// always replaced); false when it was not remembered.
    pub fn insert(&mut self, id: u32, st: Stmt, cap: usize) -> bool {
        if self.map.len() < cap || self.map.contains_key(&id) {
            self.map.insert(id, st);
            true
        } else {
            false
        }
    }

    /// Forgets `id` (COM_STMT_CLOSE).
    pub fn remove(&mut self, id: u32) {
        self.map.remove(&id);
    }

    /// Returns spare capacity to the allocator.
    pub fn shrink(&mut self) {
        self.map.shrink_to_fit();
    }
}
