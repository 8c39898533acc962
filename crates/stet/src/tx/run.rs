//! Running a transaction: resolve, lock, check and compute everything, stage, commit, apply.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::journal::{self, Content, Journal, Step};
use super::{Committed, Context, OpKind, OpResult, Plan, TxError, apply};
use crate::atomic::{Durability, Staged, WriteError};
use crate::doc::{Document, Edit, Format};
use crate::entry::{self, NewEntry, StagedEntry};
use crate::fs::{Fs, IoError};
use crate::log::{self, Access, Prepared};
use crate::version::Version;

/// What a transaction does to one file, as its ops are evaluated in order.
#[derive(Debug)]
struct FileChange {
    /// The file as the first op that named it named it.
    given: PathBuf,
    original: Option<Vec<u8>>,
    version: Version,
    current: Option<Vec<u8>>,
    /// The last op that changed it (named in a staging error).
    last_op: usize,
}

/// What an op is to the transaction's bookkeeping.
enum Role {
    File,
    Log(usize),
    Dir,
}

/// Runs `plan` as one transaction; see the [module documentation](super).
pub fn run(ctx: &Context, plan: &Plan) -> Result<Committed, TxError> {
    let fs = &**ctx.locker.file_system();
    let sync = ctx.writer.durability_policy() == Durability::Sync;
    if plan.ops.is_empty() {
        return Ok(Committed { committed: true, ops: 0, results: Vec::new() });
    }
    let resolved = resolve_all(fs, ctx, plan)?;
    let lock_paths: Vec<&Path> = resolved.iter().map(PathBuf::as_path).collect();
    let locks = ctx.locker.lock_all(&lock_paths)?;

    let Evaluated { files, logs, entries, mut results } = evaluate_plan(ctx, plan, &resolved)?;

    // Entries are built aside and their names made durable before the commit point: they cannot
    // be rebuilt from the journal.
    let staged_entries = stage_entries(ctx, plan, &resolved, &entries, &mut results)?;
    if sync {
        let mut dirs: Vec<&Path> = staged_entries.iter().filter_map(|entry| entry.staged.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            fs.sync_dir(dir).map_err(|source| IoError { path: dir.to_path_buf(), step: "fsync", source })?;
        }
    }

    let (steps, replaced) = steps_of(&files, &logs, &staged_entries);
    if steps.is_empty() {
        drop(locks);
        return Ok(Committed { committed: true, ops: plan.ops.len(), results: finish(results, &logs) });
    }
    if let [step @ (Step::Replace { .. } | Step::Delete { .. })] = steps.as_slice() {
        apply_alone(ctx, step, &replaced)?;
        drop(locks);
        return Ok(Committed { committed: true, ops: plan.ops.len(), results: finish(results, &logs) });
    }

    let journal = Journal {
        format: journal::FORMAT.to_owned(),
        id: journal::new_id(),
        pid: std::process::id(),
        host: crate::sys::hostname(),
        created_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        locks: locks.iter().map(|lock| lock.path().to_path_buf()).collect(),
        steps,
    };
    // An interrupt waits until the transaction is finished: it never leaves one half applied.
    let _held_off = crate::interrupt::hold_off();
    // The new contents are staged (written, fsynced) while the journal is committed: the journal
    // holds them too, so the staged copies need only be durable before they are renamed.
    let (staged, committed) = std::thread::scope(|scope| {
        let staging = scope.spawn(|| stage_files(ctx, &replaced));
        let committed = journal::commit(fs, &ctx.root, &journal, sync);
        (staging.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), committed)
    });
    let committed = committed?;
    let staged = match staged {
        Ok(staged) => staged,
        Err(err) => {
            // Nothing is applied yet: taking the journal back undoes the commit.
            journal::remove(fs, &ctx.root, &committed.path, sync)
                .map_err(|source| TxError::Unfinished { journal: committed.path.clone(), source })?;
            return Err(err);
        }
    };
    for entry in staged_entries {
        entry.keep();
    }
    let temps: HashMap<PathBuf, PathBuf> =
        staged.into_iter().map(|staged| (staged.target().to_path_buf(), staged.keep())).collect();
    apply::apply(fs, &journal.steps, &temps, sync)
        .map_err(|source| TxError::Unfinished { journal: committed.path.clone(), source })?;
    journal::remove(fs, &ctx.root, &committed.path, sync)
        .map_err(|source| TxError::Unfinished { journal: committed.path.clone(), source })?;
    drop(committed);
    drop(locks);
    Ok(Committed { committed: true, ops: plan.ops.len(), results: finish(results, &logs) })
}

