//! The users file: accounts with hashed passwords, read into a [`MemoryAuthorizer`].
//!
//! One account per line, fields separated by `:`:
//!
//! ```text
//! name:password-hash:perms:home[:options]
//! ```
//!
//! * `name`: the login name; case-sensitive, no spaces or control characters.
//!   `anonymous` and `ftp` are reserved: anonymous access is configured elsewhere.
//! * `password-hash`: a `$6$`/`$5$` SHA-crypt or `$2b$`/`$2y$`/`$2a$` bcrypt hash, as
//!   printed by `openssl passwd -6` or `mkpasswd -m sha-512` (see [`super::hash`]).
//!   Plaintext passwords are refused. Crypt hashes never contain `:`, so the split is
//!   unambiguous.
//! * `perms`: pyftpdlib permission letters `elradfmwMT` (may be empty: no rights).
//! * `home`: an absolute path to an existing directory; it becomes the user's `/`.
//!   It cannot contain `:`.
//! * `options` (optional): comma-separated `key=value` items:
//!   `max_sessions=N` (simultaneous logins, N >= 1), `read_limit=BYTES` (uploads) and
//!   `write_limit=BYTES` (downloads), both bytes per second shared by all the user's
//!   sessions, with an optional suffix `k`/`K` (x1024) or `m`/`M` (x1048576), 0 meaning
//!   unlimited; `hide=GLOB[|GLOB...]` and `deny=GLOB[|GLOB...]` (names hidden from, or
//!   refused to, this user, on top of `--hide`/`--deny`); `umask=OCTAL` (new files `0666 & !umask`, directories `0777 & !umask`);
//!   `quota_bytes=SIZE` (with `K`/`M`/`G`/`T`, e.g. `10G`, as [`crate::fs::parse_size`]) and
//!   `quota_files=N` (what the user's home may hold, see docs/accounts.md);
//!   `allow_from=NET[,NET...]` (the networks the user may log in from, such as
//!   `10.0.0.0/8,2001:db8::/32`; a login from elsewhere fails like a wrong password, with
//!   `reason=address-not-allowed` in the log); `cert_cn=NAME` and/or `cert_sha256=HEX` (the
//!   TLS client certificate the user must also present, by subject common name or by the
//!   SHA-256 fingerprint of its DER form, colons allowed; a missing or other certificate fails
//!   like a wrong password, `reason=cert-missing` or `reason=cert-mismatch`) and
//!   `cert_only=yes` (that certificate alone logs the user in: `USER` is answered `232`);
//!   `msg_login=TEXT` (the 230 reply) and
//!   `msg_quit=TEXT` (the 221 reply). TEXT cannot contain `,`.
//!
//! Blank lines and lines starting with `#` are ignored; leading and trailing white space
//! is trimmed; CRLF line endings are fine.
//!
//! Per-directory permissions (pyftpdlib's `override_perm`) are separate lines, placed
//! after the account they refine:
//!
//! ```text
//! @override NAME:/virtual/dir:PERMS[:recursive]
//! ```
//!
//! The directory is written as the client sees it, relative to the user's home
//! (`/incoming` means `<home>/incoming`), and must exist. Without `recursive` the
//! override covers the directory and its direct children; with it, the whole subtree.
//! The most specific override wins. An override naming a user not defined on an
//! *earlier* line is an error: keeping each user's rules below the user makes the file
//! read top to bottom.
//!
//! A complete example (hashes shortened here; real ones are 60 to 100 characters):
//!
//! ```text
//! # Alice: full rights in her own directory, at most 2 sessions, 1 MiB/s down.
//! alice:$6$saltsalt$TVLl...p5hVO1:elradfmwMT:/srv/ftp/alice:max_sessions=2,write_limit=1M
//!
//! # Bob: read-only everywhere, but may upload into /incoming (and nothing else there).
//! bob:$6$Qd8P...x1:elr:/srv/ftp:msg_login=Welcome Bob
//! @override bob:/incoming:elrw
//!
//! # A drop box: w without l or r, so files can be uploaded (STOR) but not listed or
//! # downloaded, like vsftpd's anonymous upload directory.
//! drop:$2b$10$N9qo...ZxPf2:w:/srv/drop
//! ```
//!
//! Errors name the file and the 1-based line ([`UsersFileError`]); the whole file is
//! refused if any line is wrong, so a typo never silently locks somebody out or lets
//! somebody in.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use super::hash::PasswordHash;
use super::memory::ANONYMOUS_NAMES;
use super::{AuthError, MemoryAuthorizer};
use crate::fs::path::VirtualPath;

/// What is wrong with a users file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsersFileError {
    /// The file name (or whatever origin was given to [`parse_users`]).
    pub file: String,
    /// The 1-based line number; 0 for problems with the whole file (e.g. unreadable).
    pub line: usize,
    /// What is wrong, in words.
    pub problem: String,
}

impl fmt::Display for UsersFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.problem)
    }
}

impl std::error::Error for UsersFileError {}

/// Reads and parses the users file at `path` (see the module documentation).
///
/// On Unix, a file that every local user can read is accepted with a warning in the
/// log: its hashes could be attacked offline.
pub fn load_users_file(path: &Path) -> Result<MemoryAuthorizer, UsersFileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| UsersFileError {
        file: origin.clone(),
        line: 0,
        problem: format!("cannot read the users file: {e}"),
    })?;
    warn_if_world_readable(path, &origin);
    parse_users(&text, &origin)
}

