//! FTP replies: the three-digit codes of RFC 959 (and its successors) and their wire format.
//!
//! Every reply is `NNN text\r\n`. The first digit says how the command went (1 preliminary,
//! 2 done, 3 more input needed, 4 transient failure, 5 permanent failure), the second what it is
//! about (0 syntax, 1 information, 2 connections, 3 authentication, 5 file system). A multi-line
//! reply (RFC 959 §4.2) starts with `NNN-`, ends with `NNN `, and its middle lines are indented so
//! that none can be mistaken for the end.
//!
//! Security rule enforced here: a reply can never be split. Text that comes from the outside (a
//! file name, a path, a user name) may contain CR or LF; [`Reply`] escapes them, so a crafted
//! name cannot inject a fake reply line (the CRLF-injection class of bugs).

use std::fmt;

/// The reply codes this server sends, one doc line each (RFC 959 §4.2.1 unless noted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)] // every variant has its doc line below; the lint wants them all formal
pub enum ReplyCode {
    /// Data connection already open; transfer starting.
    AlreadyOpen = 125,
    /// File status okay; about to open data connection.
    AboutToOpen = 150,
    /// Command okay.
    Ok = 200,
    /// Command not implemented, superfluous at this site.
    Superfluous = 202,
    /// System status, or system help reply (FEAT, STAT).
    SystemStatus = 211,
    /// Directory status.
    DirectoryStatus = 212,
    /// File status (SIZE, MDTM: RFC 3659).
    FileStatus = 213,
    /// Help message.
    Help = 214,
    /// NAME system type.
    SystemType = 215,
    /// Service ready for new user.
    Ready = 220,
    /// Service closing control connection.
    Closing = 221,
    /// Data connection open; no transfer in progress (ABOR with nothing to abort).
    DataOpenNoTransfer = 225,
    /// Closing data connection; requested file action successful.
    TransferComplete = 226,
    /// Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    PassiveMode = 227,
    /// Entering Extended Passive Mode (|||port|) (RFC 2428).
    ExtendedPassiveMode = 229,
    /// User logged in, proceed.
    LoggedIn = 230,
    /// User logged in, authorized by security data exchange (RFC 2228: a TLS client
    /// certificate, without a password).
    LoggedInSecure = 232,
    /// Security data exchange complete (AUTH, RFC 2228).
    AuthOk = 234,
    /// Requested file action okay, completed.
    FileActionOk = 250,
    /// "PATHNAME" created (MKD, PWD).
    PathCreated = 257,
    /// User name okay, need password.
    NeedPassword = 331,
    /// Requested file action pending further information (RNFR, REST).
    PendingFurtherInfo = 350,
    /// Service not available, closing control connection.
    NotAvailable = 421,
    /// Can't open data connection.
    CantOpenData = 425,
    /// Connection closed; transfer aborted.
    TransferAborted = 426,
    /// Requested action aborted: local error in processing.
    LocalError = 451,
    /// Requested action not taken: insufficient storage space.
    InsufficientStorage = 452,
    /// Syntax error, command unrecognized (or line too long).
    SyntaxError = 500,
    /// Syntax error in parameters or arguments.
    SyntaxErrorArgs = 501,
    /// Command not implemented.
    NotImplemented = 502,
    /// Bad sequence of commands.
    BadSequence = 503,
    /// Command not implemented for that parameter.
    NotImplementedParam = 504,
    /// Network protocol not supported (EPRT/EPSV, RFC 2428).
    ProtocolNotSupported = 522,
    /// Not logged in.
    NotLoggedIn = 530,
    /// Request denied for policy reasons (RFC 2228).
    PolicyDenied = 534,
    /// Request denied: the requested PROT level is not supported (RFC 2228).
    ProtLevelNotSupported = 536,
    /// Requested action not taken: file unavailable, or no access.
    FileUnavailable = 550,
    /// Requested file action aborted: exceeded storage allocation.
    ExceededStorage = 552,
    /// Requested action not taken: file name not allowed.
    NameNotAllowed = 553,
    /// Requested action not taken: invalid REST parameter (RFC 1123).
    InvalidRest = 554,
}

impl ReplyCode {
    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u16())
    }
}

