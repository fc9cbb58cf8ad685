//! Transfers and listings through symlinks that lead out of the user's root, at protocol
//! level: RETR, STOR, APPE, LIST and MLSD through a link to a directory outside and through a
//! link to a file outside, with absolute links and with relative ones (`../..`-style, from the
//! root and from a subdirectory).
//!
//! The assertions hold whether the jail refuses such a link ("points outside the root") or
//! resolves it inside the root as chroot would (openat2 `RESOLVE_IN_ROOT`: `/tmp/x` becomes
//! `ROOT/tmp/x`, and `..` stops at the root). The outside directory's name exists nowhere inside
//! the root, so under either rule the target does not exist for the user: every command gets a
//! 550, no byte of the outside file ever reaches the client, and nothing outside the root is
//! created or changed.

mod common;
mod xfer;

use std::fs;
use std::io::Write;
use std::net::Shutdown;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::{Ctrl, TempDir, TestServer};

/// Content of the file outside the root: must never reach a client.
const SECRET: &[u8] = b"OUTSIDE-SECRET-CONTENT: never sent to an FTP client";
/// Name of the file outside the root.
const SECRET_NAME: &str = "outside-secret-file.txt";
/// Part of the outside directory's name.
const OUTSIDE_TAG: &str = "outside-jail-links";
/// A marker that would appear in the file if a write reached it.
const UPLOAD: &[u8] = b"UPLOADED-THROUGH-A-LINK";

/// The outside directory (next to the root, so relative links can reach it) and a snapshot of
/// it, to prove it unchanged.
struct Outside {
    dir: TempDir,
    before: Vec<(String, Vec<u8>, SystemTime)>,
}

impl Outside {
    fn new() -> Outside {
        let dir = TempDir::new(OUTSIDE_TAG);
        fs::write(dir.path().join(SECRET_NAME), SECRET).unwrap();
        fs::create_dir(dir.path().join("subdir")).unwrap();
        fs::write(dir.path().join("subdir/inner.txt"), SECRET).unwrap();
        let mut o = Outside {
            dir,
            before: Vec::new(),
        };
        o.before = o.snapshot();
        o
    }

