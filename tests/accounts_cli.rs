//! The account system of the real `ftpdlib` daemon: `hash-password`, `--users-file` (startup
//! errors, mixing with `-u/-P` and `--anonymous`), SIGHUP reloads (new, removed and broken
//! accounts), `--run-as` and the refusal to run as root with write permissions.
//!
//! The daemon refuses to serve a users file as root without `--run-as` or `--allow-root`, so
//! when the tests run as root every daemon gets `--allow-root` unless that is what is tested.

mod acct;
mod common;
mod xfer;

use std::path::Path;
use std::time::{Duration, Instant};

use acct::{is_root, try_login, write_users, Daemon, SHA512, SHA512_PW};
use common::TempDir;

/// `--users-file FILE` plus `--allow-root` when running as root.
fn users_flags(file: &Path) -> Vec<&str> {
    let mut flags = vec!["--users-file", file.to_str().unwrap()];
    if is_root() {
        flags.push("--allow-root");
    }
    flags
}

/// One account line with home `home` and no options.
fn account(name: &str, hash: &str, perms: &str, home: &Path) -> String {
    format!("{name}:{hash}:{perms}:{}", home.display())
}

/// A directory to serve (with `hello.txt`) and another one for the users file.
fn dirs() -> (TempDir, TempDir) {
    let root = TempDir::new("acct-root");
    std::fs::write(root.path().join("hello.txt"), b"hello").unwrap();
    (root, TempDir::new("acct-etc"))
}

#[test]
fn hash_password_output_works_in_a_users_file() {
    let (root, etc) = dirs();
    let pass = "correct horse";
    let (status, out, err) = acct::run_with_stdin(&["hash-password"], &format!("{pass}\n"));
    assert!(status.success(), "hash-password failed: {err}");
    let hash = out.trim_end();
    assert!(
        hash.starts_with("$6$") && !hash.contains('\n'),
        "not one $6$ line: {out:?}"
    );
    // A fresh salt every time.
    let (_, again, _) = acct::run_with_stdin(&["hash-password"], &format!("{pass}\n"));
    assert_ne!(hash, again.trim_end());
    let (status, _, err) = acct::run_with_stdin(&["hash-password"], "\n");
    assert_eq!(status.code(), Some(2), "empty password: {err}");
    assert!(err.contains("empty password"), "{err}");

    let file = etc.path().join("users");
    write_users(&file, &[account("alice", hash, "elr", root.path())]);
    let (_d, port) = Daemon::start(root.path(), &users_flags(&file));
    let (mut c, code) = try_login(port, "alice", pass);
    assert_eq!(code, 230);
    c.expect("TYPE I", 200);
    assert_eq!(xfer::download(&mut c, "RETR hello.txt"), b"hello");
    let (_c, code) = try_login(port, "alice", "correct horse battery");
    assert_eq!(code, 530);
}

#[test]
fn broken_users_file_exits_2_naming_file_and_line() {
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    let lines = [
        account("alice", SHA512, "elr", root.path()),
        format!(
            "{}:max_sessions=0",
            account("bob", SHA512, "elr", root.path())
        ),
    ];
    write_users(&file, &lines);
    let mut args = users_flags(&file);
    let (status, log) = Daemon::spawn_on(root.path(), &args).wait_exit();
    assert_eq!(status.code(), Some(2), "log: {log}");
    let want = format!("{}:2: ", file.display());
    assert!(log.contains(&want), "no {want:?} in: {log}");
    assert!(log.contains("max_sessions"), "{log}");
    assert!(!log.contains("panicked"), "{log}");

    // A name defined both in the file and with -u is refused too.
    write_users(&file, &lines[..1]);
    args.extend(["-u", "alice", "-P", "pw"]);
    let (status, log) = Daemon::spawn_on(root.path(), &args).wait_exit();
    assert_eq!(status.code(), Some(2), "log: {log}");
    assert!(
        log.contains("also configured outside the users file"),
        "{log}"
    );
}

#[test]
fn file_users_cli_user_and_anonymous_together() {
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    write_users(&file, &[account("alice", SHA512, "elrw", root.path())]);
    let mut flags = users_flags(&file);
    flags.extend(["-u", "carl", "-P", "carl-pw", "--anonymous"]);
    let (_d, port) = Daemon::start(root.path(), &flags);

    let (mut alice, code) = try_login(port, "alice", SHA512_PW);
    assert_eq!(code, 230);
    xfer::upload(&mut alice, "STOR from-alice.txt", b"alice was here");
    let (mut carl, code) = try_login(port, "carl", "carl-pw");
    assert_eq!(code, 230);
    assert_eq!(
        xfer::download(&mut carl, "RETR from-alice.txt"),
        b"alice was here"
    );
    // Passwords do not cross over between the two sources.
    assert_eq!(try_login(port, "carl", SHA512_PW).1, 530);
    assert_eq!(try_login(port, "alice", "carl-pw").1, 530);

    let (mut anon, code) = try_login(port, "anonymous", "guest@example.com");
    assert_eq!(code, 230);
    assert_eq!(xfer::download(&mut anon, "RETR hello.txt"), b"hello");
    xfer::pasv(&mut anon);
    anon.expect("STOR anon.txt", 550);
    anon.expect("MKD dir", 550);
    assert!(!root.path().join("anon.txt").exists());
}

