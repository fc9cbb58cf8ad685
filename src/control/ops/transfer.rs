//! Transfer commands: REST (RFC 3659), RETR, STOR, APPE, STOU (RFC 959, with RFC 1123's
//! `150 FILE:` for STOU). The data connection itself is set up in `ports.rs`.
//!
//! RETR and the uploads check permissions and the file *before* answering, so errors come back
//! right away as `550`. RETR opens its file then; the uploads open theirs only once the data
//! connection is up (under PROT P: through its TLS handshake and reuse check), so a STOR whose
//! data connection never comes, or is refused, leaves the disk as it was (`upload.rs`).

use std::io::{self, Seek, SeekFrom};
use std::time::Instant;

use super::super::channel::{Channel, PendingJob, Work};
use super::super::session::TransferType;
use super::super::table::Verb;
use super::super::upload::UploadPlan;
use super::super::{ControlConn, Phase, WaitFor};
use super::{fs_error, tri_some};
use crate::config::MinFree;
use crate::data::Job;
use crate::fs::{Filesystem, VirtualPath, WriteMode};
use crate::msg::{Cx, Msg};
use crate::reply::{Reply, ReplyCode};

pub(super) const TEXT_125: &str = "Data connection already open. Transfer starting.";
pub(super) const TEXT_150: &str = "File status okay. About to open data connection.";

pub(super) fn busy() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "A transfer is already in progress.",
    )
}

impl ControlConn {
    /// RETR: download, from the REST offset if one was given. The file is opened (on the
    /// blocking pool when the filesystem may be slow) before the reply.
    pub(super) fn ftp_retr(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let rest = std::mem::take(&mut self.session.rest);
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        let path = tri_some!(self.path_arg(arg));
        let target = path.clone();
        self.with_fs(
            cx,
            move |fs| {
                let mut file = fs.open_read(&target)?;
                let size = file.size().unwrap_or(0);
                if rest > 0 && rest <= size {
                    file.seek(SeekFrom::Start(rest))?;
                }
                Ok::<_, io::Error>((file, size))
            },
            move |c, opened, cx| {
                let (file, size) = match opened {
                    Ok(opened) => opened,
                    Err(e) => return Some(fs_error(&e)),
                };
                if rest > size {
                    return Some(invalid_rest(rest, size));
                }
                let job = Job::SendFile {
                    file,
                    offset: rest,
                    ascii: c.session.ttype == TransferType::Ascii,
                };
                let pj = PendingJob {
                    work: Work::Job(job),
                    verb: Verb::Retr,
                    path: path.as_str().to_owned(),
                    total: Some(size - rest),
                };
                c.start_or_queue(pj, (TEXT_125, TEXT_150), cx)
            },
        )
    }

    /// STOR and APPE. The checks come in pyftpdlib's order: permission, the REST offset
    /// against the size, whether the file could be opened, then the data channel (`425` only
    /// when nothing else is wrong). Nothing is opened yet (`upload.rs`).
    pub(super) fn ftp_stor(&mut self, arg: &str, append: bool, cx: &mut Cx<'_>) -> Option<Reply> {
        let rest = std::mem::take(&mut self.session.rest);
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        if append && rest > 0 {
            return Some(Reply::new(
                ReplyCode::InvalidRest,
                "Can't APPE while REST request is pending.",
            ));
        }
        let path = tri_some!(self.path_arg(arg));
        let mode = match (append, rest) {
            (true, _) => WriteMode::Append,
            (false, 0) => WriteMode::Truncate,
            (false, n) => WriteMode::At(n),
        };
        let target = path.clone();
        let min_free = self.cfg.min_free;
        let quota = self.session.quota.clone();
        self.with_fs(
            cx,
            move |fs| -> Result<(), Reply> {
                if rest > 0 {
                    let size = fs.stat(&target).map_err(|e| fs_error(&e))?.size;
                    if rest > size {
                        return Err(invalid_rest(rest, size));
                    }
                }
                fs.check_write(&target, mode).map_err(|e| fs_error(&e))?;
                room(fs, &target.parent(), min_free)?;
                crate::quota::room_for_file(fs, quota.as_deref(), &target)
            },
            move |c, checked, cx| {
                if let Err(reply) = checked {
                    return Some(reply);
                }
                if c.data.chan == Channel::None {
                    return Some(c.no_channel());
                }
                let pj = PendingJob {
                    verb: if append { Verb::Appe } else { Verb::Stor },
                    path: path.as_str().to_owned(),
                    work: Work::Upload(UploadPlan {
                        path,
                        mode,
                        ascii: c.session.ttype == TransferType::Ascii,
                        quota: upload_quota(c),
                    }),
                    total: None,
                };
                c.start_or_queue(pj, (TEXT_125, TEXT_150), cx)
            },
        )
    }