    /// Every file under the outside directory: relative name, content, mtime.
    fn snapshot(&self) -> Vec<(String, Vec<u8>, SystemTime)> {
        let mut out = Vec::new();
        let mut todo = vec![self.dir.path().to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let name = p.strip_prefix(self.dir.path()).unwrap();
                let name = name.to_string_lossy().into_owned();
                let md = fs::symlink_metadata(&p).unwrap();
                if md.is_dir() {
                    out.push((name, Vec::new(), md.modified().unwrap()));
                    todo.push(p);
                } else {
                    out.push((name, fs::read(&p).unwrap(), md.modified().unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[track_caller]
    fn assert_unchanged(&self, after: &str) {
        assert_eq!(
            self.snapshot(),
            self.before,
            "the directory outside the root changed after {after}"
        );
    }
}

/// The links, as (name inside the root, target). Directory links end in `dir`, file links in
/// `file`. `sub/deep/` holds `../../..`-style links that climb exactly to the root's parent.
fn make_links(root: &Path, outside: &Path) -> Vec<(&'static str, PathBuf)> {
    // Relative links only reach `outside` if both sit in the same directory.
    assert_eq!(
        root.parent(),
        outside.parent(),
        "root and outside not siblings"
    );
    let name = outside.file_name().unwrap();
    let up1 = Path::new("..").join(name);
    let up3 = Path::new("../../..").join(name);
    fs::create_dir_all(root.join("sub/deep")).unwrap();
    let links = vec![
        ("abs_dir", outside.to_path_buf()),
        ("abs_file", outside.join(SECRET_NAME)),
        ("rel_dir", up1.clone()),
        ("rel_file", up1.join(SECRET_NAME)),
        ("sub/deep/up_dir", up3.clone()),
        ("sub/deep/up_file", up3.join(SECRET_NAME)),
    ];
    for (link, target) in &links {
        symlink(target, root.join(link)).unwrap();
    }
    // Under either jail rule, none of these targets exists inside the root.
    for (link, _) in &links {
        assert!(fs::symlink_metadata(root.join(link)).is_ok());
    }
    assert!(!root.join(name).exists() && !root.join("tmp").exists());
    links
}

fn setup() -> (TestServer, Outside, Vec<(&'static str, PathBuf)>) {
    let outside = Outside::new();
    let mut links = Vec::new();
    let srv = TestServer::start_with_root(|_, root| {
        fs::write(root.join("inside.txt"), b"inside").unwrap();
        links = make_links(root, outside.dir.path());
    });
    (srv, outside, links)
}

/// Asserts that `bytes` carry nothing of the outside file, nor the outside directory's real
/// name (which the client never sends: it only names the links).
#[track_caller]
fn no_secret(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.contains("OUTSIDE-SECRET") && !text.contains(OUTSIDE_TAG),
        "{what} revealed the outside: {text:?}"
    );
}

/// Opens a passive data connection, sends `cmd`, and expects a 5xx (550): then closes the
/// channel with ABOR and checks that the data connection carried nothing at all. With `upload`,
/// the client writes its data first, as a client that does not wait for the 150 would.
#[track_caller]
fn refused_with_data_channel(c: &mut Ctrl, cmd: &str, upload: bool) {
    let addr = xfer::pasv(c);
    let mut data = xfer::connect(addr);
    if upload {
        data.write_all(UPLOAD).unwrap();
        data.shutdown(Shutdown::Write).unwrap();
    }
    let r = c.cmd(cmd);
    assert_eq!(r.code, 550, "{cmd:?} -> {r:?}");
    no_secret(r.text.as_bytes(), cmd);
    let abor = c.cmd("ABOR");
    assert_eq!(abor.code / 100, 2, "ABOR after {cmd:?} -> {abor:?}");
    let got = xfer::read_until_dropped(&mut data, 1 << 20);
    assert!(got.is_empty(), "{cmd:?} sent data: {got:?}");
}

#[test]
fn retr_through_links_out_of_the_root_is_550_and_sends_nothing() {
    let (srv, outside, links) = setup();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    for (link, _) in &links {
        let path = if link.ends_with("dir") {
            format!("{link}/{SECRET_NAME}")
        } else {
            link.to_string()
        };
        refused_with_data_channel(&mut c, &format!("RETR {path}"), false);
        refused_with_data_channel(&mut c, &format!("RETR /{path}"), false);
        let size = c.cmd(&format!("SIZE {path}"));
        assert_eq!(size.code, 550, "SIZE {path} -> {size:?}");
    }
    // The session is intact and inside files are served.
    assert_eq!(xfer::download(&mut c, "RETR inside.txt"), b"inside");
    outside.assert_unchanged("RETR");
}

#[test]
fn stor_and_appe_through_links_out_of_the_root_change_nothing() {
    let (srv, outside, links) = setup();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    for (link, _) in &links {
        let paths = if link.ends_with("dir") {
            vec![
                format!("{link}/{SECRET_NAME}"),
                format!("{link}/new-file.txt"),
                format!("{link}/subdir/new-file.txt"),
            ]
        } else {
            vec![link.to_string()]
        };
        for path in paths {
            for verb in ["STOR", "APPE"] {
                refused_with_data_channel(&mut c, &format!("{verb} {path}"), true);
                outside.assert_unchanged(&format!("{verb} {path}"));
            }
        }
    }
    // Nothing appeared inside the root either, where an in-root resolution would put it.
    assert!(!srv.root().join("tmp").exists());
    let name = outside.dir.path().file_name().unwrap();
    assert!(!srv.root().join(name).exists());
    // Uploads inside the root still work.
    xfer::upload(&mut c, "STOR fine.txt", b"fine");
    assert_eq!(fs::read(srv.root().join("fine.txt")).unwrap(), b"fine");
    outside.assert_unchanged("STOR and APPE");
}

#[test]
fn list_and_mlsd_through_links_out_of_the_root_are_550() {
    let (srv, outside, links) = setup();
    let mut c = srv.login();
    for (link, _) in &links {
        let mut cmds = vec![format!("LIST {link}"), format!("MLSD {link}")];
        if link.ends_with("dir") {
            cmds.push(format!("LIST {link}/"));
            cmds.push(format!("LIST -la {link}/subdir"));
            cmds.push(format!("MLSD {link}/subdir"));
            cmds.push(format!("LIST {link}/{SECRET_NAME}"));
        }
        for cmd in cmds {
            refused_with_data_channel(&mut c, &cmd, false);
        }
        let cwd = c.cmd(&format!("CWD {link}"));
        assert_eq!(cwd.code, 550, "CWD {link} -> {cwd:?}");
        let mlst = c.cmd(&format!("MLST {link}"));
        assert_eq!(mlst.code, 550, "MLST {link} -> {mlst:?}");
    }
    // Listing the directories that hold the links works and shows nothing from outside.
    for cmd in ["LIST", "LIST sub/deep", "MLSD", "MLSD sub/deep", "NLST"] {
        let text = xfer::download(&mut c, cmd);
        no_secret(&text, cmd);
    }
    let names = xfer::listing(&mut c, "NLST");
    assert!(names.iter().any(|n| n == "inside.txt"), "{names:?}");
    outside.assert_unchanged("LIST and MLSD");
}
