//! The `stet` command's integration tests: real processes racing, killed, and failing.

mod batch;
mod config;
mod doc;
mod doc_json;
mod doc_toml;
mod errors;
mod front_door;
mod help;
mod interop;
mod interrupts;
mod kill;
mod lease;
mod lock;
mod log;
mod log_safety;
mod new;
mod power;
mod safety_paths;
mod safety_write;
mod side_files;
mod support;
mod tx;
mod tx_load;
mod tx_power;
mod update;
mod write;
