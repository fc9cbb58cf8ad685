//! Access control over a real socket: USER/PASS (RFC 959 §4.1.1), the RFC 2577 defences (USER
//! never reveals valid names, delayed 530 that does not stall other sessions, disconnect after
//! too many failures), anonymous login, REIN, QUIT, HOST (RFC 7151), ACCT, SMNT, and the 530
//! gate on commands that need a login.

mod common;

use std::time::{Duration, Instant};

use common::{Ctrl, TestServer};

#[test]
fn user_answers_331_for_known_and_unknown_names_alike() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.expect_line("USER user", "331 Username ok, send password.");
    c.expect_line("USER nobody-here", "331 Username ok, send password.");
    c.expect_line("USER", "501 Syntax error: command needs an argument.");
}

#[test]
fn right_password_logs_in() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.expect("USER user", 331);
    c.expect_line("PASS pass", "230 Login successful.");
    c.expect_line("PWD", "257 \"/\" is the current directory.");
}

#[test]
fn unknown_user_and_wrong_password_fail_the_same_way() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.expect("USER nobody", 331);
    c.expect_line("PASS pass", "530 Authentication failed.");
    c.expect("USER user", 331);
    c.expect_line("PASS wrong", "530 Authentication failed.");
    c.expect_line("PWD", "530 Log in with USER and PASS first.");
}

#[test]
fn wrong_password_is_answered_late_while_other_sessions_are_served() {
    let delay = Duration::from_millis(400);
    let srv = TestServer::start(|cfg| cfg.auth_failed_delay = delay);
    let mut guesser = srv.connect();
    let mut other = srv.connect();
    guesser.expect("USER user", 331);

    guesser.send_raw(b"PASS wrong\r\n");
    let sent = Instant::now();
    // The other session is answered at once, while the guesser is still waiting.
    other.expect("NOOP", 200);
    let other_done = sent.elapsed();
    assert!(
        !guesser.has_pending_data(),
        "the 530 arrived before the other session's NOOP reply"
    );
    assert!(
        other_done < delay,
        "other session stalled for {other_done:?} by a pending auth delay"
    );

    let reply = guesser.read_reply();
    let waited = sent.elapsed();
    assert_eq!(
        (reply.code, reply.text.as_str()),
        (530, "Authentication failed.")
    );
    assert!(waited >= delay, "530 after {waited:?}, delay is {delay:?}");
}

#[test]
fn commands_pipelined_after_a_wrong_password_wait_and_keep_their_order() {
    let delay = Duration::from_millis(300);
    let srv = TestServer::start(|cfg| cfg.auth_failed_delay = delay);
    let mut c = srv.connect();
    c.send_raw(b"USER user\r\nPASS bad\r\nNOOP\r\nSYST\r\nUSER user\r\nPASS pass\r\nPWD\r\n");
    let sent = Instant::now();
    assert_eq!(c.read_reply().code, 331);
    let failed = c.read_reply();
    assert_eq!(failed.code, 530, "{failed:?}");
    assert!(
        sent.elapsed() >= delay,
        "530 came after {:?}",
        sent.elapsed()
    );
    assert_eq!(c.read_reply().code, 200);
    assert_eq!(c.read_reply().text, "UNIX Type: L8");
    assert_eq!(c.read_reply().code, 331);
    assert_eq!(
        c.read_reply().code,
        230,
        "the pipelined second guess is served"
    );
    assert_eq!(c.read_reply().text, "\"/\" is the current directory.");
}

#[test]
fn too_many_failed_logins_disconnect() {
    let srv = TestServer::start(|cfg| cfg.max_login_attempts = 2);
    let mut c = srv.connect();
    c.expect("USER user", 331);
    c.expect_line("PASS bad1", "530 Authentication failed.");
    c.expect("USER user", 331);
    c.expect_line("PASS bad2", "530 Authentication failed. Disconnecting.");
    c.expect_closed();
    // A new connection starts with a fresh count.
    let mut c2 = srv.connect();
    c2.login("user", "pass");
}

#[test]
fn anonymous_logs_in_as_anonymous_or_ftp_with_any_password() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.expect("USER anonymous", 331);
    c.expect_line("PASS guest@example.com", "230 Login successful.");
    c.expect_line("PWD", "257 \"/\" is the current directory.");

    let mut c = srv.connect();
    c.expect("USER ftp", 331);
    c.expect("PASS", 230);

    let mut c = srv.connect();
    c.login("anonymous", "anything at all");
}