/// A complete reply: a code and one or more lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: ReplyCode,
    lines: Vec<String>,
}

/// Replaces CR and LF so that outside text cannot end a reply line early.
pub fn sanitize(text: &str) -> String {
    if !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    text.replace('\r', "\\r").replace('\n', "\\n")
}

/// An I/O error's text without Rust's ` (os error N)` suffix, e.g. `No such file or directory`.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The `530` of a command that needs a login, before one (gate check 3, and the commands
/// and continuations that find no user).
pub(crate) fn not_logged_in() -> Reply {
    Reply::new(ReplyCode::NotLoggedIn, "Log in with USER and PASS first.")
}

/// The one mapping from a filesystem error to a reply: `550 <reason>.`
pub(crate) fn fs_error(e: &std::io::Error) -> Reply {
    let text = strerror(e);
    let text = if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    };
    Reply::new(ReplyCode::FileUnavailable, text)
}

/// Quotes a path for a 257 reply: the path between double quotes, inner quotes doubled (RFC 959
/// Appendix II).
pub fn quote_path(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

impl Reply {
    /// A single-line reply; CR/LF in `text` are escaped.
    pub fn new(code: ReplyCode, text: impl AsRef<str>) -> Reply {
        Reply {
            code,
            lines: vec![sanitize(text.as_ref())],
        }
    }

    /// A multi-line reply: the first and last lines carry the code, the middle lines are sent
    /// as given (each escaped, and indented by one space if it does not start with one).
    pub fn multi(code: ReplyCode, lines: Vec<String>) -> Reply {
        let mut lines: Vec<String> = lines.iter().map(|l| sanitize(l)).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply { code, lines }
    }

    /// The reply's code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The first line of text (for logs).
    pub fn text(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// Appends the wire form (CRLF-terminated lines) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let code = self.code.as_u16();
        let last = self.lines.len() - 1;
        for (i, line) in self.lines.iter().enumerate() {
            let line_out = if last == 0 {
                format!("{code} {line}\r\n")
            } else if i == 0 {
                format!("{code}-{line}\r\n")
            } else if i == last {
                format!("{code} {line}\r\n")
            } else if line.starts_with(' ') {
                format!("{line}\r\n")
            } else {
                format!(" {line}\r\n")
            };
            out.extend_from_slice(line_out.as_bytes());
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::new();
        self.write_to(&mut buf);
        f.write_str(&String::from_utf8_lossy(&buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_errors_are_550_sentences_without_the_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            fs_error(&e).to_string(),
            "550 No such file or directory.\r\n"
        );
        let custom = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "Can't remove root directory.",
        );
        assert_eq!(
            fs_error(&custom).to_string(),
            "550 Can't remove root directory.\r\n"
        );
    }

    #[test]
    fn single_line() {
        let r = Reply::new(ReplyCode::Ok, "Type set to: Binary.");
        assert_eq!(r.to_string(), "200 Type set to: Binary.\r\n");
    }

    #[test]
    fn multi_line_indents_middle_lines() {
        let r = Reply::multi(
            ReplyCode::SystemStatus,
            vec![
                "Features supported:".into(),
                "EPRT".into(),
                " MDTM".into(),
                "End FEAT.".into(),
            ],
        );
        assert_eq!(
            r.to_string(),
            "211-Features supported:\r\n EPRT\r\n MDTM\r\n211 End FEAT.\r\n"
        );
    }

    #[test]
    fn crlf_cannot_split_a_reply() {
        let r = Reply::new(ReplyCode::FileActionOk, "File \"a\r\n230 evil\" removed.");
        let s = r.to_string();
        assert_eq!(s.matches("\r\n").count(), 1);
        assert!(s.starts_with("250 File \"a\\r\\n230 evil\""));
        let m = Reply::multi(
            ReplyCode::Help,
            vec!["a".into(), "x\n500 y".into(), "end".into()],
        );
        assert_eq!(m.to_string().matches("\r\n").count(), 3);
    }

    #[test]
    fn quote_doubling_for_257() {
        assert_eq!(quote_path("/a\"b"), "\"/a\"\"b\"");
        assert_eq!(quote_path("/"), "\"/\"");
    }
}