/// A plan whose whole effect is one file replaced or deleted needs no journal: one rename (or
/// unlink) is all or nothing by itself, as a single-file command's is.
fn apply_alone(ctx: &Context, step: &Step, replaced: &[ToStage<'_>]) -> Result<(), TxError> {
    let _held_off = crate::interrupt::hold_off();
    if let (Step::Replace { .. }, [(target, bytes, op)]) = (step, replaced) {
        let staged = ctx.writer.stage(target, bytes).map_err(|source| TxError::Write { op: *op, source })?;
        staged.commit().map_err(|source| TxError::Write { op: *op, source })?;
        return Ok(());
    }
    let sync = ctx.writer.durability_policy() == Durability::Sync;
    apply::apply(&**ctx.locker.file_system(), std::slice::from_ref(step), &HashMap::new(), sync)
        .map_err(TxError::Io)
}

/// A file to stage: its target, its content, and the op named if staging fails.
type ToStage<'a> = (&'a Path, &'a [u8], usize);

/// The plan's ops applied in memory, in order.
struct Evaluated {
    files: BTreeMap<PathBuf, FileChange>,
    logs: Vec<(usize, PathBuf, Prepared)>,
    entries: Vec<usize>,
    results: Vec<Option<OpResult>>,
}

/// Evaluates every op in memory, in order, under the locks, before anything is written.
fn evaluate_plan(ctx: &Context, plan: &Plan, resolved: &[PathBuf]) -> Result<Evaluated, TxError> {
    let fs = &**ctx.locker.file_system();
    let mut files: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
    let mut logs: Vec<(usize, PathBuf, Prepared)> = Vec::new();
    let mut entries: Vec<usize> = Vec::new();
    let mut results: Vec<Option<OpResult>> = vec![None; plan.ops.len()];
    for (index, op) in plan.ops.iter().enumerate() {
        let target = &resolved[index];
        if let OpKind::Append { path, events, ids } = &op.kind {
            check_version(fs, index, target, op.if_version)?;
            logs.push((index, target.clone(), prepare_log(ctx, index, path, target, events, ids.as_ref())?));
            continue;
        }
        if let OpKind::New { .. } = &op.kind {
            entries.push(index);
            continue;
        }
        if !files.contains_key(target) {
            let original = read(fs, index, target)?;
            files.insert(
                target.clone(),
                FileChange {
                    given: op.kind.path().to_path_buf(),
                    version: Version::of_optional(original.as_deref()),
                    current: original.clone(),
                    original,
                    last_op: index,
                },
            );
        }
        let copied = match &op.kind {
            OpKind::Copy { from, .. } => Some(copy_source(fs, index, from, &files)?),
            _ => None,
        };
        let change = files.get_mut(target).expect("inserted above");
        if let Some(expected) = op.if_version
            && expected != change.version
        {
            return Err(TxError::Conflict {
                op: index,
                path: target.clone(),
                expected,
                found: change.version,
            });
        }
        change.last_op = index;
        results[index] = Some(evaluate(index, &op.kind, change, copied)?);
    }
    for change in files.values() {
        if change.current.is_none() && change.original.is_some() {
            check_deletable(fs, change.last_op, change)?;
        }
    }

    Ok(Evaluated { files, logs, entries, results })
}

/// The journal's steps, and the files to stage (target, content, the op named if staging fails).
fn steps_of<'a>(
    files: &'a BTreeMap<PathBuf, FileChange>,
    logs: &[(usize, PathBuf, Prepared)],
    staged_entries: &[StagedEntry<'_>],
) -> (Vec<Step>, Vec<ToStage<'a>>) {
    let mut steps = Vec::new();
    let mut replaced = Vec::new();
    for (target, change) in files {
        match &change.current {
            Some(bytes) if change.current != change.original => {
                steps.push(Step::Replace {
                    path: target.clone(),
                    old: change.version.to_string(),
                    new: Version::of(bytes).to_string(),
                    content: Content::of(bytes),
                });
                replaced.push((target.as_path(), bytes.as_slice(), change.last_op));
            }
            None if change.original.is_some() => {
                steps.push(Step::Delete { path: target.clone(), old: change.version.to_string() });
            }
            _ => {}
        }
    }
    for (_, target, prepared) in logs {
        if !prepared.bytes.is_empty() {
            steps.push(Step::Append {
                path: target.clone(),
                offset: prepared.end,
                content: Content::of(&prepared.bytes),
            });
        }
    }
    for entry in staged_entries {
        steps.push(Step::Publish { path: entry.path.clone(), temp: entry.staged.clone() });
    }
    (steps, replaced)
}

/// Each op's resolved file (the directory, for `new`), refusing plans that mix a log with other
/// changes to the same file, or that leave the root's file system.
fn resolve_all(fs: &dyn Fs, ctx: &Context, plan: &Plan) -> Result<Vec<PathBuf>, TxError> {
    let root_device = device(fs, &ctx.root).map_err(|source| IoError {
        path: ctx.root.clone(),
        step: "inspect",
        source,
    })?;
    let mut roles: HashMap<PathBuf, Role> = HashMap::new();
    let mut resolved = Vec::with_capacity(plan.ops.len());
    for (index, op) in plan.ops.iter().enumerate() {
        let path = op.kind.path();
        let target = match &op.kind {
            OpKind::New { .. } => {
                entry::ensure_dir(fs, path).map_err(|source| TxError::Entry { op: index, source })?;
                crate::target::resolve(fs, path)
            }
            _ => crate::target::resolve_for_write(fs, path).map(|(target, _)| target),
        }
        .map_err(|source| IoError { path: path.to_path_buf(), step: "resolve", source })?;
        let role = match op.kind {
            OpKind::Append { .. } => Role::Log(index),
            OpKind::New { .. } => Role::Dir,
            _ => Role::File,
        };
        match (roles.get(&target), &role) {
            (None, _) | (Some(Role::File), Role::File) | (Some(Role::Dir), Role::Dir) => {}
            (Some(Role::Log(first)), Role::Log(_)) => {
                return Err(TxError::Plan {
                    op: Some(index),
                    message: format!(
                        "op {index} appends to {} as op {first} does: put the events of both in one op's \"events\"",
                        path.display()
                    ),
                });
            }
            (Some(_), _) => {
                return Err(TxError::Plan {
                    op: Some(index),
                    message: format!(
                        "op {index} ({}): {} is changed as a log, a file and a directory of entries by different ops; a transaction uses each path one way",
                        op.kind.name(),
                        path.display()
                    ),
                });
            }
        }
        roles.insert(target.clone(), role);
        let dir = match op.kind {
            OpKind::New { .. } => target.as_path(),
            _ => target.parent().unwrap_or(&target),
        };
        let same =
            device(fs, dir).map_err(|source| IoError { path: dir.to_path_buf(), step: "inspect", source })?;
        if same != root_device {
            return Err(TxError::CrossDevice { op: index, path: path.to_path_buf(), root: ctx.root.clone() });
        }
        resolved.push(target);
    }
    Ok(resolved)
}

fn device(fs: &dyn Fs, path: &Path) -> std::io::Result<u64> {
    fs.metadata(path).map(|meta| crate::sys::file_id(&meta).0)
}

fn read(fs: &dyn Fs, op: usize, target: &Path) -> Result<Option<Vec<u8>>, TxError> {
    crate::fs::read_optional(fs, target).map_err(|source| match crate::fs::not_regular_file(&source) {
        Some(kind) => TxError::Refused {
            op,
            path: target.to_path_buf(),
            what: kind.describe(),
            why: "a transaction changes regular files only",
        },
        None => TxError::Io(IoError { path: target.to_path_buf(), step: "read", source }),
    })
}

fn check_version(fs: &dyn Fs, op: usize, target: &Path, expected: Option<Version>) -> Result<(), TxError> {
    let Some(expected) = expected else { return Ok(()) };
    let found = Version::of_optional(read(fs, op, target)?.as_deref());
    if found != expected {
        return Err(TxError::Conflict { op, path: target.to_path_buf(), expected, found });
    }
    Ok(())
}

/// The content `copy` copies: the source as this transaction has it so far.
fn copy_source(
    fs: &dyn Fs,
    op: usize,
    from: &Path,
    files: &BTreeMap<PathBuf, FileChange>,
) -> Result<Vec<u8>, TxError> {
    let source = crate::target::resolve(fs, from).map_err(|source| IoError {
        path: from.to_path_buf(),
        step: "resolve",
        source,
    })?;
    let bytes = match files.get(&source) {
        Some(change) => change.current.clone(),
        None => read(fs, op, &source)?,
    };
    bytes.ok_or_else(|| TxError::NotFound { op, path: from.to_path_buf() })
}

/// Applies one file op to the file's content so far; its result, shaped as the command reports.
fn evaluate(
    index: usize,
    kind: &OpKind,
    change: &mut FileChange,
    copied: Option<Vec<u8>>,
) -> Result<OpResult, TxError> {
    let path = kind.path().to_path_buf();
    let written = |bytes: &[u8]| OpResult::Written {
        path: path.clone(),
        bytes: bytes.len() as u64,
        version: Version::of(bytes),
    };
    Ok(match kind {
        OpKind::Write { content, .. } => {
            let result = written(content);
            change.current = Some(content.clone());
            result
        }
        OpKind::Copy { .. } => {
            let bytes = copied.expect("a copy's source is read before it is evaluated");
            let result = written(&bytes);
            change.current = Some(bytes);
            result
        }
        OpKind::Delete { .. } => {
            let deleted = change.current.take().is_some();
            OpResult::Deleted { path, deleted }
        }
        OpKind::Set { values, .. } => {
            edit(index, &path, change, &assignments(index, &path, values, Edit::set)?)?
        }
        OpKind::Push { values, .. } => {
            edit(index, &path, change, &assignments(index, &path, values, Edit::push)?)?
        }
        OpKind::Unset { keys, .. } => {
            let edits = keys
                .iter()
                .map(|key| Edit::unset(key))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| TxError::Document { op: index, path: path.clone(), source })?;
            edit(index, &path, change, &edits)?
        }
        OpKind::Merge { patch, .. } => edit(index, &path, change, &[Edit::Merge { patch: patch.clone() }])?,
        OpKind::Append { .. } | OpKind::New { .. } => unreachable!("logs and entries are not files"),
    })
}

