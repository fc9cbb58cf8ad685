//! The jail against a local attacker (issue 13): while a thread swaps directories of the
//! root with symlinks to a directory outside it, as fast as it can, a logged-in client runs
//! RETR, STOR, SIZE, MLST, LIST, CWD, RNFR/RNTO, DELE, SITE CHMOD, MFMT, MKD and RMD through
//! them. Nothing outside may be read, listed, created, changed, renamed or deleted. Run with
//! the kernel's `openat2` and with the user-space walk (`Resolver::Walk`, what kernels without
//! `openat2` get).

mod common;
mod xfer;

use std::fs;
use std::io::Write;
use std::net::Shutdown;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ftpdlib::auth::User;
use ftpdlib::fs::{Filesystem, FilesystemFactory, OsFs, Resolver};

use common::{Ctrl, TempDir, TestServer};

/// How long the client keeps trying, per resolver.
const RACE_TIME: Duration = Duration::from_secs(3);
/// A bound on the client's rounds and on the swapper's swaps, whatever the time.
const MAX_ROUNDS: u64 = 20_000;
const MAX_SWAPS: u64 = 50_000_000;

const INSIDE: &[u8] = b"INSIDE";
const OUTSIDE: &[u8] = b"OUTSIDE-SECRET-DATA!";

/// Makes every session's `OsFs` with a forced resolver.
#[derive(Debug)]
struct Forced(Resolver);

impl FilesystemFactory for Forced {
    fn open(&self, user: &User) -> std::io::Result<Box<dyn Filesystem>> {
        Ok(Box::new(OsFs::new(&user.home)?.with_resolver(self.0)))
    }
}

/// What lies outside the root, to compare before and after.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, SystemTime, u64, u32)> {
    let mut all: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let md = fs::symlink_metadata(e.path()).unwrap();
            let body = if md.is_file() {
                fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (
                e.file_name().into_string().unwrap(),
                body,
                md.modified().unwrap(),
                md.ino(),
                md.mode(),
            )
        })
        .collect();
    all.sort();
    all
}

/// `outside/` holds `f` (the secret), victims for STOR and RNTO, and a name LIST must not
/// show. `ROOT/d` and `ROOT/e` are real directories holding `f`; `ROOT/.ld` and `ROOT/.le`
/// are links to `outside/`, absolute and relative (climbing with `..`).
fn fixture(root: &Path, outside: &Path) {
    fs::write(outside.join("f"), OUTSIDE).unwrap();
    fs::write(outside.join("w"), b"victim of STOR").unwrap();
    fs::write(outside.join("w2"), b"victim of RNTO").unwrap();
    fs::write(outside.join("outside-only.txt"), b"x").unwrap();
    let ups = "../".repeat(root.components().count());
    for (dir, link, target) in [
        ("d", ".ld", outside.to_path_buf()),
        (
            "e",
            ".le",
            PathBuf::from(format!("{ups}{}", outside.display())),
        ),
    ] {
        fs::create_dir(root.join(dir)).unwrap();
        fs::write(root.join(dir).join("f"), INSIDE).unwrap();
        symlink(target, root.join(link)).unwrap();
    }
    // Without the jail, the links would lead outside.
    assert_eq!(fs::read(root.join(".ld/f")).unwrap(), OUTSIDE);
    assert_eq!(fs::read(root.join(".le/f")).unwrap(), OUTSIDE);
}

/// Swaps `d` with `.ld` and `e` with `.le` (RENAME_EXCHANGE: each name is always there,
/// as a directory or as a link) until `stop`; returns the number of swaps.
fn swapper(root: PathBuf, stop: Arc<AtomicBool>) -> u64 {
    let dir = fs::File::open(&root).unwrap();
    let flags = rustix::fs::RenameFlags::EXCHANGE;
    let mut swaps = 0;
    while !stop.load(Ordering::Relaxed) && swaps < MAX_SWAPS {
        for (a, b) in [("d", ".ld"), ("e", ".le")] {
            rustix::fs::renameat_with(&dir, a, &dir, b, flags).unwrap();
        }
        swaps += 1;
    }
    swaps
}

/// RETR over a fresh passive channel; `None` when refused.
fn retr(c: &mut Ctrl, path: &str) -> Option<Vec<u8>> {
    let addr = xfer::pasv(c);
    let r = c.cmd(&format!("RETR {path}"));
    if r.code != 150 {
        assert_eq!(r.code, 550, "{r:?}");
        return None;
    }
    let data = xfer::read_all(&mut xfer::connect(addr), 1 << 20);
    let end = c.read_reply();
    (end.code == 226).then_some(data)
}

