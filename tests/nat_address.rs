//! `-n/--nat-address` with a host name: the daemon resolves it at start (an unresolvable name
//! stops it with exit status 2), `--check` shows what it resolved to, SIGHUP switches between
//! a name and an address, and an embedded server whose resolver is scripted follows the
//! refresh thread's answers (a failed lookup keeps the last address and is logged; a changed
//! one reaches the next `227`), while `--nat-map` keeps precedence for its networks.

mod common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use common::{daemon_args, pasv_addr, run_bounded, Ctrl, Proc, TempDir, TestServer, BIN};
use ftpdlib::nat::NatAddress;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 2));
const WAIT: Duration = Duration::from_secs(10);

/// Every log record of this test binary, as `LEVEL message`.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.level(), record.args());
        LINES.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

fn logged(text: &str) -> bool {
    LINES.lock().unwrap().iter().any(|l| l.contains(text))
}

/// The address in the reply to PASV.
#[track_caller]
fn pasv_ip(c: &mut Ctrl) -> IpAddr {
    let r = c.expect("PASV", 227);
    pasv_addr(&r).ip()
}

/// Logs in on the daemon at `port` on 127.0.0.2 (so that its own address, 127.0.0.2, differs
/// from what `localhost` resolves to) and returns the address PASV announces.
fn daemon_pasv_ip(port: u16) -> IpAddr {
    let (mut c, greeting) = Ctrl::connect(SocketAddr::from(([127, 0, 0, 2], port)));
    assert_eq!(greeting.code, 220);
    c.login("user", "pass");
    let ip = pasv_ip(&mut c);
    c.expect("QUIT", 221);
    ip
}

