//! Transfer commands: REST (RFC 3659), RETR, STOR, APPE, STOU (RFC 959, with RFC 1123's
//! `150 FILE:` for STOU). The data connection itself is set up in `ports.rs`.
//!
//! RETR and the uploads check permissions and the file *before* answering, so errors come back
//! right away as `550`. RETR opens its file then; the uploads open theirs only once the data
//! connection is up (under PROT P: through its TLS handshake and reuse check), so a STOR whose
//! data connection never comes, or is refused, leaves the disk as it was (`upload.rs`).

use std::io::{self, Seek, SeekFrom};
use std::time::{Duration, Instant};

use super::super::channel::{Channel, DataSide, PendingJob, Transfer, Work};
use super::super::core::{fs, Action, Core, Outcome};
use super::super::session::TransferType;
use super::super::table::{Direction, Verb};
use super::super::upload::UploadPlan;
use super::{fs_error, tri};
use crate::config::MinFree;
use crate::data::{Job, Outcome as TransferOutcome};
use crate::fs::{Filesystem, VirtualPath, WriteMode};
use crate::reply::{Reply, ReplyCode};

pub(super) const TEXT_125: &str = "Data connection already open. Transfer starting.";
pub(super) const TEXT_150: &str = "File status okay. About to open data connection.";

pub(super) fn busy() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "A transfer is already in progress.",
    )
}

/// RETR: download, from the REST offset if one was given. The file is opened (on the
/// blocking pool when the filesystem may be slow) before the reply.
pub(in crate::control) fn retr(c: &mut Core<'_>, arg: &str) -> Outcome {
    let rest = std::mem::take(&mut c.session.rest);
    if c.data.transfer.is_some() {
        return busy().into();
    }
    let path = tri!(c.path(arg));
    let target = path.clone();
    fs(
        move |fs| {
            let mut file = fs.open_read(&target)?;
            let size = file.size().unwrap_or(0);
            if rest > 0 && rest <= size {
                file.seek(SeekFrom::Start(rest))?;
            }
            Ok::<_, io::Error>((file, size))
        },
        move |c, opened| {
            let (file, size) = match opened {
                Ok(opened) => opened,
                Err(e) => return fs_error(&e).into(),
            };
            if rest > size {
                return invalid_rest(rest, size).into();
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
            transfer(pj, TEXT_125, TEXT_150)
        },
    )
}

/// STOR and APPE. The checks come in pyftpdlib's order: permission, the REST offset
/// against the size, whether the file could be opened, then the data channel (`425` only
/// when nothing else is wrong). Nothing is opened yet (`upload.rs`).
pub(in crate::control) fn stor(c: &mut Core<'_>, arg: &str, append: bool) -> Outcome {
    let rest = std::mem::take(&mut c.session.rest);
    if c.data.transfer.is_some() {
        return busy().into();
    }
    if append && rest > 0 {
        return Reply::new(
            ReplyCode::InvalidRest,
            "Can't APPE while REST request is pending.",
        )
        .into();
    }
    let path = tri!(c.path(arg));
    let mode = match (append, rest) {
        (true, _) => WriteMode::Append,
        (false, 0) => WriteMode::Truncate,
        (false, n) => WriteMode::At(n),
    };
    let target = path.clone();
    let min_free = c.cfg.min_free;
    let quota = c.session.quota.clone();
    fs(
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
        move |c, checked| {
            if let Err(reply) = checked {
                return reply.into();
            }
            if c.data.chan == Channel::None {
                return Action::NoChannel.into();
            }
            let pj = PendingJob {
                verb: if append { Verb::Appe } else { Verb::Stor },
                path: path.as_str().to_owned(),
                work: Work::Upload(UploadPlan {
                    path,
                    mode,
                    ascii: c.session.ttype == TransferType::Ascii,
                    quota: upload_quota(c),
                    offload: c.cfg.offload_fs == crate::config::OffloadFs::Always,
                }),
                total: None,
            };
            transfer(pj, TEXT_125, TEXT_150)
        },
    )
}

/// STOU: store under a name that does not exist yet, in the current directory. The name
/// is chosen now and created once the data connection is up.
pub(in crate::control) fn stou(c: &mut Core<'_>, arg: &str) -> Outcome {
    if c.session.rest > 0 {
        c.session.rest = 0;
        return Reply::new(
            ReplyCode::InvalidRest,
            "Can't STOU while REST request is pending.",
        )
        .into();
    }
    if c.data.transfer.is_some() {
        return busy().into();
    }
    let base = if arg.trim().is_empty() {
        "ftpd"
    } else {
        arg.trim()
    };
    let first = tri!(c.path(base));
    let candidates: Vec<VirtualPath> = std::iter::once(first)
        .chain((1..100u32).map(|i| c.session.cwd.resolve(&format!("{base}.{i}"))))
        .collect();
    let min_free = c.cfg.min_free;
    let quota = c.session.quota.clone();
    fs(
        move |fs| {
            let path = unique_name(fs, candidates)?;
            room(fs, &path.parent(), min_free)?;
            crate::quota::room_for_file(fs, quota.as_deref(), &path)?;
            Ok(path)
        },
        move |c, found: Result<VirtualPath, Reply>| {
            let path = match found {
                Ok(path) => path,
                Err(reply) => return reply.into(),
            };
            if c.data.chan == Channel::None {
                return Action::NoChannel.into();
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
                    offload: c.cfg.offload_fs == crate::config::OffloadFs::Always,
                }),
                total: None,
            };
            transfer(pj, &text, &text)
        },
    )
}

