//! [`MemoryAuthorizer`]: users, passwords and per-directory permissions kept in memory.
//!
//! This is the authorizer a small server or an embedding program configures in code,
//! like pyftpdlib's `DummyAuthorizer`: `add_user`, `add_anonymous`, `override_perm`.
//!
//! Rules it enforces:
//! * a wrong password and an unknown user give the same [`AuthError::BadCredentials`],
//!   and passwords are compared in constant time (every byte is looked at), so neither
//!   the reply nor its timing tells an attacker which names exist;
//! * an account's secret is either a plaintext password ([`add_user`]) or a
//!   [`PasswordHash`] ([`add_user_hashed`], what a users file gives). Checking a hash is
//!   slow on purpose, so for an unknown name the first hash added is checked as a decoy
//!   and the reply takes about as long as for a real account;
//! * user names are case-sensitive; `anonymous` and `ftp` are reserved for the anonymous
//!   user, who may give any password (RFC 1635) and should normally be read-only;
//! * a home directory must exist when the user is added, and an override must name a
//!   directory inside that home. The most specific override that applies wins; a
//!   recursive override covers its whole subtree, a non-recursive one only the
//!   directory and its direct children (pyftpdlib's `override_perm`).
//!
//! Overrides are matched against the virtual path *and* against the same path with its
//! symlinks resolved inside the home; the user gets the intersection, so a symlink can
//! never be used to sidestep a restrictive override. Users without overrides need no
//! disk access at all.
//!
//! [`add_user`]: MemoryAuthorizer::add_user
//! [`add_user_hashed`]: MemoryAuthorizer::add_user_hashed

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{AuthError, Authorizer, ClientCert, PasswordHash, Perms, User, UserLimits};
use crate::fs::path::{RootedPath, VirtualPath};

mod secret;

pub(super) use secret::constant_time_eq;
use secret::Secret;

/// The names that log in as the anonymous user.
pub(crate) const ANONYMOUS_NAMES: [&str; 2] = ["anonymous", "ftp"];

/// One per-directory permission override.
#[derive(Clone, Debug)]
struct Override {
    dir: VirtualPath,
    perms: Perms,
    recursive: bool,
}

impl Override {
    fn applies_to(&self, path: &VirtualPath) -> bool {
        path.starts_with(&self.dir)
            && (self.recursive || *path == self.dir || path.parent() == self.dir)
    }
}

/// A configured user: its public [`User`] record, secret and overrides.
#[derive(Clone)]
struct Account {
    secret: Secret,
    user: User,
    overrides: Vec<Override>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("secret", &"<redacted>")
            .field("user", &self.user)
            .field("overrides", &self.overrides)
            .finish()
    }
}

/// An [`Authorizer`] whose users are configured in code and kept in memory.
///
/// Its `Debug` output never shows passwords.
#[derive(Clone, Debug, Default)]
pub struct MemoryAuthorizer {
    users: HashMap<String, Account>,
    anonymous: Option<Account>,
    /// The first hash added: checked for unknown names so that they cost the same time.
    decoy: Option<PasswordHash>,
}

fn invalid(why: String) -> AuthError {
    AuthError::InvalidConfig(why)
}

/// Canonicalises a home directory, which must exist and be a directory.
fn check_home(name: &str, home: PathBuf) -> Result<PathBuf, AuthError> {
    let shown = home.display().to_string();
    match std::fs::canonicalize(&home) {
        Ok(canon) if canon.is_dir() => Ok(canon),
        Ok(_) => Err(invalid(format!(
            "home directory {shown:?} of user {name:?} is not a directory"
        ))),
        Err(e) => Err(invalid(format!(
            "home directory {shown:?} of user {name:?} is not usable: {e}"
        ))),
    }
}

/// The virtual path of `real`, a path inside the canonical `home`.
fn to_virtual(home: &Path, real: &Path) -> Option<VirtualPath> {
    let rel = real.strip_prefix(home).ok()?;
    let mut vpath = VirtualPath::root();
    for part in rel.components() {
        vpath = vpath.join(part.as_os_str().to_str()?);
    }
    Some(vpath)
}

impl MemoryAuthorizer {
    /// An authorizer with no users.
    pub fn new() -> MemoryAuthorizer {
        MemoryAuthorizer::default()
    }

