//! The real Prometheus server scrapes the daemon's `--metrics-listen` endpoint: after some FTP
//! traffic, Prometheus' own query API returns the session and transfer counters.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{daemon_args, epsv_port, Ctrl, Proc, TempDir, STARTUP};

/// A port nobody listens on now (Prometheus cannot report the port it picked for `:0`).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Starts Prometheus scraping `target` every second; returns it and its API address.
fn prometheus(dir: &TempDir, target: SocketAddr) -> (Proc, SocketAddr) {
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: ftpdlib\n    static_configs:\n\
             \x20     - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let p = Proc::spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={api}")),
    );
    assert!(
        p.next_line(
            "Server is ready to receive web requests",
            Duration::from_secs(60)
        )
        .is_some(),
        "prometheus did not start: {}",
        p.stderr()
    );
    (p, api)
}

/// Prometheus' answer to an instant query: the value of the first series, if any.
fn query(api: SocketAddr, promql: &str) -> Option<f64> {
    let out = common::run_bounded(
        Command::new("curl")
            .args(["-sfG", &format!("http://{api}/api/v1/query")])
            .arg("--data-urlencode")
            .arg(format!("query={promql}")),
        Duration::from_secs(10),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let value = json["data"]["result"][0]["value"][1].as_str()?;
    value.parse().ok()
}

/// One login and one download of `name`.
fn download(ftp: SocketAddr, name: &str) -> Vec<u8> {
    let (mut c, _) = Ctrl::connect(ftp);
    c.login("alice", "secret");
    c.expect("TYPE I", 200);
    let port = epsv_port(&c.expect("EPSV", 229));
    let mut data = TcpStream::connect((ftp.ip(), port)).unwrap();
    c.expect(&format!("RETR {name}"), 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(c.read_reply().code, 226);
    c.expect("QUIT", 221);
    got
}

#[test]
fn prometheus_scrapes_sessions_and_transfers() {
    if !common::require_tool("prometheus") || !common::require_tool("curl") {
        return;
    }
    let root = TempDir::new("prom-root");
    std::fs::write(root.path().join("f.txt"), b"scraped").unwrap();
    let mut args = daemon_args(root.path(), "127.0.0.1", "alice", "secret");
    args.extend(["--metrics-listen".into(), "127.0.0.1:0".into()]);
    let d = Proc::daemon(&args, &[]);
    let ftp = d.expect_addr("listening on ");
    let metrics = d.expect_addr("metrics on http://");
    let dir = TempDir::new("prom-data");
    let (_prom, api) = prometheus(&dir, metrics);
    for _ in 0..3 {
        assert_eq!(download(ftp, "f.txt"), b"scraped");
    }
    let until = Instant::now() + Duration::from_secs(60);
    let wanted = [
        ("ftpdlib_sessions_total", 3.0),
        (
            r#"ftpdlib_transfers_total{direction="download",result="ok"}"#,
            3.0,
        ),
        (r#"ftpdlib_data_bytes_total{direction="out"}"#, 21.0),
        (r#"up{job="ftpdlib"}"#, 1.0),
    ];
    for (promql, value) in wanted {
        // Prometheus scrapes once a second: wait for a scrape after the traffic.
        while query(api, promql) != Some(value) {
            assert!(
                Instant::now() < until,
                "{promql}: Prometheus has {:?}, want {value}",
                query(api, promql)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let mut s = TcpStream::connect(metrics).unwrap();
    s.set_read_timeout(Some(STARTUP)).unwrap();
    s.write_all(b"GET /ready HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}
