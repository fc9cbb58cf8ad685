//! Two [`Server`]s in one `mio::Poll`, run by the test's own host loop on its own thread: a
//! plain FTP server on root A and an FTPS server on root B, each in its own token range. A
//! client of each sees only its own root, and shutting one server down leaves the other
//! serving, its sessions untouched.

mod common;
mod exutil;
mod tlsutil;

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ftpdlib::{Server, TokenRange};
use mio::{Events, Poll, Token, Waker};

use common::{test_config, Ctrl, TempDir, IO_TIMEOUT};
use exutil::{download, lines};
use tlsutil::{client_config, settings, FtpsCtrl, Mode};

const WAKE: Token = Token(0);
/// Server A's tokens, then server B's: disjoint, and both clear of the waker's.
const RANGES: [TokenRange; 2] = [
    TokenRange {
        base: 1 << 16,
        len: 1 << 16,
    },
    TokenRange {
        base: 2 << 16,
        len: 1 << 16,
    },
];
/// The host loop gives up after this long: a safety net, never reached by a passing test.
const HOST_DEADLINE: Duration = Duration::from_secs(30);

/// What the test asks the host loop to do.
enum Cmd {
    /// `Server::shutdown` on server 0 or 1, then drop it; acknowledged on the channel.
    Shutdown(usize),
}

/// What the host loop saw.
#[derive(Debug, Default)]
struct Report {
    events: [usize; 2],
    stray: usize,
    hit_deadline: bool,
}

/// The host: one poll, two servers, a waker for commands. Stops (shutting down what is left)
/// when dropped.
struct Host {
    addrs: [SocketAddr; 2],
    cmds: Sender<Cmd>,
    acks: Receiver<usize>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<Report>>,
    _roots: [TempDir; 2],
}

impl Host {
    fn start() -> Host {
        let roots = [TempDir::new("two-a"), TempDir::new("two-b")];
        std::fs::write(roots[0].path().join("only-a.txt"), b"from A").unwrap();
        std::fs::write(roots[1].path().join("only-b.txt"), b"from B").unwrap();
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), WAKE).unwrap());
        let plain = test_config(roots[0].path());
        let mut tls = test_config(roots[1].path());
        tls.tls = Some(Arc::new(settings("cert.pem", "key.pem")));
        let servers = [plain, tls].into_iter().zip(RANGES).map(|(cfg, range)| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            Server::new(cfg, l, poll.registry(), range).unwrap()
        });
        let servers: Vec<Server> = servers.collect();
        let addrs = [servers[0].local_addr(), servers[1].local_addr()];
        let (cmds, cmd_rx) = mpsc::channel();
        let (ack_tx, acks) = mpsc::channel();
        let thread = std::thread::spawn(move || host_loop(poll, servers, &cmd_rx, &ack_tx));
        Host {
            addrs,
            cmds,
            acks,
            waker,
            thread: Some(thread),
            _roots: roots,
        }
    }

    /// Shuts server `i` down and waits until the host loop did it.
    fn shutdown(&self, i: usize) {
        self.cmds.send(Cmd::Shutdown(i)).unwrap();
        self.waker.wake().unwrap();
        assert_eq!(self.acks.recv_timeout(IO_TIMEOUT), Ok(i));
    }

    /// Stops the loop and returns its report.
    fn stop(mut self) -> Report {
        self.signal_stop();
        let thread = self.thread.take().unwrap();
        thread.join().expect("host loop panicked")
    }

    /// Closing the command channel is the stop signal.
    fn signal_stop(&mut self) {
        self.cmds = mpsc::channel().0;
        let _ = self.waker.wake();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() && !std::thread::panicking() {
                panic!("host loop panicked");
            }
        }
    }
}

