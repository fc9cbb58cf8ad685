//! AUTH, PBSZ, PROT and CCC (`ops/tls.rs`), and the TLS policies of the gate
//! (`--tls-control-required`, `--tls-data-required`) as a client meets them.

use std::sync::Arc;

use super::rig::Rig;
use super::{check, Table};
use crate::tls::TlsSettings;

/// A server with TLS configured; `control` and `data` are its two policies.
fn with_tls(control: bool, data: bool) -> Rig {
    Rig::custom("elradfmwMT", |_, cfg| {
        let file = |f: &str| format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"));
        let mut tls = TlsSettings::load(file("cert.pem"), file("key.pem")).unwrap();
        tls.control_required = control;
        tls.data_required = data;
        cfg.tls = Some(Arc::new(tls));
    })
}

/// TLS configured, the control connection still plain.
fn plain() -> Rig {
    with_tls(false, false)
}

/// TLS configured, the control connection secured (after AUTH TLS).
fn secured() -> Rig {
    let mut rig = with_tls(false, false);
    rig.tls = true;
    rig
}

fn secured_in() -> Rig {
    secured().login()
}

/// `--tls-control-required`.
fn control_required() -> Rig {
    with_tls(true, false)
}

/// `--tls-data-required`, logged in under TLS.
fn data_required() -> Rig {
    let mut rig = with_tls(false, true);
    rig.tls = true;
    rig.login()
}

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    // No TLS configured.
    Table { rig: Rig::fresh, rows: &[
        (&["AUTH TLS"], "", 502, "AUTH not supported: TLS is not configured on this server."),
        (&["AUTH"], "", 501, "Syntax error: command needs an argument."),
        (&["PBSZ 0"], "", 503, "PBSZ not allowed on insecure control connection."),
        (&["PROT P"], "", 503, "PROT not allowed on insecure control connection."),
        (&["CCC"], "", 530, "Log in with USER and PASS first."),
    ]},
    Table { rig: Rig::logged_in, rows: &[
        (&["CCC"], "", 503, "CCC not allowed: the control connection is not encrypted."),
    ]},
    Table { rig: plain, rows: &[
        (&["AUTH TLS"], "StartTls", 234, "AUTH TLS successful."),
        (&["AUTH ssl"], "StartTls", 234, "AUTH TLS successful."),
        (&["AUTH TLS-C"], "StartTls", 234, "AUTH TLS successful."),
        (&["AUTH KERBEROS_V4"], "", 504, "Unrecognized AUTH type (use TLS)."),
        (&["PBSZ 0"], "", 503, "PBSZ not allowed on insecure control connection."),
        (&["PROT P"], "", 503, "PROT not allowed on insecure control connection."),
        (&["USER alice"], "", 331, "Username ok, send password."),
    ]},
    Table { rig: secured, rows: &[
        (&["AUTH TLS"], "", 503, "Already using TLS."),
        (&["PBSZ 0"], "", 200, "PBSZ=0 successful."),
        (&["PBSZ 1024"], "", 200, "PBSZ=0"),
        (&["PROT P"], "", 503, "You must issue the PBSZ command prior to PROT."),
        (&["PBSZ 0", "PROT P"], "", 200, "Protection set to Private"),
        (&["PBSZ 0", "PROT c"], "", 200, "Protection set to Clear"),
        (&["PBSZ 0", "PROT S"], "", 536, "PROT S unsupported (use C or P)."),
        (&["PBSZ 0", "PROT E"], "", 536, "PROT E unsupported (use C or P)."),
        (&["PBSZ 0", "PROT X"], "", 504, "Unrecognized PROT type (use C or P)."),
    ]},
    Table { rig: secured_in, rows: &[
        (&["CCC"], "", 534, "CCC refused: the control connection stays encrypted."),
    ]},
    Table { rig: control_required, rows: &[
        (&["USER alice"], "", 550, "SSL/TLS required on the control channel."),
        (&["PASS secret"], "", 550, "SSL/TLS required on the control channel."),
        (&["AUTH TLS"], "StartTls", 234, "AUTH TLS successful."),
    ]},
    Table { rig: data_required, rows: &[
        (&["PASV"], "", 522, "SSL/TLS required on the data channel (use PBSZ 0 and PROT P)."),
        (&["RETR a.txt"], "", 522, "SSL/TLS required on the data channel (use PBSZ 0 and PROT P)."),
        (&["LIST"], "", 522, "SSL/TLS required on the data channel (use PBSZ 0 and PROT P)."),
        (&["PBSZ 0", "PROT P", "PASV"], "Passive 127.0.0.1 127.0.0.1", 0, ""),
        (&["PBSZ 0", "PROT P", "PROT C", "EPSV"], "", 522, "SSL/TLS required on the data channel (use PBSZ 0 and PROT P)."),
        (&["SIZE a.txt"], "", 550, "SIZE not allowed in ASCII mode."),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn pbsz_and_prot_set_the_session_state() {
    let mut rig = secured();
    assert!(!rig.sec.pbsz && !rig.sec.prot_private);
    rig.run("PROT P");
    assert!(!rig.sec.prot_private, "PROT before PBSZ changes nothing");
    rig.run("PBSZ 0");
    assert!(rig.sec.pbsz);
    rig.run("PROT P");
    assert!(rig.sec.prot_private);
    rig.run("PROT S");
    assert!(rig.sec.prot_private, "a refused level keeps the last one");
    rig.run("PROT C");
    assert!(!rig.sec.prot_private);
    // Under control-required, USER works once the connection is secured.
    let mut rig = control_required();
    rig.tls = true;
    let _ = rig.login();
}
