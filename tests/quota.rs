//! Per-user quotas (`quota_bytes=`, `quota_files=`) over real sockets: the usage measured at
//! login from the files already there, uploads within and across the byte quota (`552` while
//! the upload runs, the partial file kept or removed per `--delete-incomplete-uploads`), the
//! file quota (`552` before `150`), DELE and RNTO giving room back, two sessions of one user
//! sharing the usage, SITE QUOTA and AVBL, and a user without quota unaffected. Python's
//! ftplib and curl play the client in two of them; the real daemon takes the options from a
//! users file and from an `--auth-command` answer.

mod acct;
mod common;
mod xfer;

use std::io::Write;
use std::net::Shutdown;
use std::path::Path;
use std::sync::Arc;

use common::{Ctrl, TestServer};
use ftpdlib::UserLimits;

/// A server whose "user" has the given quotas; `root` starts with a 300-byte `old.bin` and a
/// 200-byte `sub/two.bin` (500 bytes, 2 files).
fn server(bytes: Option<u64>, files: Option<u64>, delete_incomplete: bool) -> TestServer {
    server_with(bytes, files, |cfg| {
        cfg.delete_incomplete_uploads = delete_incomplete
    })
}

fn server_with(
    bytes: Option<u64>,
    files: Option<u64>,
    configure: impl FnOnce(&mut ftpdlib::Config),
) -> TestServer {
    TestServer::start_with_root(|cfg, root| {
        populate(root);
        let mut auth = common::authorizer(root);
        let limits = UserLimits {
            quota_bytes: bytes,
            quota_files: files,
            ..UserLimits::default()
        };
        auth.set_limits("user", limits).unwrap();
        cfg.authorizer = Arc::new(auth);
        configure(cfg);
    })
}

fn populate(root: &Path) {
    std::fs::write(root.join("old.bin"), vec![b'o'; 300]).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/two.bin"), vec![b't'; 200]).unwrap();
    // Links do not count.
    std::os::unix::fs::symlink(root.join("old.bin"), root.join("link")).unwrap();
}

fn login(srv: &TestServer) -> Ctrl {
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c
}

/// The SITE QUOTA lines after the first, trimmed.
fn quota(c: &mut Ctrl) -> Vec<String> {
    let r = c.expect("SITE QUOTA", 211);
    r.lines()[1..].iter().map(|l| l.trim().to_owned()).collect()
}

/// STOR `name` with `len` bytes, expecting `150` and then `final_code`.
fn stor(c: &mut Ctrl, cmd: &str, len: usize, final_code: u16) -> common::Reply {
    let addr = xfer::pasv(c);
    c.expect(cmd, 150);
    let mut s = xfer::connect(addr);
    // The server may stop reading once the quota is crossed: a failed write is expected then.
    let _ = s.write_all(&vec![b'n'; len]);
    let _ = s.shutdown(Shutdown::Write);
    let r = c.read_reply();
    assert_eq!(r.code, final_code, "{cmd}: {r:?}");
    r
}

#[test]
fn usage_is_measured_at_login_and_uploads_within_the_quota_count() {
    let srv = server(Some(1000), Some(10), false);
    let mut c = login(&srv);
    assert_eq!(
        quota(&mut c),
        [
            "Bytes: 500 used, 1000 limit, 500 left",
            "Files: 2 used, 10 limit, 8 left",
            "End of quota."
        ]
    );
    stor(&mut c, "STOR new.bin", 400, 226);
    // STOR over old.bin: its 300 bytes leave, 50 come.
    stor(&mut c, "STOR old.bin", 50, 226);
    // REST 20 + STOR of 30 bytes: old.bin is 50 bytes now.
    c.expect("REST 20", 350);
    stor(&mut c, "STOR old.bin", 30, 226);
    assert_eq!(
        std::fs::metadata(srv.root().join("old.bin")).unwrap().len(),
        50
    );
    // APPE grows it.
    stor(&mut c, "APPE old.bin", 10, 226);
    assert_eq!(quota(&mut c)[0], "Bytes: 660 used, 1000 limit, 340 left");
    assert_eq!(quota(&mut c)[1], "Files: 3 used, 10 limit, 7 left");
    // RNTO over a file: the replaced file leaves the usage.
    c.expect("RNFR old.bin", 350);
    c.expect("RNTO new.bin", 250);
    assert_eq!(quota(&mut c)[0], "Bytes: 260 used, 1000 limit, 740 left");
    assert_eq!(quota(&mut c)[1], "Files: 2 used, 10 limit, 8 left");
}

