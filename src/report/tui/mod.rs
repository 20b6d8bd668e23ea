//! The terminal UI (ratatui + crossterm): App state + `update(msg)` + a pure
//! `render(&app, frame)`; analysis runs off the UI thread and talks to it over
//! a bounded channel (see `run`).

pub mod app;
pub mod run;
pub mod view;
