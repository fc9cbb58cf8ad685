//! Issue 12's conformance points, each over a real control connection: FEAT that lists only
//! what is supported (`UTF8` only under UTF-8, `HOST`, the MLST facts in pyftpdlib's order),
//! `size` of directories in MLSx, `TYPE L 7`, STAT before login, the 550 texts of MDTM and of
//! a globbing STAT, the order of the checks before an upload asks for a data channel, EPRT's
//! protocol field checked first (RFC 2428 §2), and the replies that `--use-localtime` shifts.

mod common;

use std::fs;

use common::TestServer;

#[test]
fn uploads_check_permission_and_rest_before_asking_for_a_data_channel() {
    let srv = TestServer::with_user();
    fs::write(srv.root().join("small.txt"), b"abc").unwrap();
    let mut anon = srv.connect();
    anon.login("anonymous", "guest@");
    for cmd in ["STOR x.bin", "APPE x.bin", "STOU x.bin", "STOU"] {
        anon.expect_line(cmd, "550 Not enough privileges.");
    }
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c.expect("REST 100", 350);
    c.expect_line(
        "STOR small.txt",
        "554 Invalid REST parameter: position (100) > file size (3).",
    );
    c.expect("REST 5", 350);
    c.expect_line("STOR missing.bin", "550 No such file or directory.");
    c.expect("REST 2", 350);
    c.expect_line("STOR small.txt", "425 Use PORT or PASV first.");
    c.expect_line("STOR new.bin", "425 Use PORT or PASV first.");
    c.expect_line("STOU", "425 Use PORT or PASV first.");
    assert!(!srv.root().join("new.bin").exists());
    assert!(!srv.root().join("ftpd").exists());
    assert_eq!(fs::read(srv.root().join("small.txt")).unwrap(), b"abc");
}

#[test]
fn eprt_checks_the_protocol_field_first() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    for arg in [
        "|2|garbage|x|",
        "|2|::1|99999|",
        "|2|1.2.3.4|5|",
        "|3|1.2.3.4|5|",
    ] {
        c.expect_line(
            &format!("EPRT {arg}"),
            "522 Network protocol not supported (use 1).",
        );
    }
    c.expect_line("EPRT |1|garbage|5|", "501 Invalid EPRT format.");
    c.expect_line(
        "EPRT |1|::1|5|",
        "522 Network protocol not supported (use 1).",
    );
    c.expect_line("EPRT |x|1.2.3.4|5|", "501 Invalid EPRT format.");
}