#[test]
fn anonymous_is_read_only() {
    let srv = TestServer::with_user();
    std::fs::write(srv.root().join("keep.txt"), b"data").unwrap();
    let mut c = srv.connect();
    c.login("anonymous", "x");
    c.expect_line("MKD newdir", "550 Not enough privileges.");
    c.expect_line("DELE keep.txt", "550 Not enough privileges.");
    c.expect_line("RNFR keep.txt", "550 Not enough privileges.");
    c.expect_line("SITE CHMOD 600 keep.txt", "550 Not enough privileges.");
    assert!(!srv.root().join("newdir").exists());
    assert!(srv.root().join("keep.txt").exists());
    // Reading is allowed.
    c.expect("TYPE I", 200);
    c.expect_line("SIZE keep.txt", "213 4");
}

#[test]
fn pass_out_of_sequence_is_503() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.expect_line("PASS pass", "503 Login with USER first.");
    c.login("user", "pass");
    c.expect_line("PASS pass", "503 User already authenticated.");
    c.expect("PWD", 257);
}

#[test]
fn user_while_logged_in_flushes_the_account() {
    let srv = TestServer::with_user();
    std::fs::create_dir(srv.root().join("sub")).unwrap();
    let mut c = srv.login();
    c.expect("CWD sub", 250);
    c.expect_line(
        "USER user",
        "331 Previous account information was flushed, send password.",
    );
    c.expect_line("PWD", "530 Log in with USER and PASS first.");
    c.expect("PASS pass", 230);
    c.expect_line("PWD", "257 \"/\" is the current directory.");
}

#[test]
fn rein_logs_out_and_allows_a_new_login() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect_line("REIN", "230 Ready for new user.");
    c.expect_line("PWD", "530 Log in with USER and PASS first.");
    c.login("anonymous", "x");
    c.expect_line("MKD d", "550 Not enough privileges.");
}

#[test]
fn quit_says_goodbye_and_closes() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect_line("QUIT", "221 Goodbye.");
    c.expect_closed();
    // QUIT needs no login.
    let mut c = srv.connect();
    c.expect("QUIT", 221);
    c.expect_closed();
}

#[test]
fn commands_that_need_a_login_are_refused_before_it() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    for cmd in [
        "PWD",
        "CWD /",
        "CDUP",
        "MKD d",
        "RMD d",
        "DELE f",
        "RNFR f",
        "RNTO g",
        "SIZE f",
        "MDTM f",
        "TYPE I",
        "STAT /",
        "REIN",
        "ACCT x",
        "SMNT x",
        "ALLO 1",
        "MODE S",
        "STRU F",
        "OPTS UTF8 ON",
        "SITE CHMOD 600 f",
        "PASV",
        "LIST",
        "RETR f",
        "STOR f",
    ] {
        c.expect_line(cmd, "530 Log in with USER and PASS first.");
    }
    assert!(!srv.root().join("d").exists(), "MKD ran before login");
    // These need no login.
    c.expect("NOOP", 200);
    c.expect("SYST", 215);
    c.expect("FEAT", 211);
    c.expect("HELP", 214);
    c.expect("SITE HELP", 214);
    c.expect("STAT", 211);
}

#[test]
fn acct_is_superfluous_and_smnt_not_implemented() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect_line(
        "ACCT billing",
        "202 Command not implemented, superfluous at this site.",
    );
    c.expect_line("SMNT /mnt", "502 SMNT not implemented.");
    c.expect("NOOP", 200);
}

#[test]
fn host_is_accepted_only_before_user() {
    let srv = TestServer::with_user();
    let mut c = srv.connect();
    c.expect_line("HOST ftp.example.com", "220 Host accepted.");
    c.expect("USER user", 331);
    c.expect_line(
        "HOST ftp.example.com",
        "503 Bad sequence of commands: HOST must come before USER.",
    );
    c.expect("PASS pass", 230);
    c.expect("HOST ftp.example.com", 503);
}

#[test]
fn greeting_is_the_configured_banner() {
    let srv = TestServer::start(|cfg| cfg.banner = "Welcome to the test site.".into());
    let (_c, greeting) = Ctrl::connect(srv.addr());
    assert_eq!(greeting.code, 220);
    assert_eq!(greeting.text, "Welcome to the test site.");
}