    /// STOU: store under a name that does not exist yet, in the current directory. The name
    /// is chosen now and created once the data connection is up.
    pub(super) fn ftp_stou(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        if self.session.rest > 0 {
            self.session.rest = 0;
            return Some(Reply::new(
                ReplyCode::InvalidRest,
                "Can't STOU while REST request is pending.",
            ));
        }
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        let base = if arg.trim().is_empty() {
            "ftpd"
        } else {
            arg.trim()
        };
        let first = tri_some!(self.path_arg(base));
        let candidates: Vec<VirtualPath> = std::iter::once(first)
            .chain((1..100u32).map(|i| self.session.cwd.resolve(&format!("{base}.{i}"))))
            .collect();
        let min_free = self.cfg.min_free;
        let quota = self.session.quota.clone();
        self.with_fs(
            cx,
            move |fs| {
                let path = unique_name(fs, candidates)?;
                room(fs, &path.parent(), min_free)?;
                crate::quota::room_for_file(fs, quota.as_deref(), &path)?;
                Ok(path)
            },
            move |c, found, cx| {
                let path = match found {
                    Ok(path) => path,
                    Err(reply) => return Some(reply),
                };
                if c.data.chan == Channel::None {
                    return Some(c.no_channel());
                }
                let text = format!("FILE: {}", path.file_name().unwrap_or(""));
                let pj = PendingJob {
                    verb: Verb::Stou,
                    path: path.as_str().to_owned(),
                    work: Work::Upload(UploadPlan {
                        path,
                        mode: WriteMode::CreateNew,
                        ascii: c.session.ttype == TransferType::Ascii,
                        quota: upload_quota(c),
                    }),
                    total: None,
                };
                c.start_or_queue(pj, (&text, &text), cx)
            },
        )
    }

    /// ABOR (RFC 959 §4.1.3): stop the transfer (426 then 226), or say there was none (225).
    pub(in crate::control) fn ftp_abor(&mut self, cx: &mut Cx<'_>) -> Option<Reply> {
        if let Some(t) = &self.data.transfer {
            cx.send(t.data, Msg::Abort);
            self.phase = Phase::Waiting(WaitFor::Abort);
            return None;
        }
        if self.data.pending.take().is_some() {
            // The client already got a 150 for it: finish that exchange first.
            self.close_channel(cx);
            self.respond(Reply::new(
                ReplyCode::TransferAborted,
                "Transfer aborted via ABOR.",
            ));
            return Some(Reply::new(
                ReplyCode::TransferComplete,
                "ABOR command successful.",
            ));
        }
        if self.data.chan != Channel::None {
            self.close_channel(cx);
            return Some(Reply::new(
                ReplyCode::DataOpenNoTransfer,
                "ABOR command successful; data channel closed.",
            ));
        }
        Some(Reply::new(
            ReplyCode::DataOpenNoTransfer,
            "No transfer to abort.",
        ))
    }

    /// STAT lines about the data channel.
    pub(in crate::control) fn data_status(&self, cx_now: Instant) -> Vec<String> {
        match (&self.data.transfer, self.data.chan) {
            (Some(t), _) => vec![
                "Data connection open:".to_owned(),
                format!("Total bytes transferred: {}", self.data.bytes()),
                format!(
                    "Transfer elapsed time: {:.3} secs",
                    cx_now.saturating_duration_since(t.started).as_secs_f64()
                ),
            ],
            (None, Channel::Passive(_)) => {
                vec!["Passive data channel waiting for connection.".to_owned()]
            }
            (None, Channel::Connecting(_)) => vec!["Active data channel connecting.".to_owned()],
            (None, Channel::Securing(_)) => {
                vec!["Data connection open, TLS handshake in progress.".to_owned()]
            }
            (None, Channel::Ready(_)) => vec!["Data connection open, idle.".to_owned()],
            (None, Channel::None) => vec!["Data connection closed.".to_owned()],
        }
    }
}

/// The user's quota for an upload plan, with the upload options that decide what a failed
/// upload leaves.
fn upload_quota(c: &ControlConn) -> Option<(std::sync::Arc<crate::quota::Quota>, (bool, bool))> {
    let policy = (c.cfg.atomic_uploads, c.cfg.delete_incomplete_uploads);
    c.session.quota.clone().map(|q| (q, policy))
}

/// `554` for a REST offset past the end of the file.
fn invalid_rest(rest: u64, size: u64) -> Reply {
    Reply::new(
        ReplyCode::InvalidRest,
        format!("Invalid REST parameter: position ({rest}) > file size ({size})."),
    )
}

/// `--min-free`: `452` while the filesystem that would hold the upload has less free space
/// than the minimum (a filesystem that cannot tell is not refused).
fn room(fs: &dyn Filesystem, dir: &VirtualPath, min: MinFree) -> Result<(), Reply> {
    if min == MinFree::None {
        return Ok(());
    }
    match fs.space(dir) {
        Ok(space) if min.short(space) => Err(Reply::new(
            ReplyCode::InsufficientStorage,
            "Insufficient storage space: the server keeps a minimum free.",
        )),
        _ => Ok(()),
    }
}

/// The first of `candidates` that could be created (STOU), checked without creating it.
fn unique_name(fs: &dyn Filesystem, candidates: Vec<VirtualPath>) -> Result<VirtualPath, Reply> {
    for candidate in candidates {
        match fs.check_write(&candidate, WriteMode::CreateNew) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => continue,
            Err(e) => return Err(fs_error(&e)),
        }
    }
    Err(Reply::new(
        ReplyCode::FileUnavailable,
        "No usable unique file name found.",
    ))
}
