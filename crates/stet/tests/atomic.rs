//! Atomic writes: every failed step and every crash point leaves the old or the new content, and
//! the fsyncs come where durability needs them.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use stet::atomic::{Durability, Existing, Links, Mode, Step, WriteError, Writer};
use stet::fs::{self, Fault, Faulty, Op};

use crate::support::{mode_of, names, scratch, temp_files};

const OLD: &[u8] = b"old content\n";
const NEW: &[u8] = b"new content, longer than the old one\n";

fn record(durability: Durability, existing: bool) -> Vec<Op> {
    let dir = scratch();
    let target = dir.path().join("story.md");
    if existing {
        std::fs::write(&target, OLD).unwrap();
    }
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::None));
    Writer::new()
        .fs(faulty.clone())
        .durability(durability)
        .write(&target, NEW)
        .expect("an unfaulted write succeeds");
    faulty.log().into_iter().map(|(op, _)| op).collect()
}

/// Fails each call of a successful write in turn, by kind and occurrence.
fn each_failure_point(existing: bool) {
    let ops = record(Durability::Sync, existing);
    let must_fail = [
        Op::CheckWriteAccess,
        Op::ListXattrs,
        Op::CreateNew,
        Op::Write,
        Op::SetMode,
        Op::Sync,
        Op::Rename,
        Op::RenameExchange,
        Op::SyncDir,
    ];
    let mut failed_steps = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let nth = ops[..index].iter().filter(|seen| *seen == op).count();
        let dir = scratch();
        let target = dir.path().join("story.md");
        if existing {
            std::fs::write(&target, OLD).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        let faulty = Arc::new(Faulty::new(fs::real(), Fault::Fail { op: *op, nth, errno: libc::EIO }));
        let result = Writer::new().fs(faulty.clone()).write(&target, NEW);
        assert!(faulty.fired(), "the fault on {op:?} #{nth} should fire");
        let content = std::fs::read(&target).ok();
        if let Err(err) = result {
            failed_steps.push(*op);
            assert_eq!(
                content.as_deref(),
                existing.then_some(OLD),
                "after {op:?} #{nth} failed ({err}), the file must be as it was"
            );
            if existing {
                assert_eq!(mode_of(&target), 0o640, "the mode is kept after {op:?} failed");
            }
        } else {
            assert!(!must_fail.contains(op), "a failed {op:?} must fail the write");
            assert_eq!(
                content.as_deref(),
                Some(NEW),
                "a write that reports success after {op:?} failed holds the new content"
            );
        }
        let leftovers = temp_files(dir.path());
        if *op == Op::RemoveFile && !leftovers.is_empty() {
            // Removing the old content after a committed exchange failed: the only case a temporary
            // file may stay, holding the old content under a name a sweep recognises.
            assert_eq!(leftovers.len(), 1);
            assert_eq!(std::fs::read(&leftovers[0]).unwrap(), OLD);
        } else {
            assert!(
                leftovers.is_empty(),
                "no temporary file may remain after {op:?} #{nth} failed: {leftovers:?}"
            );
        }
        assert_eq!(names(dir.path()).len(), usize::from(content.is_some()) + leftovers.len());
    }
    for step in [Op::CreateNew, Op::Write, Op::Sync, Op::SyncDir] {
        assert!(failed_steps.contains(&step), "{step:?} was not exercised: {ops:?}");
    }
    let rename = if existing { Op::RenameExchange } else { Op::Rename };
    assert!(failed_steps.contains(&rename), "{rename:?} was not exercised: {ops:?}");
}

#[test]
fn every_failed_step_of_a_replacement_leaves_the_original_and_no_temp_file() {
    each_failure_point(true);
}

#[test]
fn every_failed_step_of_a_creation_leaves_no_file_at_all() {
    each_failure_point(false);
}

#[test]
fn a_crash_at_any_step_leaves_the_old_or_the_new_content_and_a_recognisable_temp_file() {
    let steps = record(Durability::Sync, true).len();
    for step in 0..=steps {
        let dir = scratch();
        let target = dir.path().join("story.md");
        std::fs::write(&target, OLD).unwrap();
        let faulty = Arc::new(Faulty::new(fs::real(), Fault::CrashAt { step }));
        let result = Writer::new().fs(faulty).write(&target, NEW);
        let content = std::fs::read(&target).expect("the target always exists");
        assert!(
            content == OLD || content == NEW,
            "after a crash at step {step}, the file is torn: {content:?}"
        );
        if result.is_err() {
            for leftover in temp_files(dir.path()) {
                let name = leftover.file_name().unwrap().to_string_lossy().into_owned();
                assert_eq!(
                    stet::atomic::temp_file_creator(&name),
                    Some(std::process::id()),
                    "{name} names its creator"
                );
            }
        }
    }
}

