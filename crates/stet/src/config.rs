//! `.stet/config.toml`: optional settings for a project root.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::duration::{self, Span};
use crate::lock::Protocol;

/// Settings, after parsing; every field has the contract's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `lock.protocol` and `lock.stale`.
    pub protocol: Protocol,
    /// `lock.stale`, also when the protocol is flock (a `--lock-protocol mkdir` uses it).
    pub lock_stale: Duration,
    /// `lock.suffix`: the lock of `FILE` is `FILE` + this.
    pub lock_suffix: String,
    /// `lock.timeout`.
    pub lock_timeout: Span,
    /// `durability.sync`.
    pub sync: bool,
    /// `lease.ttl`.
    pub lease_ttl: Duration,
    /// `log.id_field`.
    pub log_id_field: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol: Protocol::Flock,
            lock_stale: Protocol::DEFAULT_STALE,
            lock_suffix: crate::lock::DEFAULT_SUFFIX.to_owned(),
            lock_timeout: Span::Finite(Duration::from_secs(5)),
            sync: true,
            lease_ttl: Duration::from_secs(30),
            log_id_field: "id".to_owned(),
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not valid TOML, or a key or value stet does not know.
    #[error("{}{}: {message}; fix or remove the configuration file", path.display(), line.map(|line| format!(" line {line}")).unwrap_or_default())]
    Malformed {
        /// The configuration file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The configuration file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct File {
    lock: LockSection,
    durability: DurabilitySection,
    lease: LeaseSection,
    log: LogSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LockSection {
    protocol: Option<ProtocolName>,
    timeout: Option<String>,
    stale: Option<String>,
    suffix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ProtocolName {
    Flock,
    Mkdir,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DurabilitySection {
    sync: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LeaseSection {
    ttl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LogSection {
    id_field: Option<String>,
}

impl Config {
    /// The configuration file of a root.
    pub fn path_in(root: &Path) -> PathBuf {
        root.join(".stet").join("config.toml")
    }

    /// Reads `ROOT/.stet/config.toml`; defaults when it does not exist.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let path = Self::path_in(root);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Io { path, source }),
        }
    }

    /// Parses configuration text; `path` is used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let malformed = |line, message| ConfigError::Malformed { path: path.to_path_buf(), line, message };
        let file: File = toml::from_str(text).map_err(|err| {
            let line = err.span().map(|span| text[..span.start].matches('\n').count() + 1);
            malformed(line, err.message().to_owned())
        })?;
        let span = |key: &str, value: &Option<String>| -> Result<Option<Span>, ConfigError> {
            value
                .as_deref()
                .map(|text| duration::parse(text).map_err(|err| malformed(None, format!("{key}: {err}"))))
                .transpose()
        };
        let finite = |key: &str, value: &Option<String>| -> Result<Option<Duration>, ConfigError> {
            match span(key, value)? {
                Some(Span::Infinite) => Err(malformed(None, format!("{key} must be finite"))),
                Some(Span::Finite(duration)) => Ok(Some(duration)),
                None => Ok(None),
            }
        };
        let defaults = Config::default();
        let stale = finite("lock.stale", &file.lock.stale)?.unwrap_or(Protocol::DEFAULT_STALE);
        let lock_suffix = file.lock.suffix.unwrap_or(defaults.lock_suffix);
        if !crate::lock::valid_suffix(&lock_suffix) {
            return Err(malformed(
                None,
                format!(
                    "lock.suffix {lock_suffix:?} must be a non-empty part of a file name (no `/`), such as \".lock\" or \".stet-lock\""
                ),
            ));
        }
        Ok(Config {
            lock_stale: stale,
            lock_suffix,
            protocol: match file.lock.protocol {
                None | Some(ProtocolName::Flock) => Protocol::Flock,
                Some(ProtocolName::Mkdir) => Protocol::Mkdir { stale },
            },
            lock_timeout: span("lock.timeout", &file.lock.timeout)?.unwrap_or(defaults.lock_timeout),
            sync: file.durability.sync.unwrap_or(defaults.sync),
            lease_ttl: match finite("lease.ttl", &file.lease.ttl)? {
                Some(ttl) => {
                    crate::lease::expiry(std::time::SystemTime::now(), ttl)
                        .map_err(|err| malformed(None, format!("lease.ttl: {err}")))?;
                    ttl
                }
                None => defaults.lease_ttl,
            },
            log_id_field: file.log.id_field.unwrap_or(defaults.log_id_field),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_and_typos_are_refused_with_their_line() {
        let example = "[lock]\nprotocol = \"mkdir\"\ntimeout = \"2s\"\nstale = \"4s\"\n\n[durability]\nsync = false\n\n[lease]\nttl = \"30s\"\n\n[log]\nid_field = \"event_id\"\n";
        let config = Config::parse(example, Path::new("c.toml")).expect("the example is valid");
        assert_eq!(config.protocol, Protocol::Mkdir { stale: Duration::from_secs(4) });
        assert_eq!(config.lock_timeout, Span::Finite(Duration::from_secs(2)));
        assert!(!config.sync);
        assert_eq!(config.log_id_field, "event_id");

        let typo = Config::parse("[lock]\n\nprotocl = \"mkdir\"\n", Path::new("c.toml")).unwrap_err();
        assert!(matches!(typo, ConfigError::Malformed { line: Some(3), .. }), "{typo}");
        let bad = Config::parse("[lock]\ntimeout = \"soon\"\n", Path::new("c.toml")).unwrap_err();
        assert!(bad.to_string().contains("lock.timeout"), "{bad}");
    }
}
