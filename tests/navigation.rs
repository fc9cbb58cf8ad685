//! File-system commands without a data connection, checked against the disk: PWD, CWD, CDUP,
//! MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, SITE CHMOD (with their RFC 775 `X*` aliases);
//! and the informational and parameter commands: HELP, SITE HELP, FEAT, OPTS, NOOP, SYST,
//! STAT, ALLO, TYPE, MODE, STRU, plus unknown verbs and argument rules.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

use common::{Ctrl, TestServer};

fn logged_in() -> (TestServer, Ctrl) {
    let srv = TestServer::with_user();
    let c = srv.login();
    (srv, c)
}

#[test]
fn pwd_and_xpwd_quote_the_path_doubling_inner_quotes() {
    let (srv, mut c) = logged_in();
    c.expect_line("PWD", "257 \"/\" is the current directory.");
    c.expect_line("XPWD", "257 \"/\" is the current directory.");
    fs::create_dir(srv.root().join("say \"hi\"")).unwrap();
    c.expect("CWD say \"hi\"", 250);
    c.expect_line("PWD", "257 \"/say \"\"hi\"\"\" is the current directory.");
    c.expect_line(
        "MKD q\"x",
        "257 \"/say \"\"hi\"\"/q\"\"x\" directory created.",
    );
    assert!(srv.root().join("say \"hi\"/q\"x").is_dir());
}

#[test]
fn cwd_cdup_and_aliases_move_around() {
    let (srv, mut c) = logged_in();
    fs::create_dir_all(srv.root().join("a/b")).unwrap();
    c.expect_line("CWD a", "250 \"/a\" is the current directory.");
    c.expect_line("XCWD b", "250 \"/a/b\" is the current directory.");
    c.expect_line("PWD", "257 \"/a/b\" is the current directory.");
    c.expect_line("CDUP", "250 \"/a\" is the current directory.");
    c.expect_line("XCUP", "250 \"/\" is the current directory.");
    c.expect_line("CDUP", "250 \"/\" is the current directory.");
    c.expect("CWD /a/b", 250);
    c.expect_line("CWD", "250 \"/\" is the current directory.");
    c.expect("CWD a/./b/../b/", 250);
    c.expect_line("PWD", "257 \"/a/b\" is the current directory.");
}

#[test]
fn cwd_to_a_file_or_a_missing_directory_fails_and_stays() {
    let (srv, mut c) = logged_in();
    fs::write(srv.root().join("file.txt"), b"x").unwrap();
    c.expect_line("CWD file.txt", "550 Not a directory.");
    c.expect_line("CWD missing", "550 No such file or directory.");
    c.expect_line("PWD", "257 \"/\" is the current directory.");
}

#[test]
fn mkd_creates_directories_on_disk() {
    let (srv, mut c) = logged_in();
    c.expect_line("MKD newdir", "257 \"/newdir\" directory created.");
    assert!(srv.root().join("newdir").is_dir());
    c.expect("CWD newdir", 250);
    c.expect_line("XMKD inner", "257 \"/newdir/inner\" directory created.");
    assert!(srv.root().join("newdir/inner").is_dir());
    c.expect_line("MKD /newdir", "550 File exists.");
    c.expect("MKD /missing/child", 550);
    assert!(!srv.root().join("missing").exists());
}

#[test]
fn rmd_removes_empty_directories_only() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    fs::create_dir_all(root.join("full/sub")).unwrap();
    fs::create_dir(root.join("empty")).unwrap();
    fs::create_dir(root.join("empty2")).unwrap();
    c.expect_line("RMD empty", "250 Directory removed.");
    assert!(!root.join("empty").exists());
    c.expect_line("XRMD empty2", "250 Directory removed.");
    assert!(!root.join("empty2").exists());
    c.expect("RMD full", 550);
    assert!(root.join("full/sub").is_dir());
    c.expect("RMD missing", 550);
    fs::write(root.join("f"), b"x").unwrap();
    c.expect("RMD f", 550);
    assert!(root.join("f").is_file());
}

