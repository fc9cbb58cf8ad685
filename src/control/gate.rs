//! The pre-dispatch gate: the checks every command passes, in pyftpdlib's fixed order.
//!
//! 1. unknown verb → `500`;
//! 2. argument rule → `501` (both in the parser);
//! 3. not logged in → `530`;
//! 4. path outside the user's root → `550` (enforced by the filesystem layer on every
//!    operation, so no command can forget it);
//! 5. missing permission letter → `550` (once the command has turned its argument into a
//!    virtual path).
//!
//! (pyftpdlib also answers `502` here for commands it knows but has not built; the one such
//! command here, SMNT, is a row whose handler answers `502`.)
//!
//! Doing these checks in one place is what keeps a new command from skipping one.

use super::table::{CommandSpec, TlsReq};
use crate::auth::{Authorizer, Perm, User};
use crate::fs::VirtualPath;
use crate::reply::{Reply, ReplyCode};
use crate::tls::TlsSettings;

/// Check 3 for a parsed command.
pub fn check_command(spec: &CommandSpec, logged_in: bool) -> Result<(), Reply> {
    if spec.auth && !logged_in {
        return Err(crate::reply::not_logged_in());
    }
    Ok(())
}

/// The TLS policies: `--tls-control-required` guards USER/PASS, `--tls-data-required` guards
/// everything that opens a data connection.
pub fn check_tls(
    spec: &CommandSpec,
    tls: Option<&TlsSettings>,
    control_protected: bool,
    data_protected: bool,
) -> Result<(), Reply> {
    let Some(tls) = tls else {
        return Ok(());
    };
    match spec.tls {
        TlsReq::Control if tls.control_required && !control_protected => Err(Reply::new(
            ReplyCode::FileUnavailable,
            "SSL/TLS required on the control channel.",
        )),
        TlsReq::Data if tls.data_required && !data_protected => Err(Reply::new(
            ReplyCode::ProtocolNotSupported,
            "SSL/TLS required on the data channel (use PBSZ 0 and PROT P).",
        )),
        _ => Ok(()),
    }
}

/// Check 5: the user's permission letter on `path`.
pub fn check_perm(
    authorizer: &dyn Authorizer,
    user: &User,
    perm: Perm,
    path: &VirtualPath,
) -> Result<(), Reply> {
    if authorizer.has_perm(user, perm, path) {
        Ok(())
    } else {
        Err(Reply::new(
            ReplyCode::FileUnavailable,
            "Not enough privileges.",
        ))
    }
}

#[cfg(test)]
mod tests;
