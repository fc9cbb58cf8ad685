//! RFC 4217 (FTP over TLS) commands: AUTH, PBSZ, PROT, CCC. The TLS state they change is the
//! session's [`SecState`](super::super::security::SecState); the switch of the socket itself is
//! the engine's (`Action::StartTls`).
//!
//! `AUTH TLS` is answered `234` in plaintext, and the handshake starts only once that reply is
//! on the wire. `PBSZ 0` then `PROT P` make every later data connection a TLS session that must
//! resume this control connection's. CCC (back to plaintext) is refused by policy.

use super::super::core::{Action, Core, Outcome};
use crate::reply::{Reply, ReplyCode};

/// AUTH TLS / AUTH SSL / AUTH TLS-C.
pub(in crate::control) fn auth(c: &mut Core<'_>, arg: &str) -> Outcome {
    if c.sec.config.is_none() {
        return Reply::new(
            ReplyCode::NotImplemented,
            "AUTH not supported: TLS is not configured on this server.",
        )
        .into();
    }
    if c.tls {
        return Reply::new(ReplyCode::BadSequence, "Already using TLS.").into();
    }
    match arg.trim().to_ascii_uppercase().as_str() {
        "TLS" | "TLS-C" | "SSL" | "TLS-P" => {
            Action::StartTls(Reply::new(ReplyCode::AuthOk, "AUTH TLS successful.")).into()
        }
        _ => Reply::new(
            ReplyCode::NotImplementedParam,
            "Unrecognized AUTH type (use TLS).",
        )
        .into(),
    }
}

/// PBSZ (RFC 2228 §5.3.3): only `0` makes sense with TLS; other sizes are answered PBSZ=0.
pub(in crate::control) fn pbsz(c: &mut Core<'_>, arg: &str) -> Outcome {
    if !c.tls {
        return Reply::new(
            ReplyCode::BadSequence,
            "PBSZ not allowed on insecure control connection.",
        )
        .into();
    }
    c.sec.pbsz = true;
    let text = if arg.trim() == "0" {
        "PBSZ=0 successful."
    } else {
        "PBSZ=0"
    };
    Reply::new(ReplyCode::Ok, text).into()
}

/// PROT (RFC 2228 §5.3.4): C (clear) or P (private).
pub(in crate::control) fn prot(c: &mut Core<'_>, arg: &str) -> Outcome {
    if !c.tls {
        return Reply::new(
            ReplyCode::BadSequence,
            "PROT not allowed on insecure control connection.",
        )
        .into();
    }
    if !c.sec.pbsz {
        return Reply::new(
            ReplyCode::BadSequence,
            "You must issue the PBSZ command prior to PROT.",
        )
        .into();
    }
    let reply = match arg.trim().to_ascii_uppercase().as_str() {
        "C" => {
            c.sec.prot_private = false;
            Reply::new(ReplyCode::Ok, "Protection set to Clear")
        }
        "P" => {
            c.sec.prot_private = true;
            Reply::new(ReplyCode::Ok, "Protection set to Private")
        }
        "S" | "E" => Reply::new(
            ReplyCode::ProtLevelNotSupported,
            format!("PROT {} unsupported (use C or P).", arg.trim()),
        ),
        _ => Reply::new(
            ReplyCode::NotImplementedParam,
            "Unrecognized PROT type (use C or P).",
        ),
    };
    reply.into()
}

/// CCC (RFC 4217 §6): refused by policy: once protected, the control channel stays so.
pub(in crate::control) fn ccc(c: &mut Core<'_>) -> Outcome {
    let reply = if c.tls {
        Reply::new(
            ReplyCode::PolicyDenied,
            "CCC refused: the control connection stays encrypted.",
        )
    } else {
        Reply::new(
            ReplyCode::BadSequence,
            "CCC not allowed: the control connection is not encrypted.",
        )
    };
    reply.into()
}