/// ABOR (RFC 959 §4.1.3): stop the transfer (426 then 226), or say there was none (225).
pub(in crate::control) fn abor(c: &mut Core<'_>) -> Outcome {
    if let Some(t) = &c.data.transfer {
        return Action::AbortTransfer(t.data).into();
    }
    if c.data.pending.is_some() {
        // The client already got a 150 for it: finish that exchange first.
        return Action::CloseChannel(vec![
            Reply::new(ReplyCode::TransferAborted, "Transfer aborted via ABOR."),
            Reply::new(ReplyCode::TransferComplete, "ABOR command successful."),
        ])
        .into();
    }
    if c.data.chan != Channel::None {
        return Action::CloseChannel(vec![Reply::new(
            ReplyCode::DataOpenNoTransfer,
            "ABOR command successful; data channel closed.",
        )])
        .into();
    }
    Reply::new(ReplyCode::DataOpenNoTransfer, "No transfer to abort.").into()
}

/// The action that starts `pj`, with the texts of its `125` and `150`.
pub(in crate::control) fn transfer(pj: PendingJob, t125: &str, t150: &str) -> Outcome {
    Action::Transfer(Box::new(pj), (t125.to_owned(), t150.to_owned())).into()
}

/// STAT lines about the data channel.
pub(in crate::control) fn data_status(data: &DataSide, now: Instant) -> Vec<String> {
    match (&data.transfer, data.chan) {
        (Some(t), _) => vec![
            "Data connection open:".to_owned(),
            format!("Total bytes transferred: {}", data.bytes()),
            format!(
                "Transfer elapsed time: {:.3} secs",
                now.saturating_duration_since(t.started).as_secs_f64()
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

/// The log line, the metrics, the `Transfer` event and the hook of a finished file transfer.
pub(in crate::control) fn report_transfer(
    c: &Core<'_>,
    t: &Transfer,
    outcome: &TransferOutcome,
    (bytes, elapsed): (u64, Duration),
) {
    let completed = matches!(outcome, TransferOutcome::Complete);
    let upload = t.verb.direction() == Direction::Upload;
    c.shared.metrics.transfer(upload, outcome.label());
    log::info!(
        "{} {} {} completed={} bytes={} seconds={:.3}",
        c.tag(),
        t.verb.name(),
        crate::reply::sanitize(&t.path),
        u8::from(completed),
        bytes,
        elapsed.as_secs_f64()
    );
    if !c.cfg.events.is_empty() {
        let user = c.session.user.as_ref();
        c.emit(&crate::events::Event::Transfer(
            crate::events::TransferEvent {
                conn: c.conn,
                peer: c.peer,
                user: c.session.log_name(),
                anonymous: user.is_some_and(|u| u.anonymous),
                command: t.verb.name(),
                path: &t.path,
                bytes,
                seconds: elapsed.as_secs_f64(),
                completed,
                ascii: c.session.ttype == TransferType::Ascii,
            },
        ));
    }
    let hooks = &c.cfg.hooks;
    let info = c.info();
    match (upload, completed) {
        (false, true) => hooks.on_file_sent(&info, &t.path, bytes),
        (false, false) => hooks.on_incomplete_file_sent(&info, &t.path, bytes),
        (true, true) => hooks.on_file_received(&info, &t.path, bytes),
        (true, false) => hooks.on_incomplete_file_received(&info, &t.path, bytes),
    }
}

/// The user's quota for an upload plan, with the upload options that decide what a failed
/// upload leaves.
fn upload_quota(c: &Core<'_>) -> Option<(std::sync::Arc<crate::quota::Quota>, (bool, bool))> {
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