#[test]
fn the_root_cannot_be_removed_or_replaced() {
    let (srv, mut c) = logged_in();
    c.expect_line("RMD /", "550 Can't remove root directory.");
    c.expect_line("RMD ../..", "550 Can't remove root directory.");
    c.expect("DELE /", 550);
    c.expect("MKD /", 550);
    fs::write(srv.root().join("a.txt"), b"x").unwrap();
    c.expect("RNFR a.txt", 350);
    c.expect_line("RNTO ..", "553 Can't rename to the root directory.");
    assert!(srv.root().join("a.txt").is_file());
    assert!(srv.root().is_dir());
}

#[test]
fn rmd_of_the_current_directory_moves_the_session_up() {
    let (srv, mut c) = logged_in();
    fs::create_dir_all(srv.root().join("a/gone")).unwrap();
    c.expect("CWD /a/gone", 250);
    c.expect("RMD /a/gone", 250);
    c.expect_line("PWD", "257 \"/a\" is the current directory.");
}

#[test]
fn dele_removes_files_but_not_directories() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    fs::write(root.join("f.txt"), b"x").unwrap();
    fs::create_dir(root.join("d")).unwrap();
    c.expect_line("DELE f.txt", "250 File removed.");
    assert!(!root.join("f.txt").exists());
    c.expect_line("DELE f.txt", "550 No such file or directory.");
    c.expect("DELE d", 550);
    assert!(root.join("d").is_dir());
}

#[test]
fn rnfr_rnto_renames_on_disk() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    fs::write(root.join("a.txt"), b"contents").unwrap();
    fs::create_dir(root.join("dir")).unwrap();
    c.expect_line("RNFR a.txt", "350 Ready for destination name.");
    c.expect_line("RNTO dir/b.txt", "250 Renaming ok.");
    assert!(!root.join("a.txt").exists());
    assert_eq!(fs::read(root.join("dir/b.txt")).unwrap(), b"contents");
    // Directories too.
    c.expect("RNFR dir", 350);
    c.expect("RNTO renamed", 250);
    assert!(root.join("renamed/b.txt").is_file());
}

#[test]
fn rename_sequence_errors() {
    let (srv, mut c) = logged_in();
    let root = srv.root();
    fs::write(root.join("a.txt"), b"x").unwrap();
    c.expect_line(
        "RNTO b.txt",
        "503 Bad sequence of commands: use RNFR first.",
    );
    c.expect_line("RNFR missing", "550 No such file or directory.");
    c.expect("RNTO b.txt", 503);
    // RNFR must be immediately followed by RNTO.
    c.expect("RNFR a.txt", 350);
    c.expect("NOOP", 200);
    c.expect("RNTO b.txt", 503);
    c.expect_line("RNFR /", "550 Can't rename home directory.");
    assert!(root.join("a.txt").exists() && !root.join("b.txt").exists());
}

#[test]
fn rnfr_is_cancelled_by_any_intervening_command() {
    let (srv, mut c) = logged_in();
    fs::write(srv.root().join("a.txt"), b"x").unwrap();
    for between in ["FOO", "DELE", "SITE FOO"] {
        c.expect("RNFR a.txt", 350);
        c.cmd(between);
        c.expect("RNTO b.txt", 503);
        assert!(srv.root().join("a.txt").exists(), "renamed after {between}");
    }
}

#[test]
fn size_needs_binary_type_and_a_regular_file() {
    let (srv, mut c) = logged_in();
    fs::write(srv.root().join("f.bin"), vec![7u8; 1234]).unwrap();
    fs::create_dir(srv.root().join("d")).unwrap();
    // The session starts in ASCII (RFC 959 default).
    c.expect_line("SIZE f.bin", "550 SIZE not allowed in ASCII mode.");
    c.expect("TYPE I", 200);
    c.expect_line("SIZE f.bin", "213 1234");
    c.expect_line("SIZE d", "550 d is not retrievable.");
    c.expect_line("SIZE nope", "550 No such file or directory.");
    c.expect("TYPE A", 200);
    c.expect("SIZE f.bin", 550);
}

#[test]
fn mdtm_reports_the_mtime_in_utc() {
    let (srv, mut c) = logged_in();
    let path = srv.root().join("f.txt");
    fs::write(&path, b"x").unwrap();
    // 2009-02-13 23:31:30 UTC.
    let when = UNIX_EPOCH + Duration::from_secs(1_234_567_890);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let r = c.expect("MDTM f.txt", 213);
    assert_eq!(r.text.len(), 14);
    assert!(r.text.bytes().all(|b| b.is_ascii_digit()), "{r:?}");
    assert_eq!(r.text, "20090213233130");
    fs::create_dir(srv.root().join("d")).unwrap();
    c.expect_line("MDTM d", "550 d is not retrievable.");
    c.expect("MDTM nope", 550);
}

