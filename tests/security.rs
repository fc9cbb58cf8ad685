//! Hostile input on the control connection: attempts to leave the user's root (`..`, absolute
//! paths, symlinks pointing outside), reply splitting with a raw CR, NUL and non-UTF-8 bytes,
//! over-long lines, and the line framing itself (pipelining, backpressure, bare LF, Telnet IAC).

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{Ctrl, TempDir, TestServer};

fn logged_in() -> (TestServer, Ctrl) {
    let srv = TestServer::with_user();
    let c = srv.login();
    (srv, c)
}

/// Asserts no reply text shows a real path of the machine.
#[track_caller]
fn no_real_path(reply: &common::Reply, real: &[&Path]) {
    for p in real {
        let p = p.to_str().unwrap();
        assert!(!reply.text.contains(p), "reply leaks {p}: {reply:?}");
    }
}

#[test]
fn dot_dot_is_clamped_at_the_root() {
    let (srv, mut c) = logged_in();
    c.expect_line("CWD ../../..", "250 \"/\" is the current directory.");
    c.expect_line("PWD", "257 \"/\" is the current directory.");
    c.expect_line("MKD ../../escaped", "257 \"/escaped\" directory created.");
    assert!(srv.root().join("escaped").is_dir());
    assert!(!srv.root().parent().unwrap().join("escaped").exists());
}

#[test]
fn absolute_paths_stay_inside_the_root() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    let r = c.expect("CWD /../../etc", 550);
    no_real_path(&r, &[&root]);
    c.expect_line("PWD", "257 \"/\" is the current directory.");
    c.expect("TYPE I", 200);
    assert!(
        Path::new("/etc/passwd").exists(),
        "test premise: the host has /etc/passwd"
    );
    c.expect_line(
        "SIZE ../../../../etc/passwd",
        "550 No such file or directory.",
    );
    c.expect_line(
        "MDTM /../etc/passwd",
        "550 /../etc/passwd is not retrievable.",
    );
    c.expect("RNFR /etc/passwd", 550);
    // A directory named etc inside the root is what `/etc` means to this user.
    fs::create_dir(root.join("etc")).unwrap();
    c.expect_line("CWD /../../etc", "250 \"/etc\" is the current directory.");
}

#[test]
fn symlinks_pointing_outside_cannot_be_followed() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    let outside = TempDir::new("outside");
    let secret = outside.path().join("secret.txt");
    fs::write(&secret, b"secret").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    let mtime = fs::metadata(&secret).unwrap().modified().unwrap();
    symlink(outside.path(), root.join("link")).unwrap();
    symlink(&secret, root.join("flink")).unwrap();
    fs::write(root.join("a.txt"), b"a").unwrap();
    let real: [&Path; 2] = [&root, outside.path()];

    c.expect("TYPE I", 200);
    // Chroot semantics: `/link` leads to ROOT/<outside's host path>, which does not exist.
    let cwd = c.expect("CWD link", 550);
    assert_eq!(cwd.text, "No such file or directory.");
    no_real_path(&cwd, &real);
    c.expect_line("PWD", "257 \"/\" is the current directory.");
    for cmd in [
        "SIZE link/secret.txt",
        "SIZE flink",
        "MDTM link/secret.txt",
        "MDTM flink",
        "MKD link/newdir",
        "SITE CHMOD 777 flink",
        "MFMT 20000101000000 flink",
        "DELE link/secret.txt",
        "RNFR link/secret.txt",
    ] {
        let r = c.expect(cmd, 550);
        no_real_path(&r, &real);
    }
    c.expect("RNFR a.txt", 350);
    c.expect("RNTO link/a.txt", 550);
    assert!(root.join("a.txt").exists());
    assert!(!outside.path().join("a.txt").exists());
    assert!(!outside.path().join("newdir").exists());
    assert!(secret.exists());
    assert_eq!(
        fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(fs::metadata(&secret).unwrap().modified().unwrap(), mtime);

    // The links themselves can be renamed and deleted; their targets are untouched.
    c.expect("RNFR link", 350);
    c.expect("RNTO link2", 250);
    c.expect_line("DELE link2", "250 File removed.");
    c.expect_line("DELE flink", "250 File removed.");
    assert!(fs::symlink_metadata(root.join("link2")).is_err());
    assert!(fs::symlink_metadata(root.join("flink")).is_err());
    assert_eq!(fs::read(&secret).unwrap(), b"secret");

    // Where such a link leads once that path exists inside the root, as under chroot(2).
    let mirror = root.join(outside.path().strip_prefix("/").unwrap());
    fs::create_dir_all(&mirror).unwrap();
    fs::write(mirror.join("secret.txt"), b"inside!").unwrap();
    symlink(outside.path(), root.join("link")).unwrap();
    c.expect_line("SIZE link/secret.txt", "213 7");
    c.expect("DELE link/secret.txt", 250);
    assert!(!mirror.join("secret.txt").exists());
    assert_eq!(fs::read(&secret).unwrap(), b"secret");
}

