//! Integration tests: one binary, several modules (ripgrep's layout).

mod captures;
mod cli;
mod corpus;
mod perturb;
mod util;
