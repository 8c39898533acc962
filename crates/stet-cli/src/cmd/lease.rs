//! `stet lease acquire|renew|release|status|cleanup|run`

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use stet::duration::{self, Span};
use stet::lease::{Lease, Leases};

use crate::child;
use crate::context::Context;
use crate::failure::Failure;
use crate::flags::LeaseCommand;

pub fn run(ctx: &Context, command: LeaseCommand) -> Result<ExitCode, Failure> {
    let leases = ctx.leases()?;
    match command {
        LeaseCommand::Acquire { paths, ttl, wait } => {
            let (owner, ttl) = (owner(ctx)?, ttl_of(ctx, ttl.as_deref())?);
            let taken = acquire(&leases, &paths, owner, ttl, wait.as_deref())?;
            print_leases(ctx, &taken, "leased")?;
        }
        LeaseCommand::Renew { paths, ttl } => {
            let renewed = leases.renew(&paths, owner(ctx)?, ttl_of(ctx, ttl.as_deref())?)?;
            print_leases(ctx, &renewed, "renewed")?;
        }
        LeaseCommand::Release { paths } => {
            let released = leases.release(&paths, owner(ctx)?)?;
            let text = if ctx.json {
                json!({ "released": released }).to_string()
            } else {
                format!("{released} released")
            };
            crate::print_output(&text)?;
        }
        LeaseCommand::Status { paths } => {
            let found = leases.status(&paths, ctx.owner.as_deref())?;
            print_status(ctx, &found)?;
        }
        LeaseCommand::Cleanup { expired } => {
            let removed = match (expired, ctx.owner.as_deref()) {
                (true, _) => leases.cleanup_expired()?,
                (false, Some(owner)) => leases.cleanup_owner(owner)?,
                (false, None) => {
                    return Err(Failure::usage("cleanup needs --owner ID (or STET_OWNER), or --expired"));
                }
            };
            let text = if ctx.json {
                json!({ "released": removed.iter().map(lease_json).collect::<Vec<_>>() }).to_string()
            } else {
                let mut text = format!("{} released", removed.len());
                for lease in &removed {
                    let _ = write!(text, "\n  {} ({})", lease.path, lease.owner);
                }
                text
            };
            crate::print_output(&text)?;
        }
        LeaseCommand::Run { paths, ttl, wait, command } => {
            return hold_while(ctx, &leases, &paths, ttl.as_deref(), wait.as_deref(), &command);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lease run`: acquire, renew every third of the TTL while COMMAND runs, release when it ends.
fn hold_while(
    ctx: &Context,
    leases: &Leases,
    paths: &[std::path::PathBuf],
    ttl: Option<&str>,
    wait: Option<&str>,
    command: &[std::ffi::OsString],
) -> Result<ExitCode, Failure> {
    let (owner, ttl) = (owner(ctx)?, ttl_of(ctx, ttl)?);
    acquire(leases, paths, owner, ttl, wait)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let outcome = std::thread::scope(|scope| {
        let renewer = scope.spawn(move || -> Option<String> {
            loop {
                match stopped.recv_timeout(ttl / 3) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return None,
                }
                if let Err(err) = leases.renew(paths, owner, ttl) {
                    // Keep trying: a passing failure (a busy tree) must not drop the lease.
                    if !matches!(
                        err,
                        stet::lease::LeaseError::Busy { .. } | stet::lease::LeaseError::Io { .. }
                    ) {
                        return Some(err.to_string());
                    }
                    eprintln!("stet: warning: renewing the lease failed, retrying: {err}");
                }
            }
        });
        let env = vec![("STET_OWNER".into(), owner.into())];
        let outcome = child::run(command, &env, None, false, &child::Guard::EndWithStet);
        let _ = stop.send(());
        (outcome, renewer.join().unwrap_or(Some("the renewing thread failed".into())))
    });
    let (outcome, lost) = outcome;
    let released = leases.release(paths, owner);
    let outcome = outcome?;
    if let Some(reason) = lost {
        return Err(Failure::new(
            "ECOMPROMISED",
            format!("the lease was lost while the command ran ({reason}); its changes were not protected"),
        ));
    }
    if let Err(err) = released
        && !ctx.quiet
    {
        eprintln!("stet: warning: releasing the lease failed: {err}");
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

/// Acquires once, or with `--wait` until its deadline.
fn acquire(
    leases: &Leases,
    paths: &[std::path::PathBuf],
    owner: &str,
    ttl: Duration,
    wait: Option<&str>,
) -> Result<Vec<Lease>, Failure> {
    Ok(match wait_of(wait)? {
        Some(wait) => leases.acquire_waiting(paths, owner, ttl, wait)?,
        None => leases.acquire(paths, owner, ttl)?,
    })
}

fn owner(ctx: &Context) -> Result<&str, Failure> {
    ctx.owner
        .as_deref()
        .ok_or_else(|| Failure::usage("leases need an owner: pass --owner ID or set STET_OWNER"))
}

fn ttl_of(ctx: &Context, ttl: Option<&str>) -> Result<Duration, Failure> {
    match ttl.map(duration::parse) {
        None => Ok(ctx.lease_ttl),
        Some(Ok(Span::Finite(ttl))) if !ttl.is_zero() => match stet::lease::expiry(SystemTime::now(), ttl) {
            Ok(_) => Ok(ttl),
            Err(err) => Err(Failure::usage(format!("--ttl: {err}"))),
        },
        Some(Ok(_)) => Err(Failure::usage("--ttl must be a finite duration above 0, such as 30s or 10m")),
        Some(Err(err)) => Err(Failure::usage(format!("--ttl: {err}"))),
    }
}

fn wait_of(wait: Option<&str>) -> Result<Option<Duration>, Failure> {
    match wait.map(duration::parse) {
        None => Ok(None),
        Some(Ok(Span::Finite(wait))) => Ok(Some(wait)),
        // The library saturates a wait too long for the clock to forever.
        Some(Ok(Span::Infinite)) => Ok(Some(Duration::MAX)),
        Some(Err(err)) => Err(Failure::usage(format!("--wait: {err}"))),
    }
}

fn lease_json(lease: &Lease) -> Value {
    json!({
        "path": lease.path,
        "owner": lease.owner,
        "acquired_at": lease.acquired_text(),
        "expires_at": lease.expires_at_text(),
        "expired": lease.is_expired(SystemTime::now()),
        "pid": lease.pid,
        "host": lease.host,
    })
}

fn print_leases(ctx: &Context, leases: &[Lease], verb: &str) -> Result<(), Failure> {
    let text = if ctx.json {
        json!({ "leases": leases.iter().map(lease_json).collect::<Vec<_>>() }).to_string()
    } else {
        leases
            .iter()
            .map(|lease| {
                format!("{verb} {} to {} until {}", lease.path, lease.owner, lease.expires_at_text())
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    crate::print_output(&text)
}

fn print_status(ctx: &Context, leases: &[Lease]) -> Result<(), Failure> {
    if ctx.json {
        return crate::print_output(
            &json!({ "leases": leases.iter().map(lease_json).collect::<Vec<_>>() }).to_string(),
        );
    }
    if leases.is_empty() {
        return crate::print_output("no leases");
    }
    let now = SystemTime::now();
    let rows: Vec<[String; 5]> = leases
        .iter()
        .map(|lease| {
            let left = lease
                .expires_at
                .duration_since(now)
                .map_or_else(|_| "expired".to_owned(), |left| format!("{}s left", left.as_secs()));
            [
                lease.path.clone(),
                lease.owner.clone(),
                left,
                format!("{}@{}", lease.pid, lease.host),
                lease.acquired_text(),
            ]
        })
        .collect();
    let header = ["PATH", "OWNER", "EXPIRES", "PID@HOST", "ACQUIRED"];
    let widths: Vec<usize> = (0..5)
        .map(|at| rows.iter().map(|row| row[at].len()).chain([header[at].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: [&str; 5]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut text = line(header);
    for row in &rows {
        text.push('\n');
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    crate::print_output(&text)
}
