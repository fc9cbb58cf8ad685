//! RFC 959 §4.1.1 access control commands: USER, PASS, REIN, QUIT (ACCT is answered in the
//! dispatcher), plus HOST from RFC 7151.
//!
//! Two RFC 2577 defences live here. USER always answers `331`, whether or not the name exists,
//! so the server never tells an attacker which names are valid. A wrong PASS is answered only
//! after `auth_failed_delay`, through a loop timer: the connection waits (its next commands stay
//! buffered) while every other session carries on, and after `max_login_attempts` failures it is
//! closed.
//!
//! Checking a password is slow on purpose (a bcrypt hash of cost 10 takes about 100 ms), so it
//! never runs on the loop: PASS hands the check to the blocking-work pool (`Context::offload`)
//! and the connection waits in `Phase::Authenticating`, its next commands buffered, until the
//! pool's answer (`Msg::LoginChecked`) completes the login. Other sessions are served meanwhile.
//!
//! A user bound to a TLS client certificate (`UserLimits::cert`) also needs that certificate on
//! the control connection: without it the right password is refused like a wrong one
//! (`reason=cert-missing` or `reason=cert-mismatch` in the log). With `cert_only` the
//! certificate replaces the password: `USER` is answered `232` at once (RFC 2228), a lookup
//! that does not block, so it stays on the loop.
//! The same pool job measures the usage of a user with a quota at the user's first login
//! (`crate::quota`), so the `230` comes once the usage is known.

use std::sync::Arc;

use super::super::{ControlConn, Phase};
use crate::auth::{AuthError, User};
use crate::fs::{Filesystem, OsFs, UploadPolicy, VirtualPath};
use crate::ioloop::Flow;
use crate::msg::{Cx, Msg, TimerKind};
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

impl ControlConn {
    /// USER: remembers the name (a `331` asks for the password), or logs a `cert_only` user
    /// in on its client certificate (`232`; `None` while a quota's usage is measured first).
    pub(in crate::control) fn ftp_user(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let flushed = self.session.logged_in();
        if flushed {
            log::info!("{} previous account information flushed", self.tag());
            self.end_user_session();
            self.session.flush_account();
        }
        self.session.username = Some(arg.to_owned());
        if let Some(user) = self.cert_only_user(arg) {
            if user.limits.quota_bytes.is_none() && user.limits.quota_files.is_none() {
                return Some(self.complete_login(user, ReplyCode::LoggedInSecure));
            }
            // A quota's usage is measured on the pool first, as after PASS.
            let shared = Arc::clone(&self.shared);
            self.phase = Phase::Authenticating;
            cx.offload(
                move || {
                    let quota = shared.quotas.attach(&user);
                    Msg::LoginChecked(Box::new((Ok(user), quota)))
                },
                Msg::LoginChecked(Box::new((Err(AuthError::BadCredentials), None))),
            );
            return None;
        }
        Some(if flushed {
            Reply::new(
                ReplyCode::NeedPassword,
                "Previous account information was flushed, send password.",
            )
        } else {
            Reply::new(ReplyCode::NeedPassword, "Username ok, send password.")
        })
    }

    /// The user `name`, if the control connection's verified client certificate alone logs it
    /// in (RFC 2228's `232`): a `cert_only` binding that matches, from an allowed address.
    fn cert_only_user(&self, name: &str) -> Option<User> {
        let cert = self.client_cert()?;
        let ip = canonical_ip(self.peer.ip());
        let user = self
            .cfg
            .authorizer
            .authenticate_cert_only(name, &cert, ip)?;
        if !allowed_from(&user, ip) {
            // Fall back to the password, whose check logs the refusal.
            return None;
        }
        log::info!(
            "{} USER '{name}' authorized by client certificate (sha256 {}).",
            self.tag(),
            cert.fingerprint()
        );
        Some(user)
    }

    pub(in crate::control) fn ftp_pass(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        if self.session.logged_in() {
            return Some(Reply::new(
                ReplyCode::BadSequence,
                "User already authenticated.",
            ));
        }
        let Some(name) = self.session.username.clone() else {
            return Some(Reply::new(ReplyCode::BadSequence, "Login with USER first."));
        };
        let ip = canonical_ip(self.peer.ip());
        let auth = Arc::clone(&self.cfg.authorizer);
        let pass = arg.to_owned();
        let cert = self.client_cert();
        let shared = Arc::clone(&self.shared);
        self.phase = Phase::Authenticating;
        cx.offload(
            move || {
                let result = auth.authenticate_with_cert(&name, &pass, ip, cert.as_ref());
                // The first login of a user with a quota measures its usage, here on the pool.
                let quota = result.as_ref().ok().and_then(|u| shared.quotas.attach(u));
                Msg::LoginChecked(Box::new((result, quota)))
            },
            Msg::LoginChecked(Box::new((Err(AuthError::BadCredentials), None))),
        );
        None
    }

