//! Directory listings over the data connection and the control connection, checked against
//! the disk: LIST lines parse as `ls -l` (with options, of a directory, of one file), NLST
//! names and globs, MLSD/MLST facts and OPTS MLST, STAT of a directory, a directory of 20,000
//! entries, UTF-8 names, names containing a newline, and the recent/old date formats.

mod common;
mod xfer;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Ctrl, TestServer};

/// One parsed `ls -l` line.
#[derive(Debug)]
struct LsLine {
    mode: String,
    uid: u32,
    size: u64,
    date: String,
    name: String,
}

/// Parses `mode nlink uid gid size Mon DD HH:MM|YYYY name` (the name may contain spaces).
#[track_caller]
fn parse_ls(line: &str) -> LsLine {
    let mut rest = line;
    let mut fields = Vec::new();
    for _ in 0..8 {
        let t = rest.trim_start_matches(' ');
        let end = t
            .find(' ')
            .unwrap_or_else(|| panic!("short LIST line {line:?}"));
        fields.push(&t[..end]);
        rest = &t[end..];
    }
    let name = rest
        .strip_prefix(' ')
        .expect("space before the name")
        .to_owned();
    let mode = fields[0].to_owned();
    assert_eq!(mode.len(), 10, "mode column of {line:?}");
    assert!(
        mode[1..].chars().all(|c| "rwxsStT-".contains(c)),
        "{line:?}"
    );
    fields[1].parse::<u32>().expect("link count");
    let months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
    assert!(
        months.split(' ').any(|m| m == fields[5]),
        "month of {line:?}"
    );
    assert!(
        (1..=31).contains(&fields[6].parse::<u32>().unwrap()),
        "{line:?}"
    );
    LsLine {
        mode,
        uid: fields[2].parse().unwrap(),
        size: fields[4].parse().unwrap(),
        date: fields[5..8].join(" "),
        name,
    }
}

