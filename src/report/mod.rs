//! Findings rendered for people and machines: every format in one place.

pub mod dot;
pub mod frames;
pub mod text;
