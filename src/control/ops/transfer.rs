//! Transfer commands: REST (RFC 3659), RETR, STOR, APPE, STOU (RFC 959, with RFC 1123's
//! `150 FILE:` for STOU). The data connection itself is set up in `ports.rs`.
//!
//! RETR and the uploads check permissions and the file *before* answering, so errors come back
//! right away as `550`. RETR opens its file then; the uploads open theirs only once the data
//! connection is up (under PROT P: through its TLS handshake and reuse check), so a STOR whose
//! data connection never comes, or is refused, leaves the disk as it was (`upload.rs`).

use std::io::{self, Seek, SeekFrom};

use super::super::channel::{Channel, PendingJob, Work};
use super::super::session::TransferType;
use super::super::table::Verb;
use super::super::upload::UploadPlan;
use super::super::ControlConn;
use super::{fs_error, tri_some};
use crate::data::Job;
use crate::fs::WriteMode;
use crate::msg::Cx;
use crate::reply::{Reply, ReplyCode};

const TEXT_125: &str = "Data connection already open. Transfer starting.";
const TEXT_150: &str = "File status okay. About to open data connection.";

pub(super) fn busy() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "A transfer is already in progress.",
    )
}

impl ControlConn {
    /// REST (RFC 3659 §5): the offset of the next RETR/STOR, binary mode only.
    pub(super) fn ftp_rest(&mut self, arg: &str) -> Reply {
        if self.session.ttype == TransferType::Ascii {
            return Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Resuming transfers not allowed in ASCII mode.",
            );
        }
        match arg.trim().parse::<u64>() {
            Ok(n) => {
                self.session.rest = n;
                Reply::new(
                    ReplyCode::PendingFurtherInfo,
                    format!("Restarting at position {n}."),
                )
            }
            Err(_) => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid parameter."),
        }
    }

    /// RETR: download, from the REST offset if one was given.
    pub(super) fn ftp_retr(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let rest = std::mem::take(&mut self.session.rest);
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        let path = tri_some!(self.path_arg(arg));
        let fs = tri_some!(self.fs());
        let mut file = match fs.open_read(&path) {
            Ok(f) => f,
            Err(e) => return Some(fs_error(&e)),
        };
        let size = file.size().unwrap_or(0);
        if rest > size {
            return Some(Reply::new(
                ReplyCode::InvalidRest,
                format!("Invalid REST parameter: position ({rest}) > file size ({size})."),
            ));
        }
        if rest > 0 {
            if let Err(e) = file.seek(SeekFrom::Start(rest)) {
                return Some(fs_error(&e));
            }
        }
        let job = Job::SendFile {
            file,
            offset: rest,
            ascii: self.session.ttype == TransferType::Ascii,
        };
        let pj = PendingJob {
            work: Work::Job(job),
            verb: Verb::Retr,
            path: path.as_str().to_owned(),
            total: Some(size - rest),
        };
        self.start_or_queue(pj, (TEXT_125, TEXT_150), cx)
    }

    /// STOR and APPE.
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
        // The order of the checks: permission, the REST offset against the size, then the
        // data channel; `425` only when nothing else is wrong (as pyftpdlib).
        let path = tri_some!(self.path_arg(arg));
        let fs = tri_some!(self.fs());
        if rest > 0 {
            let size = match fs.stat(&path) {
                Ok(st) => st.size,
                Err(e) => return Some(fs_error(&e)),
            };
            if rest > size {
                return Some(Reply::new(
                    ReplyCode::InvalidRest,
                    format!("Invalid REST parameter: position ({rest}) > file size ({size})."),
                ));
            }
        }
        let mode = match (append, rest) {
            (true, _) => WriteMode::Append,
            (false, 0) => WriteMode::Truncate,
            (false, n) => WriteMode::At(n),
        };
        if let Err(e) = fs.check_write(&path, mode) {
            return Some(fs_error(&e));
        }
        if self.data.chan == Channel::None {
            return Some(self.no_channel());
        }
        let pj = PendingJob {
            verb: if append { Verb::Appe } else { Verb::Stor },
            path: path.as_str().to_owned(),
            work: Work::Upload(UploadPlan {
                path,
                mode,
                ascii: self.session.ttype == TransferType::Ascii,
            }),
            total: None,
        };
        self.start_or_queue(pj, (TEXT_125, TEXT_150), cx)
    }

    /// STOU: store under a name that does not exist yet, in the current directory.
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
        let base_path = tri_some!(self.path_arg(base));
        let fs = tri_some!(self.fs());
        // The name is chosen now and created once the data connection is up.
        let mut found = None;
        for i in 0..100u32 {
            let candidate = if i == 0 {
                base_path.clone()
            } else {
                self.session.cwd.resolve(&format!("{base}.{i}"))
            };
            match fs.check_write(&candidate, WriteMode::CreateNew) {
                Ok(()) => {
                    found = Some(candidate);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => continue,
                Err(e) => return Some(fs_error(&e)),
            }
        }
        let Some(path) = found else {
            return Some(Reply::new(
                ReplyCode::FileUnavailable,
                "No usable unique file name found.",
            ));
        };
        if self.data.chan == Channel::None {
            return Some(self.no_channel());
        }
        let text = format!("FILE: {}", path.file_name().unwrap_or(""));
        let pj = PendingJob {
            verb: Verb::Stou,
            path: path.as_str().to_owned(),
            work: Work::Upload(UploadPlan {
                path,
                mode: WriteMode::CreateNew,
                ascii: self.session.ttype == TransferType::Ascii,
            }),
            total: None,
        };
        self.start_or_queue(pj, (&text, &text), cx)
    }
}
