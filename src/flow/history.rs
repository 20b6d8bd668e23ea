//! Zeek-style connection history letters (S syn, H syn-ack, D data, F fin,
//! R rst; G gap added at the end): each letter once per side, in order of
//! first appearance, upper case for the client and lower case for the server.

use crate::config::flow::HISTORY_LETTERS;

/// The letters seen so far, per side of the flow (side 0 = the sender of the first packet).
#[derive(Clone, Copy, Debug, Default)]
pub struct History {
    codes: [u8; HISTORY_LETTERS],
    len: usize,
}

impl History {
    /// Notes letter `c` for `side`, once.
    pub fn push(&mut self, side: usize, c: u8) {
        // letters are stored per side and mapped to client/server case at the end
        let code = if side == 0 { c } else { c | 0x80 };
        if self.codes[..self.len].contains(&code) || self.len == self.codes.len() {
            return;
        }
        self.codes[self.len] = code;
        self.len += 1;
    }

    /// True when `side` sent letter `c` (a SYN: `b'S'` or `b'H'`).
    pub fn saw(&self, side: usize, c: u8) -> bool {
        let code = if side == 0 { c } else { c | 0x80 };
        self.codes[..self.len].contains(&code)
    }

    /// The history string, with `client_side` naming the client's side and a
    /// trailing `G` when the connection had gaps.
    pub fn render(&self, client_side: usize, gaps: bool) -> String {
        let mut out = String::with_capacity(self.len + 1);
        for &code in &self.codes[..self.len] {
            let side = usize::from(code & 0x80 != 0);
            let c = (code & 0x7f) as char;
            out.push(if side == client_side { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        }
        if gaps {
            out.push('G');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_once_per_side_in_order() {
        let mut h = History::default();
        for (side, c) in [(0, b'S'), (1, b'H'), (0, b'D'), (0, b'D'), (1, b'D'), (1, b'F'), (0, b'F')] {
            h.push(side, c);
        }
        assert_eq!(h.render(0, false), "ShDdfF");
        assert_eq!(h.render(1, true), "sHdDFfG");
    }
}
