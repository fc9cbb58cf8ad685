//! Issue 12's conformance points, each over a real control connection: FEAT that lists only
//! what is supported (`UTF8` only under UTF-8, `HOST`, the MLST facts in pyftpdlib's order),
//! `size` of directories in MLSx, `TYPE L 7`, STAT before login, the 550 texts of MDTM and of
//! a globbing STAT, the order of the checks before an upload asks for a data channel, EPRT's
//! protocol field checked first (RFC 2428 §2), and the replies that `--use-localtime` shifts.

mod common;
mod xfer;

use std::fs;

use chrono::{Local, TimeZone, Utc};
use common::{Ctrl, TestServer};
use ftpdlib::config::Encoding;

fn feat(c: &mut Ctrl) -> Vec<String> {
    let r = c.expect("FEAT", 211);
    r.lines().iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn feat_lists_utf8_only_for_utf8_names_and_lists_host() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    let lines = feat(&mut c);
    assert!(lines.contains(&" UTF8".to_owned()), "{lines:?}");
    assert!(lines.contains(&" HOST".to_owned()), "{lines:?}");
    c.expect_line("OPTS UTF8 ON", "200 Always in UTF8 mode.");

    let latin = TestServer::start(|cfg| cfg.encoding = Encoding::Latin1);
    let mut c = latin.login();
    let lines = feat(&mut c);
    assert!(!lines.iter().any(|l| l.contains("UTF8")), "{lines:?}");
    assert!(lines.contains(&" HOST".to_owned()), "{lines:?}");
    c.expect_line("OPTS UTF8 ON", "501 Unsupported command \"UTF8\".");
    // HOST is listed because it works (before login, RFC 7151).
    let mut fresh = latin.connect();
    fresh.expect("HOST localhost", 220);
}

#[test]
fn feat_lists_the_mlst_facts_in_pyftpdlib_order() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    let all = " MLST type*;perm*;size*;modify*;unique*;unix.mode*;unix.uid*;unix.gid*;";
    assert!(feat(&mut c).contains(&all.to_owned()));
    c.expect_line("OPTS MLST size;type;", "200 MLST OPTS type;size;");
    let some = " MLST type*;perm;size*;modify;unique;unix.mode;unix.uid;unix.gid;";
    assert!(feat(&mut c).contains(&some.to_owned()));
}

#[test]
fn mlst_and_mlsd_give_the_size_of_directories() {
    let srv = TestServer::with_user();
    fs::create_dir(srv.root().join("d")).unwrap();
    let size = fs::metadata(srv.root().join("d")).unwrap().len();
    let mut c = srv.login();
    c.expect_line("OPTS MLST type;size;", "200 MLST OPTS type;size;");
    let r = c.expect("MLST d", 250);
    assert_eq!(r.lines()[1], format!(" type=dir;size={size}; /d"));
    let lines = xfer::listing(&mut c, "MLSD");
    assert!(
        lines.contains(&format!("type=dir;size={size}; d")),
        "{lines:?}"
    );
}

#[test]
fn type_l_7_is_ascii() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c.expect_line("TYPE L 7", "200 Type set to: ASCII.");
    assert!(c.expect("STAT", 211).text.contains("TYPE: ASCII"));
    c.expect("TYPE I", 200);
    c.expect_line("TYPE L7", "200 Type set to: ASCII.");
}

#[test]
fn stat_without_argument_is_allowed_before_login_and_stat_path_is_not() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    let r = c.expect("STAT", 211);
    assert!(r.lines().contains(&" Waiting for username."), "{r:?}");
    c.expect_line("STAT /", "530 Log in with USER and PASS first.");
    c.expect("USER user", 331);
    let r = c.expect("STAT", 211);
    assert!(r.lines().contains(&" Waiting for password."), "{r:?}");
    c.expect("PASS pass", 230);
    c.expect("STAT /", 213);
}

#[test]
fn mdtm_of_a_missing_path_and_stat_with_a_glob() {
    let srv = TestServer::with_user();
    fs::write(srv.root().join("a.txt"), b"a").unwrap();
    fs::create_dir(srv.root().join("d")).unwrap();
    let mut c = srv.login();
    c.expect_line("MDTM missing.txt", "550 missing.txt is not retrievable.");
    c.expect_line("MDTM d", "550 d is not retrievable.");
    c.expect("MDTM a.txt", 213);
    c.expect_line("STAT *.txt", "550 Globbing not supported.");
    c.expect_line("STAT a?txt", "550 Globbing not supported.");
    c.expect("STAT a.txt", 213);
}

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

/// `--use-localtime` shifts MDTM, LIST and MLSx `modify` alike (as pyftpdlib); without it all
/// three are UTC. The checks run in a child process of this test binary with `TZ` set 5:30
/// east of UTC, so local time surely differs (setting `TZ` here would race other threads).
#[test]
fn use_localtime_shifts_mdtm_list_and_mlst_modify() {
    const CHILD: &str = "FTPDLIB_LOCALTIME_CHILD";
    const NAME: &str = "use_localtime_shifts_mdtm_list_and_mlst_modify";
    if std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["--exact", NAME, "--test-threads", "1"])
            .env(CHILD, "1")
            .env("TZ", "IST-5:30");
        let out = xfer::run_client(&mut cmd, std::time::Duration::from_secs(60));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("1 passed"), "{text}");
        return;
    }
    // 2020-01-02 03:04:05 UTC, set through MFMT (whose argument is always UTC).
    let utc = Utc.with_ymd_and_hms(2020, 1, 2, 3, 4, 5).unwrap();
    let local = utc.with_timezone(&Local).naive_local();
    assert_eq!(local.format("%H%M").to_string(), "0834", "TZ not applied");
    for (localtime, want) in [(false, utc.naive_utc()), (true, local)] {
        let srv = TestServer::start(|cfg| cfg.use_localtime = localtime);
        fs::write(srv.root().join("f"), b"x").unwrap();
        let mut c = srv.login();
        c.expect("MFMT 20200102030405 f", 213);
        let stamp = want.format("%Y%m%d%H%M%S").to_string();
        c.expect_line("MDTM f", &format!("213 {stamp}"));
        c.expect_line("OPTS MLST modify;", "200 MLST OPTS modify;");
        let r = c.expect("MLST f", 250);
        assert_eq!(r.lines()[1], format!(" modify={stamp}; /f"));
        // LIST (here through STAT f) shows a date this old with its year, not its time.
        let list = c.expect("STAT f", 213);
        let day = want.format("%b %d  %Y").to_string();
        assert!(list.lines()[1].contains(&day), "{list:?} lacks {day}");
    }
}
