//! Invariants of paths: `VirtualPath::resolve` normal form, and the `OsFs` jail against a
//! tree with symlinks leading outside (see [`Jail`]).

use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;

use ftpdlib::fs::{FileKind, Filesystem, VirtualPath};

use super::{Jail, INSIDE_MARK};

/// The normal form: absolute, no empty, `.` or `..` component, no trailing slash but for
/// `/`; resolving it again (from anywhere) changes nothing; parent and name rebuild it.
pub fn check_vpath(p: &VirtualPath) {
    let s = p.as_str();
    assert!(s.starts_with('/'), "{s:?}");
    if s != "/" {
        for part in s[1..].split('/') {
            assert!(!part.is_empty() && part != "." && part != "..", "{s:?}");
        }
        let name = p.file_name().expect("non-root has a name");
        assert_eq!(&p.parent().resolve(name), p, "parent + name of {s:?}");
        assert!(p.starts_with(&p.parent()));
        assert_eq!(p.parent().components().count() + 1, p.components().count());
    } else {
        assert!(p.is_root() && p.file_name().is_none());
    }
    assert_eq!(&p.resolve(s), p, "resolve is not idempotent on {s:?}");
    assert_eq!(&VirtualPath::root().resolve(s), p);
    assert_eq!(&p.resolve(""), p);
    assert_eq!(&p.resolve("."), p);
    let rebuilt: String = p.components().map(|c| format!("/{c}")).collect();
    assert_eq!(if rebuilt.is_empty() { "/" } else { &rebuilt }, s);
}

/// `cwd.resolve(arg)`: normal form, same as resolving the textual concatenation from `/`,
/// and a relative argument without `..` stays below `cwd`.
pub fn check_resolve(cwd: &VirtualPath, arg: &str) -> VirtualPath {
    let p = cwd.resolve(arg);
    check_vpath(&p);
    let textual = if arg.starts_with('/') {
        arg.to_owned()
    } else {
        format!("{}/{arg}", cwd.as_str())
    };
    assert_eq!(VirtualPath::root().resolve(&textual), p, "{cwd} + {arg:?}");
    if !arg.starts_with('/') && !arg.split('/').any(|c| c == "..") {
        assert!(p.starts_with(cwd), "{cwd} + {arg:?} = {p}");
    }
    let parts = arg
        .split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..");
    assert!(p.components().count() <= cwd.components().count() + parts.count());
    p
}

/// `OsFs` never hands out anything outside the jail, whatever the path.
pub fn check_osfs(jail: &Jail, p: &VirtualPath) {
    let fs = &jail.fs;
    let nul = p.as_str().contains('\0');
    let real = fs.realpath(p);
    match &real {
        Ok(rp) => {
            assert!(!nul, "NUL accepted in {p:?}");
            assert!(rp.as_path().starts_with(&jail.root), "{p:?} -> {rp:?}");
            if let Ok(canon) = std::fs::canonicalize(rp.as_path()) {
                assert!(
                    canon.starts_with(&jail.root),
                    "{p:?} -> {rp:?} really is {canon:?}"
                );
            }
        }
        Err(e) if nul => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{p:?}"),
        Err(_) => {}
    }
    let stat = fs.stat(p);
    if let Ok(st) = &stat {
        assert!(real.is_ok(), "stat succeeded where realpath failed: {p:?}");
        assert!(
            !jail.forbidden.contains(&(st.dev, st.ino)),
            "stat of {p:?} is outside: {st:?}"
        );
        assert_ne!(st.kind, FileKind::Symlink, "stat follows links: {p:?}");
    }
    if let Ok(st) = fs.lstat(p) {
        assert!(
            !jail.forbidden.contains(&(st.dev, st.ino)),
            "lstat of {p:?} is outside: {st:?}"
        );
    }
    assert_eq!(
        fs.is_dir(p),
        matches!(&stat, Ok(st) if st.kind == FileKind::Dir),
        "{p:?}"
    );
    assert_eq!(
        fs.is_file(p),
        matches!(&stat, Ok(st) if st.kind == FileKind::File),
        "{p:?}"
    );
    if let Ok(mut file) = fs.open_read(p) {
        assert!(
            matches!(&stat, Ok(st) if st.kind == FileKind::File),
            "opened a non-file {p:?}"
        );
        let mut head = Vec::new();
        let _ = Read::by_ref(&mut file).take(64).read_to_end(&mut head);
        assert_eq!(
            head, INSIDE_MARK,
            "{p:?} opened a file that is not inside the jail"
        );
    }
    if matches!(&stat, Ok(st) if st.kind == FileKind::Dir) {
        let entries = fs
            .read_dir(p)
            .expect("a directory that stats can be listed");
        for entry in entries.take(100) {
            assert!(
                !entry.name.contains('/') && !entry.name.is_empty(),
                "{entry:?}"
            );
        }
    }
    if let Ok(rp) = &real {
        // A real path inside the jail never maps to an outside inode when it exists.
        if let Ok(md) = std::fs::metadata(rp.as_path()) {
            assert!(
                !jail.forbidden.contains(&(md.dev(), md.ino())),
                "{p:?} -> {rp:?}"
            );
        }
    }
}

/// Resolves each argument in turn from the previous result (like successive CWDs), checking
/// the normal form and the jail at every step.
pub fn check_path_chain(jail: &Jail, args: &[&str]) {
    let mut cwd = VirtualPath::root();
    for arg in args {
        let p = check_resolve(&cwd, arg);
        check_osfs(jail, &p);
        cwd = p;
    }
    assert!(
        jail.outside_untouched(),
        "something was created outside the jail"
    );
}

/// The `path` target: LF-separated arguments, resolved one after the other.
pub fn run_path(jail: &Jail, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let args: Vec<&str> = text.split('\n').take(64).collect();
    check_path_chain(jail, &args);
}
