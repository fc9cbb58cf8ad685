//! Machine-readable session events: one JSON object per event, and the wu-ftpd `xferlog`.
//!
//! The text log (`log` crate) tells a human what happened. Tools want structure: a log
//! pipeline wants one JSON object per event with a connection id to group them, and decades of
//! FTP log analysers (webalizer, xferstats, fail2ban filters) read the `xferlog` format that
//! wu-ftpd introduced and vsftpd and ProFTPD kept. The control connection reports [`Event`]s
//! to every [`EventSink`] in `Config::events`.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;

use crate::control::table::{self, Direction};

/// One finished (or failed) transfer.
#[derive(Debug, Clone, Copy)]
pub struct TransferEvent<'a> {
    /// The control connection's id.
    pub conn: u64,
    /// The client.
    pub peer: SocketAddr,
    /// The user.
    pub user: &'a str,
    /// An anonymous session.
    pub anonymous: bool,
    /// RETR, STOR, APPE or STOU.
    pub command: &'a str,
    /// The virtual path.
    pub path: &'a str,
    /// Bytes moved.
    pub bytes: u64,
    /// Duration in seconds.
    pub seconds: f64,
    /// Every byte moved.
    pub completed: bool,
    /// TYPE A.
    pub ascii: bool,
}

/// Something that happened on a control connection.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A connection was accepted.
    Connect {
        /// Connection id (unique per server run).
        conn: u64,
        /// The client.
        peer: SocketAddr,
    },
    /// A login succeeded.
    Login {
        /// Connection id.
        conn: u64,
        /// The client.
        peer: SocketAddr,
        /// The user.
        user: &'a str,
    },
    /// A login failed.
    LoginFailed {
        /// Connection id.
        conn: u64,
        /// The client.
        peer: SocketAddr,
        /// The name given with USER.
        user: &'a str,
    },
    /// A command and the code of its (first) reply; PASS arguments are masked.
    Command {
        /// Connection id.
        conn: u64,
        /// The client.
        peer: SocketAddr,
        /// The user, or "".
        user: &'a str,
        /// The command line (masked).
        command: &'a str,
        /// The reply code, when the reply was immediate.
        code: Option<u16>,
    },
    /// A transfer ended.
    Transfer(TransferEvent<'a>),
    /// The connection closed.
    Disconnect {
        /// Connection id.
        conn: u64,
        /// The client.
        peer: SocketAddr,
        /// The user, or "".
        user: &'a str,
    },
}

/// Receives events (called on the loop thread: keep it quick).
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// A JSON string literal of `s` (RFC 8259 escaping).
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The event as one line of JSON (no newline), with an RFC 3339 UTC timestamp.
pub fn to_json(event: &Event<'_>) -> String {
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let head = |name: &str, conn: u64, peer: &SocketAddr| {
        format!(
            "{{\"ts\":\"{ts}\",\"event\":\"{name}\",\"conn\":{conn},\"peer\":{}",
            json_str(&peer.to_string())
        )
    };
    match event {
        Event::Connect { conn, peer } => format!("{}}}", head("connect", *conn, peer)),
        Event::Login { conn, peer, user } => {
            format!("{},\"user\":{}}}", head("login", *conn, peer), json_str(user))
        }
        Event::LoginFailed { conn, peer, user } => format!(
            "{},\"user\":{}}}",
            head("login_failed", *conn, peer),
            json_str(user)
        ),
        Event::Command {
            conn,
            peer,
            user,
            command,
            code,
        } => format!(
            "{},\"user\":{},\"command\":{},\"code\":{}}}",
            head("command", *conn, peer),
            json_str(user),
            json_str(command),
            code.map_or("null".to_owned(), |c| c.to_string())
        ),
        Event::Transfer(t) => format!(
            "{},\"user\":{},\"command\":{},\"path\":{},\"bytes\":{},\"seconds\":{:.3},\"result\":\"{}\"}}",
            head("transfer", t.conn, &t.peer),
            json_str(t.user),
            json_str(t.command),
            json_str(t.path),
            t.bytes,
            t.seconds,
            if t.completed { "complete" } else { "incomplete" }
        ),
        Event::Disconnect { conn, peer, user } => format!(
            "{},\"user\":{}}}",
            head("disconnect", *conn, peer),
            json_str(user)
        ),
    }
}

/// Writes each event as a JSON line through the `log` crate (target `ftpdlib::event`), so it
/// lands wherever the log goes (the daemon's `--log-format json` logger prints it verbatim).
#[derive(Debug, Default)]
pub struct JsonEvents;

impl EventSink for JsonEvents {
    fn event(&self, event: &Event<'_>) {
        log::info!(target: "ftpdlib::event", "{}", to_json(event));
    }
}

/// One xferlog line (wu-ftpd format) for a transfer, without the newline:
/// `current-time transfer-time remote-host file-size filename transfer-type
/// special-action-flag direction access-mode username service-name authentication-method
/// authenticated-user-id completion-status`.
pub fn xferlog_line(t: &TransferEvent<'_>, now: chrono::DateTime<chrono::Local>) -> String {
    // The command table says which way the command moves bytes: out (RETR) or in (STOR...).
    let download = table::lookup(t.command).map(|c| c.direction) == Some(Direction::Download);
    let direction = if download { 'o' } else { 'i' };
    let access = if t.anonymous { 'a' } else { 'r' };
    // Field separators are spaces: spaces (and control characters) in names become '_'.
    let path: String = t
        .path
        .chars()
        .map(|c| if c == ' ' || c.is_control() { '_' } else { c })
        .collect();
    let user: String = t
        .user
        .chars()
        .map(|c| if c == ' ' || c.is_control() { '_' } else { c })
        .collect();
    format!(
        "{} {} {} {} {} {} _ {} {} {} ftp 0 * {}",
        now.format("%a %b %e %H:%M:%S %Y"),
        t.seconds.round().max(1.0) as u64,
        t.peer.ip(),
        t.bytes,
        path,
        if t.ascii { 'a' } else { 'b' },
        direction,
        access,
        if user.is_empty() { "*" } else { &user },
        if t.completed { 'c' } else { 'i' }
    )
}

/// Appends an xferlog line per transfer to a file.
#[derive(Debug)]
pub struct XferLog {
    file: Mutex<File>,
}

impl XferLog {
    /// Opens (creating, appending) the xferlog file.
    pub fn open(path: &Path) -> io::Result<XferLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(XferLog {
            file: Mutex::new(file),
        })
    }
}

impl EventSink for XferLog {
    fn event(&self, event: &Event<'_>) {
        if let Event::Transfer(t) = event {
            let line = xferlog_line(t, chrono::Local::now());
            if let Ok(mut f) = self.file.lock() {
                if let Err(e) = writeln!(f, "{line}") {
                    log::error!("xferlog write failed: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
