//! The jail's link semantics (chroot: absolute targets from the root, `..` stops there),
//! each test with both resolvers, plus a root that moves after the session opened it.

use super::tests::{setup, vp, TempDir, RESOLVERS};
use super::*;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::time::UNIX_EPOCH;

/// `ROOT + host_path`: where an absolute link to `host_path` leads inside the jail.
fn mirror(root: &TempDir, host_path: &Path) -> PathBuf {
    root.0.join(host_path.strip_prefix("/").unwrap())
}

fn not_found<T>(r: io::Result<T>) {
    let Err(err) = r else {
        panic!("expected NotFound, got Ok")
    };
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

fn read(fs: &OsFs, p: &str) -> String {
    let mut s = String::new();
    fs.open_read(&vp(p))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn new_requires_an_existing_directory() {
    let (root, _out, fs) = setup(Resolver::Openat2);
    assert_eq!(fs.root(), root.0.as_path());
    assert!(OsFs::new(root.0.join("pub/a.txt")).is_err());
    assert!(OsFs::new(root.0.join("missing")).is_err());
    eprintln!("this kernel: {:?}", fs.resolver());
    assert_eq!(fs.with_resolver(Resolver::Walk).resolver(), Resolver::Walk);
}

#[test]
fn dotdot_stays_inside() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        let real = fs.realpath(&vp("/../../..")).unwrap();
        assert_eq!(real.as_path(), root.0.as_path());
        let st = fs.stat(&vp("../../pub/../pub/a.txt")).unwrap();
        assert_eq!((st.kind, st.size), (FileKind::File, 5));
        // /../../etc/passwd is clamped to <root>/etc/passwd, which does not exist.
        not_found(fs.open_read(&vp("/../../etc/passwd")));
    }
}

#[test]
fn absolute_links_resolve_inside_the_root() {
    for r in RESOLVERS {
        let (root, out, fs) = setup(r);
        symlink(&out.0, root.0.join("out")).unwrap();
        symlink(out.0.join("secret.txt"), root.0.join("pub/leak")).unwrap();
        // `out` means ROOT/<outside's host path>, which does not exist (yet).
        not_found(fs.stat(&vp("/out")));
        not_found(fs.read_dir(&vp("/out")));
        not_found(fs.open_read(&vp("/out/secret.txt")));
        not_found(fs.open_read(&vp("/pub/leak")));
        not_found(fs.open_write(&vp("/out/new.txt"), WriteMode::Truncate));
        not_found(fs.open_write(&vp("/out/secret.txt"), WriteMode::Append));
        not_found(fs.open_write(&vp("/pub/leak"), WriteMode::Truncate));
        not_found(fs.mkdir(&vp("/out/sub")));
        not_found(fs.chmod(&vp("/out/secret.txt"), 0o777));
        not_found(fs.set_mtime(&vp("/out/secret.txt"), UNIX_EPOCH));
        not_found(fs.remove_file(&vp("/out/secret.txt")));
        not_found(fs.rename(&vp("/pub/a.txt"), &vp("/out/a.txt")));
        assert!(!fs.is_dir(&vp("/out")) && !fs.is_file(&vp("/out/secret.txt")));
        let outside: Vec<_> = fs::read_dir(&out.0).unwrap().collect();
        assert_eq!(outside.len(), 1, "only secret.txt outside");
        assert_eq!(fs::read(out.0.join("secret.txt")).unwrap(), b"secret");

        // Once ROOT/<that path> exists, the links lead there, as under chroot(2).
        let inside = mirror(&root, &out.0);
        fs::create_dir_all(&inside).unwrap();
        fs::write(inside.join("secret.txt"), b"mirror").unwrap();
        assert_eq!(read(&fs, "/out/secret.txt"), "mirror");
        assert_eq!(read(&fs, "/pub/leak"), "mirror");
        let mut w = fs
            .open_write(&vp("/pub/leak"), WriteMode::Truncate)
            .unwrap();
        w.set_len(0).unwrap();
        w.write_all(b"written").unwrap();
        w.commit().unwrap();
        assert_eq!(fs::read(inside.join("secret.txt")).unwrap(), b"written");
        assert_eq!(fs::read(out.0.join("secret.txt")).unwrap(), b"secret");
        let real = fs.realpath(&vp("/pub/leak")).unwrap();
        assert_eq!(real.as_path(), inside.join("secret.txt"));

        // The links themselves may be seen, listed, renamed and deleted.
        assert_eq!(fs.lstat(&vp("/out")).unwrap().kind, FileKind::Symlink);
        let names: Vec<(String, FileKind)> = fs
            .read_dir(&VirtualPath::root())
            .unwrap()
            .map(|e| (e.name, e.stat.kind))
            .collect();
        assert!(names.contains(&("out".to_owned(), FileKind::Symlink)));
        fs.rename(&vp("/out"), &vp("/out2")).unwrap();
        fs.remove_file(&vp("/out2")).unwrap();
        assert!(fs.lstat(&vp("/out2")).is_err());
        assert!(out.0.join("secret.txt").exists());
    }
}

