//! Upload checks that change nothing on disk.
//!
//! An upload command (STOR, APPE, STOU) answers at once, but opens its file only once its data
//! connection is up (see the control connection's `upload.rs`). These checks let the command
//! report the errors a client expects right away (`550`: a directory in the way, a missing
//! directory, no write permission) without creating, truncating or touching anything. And
//! how much room the filesystem has (AVBL, `--min-free`).

use std::io::{self, ErrorKind};

use rustix::fs::{accessat, fstatvfs, statat, Access, AtFlags, Mode};
use rustix::io::Errno;

use super::jail::{os, Jail, HANDLE};
use super::path::check_nul;
use super::{FileKind, FileStat, Filesystem, Space, VirtualPath, WriteMode};

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

/// [`OsFs`](super::OsFs)'s check, through the jail's descriptors: what
/// [`check_write`] checks, plus the effective user's right to write the file (or to create a
/// name in its directory), as `open` will judge it (the process may have dropped root).
pub(super) fn os_check_write(jail: &Jail, p: &VirtualPath, mode: WriteMode) -> io::Result<()> {
    check_nul(p)?;
    let not_regular = || {
        io::Error::new(
            ErrorKind::InvalidInput,
            format!("\"{p}\" is not a regular file"),
        )
    };
    let Some(parent) = jail.parent(p)? else {
        return Err(not_regular());
    };
    let at = jail.target(p, Some(parent))?;
    let Some(name) = at.name else {
        return Err(not_regular());
    };
    match statat(&*at.dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileStat::from_stat(&st).kind != FileKind::File => Err(not_regular()),
        Ok(_) if mode == WriteMode::CreateNew => Err(ErrorKind::AlreadyExists.into()),
        Ok(_) => accessat(
            &*at.dir,
            name.as_os_str(),
            Access::WRITE_OK,
            AtFlags::EACCESS,
        )
        .map_err(os),
        Err(Errno::NOENT) => {
            let want = Access::WRITE_OK | Access::EXEC_OK;
            accessat(&*at.dir, ".", want, AtFlags::EACCESS).map_err(os)
        }
        Err(e) => Err(os(e)),
    }
}

/// [`OsFs`](super::OsFs)'s space: `fstatvfs` on a handle of `p`, opened through the jail.
pub(super) fn os_space(jail: &Jail, p: &VirtualPath) -> io::Result<Space> {
    check_nul(p)?;
    let fd = jail.open_follow(p, HANDLE, Mode::empty())?;
    let st = fstatvfs(&fd).map_err(os)?;
    Ok(Space {
        available: st.f_bavail.saturating_mul(st.f_frsize),
        total: st.f_blocks.saturating_mul(st.f_frsize),
    })
}
