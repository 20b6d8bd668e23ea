//! Integration tests: one binary, several modules (ripgrep's layout).

mod caps;
mod captures;
mod cli;
mod corpus;
mod linktypes;
mod parallel;
mod perturb;
mod schema;
mod tshark_diff;
mod tui;
mod util;
mod zeek;
