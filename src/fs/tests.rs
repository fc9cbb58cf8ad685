//! Jail tests for [`OsFs`](super::OsFs), run against real temporary directories, each
//! with both resolvers: `openat2` and the user-space walk.
//!
//! Each test builds a root plus an "outside" directory next to it and checks that no
//! operation can reach the outside: links follow chroot semantics (an absolute target is
//! taken from the root, `..` stops there), and operations on links themselves still work.

use super::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use std::time::UNIX_EPOCH;

/// A temporary directory removed on drop (no external crates).
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("ftpdlib-fs-{tag}-{}-{n}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).unwrap();
        TempDir(fs::canonicalize(&path).unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Both ways of resolving; `Openat2` quietly stays `Walk` on kernels without it.
pub(super) const RESOLVERS: [Resolver; 2] = [Resolver::Openat2, Resolver::Walk];

/// `root/` with `root/pub/a.txt`, plus a separate `outside/secret.txt`.
pub(super) fn setup(r: Resolver) -> (TempDir, TempDir, OsFs) {
    eprintln!("resolver {r:?}");
    let root = TempDir::new("root");
    let outside = TempDir::new("outside");
    fs::create_dir(root.0.join("pub")).unwrap();
    fs::write(root.0.join("pub/a.txt"), b"hello").unwrap();
    fs::write(outside.0.join("secret.txt"), b"secret").unwrap();
    let fs = OsFs::new(&root.0).unwrap().with_resolver(r);
    (root, outside, fs)
}

pub(super) fn vp(s: &str) -> VirtualPath {
    VirtualPath::root().resolve(s)
}

fn denied<T>(r: io::Result<T>) {
    let Err(err) = r else {
        panic!("expected PermissionDenied, got Ok")
    };
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}

#[test]
fn symlink_loops_fail_cleanly() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        symlink("b", root.0.join("a")).unwrap();
        symlink("a", root.0.join("b")).unwrap();
        assert!(fs.stat(&vp("/a")).is_err());
        assert!(fs.open_write(&vp("/a"), WriteMode::Truncate).is_err());
        assert!(fs.open_write(&vp("/a/x"), WriteMode::Truncate).is_err());
        assert_eq!(fs.lstat(&vp("/a")).unwrap().kind, FileKind::Symlink);
    }
}

#[test]
fn nul_bytes_are_invalid_input() {
    for r in RESOLVERS {
        let (_root, _out, fs) = setup(r);
        let p = vp("/pub/a\0.txt");
        assert_eq!(fs.stat(&p).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(fs.lstat(&p).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(
            fs.remove_file(&p).unwrap_err().to_string(),
            "path contains a NUL byte"
        );
        let err = fs.open_write(&p, WriteMode::Truncate).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!fs.is_file(&p));
    }
}

#[test]
fn non_utf8_names_are_listed_lossily() {
    use std::os::unix::ffi::OsStrExt;
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
        fs::write(root.0.join("pub").join(name), b"x").unwrap();
        let mut names: Vec<String> = fs.read_dir(&vp("/pub")).unwrap().map(|e| e.name).collect();
        names.sort();
        assert_eq!(names, ["a.txt", "bad\u{fffd}name"]);
    }
}

#[test]
fn root_cannot_be_removed_or_renamed() {
    for r in RESOLVERS {
        let (_root, _out, fs) = setup(r);
        let err = fs.rmdir(&VirtualPath::root()).unwrap_err();
        assert_eq!(err.to_string(), "Can't remove root directory.");
        denied(fs.rmdir(&vp("/..")));
        denied(fs.rename(&VirtualPath::root(), &vp("/x")));
        denied(fs.rename(&vp("/pub"), &VirtualPath::root()));
    }
}

#[test]
fn directories_mkdir_rmdir_rename() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        fs.mkdir(&vp("/d")).unwrap();
        assert_eq!(
            fs.mkdir(&vp("/d")).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert!(fs.is_dir(&vp("/d")) && !fs.is_file(&vp("/d")));
        fs.rename(&vp("/d"), &vp("/e")).unwrap();
        fs.rmdir(&vp("/e")).unwrap();
        assert!(fs.rmdir(&vp("/pub")).is_err()); // not empty
        assert!(root.0.join("pub/a.txt").exists());
    }
}

#[test]
fn open_read_only_regular_files() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        assert_eq!(
            fs.open_read(&vp("/pub")).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            fs.open_read(&vp("/missing")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // STOR onto a directory's name: refused, the directory untouched.
        let err = fs.open_write(&vp("/pub"), WriteMode::Truncate).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        assert!(root.0.join("pub/a.txt").is_file());
        let fifo = root.0.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.map(|s| s.success()).unwrap_or(false) {
            // Would block forever if opened.
            assert!(fs.open_read(&vp("/fifo")).is_err());
            for mode in [WriteMode::Append, WriteMode::Truncate, WriteMode::At(0)] {
                assert!(fs.open_write(&vp("/fifo"), mode).is_err(), "{mode:?}");
            }
            assert!(fs.set_mtime(&vp("/fifo"), UNIX_EPOCH).is_err());
            assert_eq!(fs.lstat(&vp("/fifo")).unwrap().kind, FileKind::Other);
        }
    }
}

#[test]
fn write_modes() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        let p = vp("/pub/w.txt");
        let read = || fs::read_to_string(root.0.join("pub/w.txt")).unwrap();
        fs.open_write(&p, WriteMode::Truncate)
            .unwrap()
            .write_all(b"abcdef")
            .unwrap();
        assert_eq!(read(), "abcdef");
        fs.open_write(&p, WriteMode::Append)
            .unwrap()
            .write_all(b"gh")
            .unwrap();
        assert_eq!(read(), "abcdefgh");
        fs.open_write(&p, WriteMode::At(2))
            .unwrap()
            .write_all(b"XY")
            .unwrap();
        assert_eq!(read(), "abXYefgh");
        let mut w = fs.open_write(&p, WriteMode::Truncate).unwrap();
        assert_eq!(read(), "abXYefgh", "opening an upload never truncates");
        w.set_len(0).unwrap();
        w.write_all(b"z").unwrap();
        assert_eq!(read(), "z");
        let err = fs.open_write(&p, WriteMode::CreateNew).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        fs.open_write(&vp("/pub/new.txt"), WriteMode::CreateNew)
            .unwrap();
        fs.open_write(&vp("/pub/at.txt"), WriteMode::At(0)).unwrap();
        assert!(fs.is_file(&vp("/pub/new.txt")) && fs.is_file(&vp("/pub/at.txt")));
        assert!(fs.open_write(&vp("/pub"), WriteMode::Truncate).is_err());
        assert!(fs.open_write(&vp("/nodir/x"), WriteMode::Truncate).is_err());
    }
}

#[test]
fn chmod_and_set_mtime() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        let p = vp("/pub/a.txt");
        fs.chmod(&p, 0o100_640).unwrap();
        assert_eq!(fs.stat(&p).unwrap().mode & 0o7777, 0o640);
        fs.chmod(&p, 0o444).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        fs.set_mtime(&p, t).unwrap();
        assert_eq!(fs.stat(&p).unwrap().mtime, t);
        fs.set_mtime(&vp("/pub"), t).unwrap();
        assert_eq!(
            fs::metadata(root.0.join("pub"))
                .unwrap()
                .modified()
                .unwrap(),
            t
        );
        let st = fs.stat(&p).unwrap();
        assert!(st.nlink >= 1 && st.ino != 0);
    }
}