#[test]
fn sighup_adds_and_removes_accounts() {
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    let alice = account("alice", SHA512, "elr", root.path());
    let bob = account("bob", SHA512, "elr", root.path());
    write_users(&file, std::slice::from_ref(&alice));
    let (mut d, port) = Daemon::start(root.path(), &users_flags(&file));
    let (mut early, code) = try_login(port, "alice", SHA512_PW);
    assert_eq!(code, 230);
    assert_eq!(try_login(port, "bob", SHA512_PW).1, 530);

    write_users(&file, &[alice, bob.clone()]);
    d.reload("users file reloaded (2 accounts)");
    let (mut c, code) = try_login(port, "bob", SHA512_PW);
    assert_eq!(code, 230);
    assert_eq!(xfer::download(&mut c, "RETR hello.txt"), b"hello");

    write_users(&file, &[bob]);
    d.reload("users file reloaded (1 accounts)");
    assert_eq!(try_login(port, "alice", SHA512_PW).1, 530);
    // The session opened before the reload stays connected and usable ...
    early.expect("NOOP", 200);
    early.expect_line("PWD", "257 \"/\" is the current directory.");
    // ... but permissions follow the new file, where alice has none any more.
    early.expect("CWD /", 550);
    xfer::pasv(&mut early);
    early.expect("RETR hello.txt", 550);
    early.expect("QUIT", 221);
}

#[test]
fn sighup_with_a_broken_file_keeps_the_old_accounts() {
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    let alice = account("alice", SHA512, "elr", root.path());
    write_users(&file, std::slice::from_ref(&alice));
    let (mut d, port) = Daemon::start(root.path(), &users_flags(&file));

    let broken = [alice, account("bob", "plaintext-pw", "elr", root.path())];
    write_users(&file, &broken);
    let line = d.reload("keeping the old accounts");
    let want = format!("{}:2: ", file.display());
    assert!(line.contains(&want), "no {want:?} in {line:?}");
    assert!(
        !line.contains("plaintext-pw"),
        "password in the log: {line:?}"
    );
    assert_eq!(try_login(port, "alice", SHA512_PW).1, 230);
    assert_eq!(try_login(port, "bob", "plaintext-pw").1, 530);
}

