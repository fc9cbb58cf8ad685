//! RFC 959 §4.1.1 access control commands: USER, PASS, REIN, QUIT (ACCT is answered in the
//! dispatcher), plus HOST from RFC 7151.
//!
//! Two RFC 2577 defences live here. USER always answers `331`, whether or not the name exists,
//! so the server never tells an attacker which names are valid. A wrong PASS is answered only
//! after `auth_failed_delay`, through a loop timer: the connection waits (its next commands stay
//! buffered) while every other session carries on, and after `max_login_attempts` failures it is
//! closed.
//!
//! Checking a password hash is slow on purpose (a bcrypt hash of cost 10 takes about 100 ms),
//! so it never runs on the loop: PASS hands the check to the blocking-work pool
//! (`Context::offload`) and the connection waits in `Phase::Authenticating`, its next commands
//! buffered, until the pool's answer (`Msg::LoginChecked`) completes the login. Other sessions
//! are served meanwhile. The exception is a check the authorizer answers at once
//! (`Authorizer::authenticate_at_once`: a plaintext password, `-u`/`-P` or `add_user`): a
//! comparison of a few bytes costs less than the two thread wake-ups of a pool job, so it runs
//! here, and the login is answered in the same turn (docs/performance.md, run AG).
//!
//! A user bound to a TLS client certificate (`UserLimits::cert`) also needs that certificate on
//! the control connection: without it the right password is refused like a wrong one
//! (`reason=cert-missing` or `reason=cert-mismatch` in the log). With `cert_only` the
//! certificate replaces the password: `USER` is answered `232` at once (RFC 2228), a lookup
//! that does not block, so it stays on the loop.
//! The same pool job measures the usage of a user with a quota at the user's first login
//! (`crate::quota`), so the `230` comes once the usage is known.

use std::sync::Arc;

use super::super::core::{Action, Core, LoginJob, Outcome};
use crate::auth::{AuthError, User};
use crate::fs::{Filesystem, OsFs, UploadPolicy, VirtualPath};
use crate::msg::LoginChecked;
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

/// USER: remembers the name (a `331` asks for the password), or logs a `cert_only` user in on
/// its client certificate (`232`, once a quota's usage is measured on the pool if it has one).
pub(in crate::control) fn user(c: &mut Core<'_>, arg: &str) -> Outcome {
    let flushed = c.session.logged_in();
    if flushed {
        log::info!("{} previous account information flushed", c.tag());
        end_session(c);
        c.session.flush_account();
    }
    c.session.username = Some(arg.to_owned());
    if let Some(user) = cert_only_user(c, arg) {
        if !has_quota(&user) {
            return complete_login(c, user, ReplyCode::LoggedInSecure);
        }
        return measure_quota(c, user);
    }
    let text = if flushed {
        "Previous account information was flushed, send password."
    } else {
        "Username ok, send password."
    };
    Reply::new(ReplyCode::NeedPassword, text).into()
}

/// The user `name`, if the control connection's verified client certificate alone logs it in
/// (RFC 2228's `232`): a `cert_only` binding that matches, from an allowed address.
fn cert_only_user(c: &Core<'_>, name: &str) -> Option<User> {
    let cert = c.sec.client_cert.as_ref()?;
    let ip = canonical_ip(c.peer.ip());
    let user = c.cfg.authorizer.authenticate_cert_only(name, cert, ip)?;
    if !allowed_from(&user, ip) {
        // Fall back to the password, whose check logs the refusal.
        return None;
    }
    log::info!(
        "{} USER '{name}' authorized by client certificate (sha256 {}).",
        c.tag(),
        cert.fingerprint()
    );
    Some(user)
}

/// Whether `user` has a quota, whose usage is measured (on the pool) before it logs in.
fn has_quota(user: &User) -> bool {
    user.limits.quota_bytes.is_some() || user.limits.quota_files.is_some()
}

/// The pool job for a user already accepted: measure its quota's usage (the first login walks
/// the home directory), then [`login_checked`].
fn measure_quota(c: &Core<'_>, user: User) -> Outcome {
    let shared = Arc::clone(c.shared);
    Action::CheckLogin(LoginJob(Box::new(move || {
        let quota = shared.quotas.attach(&user);
        (Ok(user), quota)
    })))
    .into()
}

