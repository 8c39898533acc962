//! Extended attributes and ACLs carried from the replaced file to its replacement: the rename
//! makes a new inode, which would otherwise have none.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::Path;

use super::Mode;
use crate::fs::Fs;

/// The POSIX ACLs, as the kernel stores them: extended attributes in the `system` namespace.
const ACLS: [&str; 2] = ["system.posix_acl_access", "system.posix_acl_default"];

/// Namespaces copied whole. Other `system.*` names are the file system's own bookkeeping, not
/// something a user set, and are not carried over.
const NAMESPACES: [&str; 3] = ["user.", "trusted.", "security."];

/// One extended attribute of the replaced file.
#[derive(Debug)]
pub(super) struct Attribute {
    name: OsString,
    value: Vec<u8>,
}

/// The attributes of the file at `target` that its replacement must keep. An explicit mode
/// ([`Mode::Set`]) replaces the permissions, so the ACLs, which are permissions, are not kept
/// then. Costs one `llistxattr` when the file has none.
pub(super) fn read(fs: &dyn Fs, target: &Path, mode: Mode) -> io::Result<Vec<Attribute>> {
    let names = match fs.list_xattrs(target) {
        // A file system without extended attributes: the file has none to keep.
        Err(err) if err.kind() == io::ErrorKind::Unsupported => return Ok(Vec::new()),
        other => other?,
    };
    let mut attributes = Vec::new();
    for name in names {
        let text = name.to_string_lossy();
        let is_acl = ACLS.contains(&text.as_ref());
        if !(is_acl || NAMESPACES.iter().any(|prefix| text.starts_with(prefix))) {
            continue;
        }
        if is_acl && matches!(mode, Mode::Set(_)) {
            continue;
        }
        match fs.get_xattr(target, &name) {
            Ok(value) => attributes.push(Attribute { name, value }),
            // Removed since it was listed: nothing to keep.
            Err(err) if crate::sys::is_no_attribute(&err) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(attributes)
}

/// Gives `file` every attribute in `attributes`; on failure, the name that could not be set.
pub(super) fn copy(fs: &dyn Fs, file: &File, attributes: &[Attribute]) -> Result<(), (OsString, io::Error)> {
    for Attribute { name, value } in attributes {
        if let Err(err) = fs.set_file_xattr(file, name, value) {
            // A label the new file got anyway (an SELinux context from the policy, say) needs no
            // permission to keep.
            if !already_has(fs, file, name, value) {
                return Err((name.clone(), err));
            }
        }
    }
    Ok(())
}

fn already_has(fs: &dyn Fs, file: &File, name: &OsStr, value: &[u8]) -> bool {
    fs.file_xattr(file, name).is_ok_and(|current| current == value)
}

/// What to tell a user whose file's attribute could not be copied.
pub(super) fn hint(name: &OsStr, err: &io::Error) -> &'static str {
    let name = name.to_string_lossy();
    if err.kind() == io::ErrorKind::Unsupported {
        "; the file system does not support it"
    } else if err.kind() == io::ErrorKind::PermissionDenied
        && (name.starts_with("security.") || name.starts_with("trusted."))
    {
        "; only a privileged user may set it: replace the file as root, or remove the attribute first (setfattr -x NAME FILE)"
    } else {
        ""
    }
}
