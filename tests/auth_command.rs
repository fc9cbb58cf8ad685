//! `--auth-command` with the real daemon: the SQLite script of docs/accounts.md, taken from
//! the page as it stands, decides the logins; programs that crash, hang or answer nonsense make
//! failed logins with their own reason codes (fail closed).

mod acct;
mod common;
mod xfer;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acct::{is_root, try_login, Daemon};
use common::TempDir;

const ACCOUNTS_MD: &str = include_str!("../docs/accounts.md");

/// The fenced Python block of docs/accounts.md whose second line names `name`.
fn script_from_docs(name: &str) -> String {
    let blocks = ACCOUNTS_MD.split("```python\n").skip(1);
    let block = blocks
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.lines().nth(1).is_some_and(|l| l.contains(name)))
        .unwrap_or_else(|| panic!("no {name} block in docs/accounts.md"));
    block.to_owned()
}

/// Writes an executable program into `dir`.
fn program(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path
}

/// `--auth-command PROGRAM` plus `--allow-root` when the tests run as root.
fn flags(program: &Path) -> Vec<String> {
    let mut f = vec!["--auth-command".to_owned(), program.display().to_string()];
    if is_root() {
        f.push("--allow-root".into());
    }
    f
}

fn start(root: &Path, extra: &[String]) -> (Daemon, u16) {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    Daemon::start(root, &extra)
}

#[test]
fn the_sqlite_script_of_the_docs_decides_logins() {
    if !common::require_tool("python3") {
        return;
    }
    let root = TempDir::new("extauth-root");
    let etc = TempDir::new("extauth-etc");
    std::fs::write(root.path().join("hello.txt"), b"hello").unwrap();
    let script = program(
        etc.path(),
        "auth-sqlite.py",
        &script_from_docs("auth-sqlite.py"),
    );
    let home = root.path().to_str().unwrap();
    let mut add = Command::new(&script)
        .args(["add", "alice", home, "elr"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"wonderland\n")
        .unwrap();
    assert!(add.wait().unwrap().success(), "auth-sqlite.py add failed");

    let (mut d, port) = start(root.path(), &flags(&script));
    let (mut c, code) = try_login(port, "alice", "wonderland");
    assert_eq!(code, 230);
    c.expect("TYPE I", 200);
    assert_eq!(xfer::download(&mut c, "RETR hello.txt"), b"hello");
    xfer::pasv(&mut c);
    c.expect("STOR new.txt", 550);
    assert_eq!(try_login(port, "alice", "looking-glass").1, 530);
    d.wait_log("wrong password reason=auth-command-denied");
    assert_eq!(try_login(port, "bob", "x").1, 530);
    d.wait_log("no such user reason=auth-command-denied");
    d.wait_log("USER 'bob' failed login. reason=auth-failed");
}

#[test]
fn crashes_timeouts_and_bad_answers_fail_closed_with_their_reasons() {
    let root = TempDir::new("extauth-bad");
    let etc = TempDir::new("extauth-bad-etc");
    let ok = format!(
        "echo '{{\"ok\": true, \"home\": \"{}\", \"perms\": \"elr\"}}'",
        root.path().display()
    );
    let cases = [
        (
            "crash.sh",
            format!("{ok}\necho oops >&2\nexit 1"),
            "reason=auth-command-crash",
        ),
        (
            "hang.sh",
            format!("sleep 30\n{ok}"),
            "reason=auth-command-timeout",
        ),
        (
            "junk.sh",
            "echo 'ok!'".to_owned(),
            "reason=auth-command-bad-answer",
        ),
    ];
    for (name, body, reason) in cases {
        let prog = program(etc.path(), name, &format!("#!/bin/sh\n{body}\n"));
        let mut extra = flags(&prog);
        extra.extend(["--auth-timeout".into(), "0.3".into()]);
        let (mut d, port) = start(root.path(), &extra);
        assert_eq!(try_login(port, "alice", "pw").1, 530, "{name}");
        let line = d.wait_log(reason);
        assert!(line.contains("USER 'alice'"), "{line}");
        d.wait_log("failed login. reason=auth-failed");
    }
}

#[test]
fn auth_command_and_users_file_exclude_each_other() {
    let root = TempDir::new("extauth-excl");
    let prog = program(root.path(), "a.sh", "#!/bin/sh\nexit 1\n");
    let users = root.path().join("users");
    std::fs::write(&users, "").unwrap();
    let mut extra = flags(&prog);
    extra.extend(["--users-file".into(), users.display().to_string()]);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let (status, log) = Daemon::spawn_on(root.path(), &extra).wait_exit();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("cannot be combined"), "{log}");
}