#[test]
fn relative_links_clamp_at_the_root() {
    for r in RESOLVERS {
        let (root, out, fs) = setup(r);
        symlink("..", root.0.join("up")).unwrap();
        symlink("../../../../..", root.0.join("pub/far")).unwrap();
        let root_ino = fs.stat(&VirtualPath::root()).unwrap().ino;
        assert_eq!(fs.stat(&vp("/up")).unwrap().ino, root_ino);
        assert_eq!(fs.stat(&vp("/pub/far")).unwrap().ino, root_ino);
        assert_eq!(read(&fs, "/up/up/pub/a.txt"), "hello");
        assert_eq!(read(&fs, "/pub/far/pub/a.txt"), "hello");
        // `../outside/secret.txt` from the root is ROOT/outside/secret.txt.
        let out_name = out.0.file_name().unwrap().to_str().unwrap();
        not_found(fs.stat(&vp(&format!("/up/{out_name}/secret.txt"))));
        let root_name = root.0.file_name().unwrap().to_str().unwrap();
        not_found(fs.stat(&vp(&format!("/up/{root_name}/pub/a.txt"))));
        assert_eq!(fs.read_dir(&vp("/up")).unwrap().count(), 2);
    }
}

#[test]
fn symlink_inside_root_works() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        symlink("pub", root.0.join("rel")).unwrap();
        // Absolute targets are read from the root: `/pub/a.txt` is ROOT/pub/a.txt.
        symlink("/pub/a.txt", root.0.join("pub/abs.txt")).unwrap();
        assert!(fs.is_dir(&vp("/rel")));
        assert_eq!(read(&fs, "/rel/a.txt"), "hello");
        assert!(fs.is_file(&vp("/pub/abs.txt")));
        let st = fs.lstat(&vp("/pub/abs.txt")).unwrap();
        assert_eq!(st.kind, FileKind::Symlink);
        assert_eq!(fs.read_dir(&vp("/rel")).unwrap().count(), 2);
        fs.mkdir(&vp("/rel/sub")).unwrap();
        assert!(root.0.join("pub/sub").is_dir());
    }
}

#[test]
fn dangling_symlinks() {
    for r in RESOLVERS {
        let (root, out, fs) = setup(r);
        symlink("nowhere", root.0.join("dang")).unwrap();
        assert_eq!(fs.lstat(&vp("/dang")).unwrap().kind, FileKind::Symlink);
        not_found(fs.stat(&vp("/dang")));
        fs.remove_file(&vp("/dang")).unwrap();

        // STOR through a dangling link never creates a file outside the root.
        symlink(out.0.join("created.txt"), root.0.join("evil")).unwrap();
        let out_name = out.0.file_name().unwrap().to_str().unwrap();
        symlink(format!("../{out_name}/rel.txt"), root.0.join("evil2")).unwrap();
        for name in ["/evil", "/evil2"] {
            for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::At(3)] {
                not_found(fs.open_write(&vp(name), mode));
            }
        }
        assert!(!out.0.join("created.txt").exists() && !out.0.join("rel.txt").exists());

        // A dangling link to a missing file inside the root is followed.
        symlink("pub/b.txt", root.0.join("inside")).unwrap();
        fs.open_write(&vp("/inside"), WriteMode::Truncate).unwrap();
        assert!(root.0.join("pub/b.txt").is_file());
        // ...and `../x` from the root creates ROOT/x.
        symlink("../../made.txt", root.0.join("pub/clamped")).unwrap();
        fs.open_write(&vp("/pub/clamped"), WriteMode::Truncate)
            .unwrap();
        assert!(root.0.join("made.txt").is_file());
    }
}