fn assignments(
    index: usize,
    path: &Path,
    values: &[(String, serde_json::Value)],
    make: fn(&str, serde_json::Value) -> Result<Edit, crate::doc::DocError>,
) -> Result<Vec<Edit>, TxError> {
    values
        .iter()
        .map(|(key, value)| make(key, value.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TxError::Document { op: index, path: path.to_path_buf(), source })
}

fn edit(index: usize, path: &Path, change: &mut FileChange, edits: &[Edit]) -> Result<OpResult, TxError> {
    let format = Format::of_path(path).ok_or_else(|| TxError::Plan {
        op: Some(index),
        message: format!(
            "op {index}: {} is not a document stet can edit (.md, .yaml, .yml, .json, .jsonc, .toml)",
            path.display()
        ),
    })?;
    let document_error = |source| TxError::Document { op: index, path: path.to_path_buf(), source };
    let document = Document::parse(format, change.current.as_deref()).map_err(document_error)?;
    let edited = document.edited(edits).map_err(document_error)?;
    let changed = edited.is_some();
    if let Some(text) = edited {
        change.current = Some(text.into_bytes());
    }
    let version = Version::of_optional(change.current.as_deref());
    Ok(OpResult::Edited { path: path.to_path_buf(), version, changed })
}

/// A file about to be deleted must be one the caller could remove.
fn check_deletable(fs: &dyn Fs, op: usize, change: &FileChange) -> Result<(), TxError> {
    let target = &change.given;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match fs.check_write_access(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(TxError::Write { op, source: WriteError::NotWritable { path: target.clone() } })
        }
        Err(source) => Err(TxError::Io(IoError { path: dir.to_path_buf(), step: "inspect", source })),
    }
}