    /// Adds a user with a password, an existing home directory and permission letters
    /// (e.g. `"elradfmwMT"`).
    ///
    /// Errors: an empty, duplicate or reserved (`anonymous`, `ftp`) name, a home that is
    /// not an existing directory, or an unknown permission letter.
    pub fn add_user(
        &mut self,
        name: &str,
        password: &str,
        home: impl Into<PathBuf>,
        perms: &str,
    ) -> Result<(), AuthError> {
        self.add_account(name, Secret::Plain(password.to_owned()), home.into(), perms)
    }

    /// Like [`add_user`](Self::add_user), but the password is checked against `hash`
    /// (see [`PasswordHash`]) instead of being stored in plaintext.
    pub fn add_user_hashed(
        &mut self,
        name: &str,
        hash: PasswordHash,
        home: impl Into<PathBuf>,
        perms: &str,
    ) -> Result<(), AuthError> {
        let decoy = hash.clone();
        self.add_account(name, Secret::Hashed(hash), home.into(), perms)?;
        self.decoy.get_or_insert(decoy);
        Ok(())
    }

    fn add_account(
        &mut self,
        name: &str,
        secret: Secret,
        home: PathBuf,
        perms: &str,
    ) -> Result<(), AuthError> {
        if name.is_empty() {
            return Err(invalid("user name must not be empty".to_owned()));
        }
        if ANONYMOUS_NAMES.contains(&name) {
            return Err(invalid(format!(
                "user name {name:?} is reserved for the anonymous user (use add_anonymous)"
            )));
        }
        if self.users.contains_key(name) {
            return Err(invalid(format!("user {name:?} already exists")));
        }
        let perms = Perms::parse(perms)?;
        let home = check_home(name, home)?;
        let account = Account {
            secret,
            user: new_user(name, home, perms, false),
            overrides: Vec::new(),
        };
        self.users.insert(name.to_owned(), account);
        Ok(())
    }

    /// Enables anonymous login (user `anonymous` or `ftp`, any password) into `home`.
    ///
    /// Write letters are allowed but logged as a warning: anyone could then change files.
    pub fn add_anonymous(
        &mut self,
        home: impl Into<PathBuf>,
        perms: &str,
    ) -> Result<(), AuthError> {
        if self.anonymous.is_some() {
            return Err(invalid("the anonymous user already exists".to_owned()));
        }
        let perms = Perms::parse(perms)?;
        let home = check_home("anonymous", home.into())?;
        if perms.has_write() {
            log::warn!("anonymous user has write permissions ({perms}): anyone can modify files");
        }
        self.anonymous = Some(Account {
            secret: Secret::Plain(String::new()),
            user: new_user("anonymous", home, perms, true),
            overrides: Vec::new(),
        });
        Ok(())
    }

    /// True if `name` can log in (either anonymous alias counts once anonymous exists).
    pub fn has_user(&self, name: &str) -> bool {
        self.account(name).is_some()
    }

    /// The record `name` gets when logging in (the anonymous record for its aliases).
    pub fn user(&self, name: &str) -> Option<&User> {
        self.account(name).map(|account| &account.user)
    }