#[test]
fn mfmt_sets_the_mtime_on_disk() {
    let (srv, mut c) = logged_in();
    let path = srv.root().join("f.txt");
    fs::write(&path, b"x").unwrap();
    c.expect_line(
        "MFMT 20200102030405 f.txt",
        "213 Modify=20200102030405; /f.txt.",
    );
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(mtime, UNIX_EPOCH + Duration::from_secs(1_577_934_245));
    c.expect_line("MDTM f.txt", "213 20200102030405");

    let bad = "501 Invalid time format; expected: YYYYMMDDHHMMSS.";
    c.expect_line("MFMT 2020 f.txt", bad);
    c.expect_line("MFMT 20201301000000 f.txt", bad);
    c.expect_line("MFMT yesterday f.txt", bad);
    c.expect_line(
        "MFMT 20200102030405",
        "501 Syntax error: command needs two arguments.",
    );
    c.expect("MFMT 20200102030405 missing", 550);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
}

#[test]
fn site_chmod_changes_the_mode_on_disk() {
    let (srv, mut c) = logged_in();
    let path = srv.root().join("f.txt");
    fs::write(&path, b"x").unwrap();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    c.expect_line("SITE CHMOD 600 f.txt", "200 SITE CHMOD successful.");
    assert_eq!(mode(&path), 0o600);
    c.expect("site chmod 0755 f.txt", 200);
    assert_eq!(mode(&path), 0o755);
    c.expect_line("SITE CHMOD u+x f.txt", "501 Invalid SITE CHMOD format.");
    c.expect_line("SITE CHMOD 888 f.txt", "501 Invalid SITE CHMOD format.");
    c.expect_line(
        "SITE CHMOD 600",
        "501 Syntax error: command needs two arguments.",
    );
    assert_eq!(mode(&path), 0o755);
    c.expect("SITE CHMOD 600 missing", 550);
}

#[test]
fn site_help_lists_site_commands() {
    let (_srv, mut c) = logged_in();
    let r = c.expect("SITE HELP", 214);
    assert!(r.is_multi(), "{r:?}");
    assert_eq!(r.lines()[0], "The following SITE commands are recognized:");
    assert!(r.text.contains("CHMOD") && r.text.contains("HELP"), "{r:?}");
    c.expect_line(
        "SITE HELP chmod",
        "214 Syntax: SITE CHMOD <SP> mode path (change file mode).",
    );
    c.expect_line("SITE HELP FOO", "501 Unrecognized SITE command.");
    c.expect_line("SITE FOO", "500 Command \"SITE FOO\" not understood.");
    c.expect_line("SITE", "501 Syntax error: command needs an argument.");
}

#[test]
fn help_lists_commands_and_explains_one() {
    let (_srv, mut c) = logged_in();
    let r = c.expect("HELP", 214);
    assert!(r.is_multi(), "{r:?}");
    assert_eq!(r.lines()[0], "The following commands are recognized:");
    let words: Vec<&str> = r.text.split_whitespace().collect();
    for name in [
        "CWD", "XCWD", "PWD", "XPWD", "MKD", "MFMT", "MDTM", "SIZE", "FEAT", "QUIT",
    ] {
        assert!(words.contains(&name), "HELP lacks {name}: {r:?}");
    }
    c.expect_line(
        "HELP CWD",
        "214 Syntax: CWD [<SP> dir-name] (change working directory).",
    );
    c.expect_line(
        "HELP xpwd",
        "214 Syntax: PWD (get current working directory).",
    );
    c.expect_line("HELP FOO", "501 Unrecognized command.");
}

#[test]
fn feat_advertises_the_extensions() {
    let (_srv, mut c) = logged_in();
    let r = c.expect("FEAT", 211);
    let lines = r.lines();
    assert_eq!(lines.first(), Some(&"Features supported:"));
    assert_eq!(lines.last(), Some(&"End FEAT."));
    for feat in ["MDTM", "MFMT", "SIZE", "TVFS", "UTF8"] {
        assert!(
            lines.contains(&format!(" {feat}").as_str()),
            "no {feat}: {r:?}"
        );
    }
}

