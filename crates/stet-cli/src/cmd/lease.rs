//! `stet lease acquire|renew|release|status|cleanup|run`

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use stet::Error;
use stet::duration::{self, Span};
use stet::project::{Cleanup, LeaseInfo};

use crate::child;
use crate::context::Context;
use crate::flags::LeaseCommand;

pub fn run(ctx: &Context, command: LeaseCommand) -> Result<ExitCode, Error> {
    let project = &ctx.project;
    match command {
        LeaseCommand::Acquire { paths, ttl, wait } => {
            let taken = project.lease_acquire(&paths, ttl_of(ttl.as_deref())?, wait_of(wait.as_deref())?)?;
            print_leases(ctx, &taken.leases, "leased")?;
        }
        LeaseCommand::Renew { paths, ttl } => {
            let renewed = project.lease_renew(&paths, ttl_of(ttl.as_deref())?)?;
            print_leases(ctx, &renewed.leases, "renewed")?;
        }
        LeaseCommand::Release { paths } => {
            let released = project.lease_release(&paths)?;
            if ctx.json {
                crate::print_json(&released)?;
            } else {
                crate::print_output(&format!("{} released", released.released))?;
            }
        }
        LeaseCommand::Status { paths } => {
            let found = project.lease_status(&paths)?;
            print_status(ctx, &found.leases)?;
        }
        LeaseCommand::Cleanup { expired } => {
            let removed = project.lease_cleanup(if expired { Cleanup::Expired } else { Cleanup::Owner })?;
            if ctx.json {
                crate::print_json(&removed)?;
            } else {
                let mut text = format!("{} released", removed.released.len());
                for lease in &removed.released {
                    let _ = write!(text, "\n  {} ({})", lease.path, lease.owner);
                }
                crate::print_output(&text)?;
            }
        }
        LeaseCommand::Run { paths, ttl, wait, command } => {
            return hold_while(ctx, &paths, ttl.as_deref(), wait.as_deref(), &command);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lease run`: COMMAND runs while the project holds and renews the leases.
fn hold_while(
    ctx: &Context,
    paths: &[PathBuf],
    ttl: Option<&str>,
    wait: Option<&str>,
    command: &[std::ffi::OsString],
) -> Result<ExitCode, Error> {
    let owner = ctx.project.owner().unwrap_or_default().to_owned();
    let outcome = ctx.project.lease_hold(paths, ttl_of(ttl)?, wait_of(wait)?, || {
        let env = vec![("STET_OWNER".into(), owner.clone().into())];
        child::run(command, &env, None, false, &child::Guard::EndWithStet)
    })??;
    Ok(ExitCode::from(outcome.exit_code()))
}

fn ttl_of(ttl: Option<&str>) -> Result<Option<Duration>, Error> {
    match ttl.map(duration::parse) {
        None => Ok(None),
        Some(Ok(Span::Finite(ttl))) => Ok(Some(ttl)),
        Some(Ok(Span::Infinite)) => {
            Err(Error::usage("--ttl must be a finite duration above 0, such as 30s or 10m"))
        }
        Some(Err(err)) => Err(Error::usage(format!("--ttl: {err}"))),
    }
}

fn wait_of(wait: Option<&str>) -> Result<Option<Duration>, Error> {
    match wait.map(duration::parse) {
        None => Ok(None),
        Some(Ok(Span::Finite(wait))) => Ok(Some(wait)),
        // The library saturates a wait too long for the clock to forever.
        Some(Ok(Span::Infinite)) => Ok(Some(Duration::MAX)),
        Some(Err(err)) => Err(Error::usage(format!("--wait: {err}"))),
    }
}

fn print_leases(ctx: &Context, leases: &[LeaseInfo], verb: &str) -> Result<(), Error> {
    let text = if ctx.json {
        serde_json::to_string(&serde_json::json!({ "leases": leases })).expect("results serialize to JSON")
    } else {
        leases
            .iter()
            .map(|lease| format!("{verb} {} to {} until {}", lease.path, lease.owner, lease.expires_at))
            .collect::<Vec<_>>()
            .join("\n")
    };
    crate::print_output(&text)
}

fn print_status(ctx: &Context, leases: &[LeaseInfo]) -> Result<(), Error> {
    if ctx.json {
        return crate::print_output(
            &serde_json::to_string(&serde_json::json!({ "leases": leases }))
                .expect("results serialize to JSON"),
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
                .lease
                .expires_at
                .duration_since(now)
                .map_or_else(|_| "expired".to_owned(), |left| format!("{}s left", left.as_secs()));
            [
                lease.path.clone(),
                lease.owner.clone(),
                left,
                format!("{}@{}", lease.pid, lease.host),
                lease.acquired_at.clone(),
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
