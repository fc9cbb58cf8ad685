//! HAProxy (`mode tcp`, `send-proxy-v2`, round robin) in front of two `ftpdlib --proxy-protocol`
//! daemons sharing one root, all on loopback, driven by curl: the deployment of
//! `docs/deployment.md`. The balancer's address (the "VIP") is 127.0.0.3, each node listens on
//! 127.0.0.1 and advertises it with `-n`, with its own passive range (`-r`), and HAProxy
//! connects to the nodes from 127.0.0.2, so the client (127.0.0.1), the balancer and the nodes
//! are told apart in the logs. Health checks send a PROXY v2 LOCAL header and expect `220`.
//! Skipped, with a notice, when haproxy or curl is not installed.

mod common;
mod scaleutil;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use common::TempDir;
use scaleutil::client::Raw;
use scaleutil::daemon::Ftpd;
use scaleutil::haproxy::{curl, curl_ok, haproxy_bin, installed, Haproxy};
use scaleutil::{free_port, free_range, lo, range_arg};

const CURL_LIMIT: Duration = Duration::from_secs(15);
const CHECKS_LIMIT: Duration = Duration::from_secs(10);

/// One ftpdlib node: the daemon and its passive range.
struct Node {
    ftpd: Ftpd,
    range: RangeInclusive<u16>,
}

/// Two nodes behind HAProxy.
struct Cluster {
    nodes: Vec<Node>,
    vip: SocketAddr,
    root: TempDir,
    local: TempDir,
    _haproxy: Haproxy,
}

fn available() -> bool {
    common::require(
        haproxy_bin().is_some(),
        "haproxy is not installed (.ci/run installs it)",
    ) && installed("curl")
}

