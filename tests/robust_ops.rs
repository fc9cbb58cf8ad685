//! The operator's side of the daemon: `--check` (the passive reply clients will see, warnings,
//! exit 2 on every kind of broken configuration), the `--log-format json` event log, the
//! wu-ftpd `--xferlog`, and systemd socket activation (`LISTEN_FDS`).

mod common;
mod robust;
mod xfer;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Ctrl, TempDir};
use robust::json::{parse_object, Value};
use robust::{installed, Daemon, BIN};

/// Runs `ftpdlib --check` on 127.0.0.1 port 0 with `args`.
fn check(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out: Output = Command::new(BIN)
        .args(["--check", "-i", "127.0.0.1", "-p", "0", "-d"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ftpdlib --check");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// `n` consecutive free ports on 127.0.0.1, bound (and listening) by the returned sockets.
/// Tried below the ephemeral range (32768 and up here), where the outgoing connections of
/// other tests do not sit; the start is random, the attempts bounded.
fn bind_consecutive(n: u16) -> Vec<TcpListener> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut x = u64::from(nanos) ^ (u64::from(std::process::id()) << 32);
    for _ in 0..200 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let from = 10_000 + (x >> 33) as u16 % 20_000;
        let socks: Result<Vec<_>, _> = (from..from + n)
            .map(|p| TcpListener::bind(("127.0.0.1", p)))
            .collect();
        if let Ok(socks) = socks {
            return socks;
        }
    }
    panic!("no {n} consecutive free ports");
}

/// The address in the `227` line of a `--check` report.
fn advertised(report: &str) -> SocketAddr {
    let line = report
        .lines()
        .find(|l| l.contains("227 Entering passive mode ("))
        .unwrap_or_else(|| panic!("no 227 line: {report}"));
    let reply = common::Reply {
        code: 227,
        text: line.split("227 ").nth(1).unwrap().to_owned(),
    };
    xfer::parse_pasv(&reply)
}

#[test]
fn check_prints_the_passive_reply_and_warns() {
    let dir = TempDir::new("robust-check");
    // A range whose ports are free now (they are released before the check binds them).
    let taken = bind_consecutive(10);
    let from = taken[0].local_addr().unwrap().port();
    let range = format!("{from}-{}", from + 9);
    drop(taken);
    let public = ["-n", "203.0.113.7", "-r", &range, "--max-cons", "5"];
    let (code, out) = check(dir.path(), &public);
    assert_eq!(code, Some(0), "{out}");
    let addr = advertised(&out);
    assert_eq!(addr.ip().to_string(), "203.0.113.7", "{out}");
    assert!((from..=from + 9).contains(&addr.port()), "{out}");
    assert!(out.contains("check passed (0 warning(s))"), "{out}");
    // A private NAT address, and a range smaller than --max-cons (512 by default).
    let (code, out) = check(dir.path(), &["-n", "10.0.0.5", "-r", &range]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(advertised(&out).ip().to_string(), "10.0.0.5");
    assert!(
        out.contains("warning: -n 10.0.0.5 is a private address"),
        "{out}"
    );
    assert!(
        out.contains("warning: the passive range has 10 ports but --max-cons is 512"),
        "{out}"
    );
    assert!(out.contains("check passed (2 warning(s))"), "{out}");
}

#[test]
fn check_fails_with_exit_2_on_broken_configurations() {
    let dir = TempDir::new("robust-check-bad");
    let missing = dir.path().join("missing");
    let (code, out) = check(&missing, &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("error: directory"), "{out}");
    let users = dir.path().join("users");
    std::fs::write(&users, "alice\n").unwrap();
    let users = users.to_str().unwrap();
    let (code, out) = check(dir.path(), &["--users-file", users]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("found 1 fields"), "{out}");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let (cert, key) = (format!("{data}/cert.pem"), format!("{data}/ec-key.pem"));
    let tls = ["--tls", "--certfile", &cert, "--keyfile", &key];
    let (code, out) = check(dir.path(), &tls);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("do not form a usable pair"), "{out}");
    let taken = bind_consecutive(3);
    let from = taken[0].local_addr().unwrap().port();
    let (code, out) = check(dir.path(), &["-r", &format!("{from}-{}", from + 2)]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("passive ports: 0 of 3 free"), "{out}");
    assert!(
        out.contains("no passive port of the range can be bound"),
        "{out}"
    );
}

/// Logs in, downloads `small.txt`, uploads `up.bin` and quits.
fn one_session(d: &Daemon, pass: &str) {
    let (mut c, greeting) = Ctrl::connect(d.addr());
    assert_eq!(greeting.code, 220);
    c.login("user", pass);
    c.expect("TYPE I", 200);
    assert_eq!(xfer::download(&mut c, "RETR small.txt"), b"0123456789");
    xfer::upload(&mut c, "STOR up.bin", &[1u8; 4321]);
    c.expect("QUIT", 221);
    c.expect_closed();
}

#[test]
fn json_log_has_one_object_per_line_and_a_conn_id_per_session() {
    let dir = TempDir::new("robust-json");
    std::fs::write(dir.path().join("small.txt"), b"0123456789").unwrap();
    let log = dir.path().join("events.json");
    let secret = "Zq7-very-secret";
    // -D logs every command and reply too, all of it as JSON.
    let args = [
        "-D",
        "--log-format",
        "json",
        "--log-file",
        log.to_str().unwrap(),
    ];
    let mut d = Daemon::start_as(dir.path(), "user", secret, &args);
    // A hostile client first: quotes, backslashes, control and non-UTF-8 bytes in names.
    let (mut h, _) = Ctrl::connect(d.addr());
    h.send_raw(b"USER a\"b\\c\x01\x7f\xc3(\r\n");
    assert_eq!(h.read_reply().code, 331);
    h.expect("PASS wrong", 530);
    h.send_raw(b"MKD \x1b[31m\"red\"\r\n");
    assert_eq!(h.read_reply().code, 530);
    h.expect("QUIT", 221);
    one_session(&d, secret);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(secret), "the password is in the log");
    if installed("python3") {
        let mut py = Command::new("python3")
            .args(["-c", "import json,sys; [json.loads(l) for l in sys.stdin]"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        py.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        assert!(py.wait().unwrap().success(), "python3 json.loads failed");
    }
    let events: Vec<BTreeMap<String, Value>> = text
        .lines()
        .map(|l| parse_object(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let str_of = |e: &BTreeMap<String, Value>, k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    assert!(events
        .iter()
        .all(|e| e.contains_key("ts") && e.contains_key("event")));
    assert!(
        events.iter().any(|e| str_of(e, "event") == "login_failed"
            && str_of(e, "user").starts_with("a\"b\\c\u{1}")),
        "{text}"
    );
    let login = events
        .iter()
        .find(|e| str_of(e, "event") == "login")
        .expect("login event");
    let conn = login["conn"].as_f64().expect("numeric conn id");
    let session: Vec<_> = events
        .iter()
        .filter(|e| e.get("conn").and_then(Value::as_f64) == Some(conn))
        .collect();
    let kinds: Vec<String> = session.iter().map(|e| str_of(e, "event")).collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("connect"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("disconnect"),
        "{kinds:?}"
    );
    let commands: Vec<(String, Option<f64>)> = session
        .iter()
        .filter(|e| str_of(e, "event") == "command")
        .map(|e| (str_of(e, "command"), e.get("code").and_then(Value::as_f64)))
        .collect();
    assert!(
        commands.contains(&("PASS ******".into(), Some(230.0))),
        "{commands:?}"
    );
    assert!(
        commands.contains(&("TYPE I".into(), Some(200.0))),
        "{commands:?}"
    );
    assert!(
        commands.contains(&("QUIT".into(), Some(221.0))),
        "{commands:?}"
    );
    let transfers: Vec<_> = session
        .iter()
        .filter(|e| str_of(e, "event") == "transfer")
        .collect();
    assert_eq!(transfers.len(), 2, "{kinds:?}");
    for (t, (cmd, bytes)) in transfers.iter().zip([("RETR", 10.0), ("STOR", 4321.0)]) {
        assert_eq!(str_of(t, "command"), cmd);
        assert_eq!(t["bytes"].as_f64(), Some(bytes));
        assert!(t["seconds"].as_f64().is_some_and(|s| s >= 0.0));
        assert_eq!(str_of(t, "result"), "complete");
    }
}

#[test]
fn the_json_reader_of_these_tests_rejects_what_is_not_json() {
    let bad = [
        "",
        "{",
        "{\"a\":1,}",
        "{\"a\":01}",
        "{'a':1}",
        "{\"a\":\"x\ty\"}",
        "{\"a\":1}{",
        "[1]",
        "{\"a\":tru}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":\"\\x\"}",
        "{\"a\":-}",
    ];
    for b in bad {
        assert!(parse_object(b).is_err(), "accepted {b:?}");
    }
    let ok = r#"{"s":"a\"b\\c\u00e9","n":-1.5e3,"z":0,"t":true,"x":null,"a":[1,{"b":[]}]}"#;
    let m = parse_object(ok).unwrap();
    assert_eq!(m["s"].as_str(), Some("a\"b\\cé"));
    assert_eq!(m["n"].as_f64(), Some(-1500.0));
    assert_eq!(m["x"], Value::Null);
}

/// Checks the 14 fields of an xferlog line; returns (size, path, direction, completion).
fn xferlog_fields(line: &str) -> (u64, String, String, String) {
    let w: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(w.len(), 18, "5 date words + 13 fields: {line:?}");
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    assert!(days.contains(&w[0]), "{line}");
    assert!(
        w[2].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d)),
        "{line}"
    );
    assert_eq!(w[3].len(), 8, "{line}");
    assert!(w[4].parse::<u16>().is_ok_and(|y| y >= 2024), "{line}");
    assert!(w[5].parse::<u64>().is_ok_and(|s| s >= 1), "{line}");
    assert_eq!(w[6], "127.0.0.1");
    assert_eq!(&w[9..11], ["b", "_"], "{line}");
    assert_eq!(&w[12..17], ["r", "user", "ftp", "0", "*"], "{line}");
    let f = |i: usize| w[i].to_owned();
    (w[7].parse().unwrap(), f(8), f(11), f(17))
}

#[test]
fn xferlog_has_a_wu_ftpd_line_per_transfer() {
    let dir = TempDir::new("robust-xferlog");
    std::fs::write(dir.path().join("small.txt"), b"0123456789").unwrap();
    let big = 8 << 20;
    std::fs::write(dir.path().join("big.bin"), vec![5u8; big]).unwrap();
    let xlog = TempDir::new("robust-xferlog-out");
    let file = xlog.path().join("xferlog");
    let mut d = Daemon::start(dir.path(), &["--xferlog", file.to_str().unwrap()]);
    one_session(&d, "pass");
    // A download aborted after its first bytes.
    let mut c = d.login();
    c.expect("TYPE I", 200);
    let addr = xfer::pasv(&mut c);
    c.expect("RETR big.bin", 150);
    let mut s = xfer::connect(addr);
    xfer::read_exact(&mut s, 100_000);
    c.send_raw(b"ABOR\r\n");
    let (a, b) = (c.read_reply(), c.read_reply());
    assert_eq!((a.code, b.code), (426, 226), "{a:?} {b:?}");
    drop(s);
    c.expect("QUIT", 221);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<_> = text.lines().map(xferlog_fields).collect();
    assert_eq!(lines.len(), 3, "{text}");
    let want = [
        ("/small.txt", "o", "c"),
        ("/up.bin", "i", "c"),
        ("/big.bin", "o", "i"),
    ];
    for ((size, path, dir, done), (wpath, wdir, wdone)) in lines.iter().zip(want) {
        assert_eq!(
            (path.as_str(), dir.as_str(), done.as_str()),
            (wpath, wdir, wdone)
        );
        match wpath {
            "/small.txt" => assert_eq!(*size, 10),
            "/up.bin" => assert_eq!(*size, 4321),
            _ => assert!(*size >= 100_000 && *size < big as u64, "{text}"),
        }
    }
}

#[test]
fn socket_activation_serves_on_the_passed_socket() {
    if !installed("python3") {
        return;
    }
    let dir = TempDir::new("robust-activate");
    std::fs::write(dir.path().join("hello.txt"), b"activated").unwrap();
    let mut d = Daemon::spawn_cmd(
        Command::new("python3")
            .args(["-c", common::SYSTEMD_ACTIVATE_PY, BIN, "-d"])
            .arg(dir.path()),
    );
    let mut port = String::new();
    BufReader::new(d.take_stdout())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port.trim().parse().expect("port from python");
    d.wait_for_line("using the control socket passed by systemd");
    let line = d.wait_for_line("listening on ");
    assert!(line.ends_with(&format!("127.0.0.1:{port}")), "{line}");
    let (mut c, greeting) = Ctrl::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(greeting.code, 220);
    c.login("anonymous", "ops@example.org");
    assert_eq!(xfer::download(&mut c, "RETR hello.txt"), b"activated");
    c.expect("QUIT", 221);
}