#[cfg(unix)]
fn warn_if_world_readable(path: &Path, origin: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o004 != 0 {
            log::warn!(
                "users file {origin} is readable by every local user; \
                 consider chmod 600 or 640 to protect the password hashes"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_path: &Path, _origin: &str) {}

/// Parses the text of a users file; `origin` names it in errors (usually the path).
///
/// Home directories and override directories are checked on disk.
pub fn parse_users(text: &str, origin: &str) -> Result<MemoryAuthorizer, UsersFileError> {
    let mut parser = Parser::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // a byte-order mark
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let result = match line.strip_prefix('@') {
            Some(directive) => parser.directive(directive),
            None => parser.account(line, index + 1),
        };
        result.map_err(|problem| UsersFileError {
            file: origin.to_owned(),
            line: index + 1,
            problem,
        })?;
    }
    Ok(parser.auth)
}

/// The state while reading a file: accounts so far and what was seen where.
#[derive(Default)]
struct Parser {
    auth: MemoryAuthorizer,
    /// Line on which each user was defined.
    defined: HashMap<String, usize>,
    /// (user, virtual directory) pairs that already have an override.
    overridden: HashSet<(String, String)>,
}

/// The text of an [`AuthError`] without the generic prefix.
fn problem_of(err: AuthError) -> String {
    match err {
        AuthError::InvalidConfig(why) => why,
        other => other.to_string(),
    }
}

impl Parser {
    /// `name:password-hash:perms:home[:options]`.
    fn account(&mut self, line: &str, number: usize) -> Result<(), String> {
        // Five fields at most: the options may contain `:` (IPv6 networks in allow_from).
        let fields: Vec<&str> = line.splitn(5, ':').collect();
        let (name, hash, perms, home, options) = match fields.as_slice() {
            [name, hash, perms, home] => (*name, *hash, *perms, *home, ""),
            [name, hash, perms, home, options] => (*name, *hash, *perms, *home, *options),
            _ => {
                return Err(format!(
                    "expected name:password-hash:perms:home[:options], found {} fields",
                    fields.len()
                ))
            }
        };
        check_name(name)?;
        if let Some(first) = self.defined.get(name) {
            return Err(format!(
                "duplicate user {name:?} (first defined on line {first})"
            ));
        }
        let hash = PasswordHash::parse(hash)
            .map_err(|e| format!("password hash of user {name:?}: {e}"))?;
        if home.is_empty() || !Path::new(home).is_absolute() {
            return Err(format!(
                "home directory {home:?} of user {name:?} must be an absolute path"
            ));
        }
        let options = parse_options(options)?;
        let auth = &mut self.auth;
        auth.add_user_hashed(name, hash, home, perms)
            .map_err(problem_of)?;
        auth.set_limits(name, options.limits).map_err(problem_of)?;
        if let Some(msg) = options.msg_login {
            auth.set_msg_login(name, msg).map_err(problem_of)?;
        }
        if let Some(msg) = options.msg_quit {
            auth.set_msg_quit(name, msg).map_err(problem_of)?;
        }
        self.defined.insert(name.to_owned(), number);
        Ok(())
    }

    /// A line starting with `@`, given without it: `override NAME:/dir:PERMS[:recursive]`.
    fn directive(&mut self, text: &str) -> Result<(), String> {
        const USAGE: &str = "expected @override NAME:/virtual/dir:PERMS[:recursive]";
        let (word, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        if word != "override" {
            return Err(format!(
                "unknown directive @{word} (the only one is @override)"
            ));
        }
        let fields: Vec<&str> = args.trim().split(':').collect();
        let (name, dir, perms, recursive) = match fields.as_slice() {
            [name, dir, perms] => (*name, *dir, *perms, false),
            [name, dir, perms, "recursive"] => (*name, *dir, *perms, true),
            [_, _, _, other] => {
                return Err(format!(
                    "{USAGE}: the 4th field must be 'recursive', not {other:?}"
                ))
            }
            _ => return Err(format!("{USAGE}, found {} fields", fields.len())),
        };
        if !self.defined.contains_key(name) {
            return Err(format!(
                "@override for user {name:?}, who is not defined on an earlier line"
            ));
        }
        if !dir.starts_with('/') || dir.split('/').any(|part| part == "..") {
            return Err(format!(
                "override directory {dir:?} must be an absolute path as the client sees it, \
                 without '..' (e.g. /incoming)"
            ));
        }
        let vdir = VirtualPath::root().resolve(dir);
        if !self
            .overridden
            .insert((name.to_owned(), vdir.as_str().to_owned()))
        {
            return Err(format!("duplicate @override for user {name:?} and {vdir}"));
        }
        // Relative to the home: "/incoming" -> "<home>/incoming".
        let relative = vdir.as_str().trim_start_matches('/');
        self.auth
            .override_perm(name, relative, perms, recursive)
            .map_err(|e| format!("@override {vdir} of user {name:?}: {}", problem_of(e)))
    }
}

/// Checks a user name: not empty, not reserved, no white space or control characters.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty user name".to_owned());
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "user name {name:?} contains white space or control characters"
        ));
    }
    if ANONYMOUS_NAMES.contains(&name) {
        return Err(format!(
            "user name {name:?} is reserved for the anonymous user, which is not \
             configured in the users file"
        ));
    }
    Ok(())
}

mod options;
use options::parse_options;

/// A plain decimal number (no sign, no spaces).
pub(super) fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A byte count with an optional `k`/`K` (1024) or `m`/`M` (1048576) suffix.
pub(crate) fn parse_bytes(text: &str) -> Option<u64> {
    let (digits, factor) = if let Some(digits) = text.strip_suffix(['k', 'K']) {
        (digits, 1024)
    } else if let Some(digits) = text.strip_suffix(['m', 'M']) {
        (digits, 1024 * 1024)
    } else {
        (text, 1)
    };
    parse_number(digits)?.checked_mul(factor)
}

#[cfg(test)]
mod tests;