    /// The names of the users added with `add_user`/`add_user_hashed` (not anonymous),
    /// in no particular order.
    pub fn user_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.users.keys().map(String::as_str)
    }

    /// How many users were added with `add_user`/`add_user_hashed` (not anonymous).
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Gives user `name` the permissions `perms` in directory `dir` (and, if
    /// `recursive`, everything below it; otherwise only its direct children).
    ///
    /// `dir` is a real directory inside the user's home; a relative `dir` is taken
    /// relative to the home. Calling it again for the same directory replaces the
    /// previous override.
    pub fn override_perm(
        &mut self,
        name: &str,
        dir: impl Into<PathBuf>,
        perms: &str,
        recursive: bool,
    ) -> Result<(), AuthError> {
        let perms = Perms::parse(perms)?;
        let account = self.account_mut(name).ok_or(AuthError::UnknownUser)?;
        let home = &account.user.home;
        let dir = home.join(dir.into()); // an absolute `dir` replaces `home`
        let shown = dir.display().to_string();
        let real = match std::fs::canonicalize(&dir) {
            Ok(real) if real.is_dir() => real,
            Ok(_) => {
                return Err(invalid(format!(
                    "override path {shown:?} is not a directory"
                )))
            }
            Err(e) => return Err(invalid(format!("override directory {shown:?}: {e}"))),
        };
        let dir = to_virtual(home, &real).ok_or_else(|| {
            invalid(format!(
                "override directory {shown:?} is not inside the home {:?} of user {name:?} \
                 (or its name is not UTF-8)",
                home.display().to_string()
            ))
        })?;
        let overrides = &mut account.overrides;
        overrides.retain(|o| o.dir != dir);
        overrides.push(Override {
            dir,
            perms,
            recursive,
        });
        Ok(())
    }

    /// Sets the text of the 230 reply after `name` logs in.
    pub fn set_msg_login(&mut self, name: &str, msg: impl Into<String>) -> Result<(), AuthError> {
        let account = self.account_mut(name).ok_or(AuthError::UnknownUser)?;
        account.user.msg_login = msg.into();
        Ok(())
    }

    /// Sets the text of the 221 reply when `name` quits.
    pub fn set_msg_quit(&mut self, name: &str, msg: impl Into<String>) -> Result<(), AuthError> {
        let account = self.account_mut(name).ok_or(AuthError::UnknownUser)?;
        account.user.msg_quit = msg.into();
        Ok(())
    }

    /// Sets the per-user limits (sessions, aggregate bandwidth) of `name`.
    pub fn set_limits(&mut self, name: &str, limits: UserLimits) -> Result<(), AuthError> {
        let account = self.account_mut(name).ok_or(AuthError::UnknownUser)?;
        account.user.limits = limits;
        Ok(())
    }

    fn account(&self, name: &str) -> Option<&Account> {
        if ANONYMOUS_NAMES.contains(&name) {
            self.anonymous.as_ref()
        } else {
            self.users.get(name)
        }
    }

    fn account_mut(&mut self, name: &str) -> Option<&mut Account> {
        if ANONYMOUS_NAMES.contains(&name) {
            self.anonymous.as_mut()
        } else {
            self.users.get_mut(name)
        }
    }
}

fn new_user(name: &str, home: PathBuf, perms: Perms, anonymous: bool) -> User {
    User {
        name: name.to_owned(),
        home,
        perms,
        anonymous,
        msg_login: "Login successful.".to_owned(),
        msg_quit: "Goodbye.".to_owned(),
        limits: UserLimits::default(),
    }
}

/// The most specific override that applies to `path`, if any.
fn most_specific<'a>(overrides: &'a [Override], path: &VirtualPath) -> Option<&'a Override> {
    overrides
        .iter()
        .filter(|o| o.applies_to(path))
        .max_by_key(|o| o.dir.components().count())
}

impl Authorizer for MemoryAuthorizer {
    fn authenticate(&self, user: &str, pass: &str, _peer: IpAddr) -> Result<User, AuthError> {
        match self.account(user) {
            Some(account) if account.user.anonymous => Ok(account.user.clone()),
            Some(account) if account.secret.matches(pass) => Ok(account.user.clone()),
            Some(_) => Err(AuthError::BadCredentials),
            None => {
                // Spend the same time as a real check would.
                match &self.decoy {
                    Some(hash) => std::hint::black_box(hash.verify(pass)),
                    None => constant_time_eq(pass.as_bytes(), pass.as_bytes()),
                };
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// At once unless a hash is checked: the account's own, or the decoy for an unknown name.
    fn authenticate_at_once(
        &self,
        user: &str,
        pass: &str,
        peer: IpAddr,
    ) -> Option<Result<User, AuthError>> {
        let hashed = match self.account(user) {
            Some(account) => !account.user.anonymous && account.secret.is_hashed(),
            None => self.decoy.is_some(),
        };
        (!hashed).then(|| self.authenticate(user, pass, peer))
    }

    fn authenticate_cert_only(&self, user: &str, cert: &ClientCert, _: IpAddr) -> Option<User> {
        super::cert::cert_only_user(self.user(user), cert)
    }

    fn perms_for(&self, user: &User, path: &VirtualPath) -> Perms {
        let Some(account) = self.account(&user.name) else {
            return user.perms;
        };
        if account.overrides.is_empty() {
            return user.perms;
        }
        let lookup =
            |p: &VirtualPath| most_specific(&account.overrides, p).map_or(user.perms, |o| o.perms);
        let lexical = lookup(path);
        // The same place with symlinks resolved inside the home, if that is different.
        let resolved = RootedPath::resolve(&user.home, path)
            .ok()
            .and_then(|real| to_virtual(&user.home, real.as_path()));
        match resolved {
            Some(real) if real != *path => lexical.intersection(lookup(&real)),
            _ => lexical,
        }
    }
}

#[cfg(test)]
mod tests;
