//! `--metrics-listen`: the counters an operator reads after real FTP and FTPS traffic, the
//! health and readiness answers (also while the daemon drains), `promtool check metrics` on the
//! exposition, and the real Prometheus server scraping the daemon.

mod common;
mod tlsutil;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{epsv_port, Ctrl, IO_TIMEOUT, STARTUP};
use tlsutil::{client_config, data_path, FtpsCtrl, FtpsDaemon};

/// The daemon with FTPS and the status endpoint; its endpoint's address.
fn daemon(extra: &[&str]) -> (FtpsDaemon, SocketAddr) {
    let mut args = vec!["--metrics-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let d = FtpsDaemon::start(&data_path("cert.pem"), &data_path("key.pem"), &args);
    let line = d
        .wait_log("metrics on http://", STARTUP)
        .expect("the daemon logs its metrics address");
    (d, common::addr_after(&line, "metrics on http://"))
}

/// One HTTP/1.1 request; the status code, the head and the body (read to the close).
fn http(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect to /metrics");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    (code, head.to_owned(), body.to_owned())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (code, _, body) = http(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
    (code, body)
}

/// The samples of a classic exposition: `name{labels}` -> value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect()
}

fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (code, body) = get(addr, "/metrics");
    assert_eq!(code, 200);
    samples(&body)
}

