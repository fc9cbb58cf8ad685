//! [`ExternalAuthorizer`]: every login is decided by a program (the daemon's `--auth-command`),
//! in the manner of Pure-FTPd's extauth and SFTPGo's external authentication.
//!
//! For each USER/PASS the program is run with one JSON object on its standard input and
//! answers one JSON object on its standard output ([`protocol`] and docs/accounts.md
//! describe both). It can look accounts up anywhere: a database, PAM, an HTTP service.
//!
//! The program is slow compared with the event loop, so [`Authorizer::authenticate`] is
//! called on the loop's blocking-work pool (`src/control/ops/access.rs`), never on the loop
//! itself (unless the pool is configured away with `--blocking-threads 0`). Three limits keep
//! it from hurting the server:
//!
//! * a **timeout**: a program that has not answered in time is killed (its whole process
//!   group) and the login fails;
//! * a **concurrency cap**: at most that many programs run at once; a login that finds no free
//!   slot within the timeout fails, so a flood of logins cannot fork a flood of processes;
//! * a **cache** (optional): a successful answer is reused for the same user, password and
//!   client address for some seconds, so a client that opens many sessions runs the program
//!   once. Only a digest of the password is kept. Failures are never cached.
//!
//! It **fails closed**: a program that cannot start, crashes, exits non-zero, times out or
//! prints anything but a valid answer means a failed login. Each case is logged with its own
//! `reason=` code (`auth-command-denied`, `-crash`, `-timeout`, `-bad-answer`, `-busy`),
//! besides the connection's usual `failed login` line that fail2ban matches.
//!
//! Accounts configured elsewhere (the daemon's `-u/-P` user and `--anonymous`) can be given
//! as *fallback* accounts, as with [`super::FileAuthorizer`]: names they know never reach the
//! program. Permissions are those of the answer, for the whole session (no per-directory
//! overrides).

mod child;
pub mod protocol;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{AuthError, Authorizer, ClientCert, MemoryAuthorizer, Perms, User};
use crate::fs::path::VirtualPath;
use child::Outcome;
use protocol::{Request, Verdict};

/// The settings of an [`ExternalAuthorizer`].
#[derive(Debug, Clone)]
pub struct ExternalOptions {
    /// How long the program may take; then it is killed. Default: 5 s.
    pub timeout: Duration,
    /// Programs running at once, at most (at least 1). Default: 4.
    pub concurrency: usize,
    /// How long a successful answer is reused; zero: never. Default: zero.
    pub cache: Duration,
}

impl Default for ExternalOptions {
    fn default() -> ExternalOptions {
        ExternalOptions {
            timeout: Duration::from_secs(5),
            concurrency: 4,
            cache: Duration::ZERO,
        }
    }
}

/// A cached successful login.
#[derive(Debug)]
struct Cached {
    digest: [u8; 32],
    user: User,
    until: Instant,
}

/// An [`Authorizer`] that runs a program for every login (see the module documentation).
#[derive(Debug)]
pub struct ExternalAuthorizer {
    program: PathBuf,
    options: ExternalOptions,
    fallback: Option<MemoryAuthorizer>,
    /// Programs running now, against `options.concurrency`.
    running: Mutex<usize>,
    slot_freed: Condvar,
    cache: Mutex<HashMap<(String, IpAddr), Cached>>,
    /// Salt of the cached password digests, fresh for each authorizer.
    salt: [u8; 16],
}

impl ExternalAuthorizer {
    /// An authorizer running `program`; `fallback` holds accounts configured elsewhere.
    pub fn new(
        program: impl Into<PathBuf>,
        options: ExternalOptions,
        fallback: Option<MemoryAuthorizer>,
    ) -> Result<ExternalAuthorizer, AuthError> {
        let program = program.into();
        if !program.is_file() {
            return Err(AuthError::InvalidConfig(format!(
                "authentication command {} is not a file",
                program.display()
            )));
        }
        // Randomly keyed by the standard library: a salt nobody outside this process knows.
        let mut salt = [0u8; 16];
        for (i, chunk) in salt.chunks_mut(8).enumerate() {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        Ok(ExternalAuthorizer {
            program,
            options: ExternalOptions {
                concurrency: options.concurrency.max(1),
                ..options
            },
            fallback,
            running: Mutex::new(0),
            slot_freed: Condvar::new(),
            cache: Mutex::new(HashMap::new()),
            salt,
        })
    }

    /// What a cached answer is keyed on besides user and address: the password and the client
    /// certificate (the program may have decided on either).
    fn digest(&self, user: &str, pass: &str, cert: Option<&ClientCert>) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(user.as_bytes());
        h.update([0]);
        h.update(pass.as_bytes());
        h.update([0]);
        h.update(cert.map_or([0; 32], |c| c.sha256));
        h.finalize().into()
    }