#[test]
fn a_durable_write_fsyncs_the_file_before_the_rename_and_the_directory_after_it() {
    for existing in [false, true] {
        let ops = record(Durability::Sync, existing);
        let position = |wanted: &[Op]| ops.iter().position(|op| wanted.contains(op));
        let sync = position(&[Op::Sync]).expect("the temporary file is fsynced");
        let rename = position(&[Op::Rename, Op::RenameExchange]).expect("the file is renamed into place");
        let sync_dir = position(&[Op::SyncDir]).expect("the directory is fsynced");
        let write = position(&[Op::Write]).expect("the content is written");
        assert!(write < sync && sync < rename && rename < sync_dir, "durable order violated: {ops:?}");
        if existing {
            let mode = position(&[Op::SetMode]).expect("the mode is set");
            assert!(mode < sync, "the mode must be set before the fsync that makes it durable: {ops:?}");
        }
    }
    let ops = record(Durability::None, true);
    assert!(!ops.contains(&Op::Sync) && !ops.contains(&Op::SyncDir), "--no-sync must not fsync: {ops:?}");
    assert!(ops.contains(&Op::Rename), "--no-sync still renames atomically: {ops:?}");
}

#[test]
fn a_replacement_keeps_the_mode_and_a_new_file_follows_the_umask() {
    let dir = scratch();
    let target = dir.path().join("secret.yaml");
    std::fs::write(&target, OLD).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    stet::atomic::write(&target, NEW).unwrap();
    assert_eq!(mode_of(&target), 0o640, "the existing mode is kept");
    Writer::new().mode(Mode::Set(0o600)).write(&target, OLD).unwrap();
    assert_eq!(mode_of(&target), 0o600, "an explicit mode is applied");

    let fresh = dir.path().join("fresh.md");
    stet::atomic::write(&fresh, NEW).unwrap();
    // SAFETY: umask only reads and restores the process's mask.
    let umask = unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old
    };
    assert_eq!(mode_of(&fresh), 0o666 & !(umask as u32), "a new file gets 0666 minus the umask");
}

#[test]
fn a_replacement_keeps_the_owner_when_the_process_may_set_it() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root may give a file to another owner");
        return;
    }
    let dir = scratch();
    let target = dir.path().join("owned.md");
    std::fs::write(&target, OLD).unwrap();
    std::os::unix::fs::chown(&target, Some(65534), Some(65534)).unwrap();
    stet::atomic::write(&target, NEW).unwrap();
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "the owner is kept");
}

#[test]
fn writes_go_through_symlinks_to_their_target_and_links_stay_links() {
    let dir = scratch();
    let real = dir.path().join("real.md");
    std::fs::write(&real, OLD).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let link = dir.path().join("sub").join("link.md");
    std::os::unix::fs::symlink("../real.md", &link).unwrap();
    let chain = dir.path().join("chain.md");
    std::os::unix::fs::symlink("sub/link.md", &chain).unwrap();

    let written = stet::atomic::write(&chain, NEW).unwrap();
    assert_eq!(written.path, std::fs::canonicalize(&real).unwrap(), "the write lands on the final target");
    assert_eq!(std::fs::read(&real).unwrap(), NEW);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert!(std::fs::symlink_metadata(&chain).unwrap().file_type().is_symlink(), "the chain is still a link");
    assert!(temp_files(dir.path()).is_empty() && temp_files(&dir.path().join("sub")).is_empty());

    let dangling = dir.path().join("dangling.md");
    std::os::unix::fs::symlink("created.md", &dangling).unwrap();
    stet::atomic::write(&dangling, NEW).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("created.md")).unwrap(),
        NEW,
        "a dangling link's target is created"
    );
}