    /// The blocking pool's answer to PASS: finish the login (or start the delayed 530), then
    /// run the commands that waited.
    pub(in crate::control) fn on_login_checked(
        &mut self,
        result: Result<User, AuthError>,
        quota: Option<Arc<crate::quota::Quota>>,
        cx: &mut Cx<'_>,
    ) -> Flow {
        if self.phase != Phase::Authenticating {
            return Flow::Continue;
        }
        self.phase = Phase::Ready;
        let reply = self.finish_login(result, cx);
        if self.session.logged_in() {
            self.session.quota = quota;
        }
        self.finish_deferred(reply);
        self.pump(cx)
    }

    /// The filesystem the user sees: the embedder's, or the home directory jailed.
    fn open_user_fs(&mut self, user: &User) -> Result<Box<dyn Filesystem>, Reply> {
        let policy = UploadPolicy {
            atomic: self.cfg.atomic_uploads,
            delete_incomplete: self.cfg.delete_incomplete_uploads,
            umask: user.limits.umask.unwrap_or(self.cfg.umask),
        };
        let names = crate::fs::policy::Names {
            hide: [&self.cfg.hide[..], &user.limits.hide[..]].concat(),
            deny: [&self.cfg.deny[..], &user.limits.deny[..]].concat(),
        };
        let opened = match &self.cfg.filesystem {
            Some(factory) => factory.open(user),
            None => OsFs::new(&user.home)
                .map(|fs| Box::new(fs.with_uploads(policy)) as Box<dyn Filesystem>),
        }
        .map(|fs| names.apply(fs));
        opened.map_err(|e| {
            log::error!(
                "{} home directory {} unusable: {e}",
                self.tag(),
                user.home.display()
            );
            self.session.username = None;
            Reply::new(ReplyCode::NotLoggedIn, "Home directory is not available.")
        })
    }

    /// A wrong password (or a login refused for `reason`, a log reason code): hooks, event,
    /// metrics, the ban count, and the delayed 530 (`AuthDelay`).
    fn login_failed(&mut self, name: &str, e: &AuthError, reason: &'static str, cx: &mut Cx<'_>) {
        let ip = canonical_ip(self.peer.ip());
        log::debug!("{} authentication failed: {e}", self.tag());
        self.shared.metrics.login_failed(reason);
        self.cfg.hooks.on_login_failed(&self.info());
        self.emit(&crate::events::Event::LoginFailed {
            conn: self.conn_id,
            peer: self.peer,
            user: name,
        });
        if self.shared.record_failure(ip, &self.cfg.bans, cx.now) {
            self.shared.metrics.banned();
            log::warn!(
                "{} {ip} banned for {:.0} s after repeated failed logins reason=banned",
                self.tag(),
                self.cfg.bans.time.as_secs_f64()
            );
        }
        self.phase = Phase::AuthDelay;
        cx.after(self.cfg.auth_failed_delay, TimerKind::AuthDelay);
    }

    fn finish_login(&mut self, result: Result<User, AuthError>, cx: &mut Cx<'_>) -> Option<Reply> {
        let name = self.session.username.clone().unwrap_or_default();
        match result {
            Ok(user) => match self.login_refusal(&user) {
                None => {
                    // A certificate-only user reaches this point only through USER (a matching
                    // certificate logs it in there): RFC 2228's 232.
                    let by_cert = user.limits.cert.as_ref().is_some_and(|b| b.only);
                    let code = if by_cert {
                        ReplyCode::LoggedInSecure
                    } else {
                        ReplyCode::LoggedIn
                    };
                    Some(self.complete_login(user, code))
                }
                Some((reason, why)) => {
                    log::warn!(
                        "{} USER '{name}' refused: {why} reason={reason}",
                        self.tag()
                    );
                    self.login_failed(&name, &AuthError::BadCredentials, reason, cx);
                    None
                }
            },
            Err(e) => {
                self.login_failed(&name, &e, "auth-failed", cx);
                None
            }
        }
    }

    /// Why a user whose password was right may still not log in here (its `reason=` code
    /// and a text): a foreign address, or a missing or wrong client certificate.
    fn login_refusal(&self, user: &User) -> Option<(&'static str, String)> {
        let ip = canonical_ip(self.peer.ip());
        if !allowed_from(user, self.peer.ip()) {
            return Some(("address-not-allowed", format!("from {ip}")));
        }
        let binding = user.limits.cert.as_ref()?;
        match self.client_cert() {
            None => Some(("cert-missing", "no client certificate".to_owned())),
            Some(cert) if !binding.matches(&cert) => Some((
                "cert-mismatch",
                format!(
                    "client certificate {} (CN {:?}) is not the user's",
                    cert.fingerprint(),
                    cert.cn.as_deref().unwrap_or("")
                ),
            )),
            Some(_) => None,
        }
    }