impl Cluster {
    /// Starts two nodes with `extra` flags (node b logs JSON) and HAProxy in front. With
    /// `forward_data`, the VIP also forwards each node's passive range to it (without PROXY
    /// headers: ftpdlib reads them on control connections only).
    fn start(extra: &[&str], forward_data: bool) -> Cluster {
        let root = TempDir::new("cluster-root");
        let mut nodes = Vec::new();
        let mut taken = Vec::new();
        for json in [false, true] {
            let range = free_range(10, &taken);
            taken.push(range.clone());
            let mut args = Ftpd::base_args(root.path());
            args.extend(["--proxy-protocol", "-n", "127.0.0.1", "-r"].map(String::from));
            args.push(range_arg(&range));
            if json {
                args.extend(["--log-format", "json"].map(String::from));
            }
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            nodes.push(Node {
                ftpd: Ftpd::start(&args),
                range,
            });
        }
        let vip = SocketAddr::new(lo(3), free_port(lo(3)));
        let (pa, pb) = (nodes[0].ftpd.port(), nodes[1].ftpd.port());
        let mut cfg = format!(
            "defaults
    mode tcp
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout check 500ms
frontend ftp
    bind {vip}
    default_backend ftp
backend ftp
    balance roundrobin
    source 127.0.0.2
    option tcp-check
    tcp-check connect default
    tcp-check expect string 220
    tcp-check send QUIT\\r\\n
    server a 127.0.0.1:{pa} send-proxy-v2 check inter 500ms
    server b 127.0.0.1:{pb} send-proxy-v2 check inter 500ms
# The pitfall: without `default`, tcp-check connect drops the server's send-proxy-v2, so
# ftpdlib waits for a header and never says 220.
backend pitfall
    option tcp-check
    tcp-check connect
    tcp-check expect string 220
    server a 127.0.0.1:{pa} send-proxy-v2 check inter 500ms fall 1
"
        );
        if forward_data {
            for (name, n) in ["a", "b"].iter().zip(&nodes) {
                let (lo_p, hi_p) = (n.range.start(), n.range.end());
                cfg += &format!(
                    "frontend data_{name}\n    bind 127.0.0.3:{lo_p}-{hi_p}\n    \
                     default_backend data_{name}\nbackend data_{name}\n    \
                     source 127.0.0.2\n    server {name} 127.0.0.1\n"
                );
            }
        }
        let haproxy = Haproxy::start("", &cfg);
        let want = [("ftp", "a", "L7OK"), ("ftp", "b", "L7OK")];
        haproxy.wait_checks(&want, CHECKS_LIMIT);
        haproxy.wait_checks(&[("pitfall", "a", "L7TOUT")], CHECKS_LIMIT);
        Cluster {
            nodes,
            vip,
            root,
            local: TempDir::new("cluster-local"),
            _haproxy: haproxy,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ftp://user:pass@{}/{path}", self.vip)
    }

    /// Runs curl through the VIP in passive mode with the advertised address (the default
    /// skips it and EPSV has none: both would send data to the VIP). Returns the control
    /// connection's local port and the passive port of the last 227.
    fn curl(&self, args: &[&str]) -> (u16, u16) {
        let mut all: Vec<String> = ["-sS", "-v", "--disable-epsv", "--no-ftp-skip-pasv-ip"]
            .map(String::from)
            .to_vec();
        all.extend(["-w", "%{local_port}"].map(String::from));
        all.extend(args.iter().map(|s| (*s).to_owned()));
        let out = curl_ok(&all, CURL_LIMIT);
        let local: u16 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let pasv = err
            .lines()
            .filter_map(|l| l.strip_prefix("< 227 "))
            .filter_map(|l| {
                l.split_once('(')?
                    .1
                    .split_once(')')
                    .map(|(t, _)| t.to_owned())
            })
            .next_back()
            .unwrap_or_else(|| panic!("no 227 in {err}"));
        let n: Vec<u16> = pasv.split(',').map(|p| p.parse().unwrap()).collect();
        assert_eq!(&n[..4], &[127, 0, 0, 1], "PASV names the node's -n address");
        (local, n[4] << 8 | n[5])
    }

    /// The node whose log shows a login from the client at 127.0.0.1:`port`. The line is
    /// written before the 230 goes out, but the log pipe is read by another thread: wait a
    /// little for it, node by node, then make sure the other node does not have it.
    fn served_by(&self, port: u16) -> usize {
        let peer = format!("127.0.0.1:{port}");
        let seen = |i: usize, wait: Duration| {
            let log = self.nodes[i].ftpd.log();
            log.wait_for(wait, |l| logged_in(l, &peer)).is_some()
        };
        let node = (0..100)
            .find_map(|k| seen(k % 2, Duration::from_millis(20)).then_some(k % 2))
            .unwrap_or_else(|| panic!("no node logged the session of {peer}"));
        assert!(
            !seen(1 - node, Duration::ZERO),
            "{peer} logged in on both nodes"
        );
        node
    }
}

/// A login line (text or JSON log) of a session whose peer is `peer`.
fn logged_in(line: &str, peer: &str) -> bool {
    line.contains(&format!("{peer}-[user] USER 'user' logged in."))
        || (line.contains("\"event\":\"login\"") && line.contains(&format!("\"peer\":\"{peer}\"")))
}

fn content(i: u8) -> Vec<u8> {
    (0..150_000u32)
        .map(|j| (j.wrapping_mul(2_654_435_761) >> 13) as u8 ^ i)
        .collect()
}

#[test]
fn curl_through_haproxy_round_robin_shared_root_real_addresses() {
    if !available() {
        return;
    }
    let c = Cluster::start(&[], false);
    let mut sessions = Vec::new();
    for i in 0..3u8 {
        let name = format!("up{i}.bin");
        let src = c.local.path().join(&name);
        std::fs::write(&src, content(i)).unwrap();
        let up = c.curl(&["-T", src.to_str().unwrap(), &c.url(&name)]);
        let back = c.local.path().join(format!("back{i}.bin"));
        let down = c.curl(&["-o", back.to_str().unwrap(), &c.url(&name)]);
        assert!(
            std::fs::read(&back).unwrap() == content(i),
            "{name} came back"
        );
        assert!(std::fs::read(c.root.path().join(&name)).unwrap() == content(i));
        sessions.push((up, down));
    }
    let list = c.local.path().join("list.txt");
    let listed = c.curl(&["-l", "-o", list.to_str().unwrap(), &c.url("")]);
    let names = std::fs::read_to_string(&list).unwrap();
    for i in 0..3 {
        assert!(
            names.lines().any(|l| l == format!("up{i}.bin")),
            "{names:?}"
        );
    }
    let mut used = [0usize; 2];
    let mut crossed = false;
    for (up, down) in &sessions {
        let (a, b) = (c.served_by(up.0), c.served_by(down.0));
        // The data connection went straight to the node of the control connection.
        assert!(
            c.nodes[a].range.contains(&up.1),
            "upload PASV port {}",
            up.1
        );
        assert!(
            c.nodes[b].range.contains(&down.1),
            "download PASV port {}",
            down.1
        );
        used[a] += 1;
        used[b] += 1;
        crossed |= a != b;
    }
    used[c.served_by(listed.0)] += 1;
    assert!(
        used[0] > 0 && used[1] > 0,
        "round robin used both nodes: {used:?}"
    );
    assert!(
        crossed,
        "a file uploaded on one node was read back through the other"
    );
    for n in &c.nodes {
        let lines = n.ftpd.log().lines();
        // Health checks (PROXY v2 LOCAL) keep HAProxy's own address and are greeted ...
        assert!(lines.iter().any(|l| l.contains("127.0.0.2:")), "{lines:?}");
        // ... but no session is ever attributed to it.
        assert!(
            !lines.iter().any(|l| logged_in(l, "127.0.0.2")),
            "{lines:?}"
        );
    }
}

#[test]
fn connection_limits_are_per_node() {
    if !available() {
        return;
    }
    let c = Cluster::start(&["--max-cons-per-ip", "1"], false);
    // One at a time (each greeted before the next), so round robin sees them in order.
    let mut conns = Vec::new();
    let mut replies = Vec::new();
    for _ in 0..3 {
        let mut x = Raw::connect(c.vip);
        replies.push(x.reply());
        conns.push(x);
    }
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    // One session per node for this client; the third is over the limit on whichever node.
    assert_eq!(codes, [220, 220, 421], "{replies:?}");
    assert_eq!(
        replies[2].text,
        "Too many connections from the same IP address."
    );
    for n in &c.nodes {
        let greeted = n.ftpd.log().wait_for(Duration::from_secs(2), |l| {
            l.contains("127.0.0.1:") && (l.contains("] connected") || l.contains("\"connect\""))
        });
        assert!(
            greeted.is_some(),
            "each node served one: {:?}",
            n.ftpd.log().lines()
        );
    }
}

#[test]
fn explicit_ftps_through_haproxy() {
    if !available() {
        return;
    }
    let data = |f: &str| format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"));
    let (cert, key) = (data("cert.pem"), data("key.pem"));
    let tls = ["--tls", "--certfile", &cert, "--keyfile", &key];
    let c = Cluster::start(&tls, false);
    let src = c.local.path().join("s.bin");
    std::fs::write(&src, content(9)).unwrap();
    let ftps = ["--ssl-reqd", "-k"];
    // TLS 1.2 for the upload: curl before 8.8 closes a TLS 1.3 upload's data connection with
    // the server's session ticket unread, its kernel answers with a reset and drops what curl
    // had not sent yet (curl#6149, fixed by curl#13904), so the end of the file sometimes
    // never arrives and the server rightly answers 426. This test is about the balancer.
    let up = c.curl(&[
        ftps[0],
        ftps[1],
        "--tls-max",
        "1.2",
        "-T",
        src.to_str().unwrap(),
        &c.url("s.bin"),
    ]);
    let back = c.local.path().join("s.back");
    let down = c.curl(&[
        ftps[0],
        ftps[1],
        "-o",
        back.to_str().unwrap(),
        &c.url("s.bin"),
    ]);
    assert!(std::fs::read(&back).unwrap() == content(9));
    assert_ne!(c.served_by(up.0), c.served_by(down.0), "round robin");
}

/// Curl with its defaults (EPSV, PASV address ignored): data goes to the VIP.
fn curl_via_vip(args: &[&str]) -> std::process::Output {
    let mut all = vec!["-sS".to_owned()];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    curl(&all, CURL_LIMIT)
}

#[test]
fn passive_ranges_forwarded_by_the_balancer_arrive_from_its_address() {
    if !available() {
        return;
    }
    // Without --permit-foreign-addresses such data connections are refused.
    let c = Cluster::start(&["--passive-timeout", "1"], true);
    let out = curl_via_vip(&["-l", &c.url("")]);
    assert!(
        !out.status.success(),
        "listing through the VIP's data ports worked"
    );
    let rejected = c.nodes.iter().any(|n| {
        n.ftpd
            .log()
            .wait_for(Duration::from_secs(2), |l| {
                l.contains("rejected passive data connection from foreign address 127.0.0.2")
            })
            .is_some()
    });
    assert!(rejected, "a node logged the foreign data connection");
    drop(c);
    // With it, they work (at the price of RFC 2577's data-connection check).
    let c = Cluster::start(&["--permit-foreign-addresses"], true);
    let src = c.local.path().join("f.bin");
    std::fs::write(&src, content(7)).unwrap();
    let up = curl_via_vip(&["-T", src.to_str().unwrap(), &c.url("f.bin")]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let back = c.local.path().join("f.back");
    let down = curl_via_vip(&["-o", back.to_str().unwrap(), &c.url("f.bin")]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(std::fs::read(&back).unwrap() == content(7));
}