/// Scrapes until `series` has `value` (the server counts some things after the client has
/// moved on, e.g. a connection it notices closed), within five seconds.
#[track_caller]
fn await_value(addr: SocketAddr, series: &str, value: f64) -> BTreeMap<String, f64> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let now = scrape(addr);
        if now.get(series) == Some(&value) || Instant::now() > until {
            assert_eq!(now.get(series), Some(&value), "{series} in {now:#?}");
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A plain session: a download, an upload, a command the server does not know.
fn plain_traffic(ftp: SocketAddr, payload: &[u8]) {
    let (mut c, _) = Ctrl::connect(ftp);
    c.login("user", "pass");
    c.expect("TYPE I", 200);
    let port = epsv_port(&c.expect("EPSV", 229));
    let mut data = TcpStream::connect((ftp.ip(), port)).unwrap();
    c.expect("STOR up.bin", 150);
    data.write_all(payload).unwrap();
    drop(data);
    assert_eq!(c.read_reply().code, 226);
    let port = epsv_port(&c.cmd("EPSV"));
    let mut data = TcpStream::connect((ftp.ip(), port)).unwrap();
    c.expect("RETR up.bin", 150);
    let mut back = Vec::new();
    data.read_to_end(&mut back).unwrap();
    assert_eq!(back, payload);
    assert_eq!(c.read_reply().code, 226);
    c.expect("FOOB", 500);
    c.expect("QUIT", 221);
}

#[test]
fn counters_follow_ftp_and_ftps_traffic() {
    let (d, m) = daemon(&[]);
    let payload = vec![7u8; 100_000];
    plain_traffic(d.addr(), &payload);
    let (mut bad, _) = Ctrl::connect(d.addr());
    bad.expect("USER user", 331);
    bad.expect("PASS wrong", 530);
    drop(bad);
    let mut tls = FtpsCtrl::secure_login(d.addr(), &client_config());
    tls.expect("QUIT", 221);
    // A client that asks for TLS, then sends no handshake at all.
    let (mut quitter, _) = FtpsCtrl::connect(d.addr());
    quitter.expect("AUTH TLS", 234);
    quitter.send_raw(b"this is no ClientHello\r\n");
    drop(quitter);
    let s = await_value(
        m,
        r#"ftpdlib_tls_handshakes_total{channel="control",result="failed"}"#,
        1.0,
    );
    let want = [
        ("ftpdlib_sessions_total", 4.0),
        ("ftpdlib_logins_total", 2.0),
        (r#"ftpdlib_login_failures_total{reason="auth-failed"}"#, 1.0),
        (r#"ftpdlib_commands_total{command="PASS",class="5xx"}"#, 1.0),
        (r#"ftpdlib_commands_total{command="RETR",class="1xx"}"#, 1.0),
        (
            r#"ftpdlib_commands_total{command="other",class="5xx"}"#,
            1.0,
        ),
        (
            r#"ftpdlib_transfers_total{direction="upload",result="ok"}"#,
            1.0,
        ),
        (
            r#"ftpdlib_transfers_total{direction="download",result="ok"}"#,
            1.0,
        ),
        (r#"ftpdlib_data_bytes_total{direction="in"}"#, 100_000.0),
        (r#"ftpdlib_data_bytes_total{direction="out"}"#, 100_000.0),
        (
            r#"ftpdlib_tls_handshakes_total{channel="control",result="ok"}"#,
            1.0,
        ),
        ("ftpdlib_passive_listeners", 0.0),
    ];
    for (series, value) in want {
        assert_eq!(s.get(series), Some(&value), "{series} in {s:#?}");
    }
    assert!(s["ftpdlib_loop_turn_seconds_count"] > 0.0);
    // Plaintext passwords are compared on the loop; nothing in this traffic needs the pool.
    assert_eq!(s["ftpdlib_pool_job_seconds_count"], 0.0, "{s:#?}");
    await_value(m, "ftpdlib_sessions_active", 0.0);
}

#[test]
fn promtool_accepts_both_formats() {
    if !common::require_tool("promtool") {
        return;
    }
    let (d, m) = daemon(&[]);
    plain_traffic(d.addr(), b"hello");
    let (_, head, classic) = http(m, "GET /metrics HTTP/1.1\r\n\r\n");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(classic.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    common::assert_success(&out, "promtool check metrics");
    // Prometheus asks for OpenMetrics: counters are named without _total, and it ends in EOF.
    let accept = "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n";
    let (_, head, open) = http(m, &format!("GET /metrics HTTP/1.1\r\n{accept}\r\n"));
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(open.contains("# TYPE ftpdlib_sessions counter\n"), "{open}");
    assert!(open.ends_with("# EOF\n"));
}

#[test]
fn health_ready_and_http_errors() {
    let (d, m) = daemon(&["--max-cons", "1"]);
    assert_eq!(get(m, "/health"), (200, "ok\n".into()));
    assert_eq!(get(m, "/ready"), (200, "ok\n".into()));
    let (code, head, body) = http(m, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!((code, body.as_str()), (200, ""));
    assert!(head.contains("Content-Length: "));
    assert_eq!(get(m, "/nothing").0, 404);
    assert_eq!(http(m, "POST /metrics HTTP/1.1\r\n\r\n").0, 405);
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
    assert_eq!(http(m, &huge).0, 431);
    // At max-cons a new client gets 421: not healthy until the session leaves.
    let (mut c, greeting) = Ctrl::connect(d.addr());
    assert_eq!(greeting.code, 220);
    let (code, body) = get(m, "/health");
    assert_eq!(
        (code, body.trim()),
        (503, "max-cons reached: new clients get 421")
    );
    c.expect("QUIT", 221);
    let until = Instant::now() + Duration::from_secs(5);
    while get(m, "/health").0 != 200 {
        assert!(
            Instant::now() < until,
            "healthy again once the session left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn draining_daemon_is_alive_but_not_ready() {
    let (d, m) = daemon(&["--shutdown-grace", "30"]);
    std::fs::write(d.root().join("big.bin"), vec![1u8; 32 << 20]).unwrap();
    let (mut c, _) = Ctrl::connect(d.addr());
    c.login("user", "pass");
    c.expect("TYPE I", 200);
    let port = epsv_port(&c.expect("EPSV", 229));
    // A download the client does not read: it runs until the client reads or leaves.
    let data = TcpStream::connect((d.addr().ip(), port)).unwrap();
    c.expect("RETR big.bin", 150);
    std::process::Command::new("kill")
        .args(["-TERM", &d.pid().to_string()])
        .status()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while get(m, "/ready").0 != 503 {
        assert!(Instant::now() < until, "not ready once draining");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(m, "/ready").1, "draining for shutdown\n");
    assert_eq!(get(m, "/health").0, 200, "a draining daemon is still alive");
    drop(data);
    assert!(
        d.wait_log("disconnected", STARTUP).is_some(),
        "the session ends when its transfer does"
    );
}
