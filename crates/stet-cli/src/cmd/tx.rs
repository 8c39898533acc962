//! `stet tx PLAN` and `stet recover`

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use stet::tx::{Outcome, Plan};
use stet::{Code, Error};

use crate::context::Context;

pub fn run(ctx: &Context, plan: &Path) -> Result<ExitCode, Error> {
    let text = if plan == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|err| {
            Error::new(Code::Io, format!("cannot read the plan from standard input: {err}"))
        })?;
        text
    } else {
        std::fs::read_to_string(plan).map_err(|err| {
            Error::io(plan, &err, "cannot read the plan")
                .with_message(format!("cannot read the plan {}: {err}; nothing was done", plan.display()))
        })?
    };
    let plan = Plan::from_json(&text)?;
    let committed = ctx.project.tx(&plan)?;
    if ctx.json {
        crate::print_json(&committed)?;
    } else if !ctx.quiet {
        let ops = committed.ops;
        crate::print_output(&format!("committed {ops} op{}", if ops == 1 { "" } else { "s" }))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn recover(ctx: &Context) -> Result<ExitCode, Error> {
    let recovered = ctx.project.recover()?;
    if ctx.json {
        crate::print_json(&recovered)?;
    } else if !ctx.quiet {
        let mut lines = Vec::new();
        for tx in &recovered.transactions {
            let outcome = match tx.outcome {
                Outcome::RolledForward => "finished (rolled forward)",
                Outcome::RolledBack => "undone (rolled back)",
            };
            lines.push(format!("transaction {} {outcome}", tx.id));
        }
        lines.extend(recovered.removed.iter().map(|path| format!("removed {}", path.display())));
        lines.extend(recovered.kept.iter().map(|kept| format!("kept {}: {}", kept.path.display(), kept.why)));
        if lines.is_empty() {
            lines.push("nothing to recover".to_owned());
        }
        crate::print_output(&lines.join("\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}