/// PASS: the check (and, at a user's first login, the measure of its quota) runs on the
/// blocking pool; [`login_checked`] continues with its answer. A check the authorizer can
/// answer at once (a plaintext password) is answered here: see the module docs.
pub(in crate::control) fn pass(c: &mut Core<'_>, arg: &str) -> Outcome {
    if c.session.logged_in() {
        return Reply::new(ReplyCode::BadSequence, "User already authenticated.").into();
    }
    let Some(name) = c.session.username.clone() else {
        return Reply::new(ReplyCode::BadSequence, "Login with USER first.").into();
    };
    let ip = canonical_ip(c.peer.ip());
    let auth = Arc::clone(&c.cfg.authorizer);
    if let Some(result) = auth.authenticate_at_once(&name, arg, ip) {
        return match result {
            Ok(user) if has_quota(&user) => measure_quota(c, user),
            result => login_checked(c, (result, None)),
        };
    }
    let pass = arg.to_owned();
    let cert = c.sec.client_cert.clone();
    let shared = Arc::clone(c.shared);
    Action::CheckLogin(LoginJob(Box::new(move || {
        let result = auth.authenticate_with_cert(&name, &pass, ip, cert.as_ref());
        // The first login of a user with a quota measures its usage, here on the pool.
        let quota = result.as_ref().ok().and_then(|u| shared.quotas.attach(u));
        (result, quota)
    })))
    .into()
}

/// The pool's answer to PASS (or to a certificate login with a quota): log in, or fail.
pub(in crate::control) fn login_checked(c: &mut Core<'_>, checked: LoginChecked) -> Outcome {
    let (result, quota) = checked;
    let name = c.session.username.clone().unwrap_or_default();
    let user = match result {
        Ok(user) => user,
        Err(e) => return login_failed(c, &name, &e, "auth-failed"),
    };
    if let Some((reason, why)) = login_refusal(c, &user) {
        log::warn!("{} USER '{name}' refused: {why} reason={reason}", c.tag());
        return login_failed(c, &name, &AuthError::BadCredentials, reason);
    }
    // A certificate-only user reaches this point only through USER (a matching certificate
    // logs it in there): RFC 2228's 232.
    let by_cert = user.limits.cert.as_ref().is_some_and(|b| b.only);
    let code = if by_cert {
        ReplyCode::LoggedInSecure
    } else {
        ReplyCode::LoggedIn
    };
    let outcome = complete_login(c, user, code);
    if c.session.logged_in() {
        c.session.quota = quota;
    }
    outcome
}

/// The filesystem the user sees: the embedder's, or the home directory jailed.
fn open_user_fs(c: &mut Core<'_>, user: &User) -> Result<Box<dyn Filesystem>, Reply> {
    let policy = UploadPolicy {
        atomic: c.cfg.atomic_uploads,
        delete_incomplete: c.cfg.delete_incomplete_uploads,
        umask: user.limits.umask.unwrap_or(c.cfg.umask),
    };
    let names = crate::fs::policy::Names {
        hide: [&c.cfg.hide[..], &user.limits.hide[..]].concat(),
        deny: [&c.cfg.deny[..], &user.limits.deny[..]].concat(),
    };
    let opened = match &c.cfg.filesystem {
        Some(factory) => factory.open(user),
        None => {
            OsFs::new(&user.home).map(|fs| Box::new(fs.with_uploads(policy)) as Box<dyn Filesystem>)
        }
    }
    .map(|fs| names.apply(fs));
    opened.map_err(|e| {
        log::error!(
            "{} home directory {} unusable: {e}",
            c.tag(),
            user.home.display()
        );
        c.session.username = None;
        Reply::new(ReplyCode::NotLoggedIn, "Home directory is not available.")
    })
}

/// A wrong password (or a login refused for `reason`, a log reason code): hooks, event,
/// metrics, the ban count; the 530 comes after the delay ([`failed_reply`]).
fn login_failed(c: &mut Core<'_>, name: &str, e: &AuthError, reason: &'static str) -> Outcome {
    let ip = canonical_ip(c.peer.ip());
    log::debug!("{} authentication failed: {e}", c.tag());
    c.shared.metrics.login_failed(reason);
    c.cfg.hooks.on_login_failed(&c.info());
    c.emit(&crate::events::Event::LoginFailed {
        conn: c.conn,
        peer: c.peer,
        user: name,
    });
    if c.shared.record_failure(ip, &c.cfg.bans, c.now) {
        c.shared.metrics.banned();
        log::warn!(
            "{} {ip} banned for {:.0} s after repeated failed logins reason=banned",
            c.tag(),
            c.cfg.bans.time.as_secs_f64()
        );
    }
    Action::DelayFailure.into()
}

