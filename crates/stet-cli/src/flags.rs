//! The command line, parsed into typed commands.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The exit codes, shown under `--help`.
const EXIT_CODES: &str = "Exit codes: 0 ok, 1 I/O error, 2 usage error, 3 conflict (EEXIST, ECOMPROMISED, ECONFLICT, ELEASED), \
65 malformed input, 75 lock timeout; update and lock exit with COMMAND's status when it fails.";

/// stet: safe concurrent, crash-safe changes to shared plain-text files.
#[derive(Debug, Parser)]
#[command(
    name = "stet",
    version,
    about = "Safe concurrent, crash-safe changes to the plain-text files people, tools and agents share",
    after_help = EXIT_CODES,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each is a documented flag
pub struct Global {
    /// The project root (default: $STET_ROOT, else the nearest ancestor holding .stet/ or .git/)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Machine output: results as JSON on stdout, stderr only JSON lines (notices, then the error last)
    #[arg(long, global = true)]
    pub json: bool,
    /// How long to wait for a lock: 250ms, 5s, 2m, 0 (try once), inf (default: lock.timeout, 5s)
    #[arg(long, global = true, value_name = "DUR")]
    pub timeout: Option<String>,
    /// Skip fsync: still atomic, not durable across power loss
    #[arg(long, global = true)]
    pub no_sync: bool,
    /// Who is acting, recorded in lock metadata
    #[arg(long, global = true, value_name = "ID", env = "STET_OWNER")]
    pub owner: Option<String>,
    /// Write even under another owner's lease
    #[arg(long, global = true)]
    pub ignore_leases: bool,
    /// The lock protocol: flock, or mkdir to share files with npm proper-lockfile (default: lock.protocol, flock)
    #[arg(long, global = true, value_name = "PROTOCOL", env = "STET_LOCK_PROTOCOL", value_parser = ["flock", "mkdir"])]
    pub lock_protocol: Option<String>,
    /// Replace a file that has several hard links (its other names keep the old content)
    #[arg(long, global = true)]
    pub break_links: bool,
    /// Say less on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more on stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replace FILE with standard input, atomically and durably
    Write {
        /// The file to write (symlinks are written through)
        file: PathBuf,
        /// Fail with EEXIST (exit 3) if FILE exists
        #[arg(long)]
        create_new: bool,
        /// Permission bits for FILE, in octal (default: keep FILE's, or 0666 minus umask)
        #[arg(long, value_name = "OCTAL", value_parser = parse_mode)]
        mode: Option<u32>,
    },
    /// Under FILE's lock, replace FILE with what COMMAND prints when given FILE on stdin
    Update {
        /// The file to update
        file: PathBuf,
        /// The command and its arguments
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
    /// Print a document (frontmatter, YAML, JSON or TOML) as JSON, or the value at KEY
    Get {
        /// The document
        file: PathBuf,
        /// A dotted key path (a string prints raw, anything else as JSON)
        key: Option<String>,
        /// The document's format, when the extension does not say: md, yaml, json or toml
        #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
        format: Option<stet::doc::Format>,
        /// Print {"value", "version"} from one read (for an optimistic save)
        #[arg(long)]
        with_version: bool,
    },
    /// Set keys of a document, keeping everything else byte for byte
    Set(AssignArgs),
    /// Remove keys of a document, with their own comment lines
    Unset {
        /// The document
        file: PathBuf,
        /// Dotted key paths
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
        #[command(flatten)]
        options: EditOptions,
    },
    /// Append to lists of a document, creating them if absent
    Push(AssignArgs),
    /// Apply an RFC 7396 merge patch (JSON or YAML, on stdin) to a document
    Merge {
        /// The document (created if missing)
        file: PathBuf,
        #[command(flatten)]
        options: EditOptions,
    },
    /// Print the version of FILE (a digest of its bytes; `none` if it does not exist)
    Version {
        /// The file
        file: PathBuf,
    },
    /// Create the next numbered entry of DIR (specs/004-login-flow/), complete or not at all
    New {
        /// The directory of entries
        dir: PathBuf,
        /// The entry's slug (login-flow)
        #[arg(long)]
        slug: String,
        /// The entry's name: {seq} or {seq:0N}, and {slug}
        #[arg(long, default_value = stet::entry::DEFAULT_PATTERN)]
        pattern: String,
        /// A template file, or a directory copied whole ({{seq}}, {{slug}}, {{name}}, {{date}} filled in)
        #[arg(long, value_name = "PATH")]
        template: Option<PathBuf>,
        /// KEY=VALUE set in the entry's main document (a YAML flow value)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        assignments: Vec<String>,
    },
    /// Event logs (NDJSON): append, read, verify, repair
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Leases: an owner's exclusive right to change paths, across processes, for a while
    Lease {
        #[command(subcommand)]
        command: LeaseCommand,
    },
    /// Run COMMAND while holding FILE's lock
    Lock {
        /// The file to lock
        file: PathBuf,
        /// Share the lock with other --shared holders
        #[arg(long)]
        shared: bool,
        /// The command and its arguments
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
    /// Run a plan of changes to several files as one transaction: all of them or none, even across a crash
    Tx {
        /// The plan, {"ops": [...]}: a JSON file, or - for standard input
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
    },
    /// Finish or undo interrupted transactions and remove what crashed processes left behind
    Recover,
    /// Answer JSON-lines requests on stdin, one response line each on stdout, in order
    #[command(
        long_about = "Answer JSON-lines requests on stdin, one response line each on stdout, in order, \
flushed after each: {\"id\", \"op\", ...args} in, {\"id\", \"ok\", \"result\"|\"error\"} out. \
Ops: get set unset push merge version write new log.append log.read log.verify log.repair \
lease.acquire lease.renew lease.release lease.status lease.cleanup tx. The global flags apply to every \
request; a request may set \"owner\" and \"timeout\". See README, \"stet batch\"."
    )]
    Batch,
    /// Print a shell completion script
    Completions {
        /// The shell: bash, zsh or fish
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Append EVENT, or one event per line of standard input; flushed before success
    Append {
        /// The log (created if missing)
        log: PathBuf,
        /// One JSON event (default: read events from standard input, one per line)
        event: Option<String>,
        /// The field that identifies an event, for idempotent appends (default: log.id_field, `id`)
        #[arg(long, value_name = "FIELD", conflicts_with = "content_id")]
        id_field: Option<String>,
        /// Identify events by their canonical content
        #[arg(long)]
        content_id: bool,
    },
    /// Print the log's events as NDJSON, never a torn tail
    Read {
        /// The log
        log: PathBuf,
        /// Start at the first line that starts at or after this byte offset
        #[arg(long, value_name = "OFFSET", default_value_t = 0)]
        from: u64,
        /// Print at most N events
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Keep printing events as they are appended
        #[arg(long)]
        follow: bool,
        /// Print {"offset", "next", "event"} for each event
        #[arg(long)]
        with_offsets: bool,
    },
    /// Report lines, bytes, torn tail and corrupt lines; exit 65 unless clean
    Verify {
        /// The log
        log: PathBuf,
    },
    /// Move the torn tail and corrupt lines into LOG.rejected
    Repair {
        /// The log
        log: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Lease PATHs to --owner, all or none (renews those it already holds)
    Acquire {
        /// Files or directories (a directory's lease covers everything below it)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// How long the lease lasts unless renewed (default: lease.ttl, 30s)
        #[arg(long, value_name = "DUR")]
        ttl: Option<String>,
        /// Keep trying for this long while another owner holds an overlapping lease
        #[arg(long, value_name = "DUR")]
        wait: Option<String>,
    },
    /// Extend --owner's leases on PATHs to --ttl from now
    Renew {
        /// Paths --owner holds leases on
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The new lifetime, from now (default: lease.ttl, 30s)
        #[arg(long, value_name = "DUR")]
        ttl: Option<String>,
    },
    /// Release --owner's leases on PATHs
    Release {
        /// Paths --owner holds leases on (one not held is not an error)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List leases (of --owner, overlapping PATHs when given)
    Status {
        /// Only leases overlapping these paths (default: all)
        paths: Vec<PathBuf>,
    },
    /// Release everything --owner holds, or remove every expired lease
    Cleanup {
        /// Remove expired leases instead of --owner's
        #[arg(long)]
        expired: bool,
    },
    /// Hold leases on PATHs, renewed, while COMMAND runs; release them when it ends
    Run {
        /// Files or directories to lease to --owner while COMMAND runs
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The lease's lifetime, renewed every third of it (default: lease.ttl, 30s)
        #[arg(long, value_name = "DUR")]
        ttl: Option<String>,
        /// Keep trying for this long while another owner holds an overlapping lease
        #[arg(long, value_name = "DUR")]
        wait: Option<String>,
        /// The command and its arguments
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
}

/// `stet set` and `stet push`: a document and KEY=VALUE pairs.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The document (created if missing)
    pub file: PathBuf,
    /// KEY=VALUE: a dotted key path and a YAML flow value (done, 3, true, [a, b], {x: 1})
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub assignments: Vec<String>,
    /// Take each VALUE literally as a string
    #[arg(long)]
    pub string: bool,
    #[command(flatten)]
    pub options: EditOptions,
}

/// Options of the commands that edit a document.
#[derive(Debug, Args)]
pub struct EditOptions {
    /// Edit only if FILE is still at this version (as `stet version` prints; `none`: must not exist)
    #[arg(long, value_name = "V", value_parser = parse_version)]
    pub if_version: Option<stet::Version>,
    /// A missing FILE is ENOTFOUND (exit 1) instead of being created
    #[arg(long)]
    pub must_exist: bool,
    /// The document's format, when the extension does not say: md, yaml, json or toml
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<stet::doc::Format>,
}

fn parse_version(text: &str) -> Result<stet::Version, String> {
    text.parse().map_err(|err: stet::version::ParseVersionError| err.to_string())
}

fn parse_format(text: &str) -> Result<stet::doc::Format, String> {
    stet::doc::Format::from_name(text)
        .ok_or_else(|| format!("{text:?} is not a format: use md, yaml, json or toml"))
}

fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 && !digits.is_empty() => Ok(mode),
        _ => Err(format!("{text:?} is not an octal mode such as 644 or 0600")),
    }
}

/// A key that starts with `-` reads as a flag: for the document commands, the usage error says
/// to put it after `--`, with the user's own arguments (`stet set FILE -- -k=v`).
pub fn hint_keys_after_double_dash(mut err: clap::Error, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    const KEYED: [&str; 4] = ["get", "set", "unset", "push"];
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let Some(ContextValue::String(flag)) = err.get(ContextKind::InvalidArg).cloned() else { return err };
    let Some(command) = args.iter().position(|arg| KEYED.contains(&arg.as_str())) else { return err };
    let rest = &args[command + 1..];
    let takes_value = |arg: &String| arg == "--if-version" || arg == "--format";
    let file = rest
        .iter()
        .enumerate()
        .find(|(at, arg)| !arg.starts_with('-') && (*at == 0 || !takes_value(&rest[at - 1])));
    let Some((_, file)) = file else { return err };
    let keys: Vec<&str> =
        rest.iter().filter(|arg| arg.starts_with(flag.as_str())).map(String::as_str).collect();
    let Some(first) = keys.first() else { return err };
    let suggestion =
        format!("a key that starts with `-` goes after `--`: `stet {} {file} -- {first}`", args[command]);
    err.insert(ContextKind::Suggested, ContextValue::StyledStrs(vec![suggestion.into()]));
    err
}