#[test]
fn per_directory_permissions_hold_through_symlinks() {
    let srv = TestServer::start_with_root(|cfg, root| {
        fs::create_dir(root.join("ro")).unwrap();
        fs::write(root.join("ro/f.txt"), b"x").unwrap();
        // An absolute link is read from the root (chroot semantics): `/ro` is ROOT/ro.
        symlink("/ro", root.join("alias")).unwrap();
        let mut auth = common::authorizer(root);
        auth.override_perm("user", root.join("ro"), "elr", true)
            .unwrap();
        cfg.authorizer = Arc::new(auth);
    });
    let root = srv.root();
    let mut c = srv.login();
    let denied = "550 Not enough privileges.";
    c.expect_line("MKD ro/new", denied);
    c.expect_line("DELE ro/f.txt", denied);
    c.expect_line("MKD alias/new", denied);
    c.expect_line("DELE alias/f.txt", denied);
    c.expect("CWD alias", 250);
    c.expect_line("DELE f.txt", denied);
    c.expect_line("SITE CHMOD 600 f.txt", denied);
    c.expect("TYPE I", 200);
    c.expect_line("SIZE f.txt", "213 1");
    // Outside the override the user keeps every right.
    c.expect("MKD /free", 257);
    assert!(!root.join("ro/new").exists());
    assert!(root.join("ro/f.txt").exists());
}

#[test]
fn symlinks_inside_the_root_work() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    fs::create_dir(root.join("real")).unwrap();
    fs::write(root.join("real/f.txt"), b"12345").unwrap();
    // Absolute targets are read from the root, as under chroot(2).
    symlink("/real", root.join("alias")).unwrap();
    c.expect_line("CWD alias", "250 \"/alias\" is the current directory.");
    c.expect("TYPE I", 200);
    c.expect_line("SIZE f.txt", "213 5");
}

#[test]
fn a_raw_cr_cannot_split_a_reply() {
    let (_srv, mut c) = logged_in();
    c.send_raw(b"MKD x\r230 fake\r\n");
    let line = c.read_raw_line();
    assert!(line.starts_with(b"257 "), "{line:?}");
    assert!(line.ends_with(b"\r\n"), "{line:?}");
    let body = &line[..line.len() - 2];
    assert!(!body.contains(&b'\r') && !body.contains(&b'\n'), "{line:?}");
    // Exactly one reply: the next one answers the next command.
    c.expect_line("NOOP", "200 I successfully did nothing'.");
}

#[test]
fn nul_bytes_in_paths_are_refused() {
    let (srv, mut c) = logged_in();
    for cmd in [&b"MKD a\0b\r\n"[..], b"CWD a\0b\r\n", b"DELE \0\r\n"] {
        c.send_raw(cmd);
        let r = c.read_reply();
        assert!((500..600).contains(&r.code), "{cmd:?} -> {r:?}");
    }
    assert_eq!(fs::read_dir(srv.root()).unwrap().count(), 0);
    c.expect("NOOP", 200);
    c.expect_line("PWD", "257 \"/\" is the current directory.");
}

