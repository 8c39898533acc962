//! One module a command.

pub mod batch;
pub mod doc;
pub mod lease;
pub mod lock;
pub mod log;
pub mod new;
pub mod tx;
pub mod update;
pub mod write;
