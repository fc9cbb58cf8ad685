//! Upload checks that change nothing on disk.
//!
//! An upload command (STOR, APPE, STOU) answers at once, but opens its file only once its data
//! connection is up (see the control connection's `upload.rs`). These checks let the command
//! report the errors a client expects right away (`550`: a directory in the way, a missing
//! directory, no write permission) without creating, truncating or touching anything.

use std::io::{self, ErrorKind};
use std::path::Path;

use super::{FileKind, Filesystem, VirtualPath, WriteMode};

/// The checks any [`Filesystem`] can answer: the target is a regular file (and may exist,
/// except for STOU), or it does not exist and its directory does.
pub fn check_write<F: Filesystem + ?Sized>(
    fs: &F,
    p: &VirtualPath,
    mode: WriteMode,
) -> io::Result<()> {
    match fs.stat(p) {
        Ok(s) if s.kind != FileKind::File => Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("\"{p}\" is not a regular file"),
        )),
        Ok(_) if mode == WriteMode::CreateNew => Err(ErrorKind::AlreadyExists.into()),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if fs.is_dir(&p.parent()) {
                Ok(())
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// Whether this process may write `real` (an existing file) or create a name in the
/// directory `real` (`dir`), by the effective user's rights, as `open` would decide.
pub fn may_write(real: &Path, dir: bool) -> io::Result<()> {
    use rustix::fs::{accessat, Access, AtFlags, CWD};
    let want = if dir {
        Access::WRITE_OK | Access::EXEC_OK
    } else {
        Access::WRITE_OK
    };
    accessat(CWD, real, want, AtFlags::EACCESS).map_err(io::Error::from)
}