#[test]
fn non_utf8_bytes_are_replaced_never_passed_to_the_disk() {
    let (srv, mut c) = logged_in();
    c.send_raw(b"CWD \xfe\xfd\r\n");
    assert_eq!(c.read_reply().code, 550);
    c.expect("NOOP", 200);
    c.send_raw(b"MKD caf\xe9\r\n");
    assert_eq!(c.read_reply().code, 257);
    let names: Vec<_> = fs::read_dir(srv.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(
        names[0].to_str(),
        Some("caf\u{fffd}"),
        "name on disk: {names:?}"
    );
}

#[test]
fn an_over_long_line_gets_one_500_and_the_session_goes_on() {
    let (_srv, mut c) = logged_in();
    c.send_raw(&[b'A'; 3000]);
    c.send_raw(b"\r\n");
    let r = c.read_reply();
    assert_eq!((r.code, r.text.as_str()), (500, "Command too long."));
    // Exactly one 500: the next reply answers the next command.
    c.expect_line("NOOP", "200 I successfully did nothing'.");
    // In one write, followed by a command.
    let mut burst = vec![b'B'; 10_000];
    burst.extend_from_slice(b"\r\nSYST\r\n");
    c.send_raw(&burst);
    assert_eq!(c.read_reply().text, "Command too long.");
    assert_eq!(c.read_reply().text, "UNIX Type: L8");
}

#[test]
fn the_line_limit_is_2048_bytes() {
    let (_srv, mut c) = logged_in();
    let at_limit = format!("CWD {}", "d".repeat(2044));
    assert_eq!(at_limit.len(), 2048);
    assert_eq!(c.cmd(&at_limit).code, 550, "a 2048-byte line is a command");
    let over = format!("CWD {}", "d".repeat(2045));
    c.expect_line(&over, "500 Command too long.");
    c.expect("NOOP", 200);
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let (_srv, mut c) = logged_in();
    c.send_raw(b"NOOP\r\nSYST\r\nPWD\r\n");
    assert_eq!(c.read_reply().code, 200);
    assert_eq!(c.read_reply().code, 215);
    assert_eq!(c.read_reply().code, 257);
    // More commands than the server runs per loop turn.
    c.send_raw(&b"NOOP\r\n".repeat(100));
    c.send_raw(b"SYST\r\n");
    for i in 0..100 {
        assert_eq!(c.read_reply().code, 200, "reply #{i}");
    }
    assert_eq!(c.read_reply().code, 215);
}

#[test]
fn a_command_followed_at_once_by_the_clients_close_is_answered_then_closed() {
    // The command and the FIN usually reach the server in one wake-up. The server reads a
    // command and, on plain TCP, stops at a short read instead of reading on to `EAGAIN`:
    // it must still notice the end of the stream, answer, and close, not sit there until the
    // idle timeout (which would make `expect_closed` time out).
    let (_srv, mut c) = logged_in();
    for round in 0..3 {
        c.send_raw(b"NOOP\r\n");
        assert_eq!(c.read_reply().code, 200, "round {round}");
    }
    c.send_raw(b"SYST\r\nNOOP\r\n");
    c.shutdown_write();
    assert_eq!(c.read_reply().code, 215);
    assert_eq!(c.read_reply().code, 200);
    c.expect_closed();
}

#[test]
fn a_client_that_reads_late_still_gets_every_reply_in_order() {
    let srv = TestServer::with_user();
    // Small client buffers: the server's socket takes only some tens of kB before blocking.
    let (mut c, _) = Ctrl::connect_with_small_buffers(srv.addr());
    c.login("user", "pass");
    // 3000 HELP commands ask for 1.4 MB of replies, far more than the socket buffers and the
    // server's reply cap: the server must stop running commands while its socket is blocked,
    // then resume by itself when the client reads, losing and reordering nothing.
    const N: usize = 3000;
    let mut burst = b"HELP\r\n".repeat(N);
    burst.extend_from_slice(b"SYST\r\n");
    c.send_raw(&burst);
    // The client behaviour under test: it reads nothing for a while. The pause is not a
    // synchronisation: if the server has not filled the buffers by then, the test still
    // checks order and completeness, it just exercises less of the stall-and-resume path.
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..N {
        let r = c.read_reply();
        assert!(r.code == 214 && r.is_multi(), "reply #{i}: {r:?}");
    }
    assert_eq!(c.read_reply().code, 215);
    c.expect("NOOP", 200);
}

#[test]
fn a_half_closed_client_still_gets_its_replies() {
    let (_srv, mut c) = logged_in();
    c.send_raw(b"NOOP\r\nSYST\r\n");
    c.shutdown_write();
    assert_eq!(c.read_reply().code, 200);
    assert_eq!(c.read_reply().code, 215);
    c.expect_closed();
}

#[test]
fn a_half_closed_client_that_reads_late_gets_every_reply() {
    let srv = TestServer::with_user();
    // Small client buffers: the server's socket takes only some tens of kB before blocking.
    let (mut c, _) = Ctrl::connect_with_small_buffers(srv.addr());
    c.login("user", "pass");
    // About 230 kB of replies: more than the socket buffers hold, less than the server's
    // reply cap, so the server runs every command and is left with replies it cannot send
    // yet. It must send them before closing.
    const N: usize = 500;
    let mut burst = b"HELP\r\n".repeat(N);
    burst.extend_from_slice(b"SYST\r\n");
    c.send_raw(&burst);
    // Like `printf ... | nc -N`: all commands, then EOF, then read everything.
    c.shutdown_write();
    // The client behaviour under test: it reads late.
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..N {
        let r = c.read_reply();
        assert!(r.code == 214 && r.is_multi(), "reply #{i}: {r:?}");
    }
    assert_eq!(c.read_reply().code, 215);
    c.expect_closed();
}

#[test]
fn bare_lf_line_endings_work() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.send_raw(b"USER user\nPASS pass\nPWD\n");
    assert_eq!(c.read_reply().code, 331);
    assert_eq!(c.read_reply().code, 230);
    assert_eq!(c.read_reply().code, 257);
}

#[test]
fn telnet_iac_sequences_are_stripped() {
    let (_srv, mut c) = logged_in();
    c.send_raw(b"\xff\xf4\xff\xf2NOOP\r\n");
    assert_eq!(c.read_reply().code, 200);
    c.send_raw(b"\xff\xfb\x01SYST\r\n");
    assert_eq!(c.read_reply().code, 215);
}
