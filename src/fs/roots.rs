//! Root descriptors shared by the sessions of one home directory.
//!
//! Every session holds a descriptor of its root for as long as it is logged in (see
//! `jail.rs`). A thousand anonymous sessions on one root would otherwise hold a thousand
//! descriptors of the same directory, doubling what an idle session costs against the
//! open-files limit. So sessions share one: a login looks the home path up once (`stat`),
//! and reuses the descriptor another session opened if it still names that same directory
//! (device and inode). A home that was renamed or replaced meanwhile gets a fresh
//! descriptor, while the sessions that opened the old one keep theirs. The table holds weak
//! references: the descriptor closes with the last session using it.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use rustix::fd::OwnedFd;
use rustix::fs::{fstat, openat, stat, Mode, CWD};

use super::jail::{os, DirFd, DIR_HANDLE};

/// Dead entries are swept when the table grows past this many.
const SWEEP_AT: usize = 64;

type Table = HashMap<PathBuf, Weak<OwnedFd>>;

static ROOTS: Mutex<Option<Table>> = Mutex::new(None);

/// A descriptor of the directory `root` names now, shared with other sessions of it.
pub(crate) fn open(root: &Path) -> io::Result<DirFd> {
    let now = stat(root).map_err(os)?;
    let mut guard = ROOTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let table = guard.get_or_insert_with(HashMap::new);
    if let Some(fd) = table.get(root).and_then(Weak::upgrade) {
        let held = fstat(&*fd).map_err(os)?;
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino) {
            return Ok(fd);
        }
    }
    let fd: DirFd = Arc::new(openat(CWD, root, DIR_HANDLE, Mode::empty()).map_err(os)?);
    if table.len() >= SWEEP_AT {
        table.retain(|_, held| held.strong_count() > 0);
    }
    table.insert(root.to_path_buf(), Arc::downgrade(&fd));
    Ok(fd)
}
