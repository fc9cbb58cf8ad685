//! The test rig: one session's owned parts, a temporary home directory served through the
//! real `OsFs`, and `run`, which drives a line through `ops::run_line` the way the engine does,
//! with no socket, no loop and no pool.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::auth::UserLimits;
use crate::config::Config;
use crate::control::channel::{Channel, DataSide, PendingJob, Transfer, Work};
use crate::control::core::{Action, Core, Outcome};
use crate::control::security::SecState;
use crate::control::session::Session;
use crate::control::table::Verb;
use crate::data::Job;
use crate::ioloop::ConnId;
use crate::reply::{Reply, ReplyCode};
use crate::state::Shared;
use crate::MemoryAuthorizer;

/// `a.txt`'s contents.
pub(super) const HELLO: &[u8] = b"hello\n";
/// `a.txt`'s modification time: 2020-01-02 03:04:05 UTC.
pub(super) const A_MTIME: u64 = 1_577_934_245;
/// The data connection of the rig's channel and transfer.
pub(super) const DATA: ConnId = ConnId { key: 7, gen: 1 };

/// A temporary directory, removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("ftpdlib-core-{}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(std::fs::canonicalize(path).unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The home every rig starts with: `a.txt` (6 bytes, a fixed mtime), `dir/b.txt` (4 bytes),
/// `empty/`.
fn fixture(home: &Path) {
    std::fs::write(home.join("a.txt"), HELLO).unwrap();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(A_MTIME);
    let file = std::fs::File::options()
        .write(true)
        .open(home.join("a.txt"))
        .unwrap();
    file.set_modified(when).unwrap();
    std::fs::create_dir_all(home.join("dir")).unwrap();
    std::fs::write(home.join("dir/b.txt"), b"bee\n").unwrap();
    std::fs::create_dir_all(home.join("empty")).unwrap();
}

/// What one line led to: every reply the client gets (in order) and every action the engine
/// would carry out besides filesystem work.
#[derive(Debug, Default)]
pub(super) struct Ran {
    pub replies: Vec<Reply>,
    pub actions: Vec<String>,
}

impl Ran {
    /// The code of the last reply (0: none yet, the engine answers later).
    pub fn code(&self) -> u16 {
        self.replies.last().map_or(0, |r| r.code().as_u16())
    }

    /// The first line of the last reply's text.
    pub fn text(&self) -> &str {
        self.replies.last().map_or("", Reply::text)
    }

    /// The last reply as sent on the wire.
    pub fn wire(&self) -> String {
        self.replies
            .last()
            .map(Reply::to_string)
            .unwrap_or_default()
    }

    /// The actions, comma-separated.
    pub fn actions(&self) -> String {
        self.actions.join(", ")
    }
}

/// One session's parts, owned.
pub(super) struct Rig {
    pub session: Session,
    pub cfg: Arc<Config>,
    pub shared: Arc<Shared>,
    pub data: DataSide,
    pub sec: SecState,
    /// The control connection is under TLS.
    pub tls: bool,
    pub local: Option<SocketAddr>,
    pub peer: SocketAddr,
    /// A transfer job the engine would have launched on a ready channel (`125`).
    pub launched: Option<Box<PendingJob>>,
    dir: Arc<TempDir>,
}

impl Rig {
    /// A logged-out session; user `alice` (password `secret`, letters `perms`, home the
    /// fixture) exists. `tweak` may change the authorizer and the configuration.
    pub fn custom(perms: &str, tweak: impl FnOnce(&mut MemoryAuthorizer, &mut Config)) -> Rig {
        let dir = TempDir::new();
        fixture(&dir.0);
        let mut auth = MemoryAuthorizer::new();
        auth.add_user("alice", "secret", &dir.0, perms).unwrap();
        let mut cfg = Config::new(Arc::new(MemoryAuthorizer::new()));
        tweak(&mut auth, &mut cfg);
        cfg.authorizer = Arc::new(auth);
        Rig::over(Arc::new(cfg), Arc::new(Shared::default()), Arc::new(dir))
    }