/// Why a user whose password was right may still not log in here (its `reason=` code and a
/// text): a foreign address, or a missing or wrong client certificate.
fn login_refusal(c: &Core<'_>, user: &User) -> Option<(&'static str, String)> {
    let ip = canonical_ip(c.peer.ip());
    if !allowed_from(user, c.peer.ip()) {
        return Some(("address-not-allowed", format!("from {ip}")));
    }
    let binding = user.limits.cert.as_ref()?;
    match &c.sec.client_cert {
        None => Some(("cert-missing", "no client certificate".to_owned())),
        Some(cert) if !binding.matches(cert) => Some((
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
fn complete_login(c: &mut Core<'_>, user: User, code: ReplyCode) -> Outcome {
    let name = c.session.username.clone().unwrap_or_default();
    let fs = match open_user_fs(c, &user) {
        Ok(fs) => fs,
        Err(reply) => return reply.into(),
    };
    if !c
        .shared
        .try_add_session(&user.name, user.limits.max_sessions)
    {
        log::warn!(
            "{} USER '{name}' refused: too many sessions reason=user-session-limit",
            c.tag()
        );
        c.shared.metrics.login_failed("user-session-limit");
        c.session.username = None;
        return Action::Close(Reply::new(
            ReplyCode::NotAvailable,
            "Too many sessions for this user.",
        ))
        .into();
    }
    c.session.counted_as = Some(user.name.clone());
    let msg = if user.msg_login.is_empty() {
        "Login successful.".to_owned()
    } else {
        user.msg_login.clone()
    };
    c.session.user = Some(user);
    c.session.fs = Some(fs);
    c.session.cwd = VirtualPath::root();
    c.session.failed_logins = 0;
    log::info!("{} USER '{name}' logged in.", c.tag());
    c.shared.metrics.login_ok();
    c.cfg.hooks.on_login(&c.info());
    c.emit(&crate::events::Event::Login {
        conn: c.conn,
        peer: c.peer,
        user: &name,
    });
    Reply::new(code, msg).into()
}

/// The delayed 530 for the wrong password given earlier; closes after too many.
pub(in crate::control) fn failed_reply(c: &mut Core<'_>) -> Outcome {
    let name = c.session.username.take().unwrap_or_default();
    c.session.failed_logins += 1;
    let mut msg = if name == "anonymous" || name == "ftp" {
        "Anonymous access not allowed.".to_owned()
    } else {
        "Authentication failed.".to_owned()
    };
    log::warn!("{} USER '{name}' failed login. reason=auth-failed", c.tag());
    if c.session.failed_logins >= c.cfg.max_login_attempts {
        msg.push_str(" Disconnecting.");
        return Action::Close(Reply::new(ReplyCode::NotLoggedIn, msg)).into();
    }
    Reply::new(ReplyCode::NotLoggedIn, msg).into()
}

/// The logged-in user leaves (QUIT, REIN, a new USER, disconnect): releases the slot in the
/// user's session count and calls `on_logout`, once.
pub(in crate::control) fn end_session(c: &mut Core<'_>) {
    if let Some(user) = c.session.counted_as.take() {
        c.shared.remove_session(&user);
        c.cfg.hooks.on_logout(&c.info());
    }
}

/// QUIT (with no transfer running: otherwise `221` waits for its end): `221`, then close.
pub(in crate::control) fn quit(c: &mut Core<'_>) -> Outcome {
    let msg = match &c.session.user {
        Some(u) if !u.msg_quit.is_empty() => u.msg_quit.clone(),
        _ => "Goodbye.".to_owned(),
    };
    if c.session.logged_in() {
        log::info!("{} USER '{}' logged out.", c.tag(), c.session.log_name());
        end_session(c);
    }
    Action::Close(Reply::new(ReplyCode::Closing, msg)).into()
}

/// REIN: the account is flushed; the connection stays.
pub(in crate::control) fn rein(c: &mut Core<'_>) -> Outcome {
    log::info!("{} REIN: account flushed", c.tag());
    end_session(c);
    c.session.flush_account();
    // RFC 959 lists 220 for REIN, but a 2xx that means "logged out, ready" is what clients
    // (and pyftpdlib) use.
    Reply::new(ReplyCode::LoggedIn, "Ready for new user.").into()
}

/// RFC 7151: HOST names the virtual host before login; we serve one host and accept any.
pub(in crate::control) fn host(c: &mut Core<'_>) -> Outcome {
    if c.session.logged_in() || c.session.username.is_some() {
        Reply::new(
            ReplyCode::BadSequence,
            "Bad sequence of commands: HOST must come before USER.",
        )
        .into()
    } else {
        Reply::new(ReplyCode::Ready, "Host accepted.").into()
    }
}

/// The user's `allow_from` networks admit `ip` (no networks: anywhere).
fn allowed_from(user: &User, ip: std::net::IpAddr) -> bool {
    let nets = &user.limits.allow_from;
    nets.is_empty() || nets.iter().any(|net| net.contains(ip))
}
