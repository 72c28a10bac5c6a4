//! The `lockcheck` command as a library: the binary (`src/main.rs`) is one
//! call to [`main`]. Here live what only the command needs — argument
//! parsing (clap), the JSON and SARIF reports (serde), suppression files
//! (TOML) — so that none of it enters the build of a program that depends
//! on the `lockcheck` library.

#![warn(missing_docs)]

mod command;
pub mod report;
pub mod suppress;

pub use command::main;
