//! One module a command.

pub mod lock;
pub mod update;
pub mod write;
