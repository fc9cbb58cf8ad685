//! The JSON of `--auth-command`: one request object on the command's standard input, one
//! answer object on its standard output (see docs/accounts.md for the full description).
//!
//! Request: `{"user": "...", "password": "...", "client": "192.0.2.1"}`, plus `cn` (the subject
//! common name) and `fingerprint` (SHA-256 of the DER certificate, 64 lower-case hex digits)
//! when the client presented a TLS certificate that `--tls-client-ca` verified. Keys may be
//! added in later versions, so a command must ignore keys it does not know.
//!
//! Answer: `{"ok": false, "message": "why"}` refuses the login (the message goes to the log,
//! never to the client, so it may name the reason). `{"ok": true, "home": "/srv/ftp/alice",
//! "perms": "elr"}` accepts it, with optional `max_sessions`, `read_limit`, `write_limit`
//! (a number of bytes per second, or a text like `"64k"`, `"2M"`), `quota_bytes` (a number, or a
//! size like `"10G"`), `quota_files`, `msg_login`, `msg_quit` and
//! `message`: the per-user options of the users file. An unknown key is an error, so a typo in
//! a script fails the login instead of silently granting the default.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::auth::users_file::parse_bytes;
use crate::auth::{Perms, User, UserLimits};

/// What the command is told about a login.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    /// The name given with USER.
    pub user: &'a str,
    /// The password given with PASS.
    pub password: &'a str,
    /// The client's address (IPv4-mapped IPv6 addresses as IPv4).
    pub client: IpAddr,
    /// The common name of the client's verified TLS certificate, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cn: Option<&'a str>,
    /// The SHA-256 fingerprint (lower-case hex) of the client's verified TLS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A byte rate: a number, or a text with a `k`/`M` suffix as in the users file.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Rate {
    Number(u64),
    Text(String),
}

impl Rate {
    fn bytes(&self, key: &str) -> Result<u64, String> {
        match self {
            Rate::Number(n) => Ok(*n),
            Rate::Text(t) => parse_bytes(t).ok_or_else(|| {
                format!("bad {key} {t:?}: expected bytes per second, e.g. 65536, \"64k\", \"2M\"")
            }),
        }
    }
}

/// `quota_bytes`: a number, or a size with K/M/G/T as in the users file.
fn quota_size(size: &Rate) -> Result<u64, String> {
    match size {
        Rate::Number(n) => Ok(*n),
        Rate::Text(t) => crate::fs::parse_size(t)
            .ok_or_else(|| format!("bad quota_bytes {t:?}: expected a size, e.g. 500M or \"10G\"")),
    }
}

/// The command's answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    ok: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    home: Option<PathBuf>,
    #[serde(default)]
    perms: Option<String>,
    #[serde(default)]
    max_sessions: Option<u32>,
    #[serde(default)]
    read_limit: Option<Rate>,
    #[serde(default)]
    write_limit: Option<Rate>,
    #[serde(default)]
    quota_bytes: Option<Rate>,
    #[serde(default)]
    quota_files: Option<u64>,
    #[serde(default)]
    msg_login: Option<String>,
    #[serde(default)]
    msg_quit: Option<String>,
}

/// What an answer means.
// One per login, moved once: boxing the user would only change the public type.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Verdict {
    /// Logged in as this user.
    Accept(Box<User>),
    /// Refused, with the command's message if it gave one.
    Refuse(Option<String>),
}

/// Reads the answer from the command's output; `Err` says what is wrong with it.
pub fn parse_answer(out: &[u8], name: &str) -> Result<Verdict, String> {
    let answer: Answer =
        serde_json::from_slice(out).map_err(|e| format!("answer is not the expected JSON: {e}"))?;
    if !answer.ok {
        return Ok(Verdict::Refuse(answer.message));
    }
    let home = answer.home.as_ref().ok_or("\"ok\": true needs \"home\"")?;
    let home = std::fs::canonicalize(home)
        .ok()
        .filter(|h| h.is_dir() && home.is_absolute())
        .ok_or_else(|| format!("home {:?} is not an absolute path to a directory", home))?;
    let perms = answer
        .perms
        .as_deref()
        .ok_or("\"ok\": true needs \"perms\"")?;
    let perms = Perms::parse(perms).map_err(|e| e.to_string())?;
    if answer.max_sessions == Some(0) {
        return Err("max_sessions must be at least 1 (leave it out for no limit)".into());
    }
    let limits = UserLimits {
        max_sessions: answer.max_sessions,
        read_limit: answer
            .read_limit
            .as_ref()
            .map_or(Ok(0), |r| r.bytes("read_limit"))?,
        write_limit: answer
            .write_limit
            .as_ref()
            .map_or(Ok(0), |r| r.bytes("write_limit"))?,
        // The program sees the client's address and decides itself.
        allow_from: Vec::new(),
        umask: None,
        hide: Vec::new(),
        deny: Vec::new(),
        cert: None,
        quota_bytes: answer.quota_bytes.as_ref().map(quota_size).transpose()?,
        quota_files: answer.quota_files,
    };
    let text = |t: &Option<String>, default: &str| {
        t.as_deref()
            .filter(|t| !t.is_empty())
            .map_or_else(|| default.to_owned(), |t| t.replace(['\r', '\n'], " "))
    };
    Ok(Verdict::Accept(Box::new(User {
        name: name.to_owned(),
        home,
        perms,
        anonymous: false,
        msg_login: text(&answer.msg_login, "Login successful."),
        msg_quit: text(&answer.msg_quit, "Goodbye."),
        limits,
    })))
}