/// The uid or gid (`-u`/`-g`) of `name`, from `id`.
fn id_of(flag: &str, name: &str) -> u32 {
    let out = std::process::Command::new("id")
        .args([flag, name])
        .output()
        .unwrap();
    assert!(out.status.success(), "id {flag} {name} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn run_as_drops_privileges_after_loading() {
    if !common::require(is_root(), "--run-as needs the tests to run as root") {
        return;
    }
    // Served by `nobody`: a root-owned 0755 directory with a world-readable file, under /tmp.
    let root = acct::PublicDir::new("run-as");
    let etc = TempDir::new("acct-etc");
    std::fs::write(root.path().join("pub.txt"), b"for everyone").unwrap();
    acct::set_mode(&root.path().join("pub.txt"), 0o644);
    let file = etc.path().join("users");
    // Read (as root, mode 0600) before the switch.
    write_users(&file, &[account("alice", SHA512, "elrw", root.path())]);
    let flags = ["--users-file", file.to_str().unwrap(), "--run-as", "nobody"];
    // The switch is logged before the `listening on` line that `start` waits for.
    let (mut d, port) = Daemon::start(root.path(), &flags);
    assert!(d.logged("running as user nobody (uid "));

    let pid = d.pid().to_string();
    let (uid, gid) = (id_of("-u", "nobody"), id_of("-g", "nobody"));
    assert_eq!(acct::proc_ids(&pid, "Uid:"), [uid; 4]);
    assert_eq!(acct::proc_ids(&pid, "Gid:"), [gid; 4]);

    let (mut c, code) = try_login(port, "alice", SHA512_PW);
    assert_eq!(code, 230);
    c.expect("TYPE I", 200);
    assert_eq!(xfer::download(&mut c, "RETR pub.txt"), b"for everyone");
    // alice may write, but the process cannot: the directory belongs to root.
    xfer::pasv(&mut c);
    c.expect("STOR new.txt", 550);
    assert!(!root.path().join("new.txt").exists());
    // A reload reads the file as nobody: one only root may read cannot be reloaded.
    let line = d.reload("keeping the old accounts");
    assert!(line.contains("Permission denied"), "{line}");
    assert_eq!(try_login(port, "alice", SHA512_PW).1, 230);
}

#[test]
fn root_with_a_writable_users_file_needs_run_as_or_allow_root() {
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    write_users(&file, &[account("alice", SHA512, "elrw", root.path())]);
    let mut flags = vec!["--users-file", file.to_str().unwrap()];
    if !is_root() {
        eprintln!("not root: only checking that no flag is needed then");
        let (_d, port) = Daemon::start(root.path(), &flags);
        assert_eq!(try_login(port, "alice", SHA512_PW).1, 230);
        return;
    }
    let (status, log) = Daemon::spawn_on(root.path(), &flags).wait_exit();
    assert_eq!(status.code(), Some(2), "log: {log}");
    assert!(
        log.contains("--run-as") && log.contains("--allow-root"),
        "{log}"
    );
    flags.push("--allow-root");
    let (_d, port) = Daemon::start(root.path(), &flags);
    let (mut c, code) = try_login(port, "alice", SHA512_PW);
    assert_eq!(code, 230);
    xfer::upload(&mut c, "STOR up.txt", b"as root");
    assert!(root.path().join("up.txt").exists());
}

#[test]
fn sighup_changes_the_bandwidth_of_new_logins() {
    let (root, etc) = dirs();
    xfer::Pattern::new().write_file(&root.path().join("big.bin"), 400 * 1024);
    let file = etc.path().join("users");
    let with_limit = |limit: &str| {
        let line = account("eve", SHA512, "elr", root.path());
        vec![format!("{line}:write_limit={limit}")]
    };
    write_users(&file, &with_limit("100K"));
    let (mut d, port) = Daemon::start(root.path(), &users_flags(&file));
    let (mut c, _) = try_login(port, "eve", SHA512_PW);
    c.expect("TYPE I", 200);
    // A small download at 100 KiB/s creates eve's shared bucket.
    assert_eq!(xfer::download(&mut c, "RETR hello.txt"), b"hello");

    write_users(&file, &with_limit("10M"));
    d.reload("users file reloaded (1 accounts)");
    let (mut c, _) = try_login(port, "eve", SHA512_PW);
    c.expect("TYPE I", 200);
    let start = Instant::now();
    assert_eq!(xfer::download(&mut c, "RETR big.bin").len(), 400 * 1024);
    // 400 KiB: ~0.04 s at the new 10 MiB/s, ~4 s at the old 100 KiB/s.
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

/// `allow_from`: a login from outside the user's networks fails like a wrong password (the
/// client learns nothing more), and the log says why; from inside, it succeeds.
#[test]
fn allow_from_admits_only_the_users_networks() {
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    let home = root.path();
    write_users(
        &file,
        &[
            format!(
                "{}:allow_from=10.0.0.0/8,2001:db8::/32",
                account("far", SHA512, "elr", home)
            ),
            format!(
                "{}:allow_from=192.0.2.1,127.0.0.0/8",
                account("near", SHA512, "elr", home)
            ),
        ],
    );
    let (mut d, port) = Daemon::start(root.path(), &users_flags(&file));
    assert_eq!(try_login(port, "far", SHA512_PW).1, 530);
    let line = d.wait_log("reason=address-not-allowed");
    assert!(line.contains("far") && line.contains("127.0.0.1"), "{line}");
    assert_eq!(try_login(port, "near", SHA512_PW).1, 230);
}

/// `--umask` and a user's `umask=`: the modes of new files and directories, whatever the
/// daemon's own process umask was (the test process runs it with its umask, usually 022).
#[test]
fn umask_sets_the_modes_of_new_files_and_directories() {
    use std::os::unix::fs::PermissionsExt;
    let (root, etc) = dirs();
    let file = etc.path().join("users");
    let (alice_home, bob_home) = (root.path().join("alice"), root.path().join("bob"));
    std::fs::create_dir_all(&alice_home).unwrap();
    std::fs::create_dir_all(&bob_home).unwrap();
    write_users(
        &file,
        &[
            format!(
                "{}:umask=077",
                account("alice", SHA512, "elrwm", &alice_home)
            ),
            account("bob", SHA512, "elrwm", &bob_home),
        ],
    );
    let mut flags = users_flags(&file);
    flags.extend(["--umask", "002"]);
    let (_d, port) = Daemon::start(root.path(), &flags);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for (user, home, file_mode, dir_mode) in [
        ("alice", &alice_home, 0o600, 0o700),
        ("bob", &bob_home, 0o664, 0o775),
    ] {
        let (mut c, code) = try_login(port, user, SHA512_PW);
        assert_eq!(code, 230);
        c.expect("TYPE I", 200);
        xfer::upload(&mut c, "STOR new.txt", b"new");
        c.expect("MKD sub", 257);
        assert_eq!(mode(&home.join("new.txt")), file_mode, "{user}'s file");
        assert_eq!(mode(&home.join("sub")), dir_mode, "{user}'s directory");
    }
}
