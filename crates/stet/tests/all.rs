//! The library's integration tests: one binary, a module per concept.

mod atomic;
mod confine;
mod doc;
mod doc_json;
mod doc_json_props;
mod doc_props;
mod doc_toml;
mod doc_toml_props;
mod doc_yaml;
mod doc_yaml_props;
mod entry;
mod lease;
mod lock;
mod lock_props;
mod log;
mod project;
mod support;
mod sweep;
mod tx;
mod update;