/// `fact=value;...; name` → (facts, name).
#[track_caller]
fn parse_mlsx(line: &str) -> (BTreeMap<String, String>, String) {
    let (facts, name) = line.split_once("; ").unwrap_or_else(|| panic!("{line:?}"));
    let facts = facts
        .split(';')
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap();
            (k.to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    (facts, name.to_owned())
}

/// A root with `a.txt` (5 bytes), `with space.txt`, `b.log`, and `sub/` holding `x.log`, `y.log`
/// and `z.txt`.
fn populated() -> (TestServer, Ctrl) {
    let srv = TestServer::with_user();
    let root = srv.root();
    fs::write(root.join("a.txt"), b"hello").unwrap();
    fs::write(root.join("with space.txt"), b"").unwrap();
    fs::write(root.join("b.log"), b"log").unwrap();
    fs::create_dir(root.join("sub")).unwrap();
    for f in ["x.log", "y.log", "z.txt"] {
        fs::write(root.join("sub").join(f), f).unwrap();
    }
    let c = srv.login();
    (srv, c)
}

fn names(lines: &[String]) -> BTreeSet<String> {
    lines.iter().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn list_lines_parse_as_ls_l_and_match_the_disk() {
    let (srv, mut c) = populated();
    let lines = xfer::listing(&mut c, "LIST");
    assert_eq!(lines.len(), 4, "{lines:?}");
    for line in &lines {
        let l = parse_ls(line);
        let meta = fs::metadata(srv.root().join(&l.name)).unwrap();
        assert_eq!(l.mode.starts_with('d'), meta.is_dir(), "{line:?}");
        assert_eq!(l.uid, meta.uid());
        if meta.is_file() {
            assert_eq!(l.size, meta.len(), "{line:?}");
        }
    }
    let listed: BTreeSet<String> = lines.iter().map(|l| parse_ls(l).name).collect();
    assert_eq!(listed, set(&["a.txt", "with space.txt", "b.log", "sub"]));
    // Options are ignored, a directory argument lists it, a file argument lists that file.
    let la: BTreeSet<String> = xfer::listing(&mut c, "LIST -la")
        .iter()
        .map(|l| parse_ls(l).name)
        .collect();
    assert_eq!(la, listed);
    let sub: BTreeSet<String> = xfer::listing(&mut c, "LIST -l sub")
        .iter()
        .map(|l| parse_ls(l).name)
        .collect();
    assert_eq!(sub, set(&["x.log", "y.log", "z.txt"]));
    let one = xfer::listing(&mut c, "LIST a.txt");
    assert_eq!(one.len(), 1);
    let l = parse_ls(&one[0]);
    assert_eq!((l.name.as_str(), l.size, &l.mode[..1]), ("a.txt", 5, "-"));
    c.expect_line("LIST missing", "550 No such file or directory.");
}

#[test]
fn nlst_gives_names_and_globs_the_last_component() {
    let (_srv, mut c) = populated();
    let all = xfer::listing(&mut c, "NLST");
    assert_eq!(
        names(&all),
        set(&["a.txt", "with space.txt", "b.log", "sub"])
    );
    assert_eq!(
        names(&xfer::listing(&mut c, "NLST *.txt")),
        set(&["a.txt", "with space.txt"])
    );
    assert_eq!(
        names(&xfer::listing(&mut c, "NLST sub/*.log")),
        set(&["sub/x.log", "sub/y.log"])
    );
    assert_eq!(
        names(&xfer::listing(&mut c, "NLST sub/?.txt")),
        set(&["sub/z.txt"])
    );
    assert!(xfer::listing(&mut c, "NLST *.none").is_empty());
    assert_eq!(
        names(&xfer::listing(&mut c, "NLST sub")),
        set(&["x.log", "y.log", "z.txt"])
    );
}

#[test]
fn mlsd_facts_describe_each_entry() {
    let (srv, mut c) = populated();
    let lines = xfer::listing(&mut c, "MLSD");
    assert_eq!(lines.len(), 4);
    for line in &lines {
        let (facts, name) = parse_mlsx(line);
        let meta = fs::metadata(srv.root().join(&name)).unwrap();
        let modify = &facts["modify"];
        assert!(
            modify.len() == 14 && modify.bytes().all(|b| b.is_ascii_digit()),
            "{line}"
        );
        assert_eq!(facts["unix.mode"], format!("0{:03o}", meta.mode() & 0o7777));
        assert_eq!(
            facts["unique"],
            format!("{:x}g{:x}", meta.dev(), meta.ino())
        );
        assert_eq!(facts["unix.uid"], meta.uid().to_string());
        assert_eq!(facts["unix.gid"], meta.gid().to_string());
        if meta.is_dir() {
            assert_eq!(facts["type"], "dir");
            // Directories have a size too, as in pyftpdlib.
            assert_eq!(facts["size"], meta.len().to_string(), "{line}");
            assert_eq!(facts["perm"], "elcmdfp");
        } else {
            assert_eq!(facts["type"], "file");
            assert_eq!(facts["size"], meta.len().to_string());
            assert_eq!(facts["perm"], "rawdf");
        }
    }
    // The read-only anonymous user is told so.
    let mut anon = srv.connect();
    anon.login("anonymous", "guest@");
    let line = xfer::listing(&mut anon, "MLSD sub")
        .into_iter()
        .find(|l| l.ends_with(" z.txt"));
    assert_eq!(parse_mlsx(&line.unwrap()).0["perm"], "r");
}

#[test]
fn opts_mlst_selects_facts_and_mlst_answers_on_the_control_connection() {
    let (_srv, mut c) = populated();
    c.expect_line("OPTS MLST type;", "200 MLST OPTS type;");
    let lines = xfer::listing(&mut c, "MLSD sub");
    assert_eq!(
        names(&lines),
        set(&["type=file; x.log", "type=file; y.log", "type=file; z.txt"])
    );
    c.expect_line("OPTS MLST size;type;", "200 MLST OPTS type;size;");
    let r = c.expect("MLST a.txt", 250);
    assert_eq!(
        r.lines(),
        ["Listing /a.txt", " type=file;size=5; /a.txt", "End MLST."]
    );
    c.expect_line(
        "OPTS MLST type;size;modify;perm;unique;unix.mode;",
        "200 MLST OPTS type;size;modify;perm;unique;unix.mode;",
    );
    let r = c.expect("MLST sub", 250);
    let (facts, name) = parse_mlsx(r.lines()[1].trim_start());
    assert_eq!((facts["type"].as_str(), name.as_str()), ("dir", "/sub"));
    c.expect_line("MLSD a.txt", "501 No such directory.");
    c.expect_line("MLST missing", "550 No such file or directory.");
}

#[test]
fn stat_of_a_directory_lists_it_on_the_control_connection() {
    let (_srv, mut c) = populated();
    let r = c.expect("STAT sub", 213);
    let lines = r.lines();
    assert_eq!(lines[0], "Status of \"/sub\":");
    assert_eq!(*lines.last().unwrap(), "End of status.");
    let listed: BTreeSet<String> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| parse_ls(l.trim_start()).name)
        .collect();
    assert_eq!(listed, set(&["x.log", "y.log", "z.txt"]));
    let r = c.expect("STAT a.txt", 213);
    assert_eq!(parse_ls(r.lines()[1].trim_start()).size, 5);
}

#[test]
fn a_directory_of_20000_entries_lists_completely() {
    let srv = TestServer::with_user();
    let dir = srv.root().join("many");
    fs::create_dir(&dir).unwrap();
    let expected: BTreeSet<String> = (0..20_000).map(|i| format!("file-{i:05}.dat")).collect();
    for name in &expected {
        fs::File::create(dir.join(name)).unwrap();
    }
    let mut c = srv.login();
    let nlst = xfer::listing(&mut c, "NLST many");
    assert_eq!(nlst.len(), 20_000);
    assert_eq!(names(&nlst), expected);
    let list = xfer::listing(&mut c, "LIST many");
    assert_eq!(list.len(), 20_000);
    let listed: BTreeSet<String> = list.iter().map(|l| parse_ls(l).name).collect();
    assert_eq!(listed, expected);
    assert_eq!(xfer::listing(&mut c, "MLSD many").len(), 20_000);
}

#[test]
fn utf8_names_round_trip() {
    let srv = TestServer::with_user();
    let name = "naïve-文件.txt";
    fs::write(srv.root().join(name), b"unicode body").unwrap();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let raw = xfer::download(&mut c, "NLST");
    assert_eq!(raw, format!("{name}\r\n").into_bytes());
    assert_eq!(
        xfer::download(&mut c, &format!("RETR {name}")),
        b"unicode body"
    );
    xfer::upload(&mut c, "STOR ünï-上传.bin", b"up");
    assert_eq!(fs::read(srv.root().join("ünï-上传.bin")).unwrap(), b"up");
    let listed: BTreeSet<String> = xfer::listing(&mut c, "MLSD")
        .iter()
        .map(|l| parse_mlsx(l).1)
        .collect();
    assert_eq!(listed, set(&[name, "ünï-上传.bin"]));
}

#[test]
fn a_newline_in_a_name_is_escaped_and_never_splits_a_line() {
    let srv = TestServer::with_user();
    fs::write(srv.root().join("evil\r\n226 fake.txt"), b"x").unwrap();
    fs::write(srv.root().join("plain.txt"), b"y").unwrap();
    let mut c = srv.login();
    let nlst = xfer::listing(&mut c, "NLST");
    assert_eq!(names(&nlst), set(&["evil\\r\\n226 fake.txt", "plain.txt"]));
    let list = xfer::listing(&mut c, "LIST");
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list
        .iter()
        .any(|l| parse_ls(l).name == "evil\\r\\n226 fake.txt"));
    let mlsd = xfer::listing(&mut c, "MLSD");
    assert_eq!(mlsd.len(), 2, "{mlsd:?}");
    let r = c.expect("STAT /", 213);
    assert_eq!(r.lines().len(), 4, "{r:?}");
    c.expect("NOOP", 200);
}

fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn list_shows_the_time_for_recent_files_and_the_year_for_old_ones() {
    let srv = TestServer::with_user();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let recent = UNIX_EPOCH + Duration::from_secs(now - 3600);
    let old = UNIX_EPOCH + Duration::from_secs(now - 2 * 365 * 86_400);
    for (name, t) in [("recent", recent), ("old", old)] {
        fs::write(srv.root().join(name), b"").unwrap();
        set_mtime(&srv.root().join(name), t);
    }
    let mut c = srv.login();
    let dates: BTreeMap<String, String> = xfer::listing(&mut c, "LIST")
        .iter()
        .map(|l| parse_ls(l))
        .map(|l| (l.name, l.date))
        .collect();
    let utc = |t: SystemTime, fmt: &str| {
        chrono::DateTime::<chrono::Utc>::from(t)
            .format(fmt)
            .to_string()
    };
    assert_eq!(dates["recent"], utc(recent, "%b %d %H:%M"));
    assert_eq!(dates["old"], utc(old, "%b %d %Y"));
}