fn host_loop(
    mut poll: Poll,
    servers: Vec<Server>,
    cmds: &Receiver<Cmd>,
    acks: &Sender<usize>,
) -> Report {
    let mut servers: Vec<Option<Server>> = servers.into_iter().map(Some).collect();
    let mut report = Report::default();
    let mut events = Events::with_capacity(256);
    let deadline = Instant::now() + HOST_DEADLINE;
    loop {
        let now = Instant::now();
        if now >= deadline {
            report.hit_deadline = true;
            break;
        }
        let timeout = servers
            .iter()
            .flatten()
            .filter_map(|s| s.next_timeout(now))
            .fold(deadline - now, Duration::min);
        poll.poll(&mut events, Some(timeout)).unwrap();
        let now = Instant::now();
        for ev in events.iter() {
            let owner = servers
                .iter()
                .position(|s| s.as_ref().is_some_and(|s| s.owns(ev.token())));
            match owner {
                Some(i) => {
                    report.events[i] += 1;
                    servers[i]
                        .as_mut()
                        .unwrap()
                        .handle_event(poll.registry(), ev, now);
                }
                None if ev.token() == WAKE => {}
                None => report.stray += 1,
            }
        }
        for s in servers.iter_mut().flatten() {
            s.handle_timers(poll.registry(), now);
        }
        loop {
            match cmds.try_recv() {
                Ok(Cmd::Shutdown(i)) => {
                    if let Some(mut s) = servers[i].take() {
                        s.shutdown(poll.registry());
                    }
                    let _ = acks.send(i);
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    for s in servers.iter_mut().flatten() {
                        s.shutdown(poll.registry());
                    }
                    return report;
                }
            }
        }
    }
    report
}

/// A plain session on server A.
fn plain_login(addr: SocketAddr) -> Ctrl {
    let (mut c, greeting) = Ctrl::connect(addr);
    assert_eq!(greeting.code, 220);
    c.login("user", "pass");
    c.expect("TYPE I", 200);
    c
}

#[test]
fn each_client_sees_its_own_root() {
    let host = Host::start();
    let config = client_config();

    let mut a = plain_login(host.addrs[0]);
    assert_eq!(lines(&mut a, "NLST"), ["only-a.txt"]);
    assert_eq!(download(&mut a, "RETR only-a.txt"), b"from A");
    let (_, r) = exutil::try_download(&mut a, "RETR only-b.txt");
    assert_eq!(r.code, 550, "{r:?}");
    let r = a.cmd("AUTH TLS");
    assert_ne!(r.code, 234, "server A has no TLS: {r:?}");

    let mut b = FtpsCtrl::secure_login(host.addrs[1], &config);
    assert_eq!(b.download(Mode::Pasv, &config, "NLST"), b"only-b.txt\r\n");
    assert_eq!(
        b.download(Mode::Epsv, &config, "RETR only-b.txt"),
        b"from B"
    );
    let (_, r) = b.try_download(Mode::Pasv, &config, "RETR only-a.txt");
    assert_eq!(r.code, 550, "{r:?}");

    a.expect("QUIT", 221);
    b.expect("QUIT", 221);
    let report = host.stop();
    assert!(!report.hit_deadline);
    assert_eq!(
        report.stray, 0,
        "every event belonged to one server: {report:?}"
    );
    assert!(report.events.iter().all(|&n| n > 0), "{report:?}");
}

#[test]
fn shutting_one_server_down_leaves_the_other_serving() {
    let host = Host::start();
    let config = client_config();
    let mut a = plain_login(host.addrs[0]);
    let mut b = FtpsCtrl::secure_login(host.addrs[1], &config);

    host.shutdown(0);
    // A's session is told 421 and closed; its port no longer accepts.
    let r = a.read_reply();
    assert_eq!(r.code, 421, "{r:?}");
    a.expect_closed();
    let refused = TcpStream::connect_timeout(&host.addrs[0], IO_TIMEOUT);
    assert!(refused.is_err(), "server A still accepts connections");

    // B's existing session and new sessions carry on.
    b.expect_line("PWD", "257 \"/\" is the current directory.");
    assert_eq!(
        b.download(Mode::Pasv, &config, "RETR only-b.txt"),
        b"from B"
    );
    let mut b2 = FtpsCtrl::secure_login(host.addrs[1], &config);
    assert_eq!(b2.download(Mode::Pasv, &config, "NLST"), b"only-b.txt\r\n");

    host.shutdown(1);
    let r = b.read_reply();
    assert_eq!(r.code, 421, "{r:?}");
    let report = host.stop();
    assert!(!report.hit_deadline);
    assert_eq!(report.stray, 0, "{report:?}");
}
