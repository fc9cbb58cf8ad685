//! PASV, EPSV, PORT and EPRT (`ops/ports.rs`): where the engine is told to listen or connect,
//! and every refusal.

use std::net::SocketAddr;

use super::rig::Rig;
use super::{check, Table};

/// Logged in, the control connection's local address unknown.
fn no_local() -> Rig {
    let mut rig = Rig::logged_in();
    rig.local = None;
    rig
}

/// Logged in over IPv6.
fn v6() -> Rig {
    let mut rig = Rig::fresh();
    rig.local = Some(SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 21)));
    rig.peer = SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 50000));
    rig.login()
}

/// Logged in; clients of 127/8 are told the address 203.0.113.5.
fn nat() -> Rig {
    Rig::custom("elr", |_, cfg| {
        cfg.nat_map = vec![("127.0.0.0/8".parse().unwrap(), [203, 0, 113, 5].into())];
    })
    .login()
}

/// Logged in; foreign addresses and privileged ports permitted.
fn permissive() -> Rig {
    Rig::custom("elr", |_, cfg| {
        cfg.permit_foreign_addresses = true;
        cfg.permit_privileged_ports = true;
    })
    .login()
}

const BUSY: &str = "A transfer is already in progress.";
const NO_DATA: &str = "Can't open data connection.";

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::fresh, rows: &[
        (&["PASV"], "", 530, "Log in with USER and PASS first."),
        (&["EPSV"], "", 530, "Log in with USER and PASS first."),
        (&["PORT 127,0,0,1,4,210"], "", 530, "Log in with USER and PASS first."),
        (&["EPRT |1|127.0.0.1|1234|"], "", 530, "Log in with USER and PASS first."),
    ]},
    Table { rig: Rig::logged_in, rows: &[
        (&["PASV"], "Passive 127.0.0.1 127.0.0.1", 0, ""),
        (&["PASV x"], "", 501, "Syntax error: command does not accept arguments."),
        (&["EPSV"], "Passive 127.0.0.1 -", 0, ""),
        (&["EPSV 1"], "Passive 127.0.0.1 -", 0, ""),
        (&["EPSV 2"], "", 522, "Network protocol not supported (use 1)."),
        (&["EPSV x"], "", 501, "Unknown network protocol (use 1)."),
        (&["EPSV ALL"], "EpsvAll", 200, "EPSV ALL command successful."),
        (&["EPSV ALL", "EPSV"], "Passive 127.0.0.1 -", 0, ""),
        (&["EPSV ALL", "PASV"], "", 501, "PASV not allowed after EPSV ALL."),
        (&["EPSV ALL", "PORT 127,0,0,1,4,210"], "", 501, "PORT not allowed after EPSV ALL."),
        (&["EPSV ALL", "EPRT |1|127.0.0.1|1234|"], "", 501, "EPRT not allowed after EPSV ALL."),
        (&["PORT 127,0,0,1,4,210"], "Connect PORT 127.0.0.1 127.0.0.1:1234", 0, ""),
        (&["PORT"], "", 501, "Syntax error: command needs an argument."),
        (&["PORT 127,0,0,1,4"], "", 501, "Invalid PORT format."),
        (&["PORT 10,0,0,1,4,210"], "", 501, "Rejected data connection to foreign address 10.0.0.1:1234."),
        (&["PORT 127,0,0,1,0,21"], "", 501, "PORT against the privileged port \"21\" refused."),
        (&["EPRT |1|127.0.0.1|1234|"], "Connect EPRT 127.0.0.1 127.0.0.1:1234", 0, ""),
        (&["EPRT |1|127.0.0.1|"], "", 501, "Invalid EPRT format."),
        (&["EPRT |2|::1|1234|"], "", 522, "Network protocol not supported (use 1)."),
        (&["EPRT |1|10.0.0.1|1234|"], "", 501, "Rejected data connection to foreign address 10.0.0.1:1234."),
        (&["EPRT |1|127.0.0.1|80|"], "", 501, "EPRT against the privileged port \"80\" refused."),
    ]},
    Table { rig: Rig::busy, rows: &[
        (&["PASV"], "", 425, BUSY),
        (&["EPSV"], "", 425, BUSY),
        (&["EPSV ALL"], "", 425, BUSY),
        (&["PORT 127,0,0,1,4,210"], "", 425, BUSY),
        (&["EPRT |1|127.0.0.1|1234|"], "", 425, BUSY),
    ]},
    Table { rig: no_local, rows: &[
        (&["PASV"], "", 425, NO_DATA),
        (&["EPSV"], "", 425, NO_DATA),
        (&["PORT 127,0,0,1,4,210"], "", 425, NO_DATA),
        (&["EPRT |1|127.0.0.1|1234|"], "", 425, NO_DATA),
    ]},
    Table { rig: v6, rows: &[
        (&["PASV"], "", 425, "PASV is IPv4 only on this connection; use EPSV."),
        (&["EPSV"], "Passive ::1 -", 0, ""),
        (&["EPSV 2"], "Passive ::1 -", 0, ""),
        (&["EPSV 1"], "", 522, "Network protocol not supported (use 2)."),
        (&["EPRT |2|::1|1234|"], "Connect EPRT ::1 [::1]:1234", 0, ""),
        (&["EPRT |1|127.0.0.1|1234|"], "", 522, "Network protocol not supported (use 2)."),
    ]},
    Table { rig: nat, rows: &[
        (&["PASV"], "Passive 127.0.0.1 203.0.113.5", 0, ""),
        (&["EPSV"], "Passive 127.0.0.1 -", 0, ""),
    ]},
    Table { rig: permissive, rows: &[
        (&["PORT 10,0,0,1,0,21"], "Connect PORT 127.0.0.1 10.0.0.1:21", 0, ""),
        (&["EPRT |1|10.0.0.1|80|"], "Connect EPRT 127.0.0.1 10.0.0.1:80", 0, ""),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn epsv_all_is_remembered() {
    let mut rig = Rig::logged_in();
    assert!(!rig.data.epsv_all);
    rig.run("EPSV ALL");
    assert!(rig.data.epsv_all);
}
