//! Jail tests for [`OsFs`](super::OsFs), run against real temporary directories.
//!
//! Each test builds a root plus an "outside" directory next to it and checks that no
//! operation that follows a path can reach the outside, while operations on links
//! themselves still work.

use super::*;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A temporary directory removed on drop (no external crates).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
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

/// `root/` with `root/pub/a.txt`, plus a separate `outside/secret.txt`.
fn setup() -> (TempDir, TempDir, OsFs) {
    let root = TempDir::new("root");
    let outside = TempDir::new("outside");
    fs::create_dir(root.0.join("pub")).unwrap();
    fs::write(root.0.join("pub/a.txt"), b"hello").unwrap();
    fs::write(outside.0.join("secret.txt"), b"secret").unwrap();
    let fs = OsFs::new(&root.0).unwrap();
    (root, outside, fs)
}

fn vp(s: &str) -> VirtualPath {
    VirtualPath::root().resolve(s)
}

fn denied<T>(r: io::Result<T>) {
    let Err(err) = r else {
        panic!("expected PermissionDenied, got Ok")
    };
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}

#[test]
fn new_requires_an_existing_directory() {
    let (root, _out, fs) = setup();
    assert_eq!(fs.root(), root.0.as_path());
    assert!(OsFs::new(root.0.join("pub/a.txt")).is_err());
    assert!(OsFs::new(root.0.join("missing")).is_err());
}

#[test]
fn dotdot_stays_inside() {
    let (root, _out, fs) = setup();
    assert_eq!(
        fs.realpath(&vp("/../../..")).unwrap().as_path(),
        root.0.as_path()
    );
    let st = fs.stat(&vp("../../pub/../pub/a.txt")).unwrap();
    assert_eq!((st.kind, st.size), (FileKind::File, 5));
    // /../../etc/passwd is clamped to <root>/etc/passwd, which does not exist.
    let err = fs.open_read(&vp("/../../etc/passwd")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn symlink_to_outside_is_never_followed() {
    let (root, out, fs) = setup();
    symlink(&out.0, root.0.join("out")).unwrap();
    let link = vp("/out");
    let err = fs.stat(&link).unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"/out\" points to a path which is outside the user's root directory"
    );
    denied(fs.realpath(&link));
    denied(fs.read_dir(&link));
    denied(fs.open_read(&vp("/out/secret.txt")));
    denied(fs.open_write(&vp("/out/new.txt"), WriteMode::Truncate));
    denied(fs.open_write(&vp("/out/secret.txt"), WriteMode::Append));
    denied(fs.mkdir(&vp("/out/sub")));
    denied(fs.chmod(&vp("/out/secret.txt"), 0o777));
    denied(fs.set_mtime(&vp("/out/secret.txt"), UNIX_EPOCH));
    denied(fs.remove_file(&vp("/out/secret.txt")));
    denied(fs.rename(&vp("/pub/a.txt"), &vp("/out/a.txt")));
    assert!(!fs.is_dir(&link) && !fs.is_file(&vp("/out/secret.txt")));
    assert!(!out.0.join("new.txt").exists() && !out.0.join("sub").exists());
    assert!(out.0.join("secret.txt").exists());

    // The link itself may be seen, listed, renamed and deleted.
    assert_eq!(fs.lstat(&link).unwrap().kind, FileKind::Symlink);
    let names: Vec<(String, FileKind)> = fs
        .read_dir(&VirtualPath::root())
        .unwrap()
        .map(|e| (e.name, e.stat.kind))
        .collect();
    assert!(names.contains(&("out".to_owned(), FileKind::Symlink)));
    fs.rename(&link, &vp("/out2")).unwrap();
    fs.remove_file(&vp("/out2")).unwrap();
    assert!(fs.lstat(&vp("/out2")).is_err());
    assert!(out.0.join("secret.txt").exists());
}

#[test]
fn symlink_to_parent_is_refused_but_back_inside_is_fine() {
    let (root, _out, fs) = setup();
    symlink("..", root.0.join("up")).unwrap();
    denied(fs.stat(&vp("/up")));
    let root_name = root.0.file_name().unwrap().to_str().unwrap();
    let back_in = vp(&format!("/up/{root_name}/pub/a.txt"));
    assert_eq!(fs.stat(&back_in).unwrap().size, 5);
}

#[test]
fn symlink_inside_root_works() {
    let (root, _out, fs) = setup();
    symlink("pub", root.0.join("rel")).unwrap();
    symlink(root.0.join("pub/a.txt"), root.0.join("pub/abs.txt")).unwrap();
    assert!(fs.is_dir(&vp("/rel")));
    let mut s = String::new();
    fs.open_read(&vp("/rel/a.txt"))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "hello");
    assert!(fs.is_file(&vp("/pub/abs.txt")));
    assert_eq!(
        fs.lstat(&vp("/pub/abs.txt")).unwrap().kind,
        FileKind::Symlink
    );
    assert_eq!(fs.read_dir(&vp("/rel")).unwrap().count(), 2);
    fs.mkdir(&vp("/rel/sub")).unwrap();
    assert!(root.0.join("pub/sub").is_dir());
}