#[test]
fn link_chains_dotdot_and_missing_tails() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
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
        not_found(fs.open_write(&vp("/er/missing/x"), WriteMode::Truncate));
        symlink("missing/../../..", root.0.join("pub/sneaky")).unwrap();
        assert!(fs.stat(&vp("/pub/sneaky/x")).is_err());
        // A regular file used as a directory is an error, also in a link's target.
        assert!(fs.stat(&vp("/pub/a.txt/x")).is_err());
        symlink("a.txt/..", root.0.join("pub/through_file")).unwrap();
        assert!(fs.stat(&vp("/pub/through_file")).is_err());
        assert!(fs
            .open_write(&vp("/pub/a.txt/x"), WriteMode::Truncate)
            .is_err());
        // An absolute link is read from the root.
        symlink("/pub", root.0.join("round")).unwrap();
        assert_eq!(fs.stat(&vp("/round/a.txt")).unwrap().size, 5);
    }
}

#[test]
fn a_root_moved_after_opening_keeps_the_session_in_place() {
    for r in RESOLVERS {
        let (root, out, fs) = setup(r);
        let moved = TempDir::new("moved");
        fs::remove_dir(&moved.0).unwrap();
        fs::rename(&root.0, &moved.0).unwrap();
        // The old name now leads outside; the session still sees the directory it opened.
        symlink(&out.0, &root.0).unwrap();
        assert_eq!(read(&fs, "/pub/a.txt"), "hello");
        not_found(fs.stat(&vp("/secret.txt")));
        fs.open_write(&vp("/new.txt"), WriteMode::Truncate).unwrap();
        assert!(moved.0.join("new.txt").is_file());
        assert!(!out.0.join("new.txt").exists());
        fs::remove_file(&root.0).unwrap();
    }
}

#[test]
fn uploads_commit_and_abort_in_their_directory() {
    for r in RESOLVERS {
        let (root, _out, fs) = setup(r);
        let atomic = fs.clone().with_uploads(UploadPolicy {
            atomic: true,
            delete_incomplete: true,
            ..Default::default()
        });
        symlink("pub", root.0.join("alias")).unwrap();
        let mut w = atomic
            .open_write(&vp("/alias/a.txt"), WriteMode::Append)
            .unwrap();
        w.write_all(b" world").unwrap();
        assert_eq!(
            fs::read_dir(root.0.join("pub")).unwrap().count(),
            2,
            "temp beside"
        );
        w.commit().unwrap();
        assert_eq!(read(&fs, "/pub/a.txt"), "hello world");
        let w = atomic
            .open_write(&vp("/alias/a.txt"), WriteMode::Truncate)
            .unwrap();
        w.abort();
        assert_eq!(read(&fs, "/pub/a.txt"), "hello world");
        assert_eq!(
            fs::read_dir(root.0.join("pub")).unwrap().count(),
            1,
            "temp gone"
        );
        let deleting = fs.clone().with_uploads(UploadPolicy {
            atomic: false,
            delete_incomplete: true,
            ..Default::default()
        });
        let w = deleting
            .open_write(&vp("/alias/cut.txt"), WriteMode::Truncate)
            .unwrap();
        assert!(root.0.join("pub/cut.txt").is_file());
        w.abort();
        assert!(!root.0.join("pub/cut.txt").exists());
    }
}

#[test]
fn sessions_of_one_root_share_its_descriptor_until_it_is_replaced() {
    let (root, _out, a) = setup(Resolver::Openat2);
    let b = OsFs::new(&root.0).unwrap();
    assert!(a.jail.shares_root_with(&b.jail));
    let moved = TempDir::new("replaced");
    fs::remove_dir(&moved.0).unwrap();
    fs::rename(&root.0, &moved.0).unwrap();
    fs::create_dir(&root.0).unwrap();
    fs::write(root.0.join("new.txt"), b"new root").unwrap();
    let c = OsFs::new(&root.0).unwrap();
    assert!(!c.jail.shares_root_with(&a.jail));
    assert_eq!(read(&c, "/new.txt"), "new root");
    assert_eq!(read(&a, "/pub/a.txt"), "hello");
    assert_eq!(read(&b, "/pub/a.txt"), "hello");
}
