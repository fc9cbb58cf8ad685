//! The shipped fail2ban filter (`contrib/fail2ban/filter.d/ftpdlib.conf`) against the real
//! `fail2ban-regex`, over log lines the real daemon wrote during the test, in both log formats.
//!
//! Clients from three loopback addresses: 127.0.0.2 and 127.0.0.3 fail their logins (so they
//! must be matched, once per failure), 127.0.0.4 logs in (so it must not be).

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Ctrl, Proc, TempDir};

const FILTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/contrib/fail2ban/filter.d/ftpdlib.conf"
);

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Runs the daemon with `format`, makes the failed and successful logins, stops it and
/// returns its whole log.
fn daemon_log(root: &Path, format: &str) -> String {
    let args = common::daemon_args(root, "127.0.0.1", "alice", "secret");
    let mut d = Proc::daemon(
        &[args, vec!["--log-format".into(), format.into()]].concat(),
        &[],
    );
    let port = d.expect_addr("listening on ").port();
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    for (from, pass, code) in [(2, "wrong", 530), (3, "bad", 530), (2, "nope", 530)] {
        let (mut c, greeting) = Ctrl::connect_from(server, ip(from));
        assert_eq!(greeting.code, 220);
        c.expect("USER alice", 331);
        c.expect(&format!("PASS {pass}"), code);
    }
    let (mut c, _) = Ctrl::connect_from(server, ip(4));
    c.login("alice", "secret");
    c.expect("QUIT", 221);
    d.signal("TERM");
    assert!(d.expect_exit(common::STARTUP).success());
    d.stderr()
}

/// `fail2ban-regex LOG FILTER`, printing the IP of every match: IP -> number of matches.
fn matched_ips(log: &Path) -> BTreeMap<String, usize> {
    let out = common::run_bounded(
        Command::new("fail2ban-regex")
            .args(["--out", "ip"])
            .arg(log)
            .arg(FILTER),
        Duration::from_secs(60),
    );
    common::assert_success(&out, "fail2ban-regex");
    let mut ips = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        *ips.entry(line.trim().to_owned()).or_default() += 1;
    }
    ips
}

fn check_format(format: &str) {
    if !common::require_tool("fail2ban-regex") {
        return;
    }
    let root = TempDir::new("f2b");
    let log = daemon_log(root.path(), format);
    let file = root.path().join(format!("ftpdlib-{format}.log"));
    std::fs::write(&file, &log).unwrap();
    let ips = matched_ips(&file);
    let want = BTreeMap::from([("127.0.0.2".to_owned(), 2), ("127.0.0.3".to_owned(), 1)]);
    assert_eq!(ips, want, "matches in the {format} log:\n{log}");
    assert!(
        log.contains("127.0.0.4"),
        "the successful login is in the log"
    );
}

#[test]
fn filter_matches_failed_logins_of_the_text_log() {
    check_format("text");
}

#[test]
fn filter_matches_failed_logins_of_the_json_log() {
    check_format("json");
}