    fn cached(&self, user: &str, ip: IpAddr, digest: &[u8; 32]) -> Option<User> {
        if self.options.cache.is_zero() {
            return None;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        cache.retain(|_, c| c.until > now);
        cache
            .get(&(user.to_owned(), ip))
            .filter(|c| super::memory::constant_time_eq(&c.digest, digest))
            .map(|c| c.user.clone())
    }

    fn remember(&self, user: &User, ip: IpAddr, digest: [u8; 32]) {
        if self.options.cache.is_zero() {
            return;
        }
        let cached = Cached {
            digest,
            user: user.clone(),
            until: Instant::now() + self.options.cache,
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert((user.name.clone(), ip), cached);
    }

    /// Takes a slot under the concurrency cap, waiting at most until `deadline`.
    fn acquire(&self, deadline: Instant) -> bool {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= self.options.concurrency {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            running = self
                .slot_freed
                .wait_timeout(running, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *running += 1;
        true
    }

    fn release(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        self.slot_freed.notify_one();
    }

    /// Runs the program for one login and interprets its answer.
    fn ask(
        &self,
        user: &str,
        pass: &str,
        ip: IpAddr,
        cert: Option<&ClientCert>,
    ) -> Result<User, AuthError> {
        let deadline = Instant::now() + self.options.timeout;
        if !self.acquire(deadline) {
            return Err(failed(
                user,
                ip,
                "busy",
                "no free slot (--auth-concurrency)",
            ));
        }
        let request = Request {
            user,
            password: pass,
            client: ip,
            cn: cert.and_then(|c| c.cn.as_deref()),
            fingerprint: cert.map(ClientCert::fingerprint),
        };
        let mut input = serde_json::to_vec(&request).unwrap_or_default();
        input.push(b'\n');
        let left = deadline.saturating_duration_since(Instant::now());
        let outcome = child::run(&self.program, &input, left);
        self.release();
        match outcome {
            Outcome::TimedOut => Err(failed(user, ip, "timeout", "no answer in time; killed")),
            Outcome::Failed(why) => Err(failed(user, ip, "crash", &why)),
            Outcome::Exited(status, _, stderr) if !status.success() => {
                let why = format!("{status}; stderr: {:?}", stderr.trim_end());
                Err(failed(user, ip, "crash", &why))
            }
            Outcome::Exited(_, out, _) => {
                match protocol::parse_answer(&out, user) {
                    Ok(Verdict::Accept(u)) => Ok(*u),
                    Ok(Verdict::Refuse(message)) => {
                        let why = message.unwrap_or_else(|| "refused".into());
                        log::info!("auth-command: USER '{user}' from {ip}: {why} reason=auth-command-denied");
                        Err(AuthError::BadCredentials)
                    }
                    Err(why) => Err(failed(user, ip, "bad-answer", &why)),
                }
            }
        }
    }
}

/// Logs a failure of the program itself with its reason code; the login fails.
fn failed(user: &str, ip: IpAddr, code: &str, why: &str) -> AuthError {
    log::warn!("auth-command: USER '{user}' from {ip}: {why} reason=auth-command-{code}");
    AuthError::BadCredentials
}

impl Authorizer for ExternalAuthorizer {
    fn authenticate(&self, user: &str, pass: &str, peer: IpAddr) -> Result<User, AuthError> {
        self.authenticate_with_cert(user, pass, peer, None)
    }

    fn authenticate_with_cert(
        &self,
        user: &str,
        pass: &str,
        peer: IpAddr,
        cert: Option<&ClientCert>,
    ) -> Result<User, AuthError> {
        if let Some(fallback) = self.fallback.as_ref().filter(|f| f.has_user(user)) {
            return fallback.authenticate(user, pass, peer);
        }
        let digest = self.digest(user, pass, cert);
        if let Some(hit) = self.cached(user, peer, &digest) {
            return Ok(hit);
        }
        let found = self.ask(user, pass, peer, cert)?;
        self.remember(&found, peer, digest);
        Ok(found)
    }

    /// The fallback accounts may answer at once; the program is always asked on the pool.
    fn authenticate_at_once(
        &self,
        user: &str,
        pass: &str,
        peer: IpAddr,
    ) -> Option<Result<User, AuthError>> {
        let fallback = self.fallback.as_ref().filter(|f| f.has_user(user))?;
        fallback.authenticate_at_once(user, pass, peer)
    }

    /// Only the fallback accounts can be bound to a certificate; the program decides with the
    /// password (it is told the certificate).
    fn authenticate_cert_only(&self, user: &str, cert: &ClientCert, peer: IpAddr) -> Option<User> {
        let fallback = self.fallback.as_ref().filter(|f| f.has_user(user))?;
        fallback.authenticate_cert_only(user, cert, peer)
    }

    fn perms_for(&self, user: &User, path: &VirtualPath) -> Perms {
        match self.fallback.as_ref().filter(|f| f.has_user(&user.name)) {
            Some(fallback) => fallback.perms_for(user, path),
            None => user.perms,
        }
    }
}

#[cfg(test)]
mod tests;