#[test]
fn create_new_never_replaces_an_existing_file() {
    let dir = scratch();
    let target = dir.path().join("entry.md");
    std::fs::write(&target, OLD).unwrap();
    let err = Writer::new().existing(Existing::Fail).write(&target, NEW).unwrap_err();
    assert!(matches!(err, WriteError::Exists { .. }), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    assert_eq!(names(dir.path()), ["entry.md"]);

    // The race: the file appears between the check and the commit.
    let late = dir.path().join("late.md");
    let staged = Writer::new().existing(Existing::Fail).stage(&late, NEW).unwrap();
    std::fs::write(&late, OLD).unwrap();
    let err = staged.commit().unwrap_err();
    assert!(matches!(err, WriteError::Exists { .. }), "{err}");
    assert_eq!(std::fs::read(&late).unwrap(), OLD, "a file created meanwhile is not replaced");
    assert_eq!(names(dir.path()), ["entry.md", "late.md"]);
}

#[test]
fn a_missing_directory_and_a_directory_target_are_clear_errors() {
    let dir = scratch();
    let err = stet::atomic::write(dir.path().join("nope/file.md"), NEW).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    std::fs::create_dir(dir.path().join("folder")).unwrap();
    let err = stet::atomic::write(dir.path().join("folder"), NEW).unwrap_err();
    assert!(matches!(err, WriteError::IsDirectory { .. }), "{err}");
}

#[test]
fn a_dropped_staged_write_removes_its_temporary_file() {
    let dir = scratch();
    let target = dir.path().join("a.md");
    let staged = Writer::new().stage(&target, NEW).unwrap();
    assert_eq!(temp_files(dir.path()).len(), 1, "the staged content waits in a temporary file");
    drop(staged);
    assert!(names(dir.path()).is_empty(), "dropping it removes the temporary file");
    assert!(!Path::new(&target).exists());
}

#[test]
fn a_directory_fsync_failure_that_cannot_be_rolled_back_says_the_change_is_not_durable() {
    let dir = scratch();
    let target = dir.path().join("story.md");
    std::fs::write(&target, OLD).unwrap();
    let fault = Fault::FailEach(&[(Op::SyncDir, 0, libc::EIO), (Op::RenameExchange, 1, libc::EIO)]);
    let err = Writer::new().fs(Arc::new(Faulty::new(fs::real(), fault))).write(&target, NEW).unwrap_err();
    assert!(matches!(err, WriteError::NotDurable { .. }), "{err}");
    assert!(err.to_string().contains("may not survive a power loss"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), NEW, "the new content is in place, as the error says");
    assert_eq!(names(dir.path()), ["story.md"], "no temporary file remains");
}

fn c_path(path: &Path) -> std::ffi::CString {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap()
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: valid NUL-terminated strings and a value valid for its length.
    let rc = unsafe {
        libc::setxattr(c_path(path).as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
    };
    assert_eq!(rc, 0, "setxattr {name:?}: {}", std::io::Error::last_os_error());
}

fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let name = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: valid NUL-terminated strings and a buffer valid for its length.
    let len =
        unsafe { libc::getxattr(c_path(path).as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(len).ok().map(|len| buf[..len].to_vec())
}

#[test]
fn a_file_with_other_hard_links_is_refused_unless_links_are_broken() {
    let dir = scratch();
    let target = dir.path().join("story.md");
    std::fs::write(&target, OLD).unwrap();
    std::fs::hard_link(&target, dir.path().join("other.md")).unwrap();
    let err = stet::atomic::write(&target, NEW).unwrap_err();
    assert!(matches!(err, WriteError::HardLinked { links: 2, .. }), "refused by default: {err}");
    assert!(err.to_string().contains("--break-links"), "the message says how to go on: {err}");
    assert_eq!(names(dir.path()), ["other.md", "story.md"], "nothing was created");
    assert_eq!(std::fs::read(&target).unwrap(), OLD);

    Writer::new().links(Links::Break).write(&target, NEW).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), NEW);
    assert_eq!(
        std::fs::read(dir.path().join("other.md")).unwrap(),
        OLD,
        "the other name keeps the old content"
    );
}

#[test]
fn a_file_the_kernel_says_the_caller_may_not_write_is_refused_before_anything_is_created() {
    let dir = scratch();
    let target = dir.path().join("story.md");
    std::fs::write(&target, OLD).unwrap();
    let denied = Arc::new(Faulty::new(
        fs::real(),
        Fault::Fail { op: Op::CheckWriteAccess, nth: 0, errno: libc::EACCES },
    ));
    let err = Writer::new().fs(denied.clone()).write(&target, NEW).unwrap_err();
    assert!(matches!(err, WriteError::NotWritable { .. }), "{err}");
    assert!(err.to_string().contains("could write in place"), "{err}");
    let ops: Vec<Op> = denied.log().into_iter().map(|(op, _)| op).collect();
    assert!(!ops.contains(&Op::CreateNew), "no temporary file is even created: {ops:?}");
    assert_eq!(std::fs::read(&target).unwrap(), OLD);

    let read_only = Arc::new(Faulty::new(
        fs::real(),
        Fault::Fail { op: Op::CheckWriteAccess, nth: 0, errno: libc::EROFS },
    ));
    let err = Writer::new().fs(read_only).write(&target, NEW).unwrap_err();
    assert!(matches!(err, WriteError::Io { step: Step::CheckAccess, .. }), "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(names(dir.path()), ["story.md"]);
}

#[test]
fn a_replacement_without_extended_attributes_costs_one_listxattr_and_one_access_check() {
    let ops = record(Durability::Sync, true);
    let count = |wanted: Op| ops.iter().filter(|op| **op == wanted).count();
    assert_eq!(count(Op::ListXattrs), 1, "{ops:?}");
    assert_eq!(count(Op::CheckWriteAccess), 1, "{ops:?}");
    assert_eq!(count(Op::GetXattr) + count(Op::SetXattr), 0, "{ops:?}");
    let created = record(Durability::Sync, false);
    assert!(!created.contains(&Op::ListXattrs), "a new file has no attributes to keep: {created:?}");
}

#[test]
fn a_replacement_keeps_extended_attributes_and_one_that_cannot_be_copied_changes_nothing() {
    let dir = scratch();
    let target = dir.path().join("story.md");
    std::fs::write(&target, OLD).unwrap();
    set_xattr(&target, "user.origin", b"agent-7");
    set_xattr(&target, "user.empty", b"");
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::None));
    Writer::new().fs(faulty.clone()).write(&target, NEW).unwrap();
    assert_eq!(get_xattr(&target, "user.origin").as_deref(), Some(&b"agent-7"[..]));
    assert_eq!(get_xattr(&target, "user.empty").as_deref(), Some(&b""[..]), "an empty value is a value");
    let ops: Vec<Op> = faulty.log().into_iter().map(|(op, _)| op).collect();
    let position = |wanted: Op| ops.iter().position(|op| *op == wanted).unwrap();
    assert!(
        position(Op::SetXattr) < position(Op::SetMode) && position(Op::SetMode) < position(Op::Sync),
        "attributes are copied before the chmod, both before the fsync: {ops:?}"
    );

    let unsupported =
        Arc::new(Faulty::new(fs::real(), Fault::Fail { op: Op::SetXattr, nth: 1, errno: libc::ENOTSUP }));
    let err = Writer::new().fs(unsupported).write(&target, OLD).unwrap_err();
    assert!(matches!(err, WriteError::Attribute { .. }), "{err}");
    assert!(err.to_string().contains("user.") && err.to_string().contains("does not support"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), NEW, "the file is as it was");
    assert_eq!(get_xattr(&target, "user.origin").as_deref(), Some(&b"agent-7"[..]));
    assert_eq!(names(dir.path()), ["story.md"], "no temporary file remains");
}

#[test]
fn special_files_are_refused_by_writes_and_reads_without_being_opened() {
    let dir = scratch();
    let fifo = dir.path().join("fifo.md");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path(&fifo).as_ptr(), 0o644) }, 0);
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::None));
    let err = Writer::new().fs(faulty.clone()).write(&fifo, NEW).unwrap_err();
    assert!(
        matches!(err, WriteError::NotRegularFile { kind: fs::FileKind::Fifo, .. }),
        "a FIFO is not replaced: {err}"
    );
    assert!(err.to_string().contains("is a FIFO, not a regular file"), "{err}");
    let err = stet::version::of_file(&*faulty, &fifo).unwrap_err();
    assert_eq!(fs::not_regular_file(&err), Some(fs::FileKind::Fifo), "{err}");
    let err = stet::doc::read(&*faulty, &fifo, None).unwrap_err();
    assert!(err.to_string().contains("a FIFO"), "{err}");
    let ops: Vec<Op> = faulty.log().into_iter().map(|(op, _)| op).collect();
    assert!(!ops.contains(&Op::OpenRead) && !ops.contains(&Op::CreateNew), "nothing was opened: {ops:?}");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert_eq!(names(dir.path()), ["fifo.md"]);
}
