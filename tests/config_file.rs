//! The daemon's `--config` file with the real binary: precedence (flags > `FTPDLIB_*`
//! variables > file > defaults), startup errors naming file, line and key (exit 2, also under
//! `--check`), and the shipped example `docs/ftpdlib.toml` passing `--check`.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Ctrl, Proc, TempDir};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ftpdlib.toml");

/// Starts the daemon with `args` and `env`, returns the text of its 220 greeting.
fn greeting(args: &[&str], env: &[(&str, &str)]) -> String {
    let d = Proc::daemon(args, env);
    let port = d.expect_addr("listening on ").port();
    let (_c, reply) = Ctrl::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(reply.code, 220);
    reply.text
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn flags_beat_variables_beat_the_file_beats_defaults() {
    let dir = TempDir::new("cfg-prec");
    let root = dir.path().to_str().unwrap();
    let file = write(
        dir.path(),
        "a.toml",
        &format!("port = 0\ninterface = \"127.0.0.1\"\ndirectory = \"{root}\"\nbanner = \"from the file\"\n"),
    );
    let bare = write(
        dir.path(),
        "b.toml",
        &format!("port = 0\ninterface = \"127.0.0.1\"\ndirectory = \"{root}\"\n"),
    );
    let env = [("FTPDLIB_BANNER", "from the environment")];
    assert!(
        greeting(&["--config", &bare], &[]).contains("ftpdlib"),
        "default banner"
    );
    assert!(greeting(&["--config", &file], &[]).contains("from the file"));
    assert!(greeting(&["--config", &file], &env).contains("from the environment"));
    let flag = greeting(&["--config", &file, "--banner", "from the flag"], &env);
    assert!(flag.contains("from the flag"), "{flag}");
    // The file itself may be named by a variable.
    assert!(greeting(&[], &[("FTPDLIB_CONFIG", &file)]).contains("from the file"));
}

/// Runs `ftpdlib ARGS` to completion (bounded): status code, stdout, stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = common::run_bounded(
        Command::new(common::BIN).args(args),
        Duration::from_secs(20),
    );
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_bad_file_stops_startup_naming_file_line_and_key() {
    let dir = TempDir::new("cfg-bad");
    let cases = [
        ("port = 0\n\nmax-conz = 5\n", ":3: unknown key `max-conz`"),
        (
            "port = 0\n[limits]\nmax-cons = \"lots\"\n",
            ":3: key `limits.max-cons`: bad value",
        ),
        ("port = 0\nwrite = 1\n", ":2: key `write`: wrong type"),
    ];
    for (i, (text, want)) in cases.into_iter().enumerate() {
        let file = write(dir.path(), &format!("{i}.toml"), text);
        let (code, _, err) = run(&["--config", &file, "-i", "127.0.0.1"]);
        assert_eq!(code, Some(2), "{text:?}: {err}");
        assert!(err.contains(&format!("{file}{want}")), "{text:?}: {err}");
        let (code, out, _) = run(&["--config", &file, "--check"]);
        assert_eq!(code, Some(2));
        assert!(
            out.contains(&format!("error: {file}{want}")),
            "--check: {out}"
        );
    }
    let (code, _, err) = run(&["--config", "/nonexistent/ftpdlib.toml"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/ftpdlib.toml"), "{err}");
}

#[test]
fn the_shipped_example_passes_check() {
    let dir = TempDir::new("cfg-example");
    let root = dir.path().to_str().unwrap();
    let (code, out, err) = run(&[
        "--config",
        EXAMPLE,
        "--check",
        "-p",
        "0",
        "-i",
        "127.0.0.1",
        "-d",
        root,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("ok: configuration file"), "{out}");
}

#[test]
fn sighup_gives_new_sessions_the_new_file_and_keeps_it_when_broken() {
    let dir = TempDir::new("cfg-hup");
    let root = dir.path().to_str().unwrap();
    let head = format!("interface = \"127.0.0.1\"\ndirectory = \"{root}\"\n");
    let file = write(
        dir.path(),
        "a.toml",
        &format!("{head}port = 0\nbanner = \"one\"\n"),
    );
    let d = Proc::daemon(&["--config", &file], &[]);
    let addr = SocketAddr::from(([127, 0, 0, 1], d.expect_addr("listening on ").port()));
    let (mut early, reply) = Ctrl::connect(addr);
    assert!(reply.text.contains("one"), "{}", reply.text);

    // A new banner and a limit for new sessions; a new port needs a restart.
    let text = format!("{head}port = 1\nbanner = \"two\"\n[limits]\nmax-cons-per-ip = 1\n");
    write(dir.path(), "a.toml", &text);
    d.signal("HUP");
    d.expect_line("port changed, which needs a restart");
    d.expect_line("configuration reloaded");
    // The running session counts against the new per-IP limit of 1 ...
    let (_c, reply) = Ctrl::connect(addr);
    assert_eq!(reply.code, 421, "{}", reply.text);
    // ... and keeps its own configuration.
    early.expect("NOOP", 200);
    early.expect("QUIT", 221);
    // The server closes after releasing the session's slot.
    early.expect_closed();
    let (mut c, reply) = Ctrl::connect(addr);
    assert!(
        reply.code == 220 && reply.text.contains("two"),
        "{}",
        reply.text
    );
    c.expect("QUIT", 221);
    c.expect_closed();

    write(
        dir.path(),
        "a.toml",
        &format!("{head}port = 0\nbanner = 3\nmax-conz = 1\n"),
    );
    d.signal("HUP");
    let line = d.expect_line("keeping the old configuration");
    assert!(
        line.contains(&format!("{file}:5")) && line.contains("max-conz"),
        "{line}"
    );
    let (_c, reply) = Ctrl::connect(addr);
    assert!(reply.text.contains("two"), "{}", reply.text);
}