fn args(root: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = daemon_args(root, "127.0.0.2", "user", "pass");
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn the_daemon_announces_what_a_host_name_resolves_to() {
    let root = TempDir::new("nat-name");
    let d = Proc::daemon(&args(root.path(), &["-n", "localhost"]), &[]);
    let port = d.expect_addr("listening on ").port();
    assert_eq!(daemon_pasv_ip(port), IpAddr::from([127, 0, 0, 1]));
    // An address still works as before.
    let d = Proc::daemon(&args(root.path(), &["-n", "198.51.100.4"]), &[]);
    let port = d.expect_addr("listening on ").port();
    assert_eq!(daemon_pasv_ip(port), IpAddr::from([198, 51, 100, 4]));
}

#[test]
fn a_name_that_does_not_resolve_stops_startup() {
    let root = TempDir::new("nat-bad");
    let out = run_bounded(
        Command::new(BIN).args(args(root.path(), &["-n", "no-such-host.invalid"])),
        WAIT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no-such-host.invalid") && err.contains("cannot resolve"),
        "{err}"
    );
    let out = run_bounded(
        Command::new(BIN).args(args(root.path(), &["-n", "not a host"])),
        WAIT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("neither an IP address nor a host name"),
        "{err}"
    );
}

#[test]
fn check_shows_the_name_and_its_address() {
    let root = TempDir::new("nat-check");
    let extra = ["-n", "localhost", "--nat-refresh", "60", "--check"];
    let out = run_bounded(Command::new(BIN).args(args(root.path(), &extra)), WAIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ok: -n localhost resolves to 127.0.0.1 (looked up again every 60 s)"),
        "{text}"
    );
    assert!(
        text.contains("clients will see: 227 Entering passive mode (127,0,0,1,"),
        "{text}"
    );
}

#[test]
fn sighup_switches_between_a_name_and_an_address() {
    let dir = TempDir::new("nat-hup");
    let root = dir.path().to_str().unwrap();
    let file = dir.path().join("ftpdlib.toml");
    let write = |nat: &str| {
        let text = format!(
            "interface = \"127.0.0.2\"\nport = 0\ndirectory = \"{root}\"\nnat-address = \"{nat}\"\n\
             [accounts]\nusername = \"user\"\npassword = \"pass\"\n"
        );
        std::fs::write(&file, text).unwrap();
    };
    write("localhost");
    let d = Proc::daemon(&["--config", file.to_str().unwrap()], &[]);
    let port = d.expect_addr("listening on ").port();
    assert_eq!(daemon_pasv_ip(port), IpAddr::from([127, 0, 0, 1]));
    write("198.51.100.4");
    d.signal("HUP");
    d.expect_line("configuration reloaded");
    assert_eq!(daemon_pasv_ip(port), IpAddr::from([198, 51, 100, 4]));
    // A name that does not resolve is a configuration that does not build: the old one stays.
    write("no-such-host.invalid");
    d.signal("HUP");
    let line = d.expect_line("keeping the old configuration");
    assert!(line.contains("no-such-host.invalid"), "{line}");
    assert_eq!(daemon_pasv_ip(port), IpAddr::from([198, 51, 100, 4]));
}

/// Tells the test when the resolver (and with it the refresh thread) has been dropped.
struct Dropped(mpsc::Sender<()>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn refreshes_follow_the_resolver_and_a_failure_keeps_the_last_address() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Info);
    // The resolver answers what the test sends, and reports each call: a call proves that the
    // refresh thread has applied the previous answer.
    let (answer, answers) = mpsc::channel::<io::Result<Vec<IpAddr>>>();
    let (called, calls) = mpsc::channel::<()>();
    let (dropped_tx, dropped) = mpsc::channel();
    let answers = Mutex::new(answers);
    let signal = Dropped(dropped_tx);
    let resolver = move |host: &str| {
        let _ = &signal;
        let _ = called.send(());
        let next = answers.lock().unwrap().recv_timeout(WAIT);
        next.unwrap_or_else(|_| Err(io::Error::other(format!("no answer for {host}"))))
    };
    answer.send(Ok(vec![A])).unwrap();
    let every = Some(Duration::from_millis(5));
    let nat = NatAddress::with_resolver("dyn.nat-test", every, resolver).unwrap();
    calls.recv_timeout(WAIT).expect("the lookup at start");
    let lan = "127.0.0.2/32".parse().unwrap();
    let shown = nat.clone();
    let srv = TestServer::start(move |cfg| {
        cfg.nat_address = Some(shown);
        cfg.nat_map = vec![(lan, IpAddr::from([10, 0, 0, 9]))];
    });
    let mut c = srv.login();
    assert_eq!(pasv_ip(&mut c), A);

    calls.recv_timeout(WAIT).expect("a refresh");
    answer.send(Err(io::Error::other("SERVFAIL"))).unwrap();
    calls
        .recv_timeout(WAIT)
        .expect("the refresh after the failure");
    assert_eq!(pasv_ip(&mut c), A, "a failed lookup keeps the last address");
    assert!(logged(
        "WARN NAT address dyn.nat-test: lookup failed (SERVFAIL); keeping 203.0.113.1"
    ));

    answer.send(Ok(vec![B])).unwrap();
    calls
        .recv_timeout(WAIT)
        .expect("the refresh after the change");
    assert_eq!(pasv_ip(&mut c), B, "the same session sees the new address");
    assert!(logged(
        "INFO NAT address dyn.nat-test now resolves to 203.0.113.2 (was 203.0.113.1)"
    ));

    // --nat-map still wins for its network.
    let (mut lan_client, _) = Ctrl::connect_from(srv.addr(), IpAddr::from([127, 0, 0, 2]));
    lan_client.login("user", "pass");
    assert_eq!(pasv_ip(&mut lan_client), IpAddr::from([10, 0, 0, 9]));

    // The refresh thread ends with the last NatAddress (the server's config and ours).
    c.expect("QUIT", 221);
    lan_client.expect("QUIT", 221);
    drop(srv);
    drop(nat);
    drop(answer);
    dropped
        .recv_timeout(WAIT)
        .expect("the refresh thread did not end");
}
