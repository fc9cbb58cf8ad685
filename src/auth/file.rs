//! [`FileAuthorizer`]: the accounts of a users file, reloadable while the server runs.
//!
//! The file's format is described in [`super::users_file`]. The accounts are kept as an
//! immutable [`MemoryAuthorizer`] behind `RwLock<Arc<..>>`: a [`reload`] parses the
//! whole file first and swaps the new accounts in only if the file is entirely valid, so
//! a typo during an edit never takes accounts away; the old ones stay and the caller
//! logs the error. Each login looks at the accounts current at that moment.
//!
//! A second, *fallback* [`MemoryAuthorizer`] holds accounts configured elsewhere (in
//! the daemon: the `-u/-P` user and `--anonymous`). It is asked about the names it
//! knows; every other name goes to the file. A name defined in both is an error at
//! [`load`] and at [`reload`], so there is never a doubt about which password applies.
//!
//! What a reload does to sessions that are already logged in: their [`User`] value
//! (home, messages, limits) was fixed at login and stays. Permissions, however, are
//! looked up in the current accounts at every command, so a reload that changes a
//! user's letters or `@override` lines applies at once, base letters and overrides
//! together (never an old mix). A session whose account was removed, or whose home
//! changed, gets no permission at all: it can only log out.
//!
//! [`load`]: FileAuthorizer::load
//! [`reload`]: FileAuthorizer::reload

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use super::users_file::{load_users_file, UsersFileError};
use super::{AuthError, Authorizer, ClientCert, MemoryAuthorizer, Perms, User};
use crate::fs::path::VirtualPath;

/// An [`Authorizer`] whose accounts come from a users file, plus optional fallback
/// accounts configured in code.
#[derive(Debug)]
pub struct FileAuthorizer {
    path: PathBuf,
    accounts: RwLock<Arc<MemoryAuthorizer>>,
    fallback: Option<MemoryAuthorizer>,
}

impl FileAuthorizer {
    /// Reads the users file at `path`. `fallback` holds accounts configured elsewhere
    /// (e.g. anonymous); a name defined both there and in the file is an error.
    pub fn load(
        path: impl Into<PathBuf>,
        fallback: Option<MemoryAuthorizer>,
    ) -> Result<FileAuthorizer, UsersFileError> {
        let path = path.into();
        let accounts = read(&path, fallback.as_ref())?;
        Ok(FileAuthorizer {
            path,
            accounts: RwLock::new(Arc::new(accounts)),
            fallback,
        })
    }

    /// Rereads the file and, if it is valid, replaces the accounts; returns how many
    /// accounts the file now defines. On error nothing changes (the previous accounts
    /// stay in force) and the error says which line is wrong.
    ///
    /// Logins from now on use the new accounts; see the module documentation for what
    /// happens to sessions already logged in.
    pub fn reload(&self) -> Result<usize, UsersFileError> {
        let accounts = read(&self.path, self.fallback.as_ref())?;
        let count = accounts.user_count();
        *self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(accounts);
        Ok(count)
    }

    /// The users file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The accounts currently loaded from the file (a snapshot: a later reload does not
    /// change it).
    pub fn accounts(&self) -> Arc<MemoryAuthorizer> {
        // A poisoned lock still holds a complete Arc: the writer only swaps it.
        Arc::clone(&self.accounts.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The fallback authorizer, if it is the one that knows `name`.
    fn fallback_for(&self, name: &str) -> Option<&MemoryAuthorizer> {
        self.fallback
            .as_ref()
            .filter(|fallback| fallback.has_user(name))
    }
}

/// Loads the file and checks that it shares no name with the fallback accounts.
fn read(
    path: &Path,
    fallback: Option<&MemoryAuthorizer>,
) -> Result<MemoryAuthorizer, UsersFileError> {
    let accounts = load_users_file(path)?;
    if let Some(fallback) = fallback {
        let mut clashes: Vec<&str> = accounts
            .user_names()
            .filter(|name| fallback.has_user(name))
            .collect();
        clashes.sort_unstable();
        if let Some(name) = clashes.first() {
            return Err(UsersFileError {
                file: path.display().to_string(),
                line: 0,
                problem: format!(
                    "user {name:?} is also configured outside the users file; \
                     define it in one place only"
                ),
            });
        }
    }
    Ok(accounts)
}

impl Authorizer for FileAuthorizer {
    fn authenticate(&self, user: &str, pass: &str, peer: IpAddr) -> Result<User, AuthError> {
        match self.fallback_for(user) {
            Some(fallback) => fallback.authenticate(user, pass, peer),
            // Unknown names go to the file too, whose decoy hash makes them as slow as
            // real accounts.
            None => self.accounts().authenticate(user, pass, peer),
        }
    }

    fn authenticate_at_once(
        &self,
        user: &str,
        pass: &str,
        peer: IpAddr,
    ) -> Option<Result<User, AuthError>> {
        match self.fallback_for(user) {
            Some(fallback) => fallback.authenticate_at_once(user, pass, peer),
            None => self.accounts().authenticate_at_once(user, pass, peer),
        }
    }

    fn authenticate_cert_only(&self, user: &str, cert: &ClientCert, peer: IpAddr) -> Option<User> {
        match self.fallback_for(user) {
            Some(fallback) => fallback.authenticate_cert_only(user, cert, peer),
            None => self.accounts().authenticate_cert_only(user, cert, peer),
        }
    }

    fn perms_for(&self, user: &User, path: &VirtualPath) -> Perms {
        if let Some(fallback) = self.fallback_for(&user.name) {
            return fallback.perms_for(user, path);
        }
        let accounts = self.accounts();
        match accounts.user(&user.name) {
            Some(current) if current.home == user.home => accounts.perms_for(current, path),
            _ => Perms::NONE, // removed, or moved to another home, since this login
        }
    }
}

#[cfg(test)]
mod tests;
