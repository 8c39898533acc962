//! Who holds a lock: recorded by the holder, read by waiters to name it in messages.

use std::fmt;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The longest command line recorded, in characters.
const MAX_COMMAND_CHARS: usize = 200;

/// A lock holder's record, stored as one JSON object (the flock protocol writes it into the lock
/// file; the mkdir protocol next to the lock directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// Who acts (`--owner`, `$STET_OWNER`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The holder's command line, shortened.
    #[serde(default)]
    pub command: String,
    /// When it took the lock, RFC 3339.
    pub since: String,
}

impl Holder {
    /// A record for this process, taking the lock now.
    pub fn current(owner: Option<&str>) -> Self {
        Holder {
            pid: std::process::id(),
            host: host().to_owned(),
            owner: owner.map(str::to_owned),
            command: command_line().to_owned(),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a holder record always serializes")
    }

    pub(crate) fn parse(bytes: &[u8]) -> Option<Holder> {
        serde_json::from_slice(bytes).ok()
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)?;
        if let Some(owner) = &self.owner {
            write!(f, " (owner {owner})")?;
        }
        if !self.command.is_empty() {
            write!(f, ", running `{}`", self.command)?;
        }
        write!(f, ", since {}", self.since)
    }
}

fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(crate::sys::hostname)
}

fn command_line() -> &'static str {
    static COMMAND: OnceLock<String> = OnceLock::new();
    COMMAND.get_or_init(|| {
        let mut args = std::env::args();
        let program = args.next().unwrap_or_default();
        let program = std::path::Path::new(&program)
            .file_name()
            .map_or(program.clone(), |name| name.to_string_lossy().into_owned());
        let line = std::iter::once(program).chain(args).collect::<Vec<_>>().join(" ");
        if line.chars().count() > MAX_COMMAND_CHARS {
            line.chars().take(MAX_COMMAND_CHARS - 3).chain("...".chars()).collect()
        } else {
            line
        }
    })
}