#[test]
fn crossing_the_byte_quota_fails_with_552_and_keeps_the_part_up_to_the_limit() {
    let srv = server(Some(1000), None, false);
    let mut c = login(&srv);
    let r = stor(&mut c, "STOR big.bin", 5000, 552);
    assert!(r.text.contains("Exceeded storage allocation"), "{r:?}");
    // Written up to the limit, exactly: 500 bytes were free.
    assert_eq!(
        std::fs::metadata(srv.root().join("big.bin")).unwrap().len(),
        500
    );
    assert_eq!(quota(&mut c)[0], "Bytes: 1000 used, 1000 limit, 0 left");
    assert_eq!(c.expect("AVBL", 213).text, "0");
    // DELE frees the room: the next upload fits.
    c.expect("DELE big.bin", 250);
    assert_eq!(quota(&mut c)[0], "Bytes: 500 used, 1000 limit, 500 left");
    stor(&mut c, "STOR fits.bin", 500, 226);
    c.expect("NOOP", 200);
}

#[test]
fn crossing_the_byte_quota_with_delete_incomplete_removes_the_file() {
    let srv = server(Some(1000), None, true);
    let mut c = login(&srv);
    stor(&mut c, "STOR big.bin", 5000, 552);
    assert!(!srv.root().join("big.bin").exists());
    assert_eq!(quota(&mut c)[0], "Bytes: 500 used, 1000 limit, 500 left");
    assert_eq!(quota(&mut c)[1], "Files: 2 used, unlimited");
}

#[test]
fn the_file_quota_refuses_a_new_file_before_150_and_keeps_the_channel() {
    let srv = server(None, Some(2), false);
    let mut c = login(&srv);
    let addr = xfer::pasv(&mut c);
    let r = c.expect("STOR third.bin", 552);
    assert!(r.text.contains("file quota"), "{r:?}");
    c.expect("STOU", 552);
    c.expect("APPE third.bin", 552);
    assert!(!srv.root().join("third.bin").exists());
    // The passive channel is still there for a STOR that replaces a file.
    c.expect("STOR old.bin", 150);
    let mut s = xfer::connect(addr);
    s.write_all(b"replaced").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(
        std::fs::read(srv.root().join("old.bin")).unwrap(),
        b"replaced"
    );
    // A deleted file gives its place back.
    c.expect("DELE sub/two.bin", 250);
    stor(&mut c, "STOR third.bin", 3, 226);
}

#[test]
fn two_sessions_of_one_user_share_the_usage() {
    let srv = server(Some(1000), None, false);
    let mut a = login(&srv);
    let mut b = login(&srv);
    stor(&mut a, "STOR a.bin", 300, 226);
    assert_eq!(quota(&mut b)[0], "Bytes: 800 used, 1000 limit, 200 left");
    stor(&mut b, "STOR b.bin", 300, 552);
    assert_eq!(
        std::fs::metadata(srv.root().join("b.bin")).unwrap().len(),
        200
    );
    assert_eq!(quota(&mut a)[0], "Bytes: 1000 used, 1000 limit, 0 left");
    // A later login while the others are still in sees the same figure, without measuring.
    let mut c = login(&srv);
    c.expect("DELE a.bin", 250);
    assert_eq!(quota(&mut a)[0], "Bytes: 700 used, 1000 limit, 300 left");
}

#[test]
fn avbl_is_the_smaller_of_the_quota_left_and_the_free_space() {
    let srv = server(Some(1000), None, false);
    let mut c = login(&srv);
    assert_eq!(c.expect("AVBL", 213).text, "500");
    assert_eq!(c.expect("AVBL sub", 213).text, "500");
    // A huge quota: the filesystem's free space is the smaller.
    let roomy = server(Some(u64::MAX / 2), None, false);
    let mut c = login(&roomy);
    let free: u64 = c.expect("AVBL", 213).text.parse().unwrap();
    assert!(free < u64::MAX / 2, "{free}");
}

#[test]
fn a_user_without_quota_is_unaffected() {
    let srv = TestServer::start_with_root(|_, root| populate(root));
    let mut c = login(&srv);
    assert_eq!(
        c.expect("SITE QUOTA", 211).text,
        "No quota: bytes and files unlimited."
    );
    let free: u64 = c.expect("AVBL", 213).text.parse().unwrap();
    assert!(free > 5000, "{free}");
    stor(&mut c, "STOR big.bin", 5000, 226);
    let help = c.expect("SITE HELP", 214);
    assert!(help.text.contains("QUOTA"), "{help:?}");
}

#[test]
fn python_ftplib_gets_552_when_crossing_the_quota() {
    let srv = server(Some(1000), None, false);
    let script = format!(
        "import ftplib, io\n\
         f = ftplib.FTP()\n\
         f.connect('127.0.0.1', {port}, timeout=30)\n\
         f.login('user', 'pass')\n\
         f.storbinary('STOR ok.bin', io.BytesIO(b'a' * 400))\n\
         try:\n    f.storbinary('STOR no.bin', io.BytesIO(b'b' * 5000))\n    print('accepted')\n\
         except ftplib.error_perm as e:\n    print('refused', str(e)[:3])\n\
         print(f.sendcmd('SITE QUOTA').splitlines()[1].strip())\n\
         f.quit()\n",
        port = srv.addr().port()
    );
    let out = common::run_python(&script);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["refused 552", "Bytes: 1000 used, 1000 limit, 0 left"]
    );
}