#[test]
fn opts_utf8_and_mlst() {
    let (_srv, mut c) = logged_in();
    c.expect_line("OPTS UTF8 ON", "200 Always in UTF8 mode.");
    c.expect_line("OPTS MLST type;size;", "200 MLST OPTS type;size;");
    c.expect_line("OPTS MLST size;bogus;TYPE;", "200 MLST OPTS type;size;");
    c.expect_line("OPTS MLST nosemicolon", "501 Invalid argument.");
    c.expect_line("OPTS FOO bar", "501 Unsupported command \"FOO\".");
    c.expect_line("OPTS MLST a; b;", "501 Invalid number of arguments.");
}

#[test]
fn noop_syst_stat_allo() {
    let (_srv, mut c) = logged_in();
    c.expect_line("NOOP", "200 I successfully did nothing'.");
    c.expect_line("noop", "200 I successfully did nothing'.");
    c.expect_line("SYST", "215 UNIX Type: L8");
    c.expect_line("ALLO 1000", "202 No storage allocation necessary.");
    let r = c.expect("STAT", 211);
    assert!(r.is_multi(), "{r:?}");
    assert!(r.lines().contains(&" Logged in as: user"), "{r:?}");
    assert!(r.text.contains("TYPE: ASCII"), "{r:?}");
    c.expect("TYPE I", 200);
    assert!(c.expect("STAT", 211).text.contains("TYPE: Binary"));
}

#[test]
fn type_mode_and_stru_parameters() {
    let (srv, mut c) = logged_in();
    fs::write(srv.root().join("f"), b"abc").unwrap();
    c.expect_line("TYPE A", "200 Type set to: ASCII.");
    c.expect_line("TYPE A N", "200 Type set to: ASCII.");
    c.expect_line("TYPE I", "200 Type set to: Binary.");
    c.expect("TYPE A", 200);
    c.expect_line("TYPE L 8", "200 Type set to: Binary.");
    c.expect_line("SIZE f", "213 3");
    c.expect_line("TYPE E", "504 Unsupported type \"E\".");
    c.expect_line("SIZE f", "213 3");
    c.expect_line("MODE S", "200 Transfer mode set to: S");
    c.expect_line("MODE B", "504 Unimplemented MODE type.");
    c.expect_line("MODE X", "501 Unrecognized MODE type.");
    c.expect_line("STRU F", "200 File transfer structure set to: F.");
    c.expect_line("STRU R", "504 Unimplemented STRU type.");
    c.expect_line("STRU X", "501 Unrecognized STRU type.");
}

#[test]
fn unknown_verbs_and_argument_rules() {
    let (_srv, mut c) = logged_in();
    c.expect_line("FOO", "500 Command \"FOO\" not understood.");
    c.expect_line("foo bar", "500 Command \"FOO\" not understood.");
    c.expect_line("DELE", "501 Syntax error: command needs an argument.");
    c.expect_line("DELE   ", "501 Syntax error: command needs an argument.");
    c.expect_line(
        "PWD x",
        "501 Syntax error: command does not accept arguments.",
    );
    c.expect_line("TYPE", "501 Syntax error: command needs an argument.");
    c.expect("NOOP", 200);
}

/// FTPS (RFC 4217) needs a certificate: a server without one refuses AUTH with 502, PBSZ
/// and PROT with 503 (they need a protected control connection), advertises none of them in
/// FEAT, and the session goes on in plain text.
#[test]
fn tls_commands_are_refused_when_tls_is_not_configured() {
    let (srv, mut c) = logged_in();
    for cmd in ["AUTH TLS", "AUTH SSL"] {
        let r = c.expect(cmd, 502);
        assert!(r.text.contains("TLS is not configured"), "{r:?}");
    }
    for cmd in ["PBSZ 0", "PROT P", "PROT C"] {
        c.expect(cmd, 503);
    }
    let feat = c.expect("FEAT", 211);
    for absent in ["AUTH", "PBSZ", "PROT"] {
        assert!(
            !feat.text.contains(absent),
            "FEAT advertises {absent}: {feat:?}"
        );
    }
    c.expect("NOOP", 200);
    // AUTH comes before login in a real FTPS session: same answer there.
    let mut fresh = srv.connect();
    fresh.expect("AUTH TLS", 502);
    fresh.login("user", "pass");
}