#[test]
fn dangling_symlinks() {
    let (root, out, fs) = setup();
    symlink("nowhere", root.0.join("dang")).unwrap();
    assert_eq!(fs.lstat(&vp("/dang")).unwrap().kind, FileKind::Symlink);
    assert_eq!(
        fs.stat(&vp("/dang")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    fs.remove_file(&vp("/dang")).unwrap();

    // STOR through a dangling link must not create a file outside the root.
    symlink(out.0.join("created.txt"), root.0.join("evil")).unwrap();
    let rel = format!(
        "../{}/rel.txt",
        out.0.file_name().unwrap().to_str().unwrap()
    );
    symlink(&rel, root.0.join("evil2")).unwrap();
    for name in ["/evil", "/evil2"] {
        for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::At(3)] {
            denied(fs.open_write(&vp(name), mode));
        }
    }
    assert!(!out.0.join("created.txt").exists() && !out.0.join("rel.txt").exists());

    // ...but a dangling link to a missing file inside the root is followed.
    symlink("pub/b.txt", root.0.join("inside")).unwrap();
    fs.open_write(&vp("/inside"), WriteMode::Truncate).unwrap();
    assert!(root.0.join("pub/b.txt").is_file());
}

#[test]
fn link_chains_dotdot_and_missing_tails() {
    let (root, out, fs) = setup();
    fs::create_dir_all(root.0.join("pub/deep/er")).unwrap();
    // A chain: /hop -> pub/deep/er/back, back -> ../../a.txt (relative to pub/deep/er).
    symlink("../../a.txt", root.0.join("pub/deep/er/back")).unwrap();
    symlink("pub/deep/er/back", root.0.join("hop")).unwrap();
    assert_eq!(fs.stat(&vp("/hop")).unwrap().size, 5);
    // In a link's target, `..` after a link to a directory means the parent of the
    // link's target, as in the OS (the client's own `..` is textual, see VirtualPath).
    symlink("pub/deep/er", root.0.join("er")).unwrap();
    symlink("er/../../a.txt", root.0.join("via")).unwrap();
    assert_eq!(fs.stat(&vp("/via")).unwrap().size, 5);
    // Missing tails are fine for creation, but `..` after a missing directory is not.
    fs.mkdir(&vp("/pub/new")).unwrap();
    assert!(root.0.join("pub/new").is_dir());
    let err = fs
        .open_write(&vp("/er/missing/x"), WriteMode::Truncate)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    symlink("missing/../../..", root.0.join("pub/sneaky")).unwrap();
    assert!(fs.stat(&vp("/pub/sneaky/x")).is_err());
    // A regular file used as a directory is an error, not a path, also in a link's target.
    assert!(fs.stat(&vp("/pub/a.txt/x")).is_err());
    symlink("a.txt/..", root.0.join("pub/through_file")).unwrap();
    assert!(fs.stat(&vp("/pub/through_file")).is_err());
    assert!(fs
        .open_write(&vp("/pub/a.txt/x"), WriteMode::Truncate)
        .is_err());
    // An absolute link walking out and back in is judged by where it ends.
    let via_out = out
        .0
        .join("..")
        .join(root.0.file_name().unwrap())
        .join("pub");
    symlink(&via_out, root.0.join("round")).unwrap();
    assert_eq!(fs.stat(&vp("/round/a.txt")).unwrap().size, 5);
    symlink(out.0.join("secret.txt"), root.0.join("pub/leak")).unwrap();
    denied(fs.stat(&vp("/pub/leak")));
}

#[test]
fn symlink_loops_fail_cleanly() {
    let (root, _out, fs) = setup();
    symlink("b", root.0.join("a")).unwrap();
    symlink("a", root.0.join("b")).unwrap();
    assert!(fs.stat(&vp("/a")).is_err());
    assert!(fs.open_write(&vp("/a"), WriteMode::Truncate).is_err());
    assert!(fs.open_write(&vp("/a/x"), WriteMode::Truncate).is_err());
    assert_eq!(fs.lstat(&vp("/a")).unwrap().kind, FileKind::Symlink);
}

#[test]
fn nul_bytes_are_invalid_input() {
    let (_root, _out, fs) = setup();
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

#[test]
fn non_utf8_names_are_listed_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let (root, _out, fs) = setup();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
    fs::write(root.0.join("pub").join(name), b"x").unwrap();
    let mut names: Vec<String> = fs.read_dir(&vp("/pub")).unwrap().map(|e| e.name).collect();
    names.sort();
    assert_eq!(names, ["a.txt", "bad\u{fffd}name"]);
}

#[test]
fn root_cannot_be_removed_or_renamed() {
    let (_root, _out, fs) = setup();
    let err = fs.rmdir(&VirtualPath::root()).unwrap_err();
    assert_eq!(err.to_string(), "Can't remove root directory.");
    denied(fs.rmdir(&vp("/..")));
    denied(fs.rename(&VirtualPath::root(), &vp("/x")));
    denied(fs.rename(&vp("/pub"), &VirtualPath::root()));
}

#[test]
fn directories_mkdir_rmdir_rename() {
    let (root, _out, fs) = setup();
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

#[test]
fn open_read_only_regular_files() {
    let (root, _out, fs) = setup();
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

#[test]
fn write_modes() {
    let (root, _out, fs) = setup();
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

#[test]
fn chmod_and_set_mtime() {
    let (root, _out, fs) = setup();
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