#[test]
fn curl_upload_crossing_the_quota_fails() {
    if !common::require_tool("curl") {
        return;
    }
    let srv = server(Some(100_000), None, true);
    let local = common::TempDir::new("curl-quota");
    let file = local.path().join("up.bin");
    std::fs::write(&file, vec![b'c'; 300_000]).unwrap();
    let url = format!("ftp://127.0.0.1:{}/up.bin", srv.addr().port());
    let out = common::run_bounded(
        std::process::Command::new("curl")
            .args(["-sS", "--user", "user:pass", "--max-time", "30", "-T"])
            .arg(&file)
            .arg(&url),
        std::time::Duration::from_secs(60),
    );
    assert!(!out.status.success(), "curl succeeded: {out:?}");
    assert!(!srv.root().join("up.bin").exists());
    // Within the quota, the same client succeeds.
    std::fs::write(&file, vec![b'c'; 50_000]).unwrap();
    let out = common::run_bounded(
        std::process::Command::new("curl")
            .args(["-sS", "--user", "user:pass", "--max-time", "30", "-T"])
            .arg(&file)
            .arg(&url),
        std::time::Duration::from_secs(60),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::metadata(srv.root().join("up.bin")).unwrap().len(),
        50_000
    );
}

#[test]
fn an_atomic_upload_crossing_the_quota_leaves_the_old_file_and_its_usage() {
    let srv = server_with(Some(1000), None, |cfg| cfg.atomic_uploads = true);
    let mut c = login(&srv);
    stor(&mut c, "STOR old.bin", 5000, 552);
    assert_eq!(
        std::fs::read(srv.root().join("old.bin")).unwrap(),
        vec![b'o'; 300]
    );
    assert_eq!(quota(&mut c)[0], "Bytes: 500 used, 1000 limit, 500 left");
    // Within the quota (the old 300 bytes leave as the new ones come): committed.
    stor(&mut c, "STOR old.bin", 800, 226);
    assert_eq!(quota(&mut c)[0], "Bytes: 1000 used, 1000 limit, 0 left");
}

/// The daemon with `flags`, logged in as `user`/`pass`, TYPE I.
fn daemon_login(root: &Path, flags: &[String], user: &str, pass: &str) -> (acct::Daemon, Ctrl) {
    let mut flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    if acct::is_root() {
        flags.push("--allow-root");
    }
    let (d, port) = acct::Daemon::start(root, &flags);
    let (mut c, code) = acct::try_login(port, user, pass);
    assert_eq!(code, 230);
    c.expect("TYPE I", 200);
    (d, c)
}

#[test]
fn the_daemon_takes_quotas_from_the_users_file() {
    let root = common::TempDir::new("quota-users");
    populate(root.path());
    let etc = common::TempDir::new("quota-etc");
    let file = etc.path().join("users");
    let line = format!(
        "alice:{}:elrw:{}:quota_bytes=1K,quota_files=3",
        acct::SHA512,
        root.path().display()
    );
    acct::write_users(&file, &[line]);
    let flags = ["--users-file".to_owned(), file.display().to_string()];
    let (_d, mut c) = daemon_login(root.path(), &flags, "alice", acct::SHA512_PW);
    assert_eq!(
        quota(&mut c)[..2],
        [
            "Bytes: 500 used, 1024 limit, 524 left",
            "Files: 2 used, 3 limit, 1 left"
        ]
    );
    stor(&mut c, "STOR a.bin", 24, 226);
    c.expect("STOR b.bin", 552);
    stor(&mut c, "STOR old.bin", 2000, 552);
    assert_eq!(
        std::fs::metadata(root.path().join("old.bin"))
            .unwrap()
            .len(),
        800
    );
}

#[test]
fn the_daemon_takes_quotas_from_the_auth_command() {
    let root = common::TempDir::new("quota-ext");
    populate(root.path());
    let etc = common::TempDir::new("quota-ext-etc");
    let program = etc.path().join("auth.sh");
    let answer = format!(
        "{{\"ok\": true, \"home\": \"{}\", \"perms\": \"elrw\", \"quota_bytes\": \"1K\", \"quota_files\": 9}}",
        root.path().display()
    );
    std::fs::write(
        &program,
        format!("#!/bin/sh\ncat >/dev/null\necho '{answer}'\n"),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&program).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
    std::fs::set_permissions(&program, perms).unwrap();
    let flags = ["--auth-command".to_owned(), program.display().to_string()];
    let (_d, mut c) = daemon_login(root.path(), &flags, "carol", "any");
    assert_eq!(
        quota(&mut c)[..2],
        [
            "Bytes: 500 used, 1024 limit, 524 left",
            "Files: 2 used, 9 limit, 7 left"
        ]
    );
    assert_eq!(c.expect("AVBL", 213).text, "524");
}