    /// Logs `user` in (its password or certificate accepted): opens its filesystem, counts the
    /// session, and answers `code` (`230`, or `232` for a certificate login).
    fn complete_login(&mut self, user: User, code: ReplyCode) -> Reply {
        let name = self.session.username.clone().unwrap_or_default();
        let fs = match self.open_user_fs(&user) {
            Ok(fs) => fs,
            Err(reply) => return reply,
        };
        if !self
            .shared
            .try_add_session(&user.name, user.limits.max_sessions)
        {
            log::warn!(
                "{} USER '{name}' refused: too many sessions reason=user-session-limit",
                self.tag()
            );
            self.shared.metrics.login_failed("user-session-limit");
            self.session.username = None;
            self.close_when_done();
            return Reply::new(ReplyCode::NotAvailable, "Too many sessions for this user.");
        }
        self.user_session = Some(user.name.clone());
        let msg = if user.msg_login.is_empty() {
            "Login successful.".to_owned()
        } else {
            user.msg_login.clone()
        };
        self.session.user = Some(user);
        self.session.fs = Some(fs);
        self.session.cwd = VirtualPath::root();
        self.session.failed_logins = 0;
        log::info!("{} USER '{name}' logged in.", self.tag());
        self.shared.metrics.login_ok();
        self.cfg.hooks.on_login(&self.info());
        self.emit(&crate::events::Event::Login {
            conn: self.conn_id,
            peer: self.peer,
            user: &name,
        });
        Reply::new(code, msg)
    }

    /// Sends the delayed 530 for the wrong password given earlier; closes after too many.
    pub(in crate::control) fn auth_failed_reply(&mut self) {
        let name = self.session.username.take().unwrap_or_default();
        self.session.failed_logins += 1;
        let mut msg = if name == "anonymous" || name == "ftp" {
            "Anonymous access not allowed.".to_owned()
        } else {
            "Authentication failed.".to_owned()
        };
        log::warn!(
            "{} USER '{name}' failed login. reason=auth-failed",
            self.tag()
        );
        self.phase = Phase::Ready;
        if self.session.failed_logins >= self.cfg.max_login_attempts {
            msg.push_str(" Disconnecting.");
            self.close_when_done();
        }
        self.respond(Reply::new(ReplyCode::NotLoggedIn, msg));
    }

    /// The logged-in user leaves (QUIT, REIN, a new USER, disconnect): releases the slot in the
    /// user's session count and calls `on_logout`, once.
    pub(in crate::control) fn end_user_session(&mut self) {
        if let Some(user) = self.user_session.take() {
            self.shared.remove_session(&user);
            self.cfg.hooks.on_logout(&self.info());
        }
    }

    pub(in crate::control) fn ftp_quit(&mut self) -> Reply {
        let msg = match &self.session.user {
            Some(u) if !u.msg_quit.is_empty() => u.msg_quit.clone(),
            _ => "Goodbye.".to_owned(),
        };
        if self.session.logged_in() {
            log::info!(
                "{} USER '{}' logged out.",
                self.tag(),
                self.session.log_name()
            );
            self.end_user_session();
        }
        self.close_when_done();
        Reply::new(ReplyCode::Closing, msg)
    }

    pub(in crate::control) fn ftp_rein(&mut self) -> Reply {
        log::info!("{} REIN: account flushed", self.tag());
        self.end_user_session();
        self.session.flush_account();
        // RFC 959 lists 220 for REIN, but a 2xx that means "logged out, ready" is what clients
        // (and pyftpdlib) use.
        Reply::new(ReplyCode::LoggedIn, "Ready for new user.")
    }

    /// RFC 7151: HOST names the virtual host before login; we serve one host and accept any.
    pub(in crate::control) fn ftp_host(&mut self) -> Reply {
        if self.session.logged_in() || self.session.username.is_some() {
            Reply::new(
                ReplyCode::BadSequence,
                "Bad sequence of commands: HOST must come before USER.",
            )
        } else {
            Reply::new(ReplyCode::Ready, "Host accepted.")
        }
    }
}

/// The user's `allow_from` networks admit `ip` (no networks: anywhere).
fn allowed_from(user: &User, ip: std::net::IpAddr) -> bool {
    let nets = &user.limits.allow_from;
    nets.is_empty() || nets.iter().any(|net| net.contains(ip))
}