/// Under the log's lock: cuts a torn tail and finds the events that are new, as `log append`
/// does, without writing them. A missing log is not created before the commit point.
fn prepare_log(
    ctx: &Context,
    index: usize,
    given: &Path,
    target: &Path,
    events: &[serde_json::Value],
    ids: Option<&crate::log::IdRule>,
) -> Result<Prepared, TxError> {
    let fs = &**ctx.locker.file_system();
    let log_error = |source| TxError::Log { op: index, path: given.to_path_buf(), source };
    log::refuse_special(fs, target).map_err(log_error)?;
    match fs.symlink_metadata(target) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(log::prepare_new(events, ids)),
        _ => {
            let file = log::open_log(fs, target, Access::Append).map_err(log_error)?;
            log::prepare(fs, target, &file, events, ids, ctx.writer.durability_policy()).map_err(log_error)
        }
    }
}

/// Builds every `new` op's entry aside (numbers after those the transaction already took).
fn stage_entries<'a>(
    ctx: &'a Context,
    plan: &Plan,
    resolved: &[PathBuf],
    entries: &[usize],
    results: &mut [Option<OpResult>],
) -> Result<Vec<StagedEntry<'a>>, TxError> {
    let fs = &**ctx.locker.file_system();
    let mut taken: HashMap<&Path, u64> = HashMap::new();
    let mut staged = Vec::new();
    for &index in entries {
        let OpKind::New { dir, slug, template, pattern, set } = &plan.ops[index].kind else {
            unreachable!("only new ops are entries")
        };
        let edits = assignments(index, dir, set, Edit::set)?;
        let request = NewEntry {
            dir: &resolved[index],
            slug,
            pattern: pattern.as_deref().unwrap_or(entry::DEFAULT_PATTERN),
            template: template.as_deref(),
            edits: &edits,
        };
        let after = taken.get(resolved[index].as_path()).copied().unwrap_or(0);
        let entry = entry::stage(fs, ctx.writer.durability_policy(), &resolved[index], &request, after)
            .map_err(|source| TxError::Entry { op: index, source })?;
        taken.insert(&resolved[index], entry.seq);
        let name = entry.path.file_name().expect("an entry has a name");
        results[index] = Some(OpResult::Entry { path: dir.join(name), seq: entry.seq });
        staged.push(entry);
    }
    Ok(staged)
}

/// Stages each new content beside its target (written and fsynced), in parallel when durable:
/// the fsyncs overlap.
fn stage_files(ctx: &Context, replaced: &[ToStage<'_>]) -> Result<Vec<Staged>, TxError> {
    let stage = |(target, bytes, op): &ToStage<'_>| {
        ctx.writer.stage(target, bytes).map_err(|source| TxError::Write { op: *op, source })
    };
    if replaced.len() < 2 || ctx.writer.durability_policy() != Durability::Sync {
        return replaced.iter().map(stage).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = replaced.iter().map(|item| scope.spawn(move || stage(item))).collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// The ops' results, the appends' filled in.
fn finish(mut results: Vec<Option<OpResult>>, logs: &[(usize, PathBuf, Prepared)]) -> Vec<OpResult> {
    for (index, _, prepared) in logs {
        results[*index] = Some(OpResult::Appended {
            appended: prepared.appended.appended,
            duplicates: prepared.appended.duplicates,
            offset: prepared.appended.offset,
        });
    }
    results.into_iter().map(|result| result.expect("every op has a result")).collect()
}
