//! Per-user quotas: how many bytes and how many regular files a user's tree may hold
//! (`quota_bytes=` and `quota_files=` in the users file or the `--auth-command` answer).
//!
//! FTP has one reply for this: `552 Requested file action aborted. Exceeded storage
//! allocation` (RFC 959 §4.2). The server answers it
//!
//! * to an upload *while it runs*, at the byte that would cross the byte quota: the bytes up
//!   to the limit are written, the rest of the chunk is refused and the upload fails (what is
//!   left of the file follows `--delete-incomplete-uploads` and `--atomic-uploads`, as for
//!   any failed upload);
//! * to STOR, APPE or STOU of a *new* file when the file quota is full, before `150`: no file
//!   is created and the data channel stays open for the next command.
//!
//! **Usage** is the sum of the sizes of the regular files under the user's home, and their
//! number (symbolic links and directories do not count; a hard-linked file counts once per
//! name). It is measured once, by walking the home directory, at the first login of the user
//! (keyed by name and home). The walk runs on the blocking-work pool inside the PASS job, so
//! the loop never waits for it; that login's `230` comes after it, so no command ever sees a
//! usage that is not measured yet. Afterwards the server keeps the figure up to date itself:
//! uploads (bytes written, new files, what STOR's truncation frees), DELE, and RNTO over an
//! existing file. The entry ([`Quota`]) lives in `Shared` (`state.rs`), so all
//! sessions and `--workers` loops of the user share it, and it is forgotten when the last
//! session holding it ends: the next login measures again, which also picks up changes made
//! outside FTP meanwhile.
//!
//! Users without quota options get no entry, no walk and no accounting.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::auth::User;

mod charge;
mod site;
pub(crate) use charge::{remove_file, rename, room_for_file, Charge};
pub(crate) use site::{avbl, site_quota};

/// Limits: `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Bytes in regular files.
    pub bytes: Option<u64>,
    /// Number of regular files.
    pub files: Option<u64>,
}

/// What the user's tree holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Bytes in regular files.
    pub bytes: u64,
    /// Number of regular files.
    pub files: u64,
}

#[derive(Debug, Default)]
struct State {
    limits: Limits,
    used: Usage,
}

/// One user's usage and limits, shared by all the user's sessions.
#[derive(Debug)]
pub(crate) struct Quota {
    root: PathBuf,
    state: Mutex<State>,
    measured: OnceLock<()>,
}

impl Quota {
    fn new(root: &Path, limits: Limits) -> Quota {
        Quota {
            root: root.to_owned(),
            state: Mutex::new(State {
                limits,
                used: Usage::default(),
            }),
            measured: OnceLock::new(),
        }
    }