/// STOR over a fresh passive channel; true when stored.
fn stor(c: &mut Ctrl, path: &str) -> bool {
    let addr = xfer::pasv(c);
    let r = c.cmd(&format!("STOR {path}"));
    if r.code != 150 {
        assert_eq!(r.code, 550, "{r:?}");
        return false;
    }
    let mut s = xfer::connect(addr);
    // The file is opened only now that the data connection is up: if the race moved `d`
    // meanwhile, the server answers 550 and closes the data connection under the client.
    let _ = s.write_all(b"UPLOADED");
    let _ = s.shutdown(Shutdown::Write);
    let end = c.read_reply();
    assert!([226, 550].contains(&end.code), "{end:?}");
    end.code == 226
}

/// Counts of what the client saw succeed, to show both states of the race were hit.
#[derive(Default, Debug)]
struct Seen {
    rounds: u64,
    retr_ok: u64,
    refused: u64,
    stored: u64,
}

/// One round of every command through `dir`, asserting nothing from outside shows.
fn round(c: &mut Ctrl, dir: &str, secret_ino: u64, seen: &mut Seen) {
    match retr(c, &format!("{dir}/f")) {
        Some(data) => {
            assert_ne!(data, OUTSIDE, "RETR {dir}/f read outside the root");
            seen.retr_ok += 1;
        }
        None => seen.refused += 1,
    }
    let size = c.cmd(&format!("SIZE {dir}/f"));
    assert_ne!(size.text, OUTSIDE.len().to_string(), "SIZE saw outside");
    let mlst = c.cmd(&format!("MLST {dir}/f"));
    let unique = format!("g{secret_ino:x};");
    assert!(!mlst.text.contains(&unique), "MLST saw outside: {mlst:?}");
    let addr = xfer::pasv(c);
    let list = c.cmd(&format!("LIST {dir}"));
    if list.code == 150 {
        let data = xfer::read_all(&mut xfer::connect(addr), 1 << 20);
        let text = String::from_utf8_lossy(&data);
        assert!(!text.contains("outside-only"), "LIST {dir} listed outside");
        c.read_reply();
    }
    if c.cmd(&format!("CWD {dir}")).code == 250 {
        let listed = c.cmd("MLST f");
        assert!(!listed.text.contains(&unique), "MLST after CWD: {listed:?}");
        c.expect("CWD /", 250);
    }
    if stor(c, &format!("{dir}/w")) {
        seen.stored += 1;
    }
    if c.cmd(&format!("RNFR {dir}/w")).code == 350 {
        c.cmd(&format!("RNTO {dir}/w2"));
    }
    c.cmd(&format!("DELE {dir}/w2"));
    c.cmd(&format!("DELE {dir}/w"));
    c.cmd(&format!("SITE CHMOD 600 {dir}/f"));
    c.cmd(&format!("MFMT 20000101000000 {dir}/f"));
    if c.cmd(&format!("MKD {dir}/new")).code == 257 {
        c.cmd(&format!("RMD {dir}/new"));
    }
    seen.rounds += 1;
}

fn race(resolver: Option<Resolver>) {
    let outside = TempDir::new("race-outside");
    let out = outside.path().to_path_buf();
    let srv = TestServer::start_with_root(|cfg, root| {
        fixture(root, &out);
        if let Some(r) = resolver {
            cfg.filesystem = Some(Arc::new(Forced(r)));
        }
    });
    let before = snapshot(&out);
    let secret_ino = fs::metadata(out.join("f")).unwrap().ino();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let thread = {
        let (root, stop, swaps) = (srv.root(), stop.clone(), swaps.clone());
        std::thread::spawn(move || swaps.store(swapper(root, stop), Ordering::Relaxed))
    };
    let mut seen = Seen::default();
    let start = Instant::now();
    while start.elapsed() < RACE_TIME && seen.rounds < MAX_ROUNDS {
        round(&mut c, "d", secret_ino, &mut seen);
        round(&mut c, "/e", secret_ino, &mut seen);
    }
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    c.expect("QUIT", 221);
    eprintln!(
        "{resolver:?}: {seen:?}, {} swaps",
        swaps.load(Ordering::Relaxed)
    );
    assert_eq!(snapshot(&out), before, "something outside the root changed");
    assert!(seen.rounds >= 2 && swaps.load(Ordering::Relaxed) > 0);
    assert!(
        seen.retr_ok + seen.stored > 0,
        "never hit the directory: {seen:?}"
    );
}

#[test]
fn racing_symlinks_never_lead_outside_with_openat2() {
    race(None);
}

#[test]
fn racing_symlinks_never_lead_outside_with_the_walk() {
    race(Some(Resolver::Walk));
}
