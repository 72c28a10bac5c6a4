//! Findings rendered for people and machines: the library's text and DOT
//! renderers, and the machine formats only the command writes.

pub mod json;
pub mod sarif;

pub use lockcheck::report::{dot, frames, text};