    fn over(cfg: Arc<Config>, shared: Arc<Shared>, dir: Arc<TempDir>) -> Rig {
        Rig {
            session: Session::default(),
            sec: SecState::new(&cfg),
            cfg,
            shared,
            data: DataSide::default(),
            tls: false,
            local: Some(SocketAddr::from(([127, 0, 0, 1], 21))),
            peer: SocketAddr::from(([127, 0, 0, 1], 50000)),
            launched: None,
            dir,
        }
    }

    /// Another connection to the same server: same configuration, server state and home.
    pub fn sibling(&self) -> Rig {
        Rig::over(
            Arc::clone(&self.cfg),
            Arc::clone(&self.shared),
            Arc::clone(&self.dir),
        )
    }

    /// A logged-out session with every permission.
    pub fn fresh() -> Rig {
        Rig::custom("elradfmwMT", |_, _| {})
    }

    /// `alice` logged in with every permission, no data channel.
    pub fn logged_in() -> Rig {
        Rig::fresh().login()
    }

    /// Logs `alice` in (USER, PASS), asserting the `230`.
    pub fn login(mut self) -> Rig {
        self.run("USER alice");
        let ran = self.run("PASS secret");
        assert_eq!((ran.code(), ran.text()), (230, "Login successful."));
        self
    }

    /// Logged in, a passive listener waiting for the client (`150` for transfers).
    pub fn passive() -> Rig {
        let mut rig = Rig::logged_in();
        rig.data.chan = Channel::Passive(DATA);
        rig
    }

    /// Logged in, the data connection up and idle (`125` for transfers).
    pub fn ready() -> Rig {
        let mut rig = Rig::logged_in();
        rig.data.chan = Channel::Ready(DATA);
        rig
    }

    /// Logged in, a download running on the data connection.
    pub fn busy() -> Rig {
        let mut rig = Rig::ready();
        rig.data.transfer = Some(Transfer {
            data: DATA,
            verb: Verb::Retr,
            path: "/a.txt".to_owned(),
            started: Instant::now(),
        });
        rig
    }

    /// Logged in with user limits `limits`.
    pub fn limited(limits: UserLimits) -> Rig {
        Rig::custom("elradfmwMT", |auth, _| {
            auth.set_limits("alice", limits).unwrap();
        })
        .login()
    }

    /// The home directory on disk.
    pub fn home(&self) -> &Path {
        &self.dir.0
    }

    /// The real path of `rel` inside the home.
    pub fn disk(&self, rel: &str) -> PathBuf {
        self.dir.0.join(rel)
    }