    /// A quota with a known usage (tests, embedders' filesystems).
    #[cfg(test)]
    pub(crate) fn with_usage(limits: Limits, used: Usage) -> Quota {
        let q = Quota::new(Path::new("/"), limits);
        q.with(|s| s.used = used);
        let _ = q.measured.set(());
        q
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Walks the home directory once; later callers (other sessions of the user logging in
    /// meanwhile) wait for the first walk. Blocking: only on the pool.
    fn measure(&self) {
        self.measured.get_or_init(|| {
            let started = std::time::Instant::now();
            let used = walk(&self.root);
            log::info!(
                "quota: {} holds {} bytes in {} files (measured in {:.3} s)",
                self.root.display(),
                used.bytes,
                used.files,
                started.elapsed().as_secs_f64()
            );
            // Accounting done while the walk ran (none: logins wait for it) stays on top.
            self.with(|s| {
                s.used.bytes = s.used.bytes.saturating_add(used.bytes);
                s.used.files = s.used.files.saturating_add(used.files);
            });
        });
    }

    /// Usage and limits now.
    pub(crate) fn snapshot(&self) -> (Usage, Limits) {
        self.with(|s| (s.used, s.limits))
    }

    /// Bytes that may still be added; `None`: no byte limit.
    pub(crate) fn bytes_left(&self) -> Option<u64> {
        self.with(|s| s.limits.bytes.map(|l| l.saturating_sub(s.used.bytes)))
    }

    /// True while one more file fits (the check before `150`).
    pub(crate) fn file_room(&self) -> bool {
        self.with(|s| s.limits.files.is_none_or(|l| s.used.files < l))
    }

    /// Counts a new file if it fits (the strict check when the upload opens its file).
    pub(crate) fn take_file(&self) -> bool {
        self.with(|s| {
            let fits = s.limits.files.is_none_or(|l| s.used.files < l);
            if fits {
                s.used.files += 1;
            }
            fits
        })
    }

    /// Adds up to `want` bytes, as many as the byte quota allows; returns how many.
    pub(crate) fn grow(&self, want: u64) -> u64 {
        self.with(|s| {
            let granted = s
                .limits
                .bytes
                .map_or(want, |l| want.min(l.saturating_sub(s.used.bytes)));
            s.used.bytes = s.used.bytes.saturating_add(granted);
            granted
        })
    }

    /// Puts `bytes` back, whatever the limit (an upload undone leaves the old file).
    pub(crate) fn restore(&self, bytes: u64) {
        self.with(|s| s.used.bytes = s.used.bytes.saturating_add(bytes));
    }

    /// Takes `bytes` and `files` off the usage (deletes, truncation, a failed upload).
    pub(crate) fn release(&self, bytes: u64, files: u64) {
        self.with(|s| {
            s.used.bytes = s.used.bytes.saturating_sub(bytes);
            s.used.files = s.used.files.saturating_sub(files);
        });
    }
}

/// The user's quota limits, if any.
fn limits_of(user: &User) -> Option<Limits> {
    let l = &user.limits;
    (l.quota_bytes.is_some() || l.quota_files.is_some()).then_some(Limits {
        bytes: l.quota_bytes,
        files: l.quota_files,
    })
}

/// The quota entries of the users logged in now, by name and home.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    map: Mutex<HashMap<(String, PathBuf), Weak<Quota>>>,
}

impl Quotas {
    /// The entry of `user` (shared with the user's other sessions), measured; `None` for a
    /// user without quota options. The limits follow the latest login (a reloaded users
    /// file). Blocking (the first login walks the home directory): call it on the pool.
    pub(crate) fn attach(&self, user: &User) -> Option<Arc<Quota>> {
        let limits = limits_of(user)?;
        let quota = {
            let mut map = match self.map.lock() {
                Ok(map) => map,
                Err(poisoned) => poisoned.into_inner(),
            };
            map.retain(|_, w| w.strong_count() > 0);
            let key = (user.name.clone(), user.home.clone());
            match map.get(&key).and_then(Weak::upgrade) {
                Some(q) => q,
                None => {
                    let q = Arc::new(Quota::new(&user.home, limits));
                    map.insert(key, Arc::downgrade(&q));
                    q
                }
            }
        };
        quota.with(|s| s.limits = limits);
        quota.measure();
        Some(quota)
    }
}

/// Bytes and number of the regular files under `root`, without following symbolic links.
/// Unreadable directories are skipped (with a warning).
fn walk(root: &Path) -> Usage {
    let mut used = Usage::default();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                log::warn!("quota: cannot read {}: {e}", dir.display());
                continue;
            }
        };
        for entry in entries.flatten() {
            // `file_type` and `metadata` of a directory entry do not follow links.
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(entry.path()),
                Ok(t) if t.is_file() => {
                    used.files += 1;
                    used.bytes += entry.metadata().map_or(0, |m| m.len());
                }
                _ => {}
            }
        }
    }
    used
}

/// The error a write crossing the byte quota fails with (`552` on the control connection).
pub(crate) fn exceeded() -> io::Error {
    io::Error::new(io::ErrorKind::QuotaExceeded, "byte quota exceeded")
}

#[cfg(test)]
mod tests;