    fn core(&mut self) -> Core<'_> {
        Core {
            session: &mut self.session,
            cfg: &self.cfg,
            shared: &self.shared,
            data: &self.data,
            peer: self.peer,
            local: self.local,
            perm: None,
            sec: &mut self.sec,
            tls: self.tls,
            conn: 1,
            now: Instant::now(),
        }
    }

    /// One line through the command core, as the engine runs it (`engine.rs::on_line`):
    /// the pending RNFR is taken first, whatever the line.
    pub fn run(&mut self, line: &str) -> Ran {
        let rnfr = self.session.rnfr.take();
        let outcome = crate::control::ops::run_line(&mut self.core(), line, rnfr);
        let mut ran = Ran::default();
        self.apply(outcome, &mut ran);
        ran
    }

    /// Follows an outcome to its replies: filesystem work runs here and now (as `run_fs`
    /// without the pool; work that always goes to the pool is recorded as `Pool`), a login check and the delay after a failed one are resolved at
    /// once (as the pool and the timer would), and every other action is recorded.
    fn apply(&mut self, mut outcome: Outcome, ran: &mut Ran) {
        loop {
            let action = match outcome {
                Outcome::Reply(reply) => return ran.replies.push(reply),
                Outcome::Do(action) => action,
            };
            outcome = match action {
                Action::Fs { cost, work, then } => {
                    if cost == crate::control::core::Cost::Long {
                        ran.actions.push("Pool".to_owned());
                    }
                    let Some(fs) = self.session.fs.as_deref() else {
                        return ran.replies.push(crate::control::core::not_logged_in());
                    };
                    let done = (work.0)(fs);
                    (then.0)(&mut self.core(), done)
                }
                Action::CheckLogin(job) => {
                    ran.actions.push("CheckLogin".to_owned());
                    let checked = (job.0)();
                    crate::control::ops::login_checked(&mut self.core(), checked)
                }
                Action::DelayFailure => {
                    ran.actions.push("DelayFailure".to_owned());
                    crate::control::ops::failed_reply(&mut self.core())
                }
                other => return self.record(other, ran),
            };
        }
    }

    /// Records an action that needs a socket; the replies the engine sends at once with it.
    fn record(&mut self, action: Action, ran: &mut Ran) {
        let (name, reply) = match action {
            Action::Transfer(pj, texts) => {
                let name = format!("Transfer {} {}", pj.verb.name(), pj.path);
                (name.trim_end().to_owned(), self.start_or_queue(pj, texts))
            }
            Action::Passive(plan) => {
                let shown = plan.shown.map_or("-".to_owned(), |ip| ip.to_string());
                (format!("Passive {} {shown}", plan.ip), None)
            }
            Action::NoChannel => ("NoChannel".to_owned(), Some(self.data.no_channel())),
            Action::EpsvAll => {
                self.data.epsv_all = true;
                let ok = Reply::new(ReplyCode::Ok, "EPSV ALL command successful.");
                ("EpsvAll".to_owned(), Some(ok))
            }
            Action::Connect {
                name,
                local,
                target,
            } => (format!("Connect {name} {local} {target}"), None),
            Action::AbortTransfer(id) => (format!("AbortTransfer {}", id.key), None),
            Action::CloseChannel(replies) => {
                let _ = self.data.abandon();
                ran.replies.extend(replies);
                ("CloseChannel".to_owned(), None)
            }
            Action::QuitAfterTransfer => ("QuitAfterTransfer".to_owned(), None),
            Action::StartTls(reply) => ("StartTls".to_owned(), Some(reply)),
            Action::Close(reply) => ("Close".to_owned(), Some(reply)),
            other => unreachable!("resolved in apply: {other:?}"),
        };
        ran.actions.push(name);
        ran.replies.extend(reply);
    }

    /// What the engine does with a transfer (`apply.rs::start_or_queue`): `425` without a
    /// channel, `125` on a ready one, `150` while it is being set up (the job waits).
    fn start_or_queue(&mut self, pj: Box<PendingJob>, texts: (String, String)) -> Option<Reply> {
        match self.data.chan {
            Channel::None => Some(self.data.no_channel()),
            Channel::Ready(_) => {
                self.launched = Some(pj);
                Some(Reply::new(ReplyCode::AlreadyOpen, texts.0))
            }
            _ => {
                self.data.pending = Some(pj);
                Some(Reply::new(ReplyCode::AboutToOpen, texts.1))
            }
        }
    }

    /// The job of the last transfer command (waiting for its channel, or launched).
    pub fn job(&mut self) -> Box<PendingJob> {
        self.data
            .pending
            .take()
            .or_else(|| self.launched.take())
            .expect("a transfer job")
    }

    /// What the last transfer would send: a listing's lines, or a file's bytes from its
    /// offset, as text.
    pub fn sent(&mut self) -> String {
        let mut out = Vec::new();
        match self.job().work {
            Work::Job(Job::Produce(mut producer)) => {
                while producer.fill(&mut out, 4096).unwrap() > 0 {}
            }
            Work::Job(Job::SendFile { mut file, .. }) => {
                std::io::Read::read_to_end(&mut file, &mut out).unwrap();
            }
            other => panic!("not a download: {other:?}"),
        }
        String::from_utf8(out).unwrap()
    }
}
