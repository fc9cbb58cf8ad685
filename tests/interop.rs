//! The real `ftpdlib` daemon driven by real FTP clients, each result compared by content with
//! the disk: curl (upload, download, resume both ways, listing, PASV/EPSV and active mode),
//! lftp (`mirror` and `mirror -R` of a nested tree with a non-ASCII name), wget (recursive
//! download), ncftpput/ncftpget, and Python's ftplib (storbinary, retrbinary, mlsd, nlst).
//! A client that is not installed is skipped with a message (CI installs curl, lftp, wget,
//! ncftp; python3 comes with the machine).

mod common;
mod xfer;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::TempDir;
use xfer::{run_client, tree, Daemon, Pattern};

const LIMIT: Duration = Duration::from_secs(60);
const UNICODE: &str = "ünïcödé-文件.txt";

/// The remote tree under `dir/`: a text file, a nested binary file and a non-ASCII name.
fn populate(root: &Path) {
    let dir = root.join("dir");
    fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    fs::write(dir.join("a.txt"), b"alpha\n").unwrap();
    fs::write(dir.join(UNICODE), "grüße\n").unwrap(); // 8 bytes of UTF-8
    Pattern::new().write_file(&dir.join("nested/deeper/b.bin"), 300_000);
}

/// A daemon with the tree, and a scratch directory that is also the clients' HOME (so no
/// user configuration of the machine gets in the way).
fn setup(client: &str) -> Option<(Daemon, TempDir)> {
    if !common::require_tool(client) {
        return None;
    }
    let d = Daemon::start();
    populate(d.root());
    Some((d, TempDir::new("client")))
}

fn client(bin: &str, home: &TempDir) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(home.path()).env("HOME", home.path());
    cmd
}

fn curl(home: &TempDir) -> Command {
    let mut cmd = client("curl", home);
    cmd.args(["-sS", "--user", "user:pass", "--max-time", "30"]);
    cmd
}

#[test]
fn curl_uploads_downloads_and_resumes() {
    let Some((d, home)) = setup("curl") else {
        return;
    };
    let url = d.url();
    let data = Pattern::new().bytes(500_000);
    let local = home.path().join("up.bin");
    fs::write(&local, &data).unwrap();
    run_client(
        curl(&home)
            .arg("-T")
            .arg(&local)
            .arg(format!("{url}/up.bin")),
        LIMIT,
    );
    assert!(fs::read(d.root().join("up.bin")).unwrap() == data);

    let remote = "dir/nested/deeper/b.bin";
    let expected = fs::read(d.root().join(remote)).unwrap();
    run_client(
        curl(&home).args(["-o", "down.bin", &format!("{url}/{remote}")]),
        LIMIT,
    );
    assert!(fs::read(home.path().join("down.bin")).unwrap() == expected);

    // Download resume: the local file has the first 100,000 bytes.
    fs::write(home.path().join("part.bin"), &expected[..100_000]).unwrap();
    run_client(
        curl(&home).args(["-C", "-", "-o", "part.bin", &format!("{url}/{remote}")]),
        LIMIT,
    );
    assert!(fs::read(home.path().join("part.bin")).unwrap() == expected);

    // Upload resume: the remote file has the first 200,000 bytes.
    fs::write(d.root().join("resume.bin"), &data[..200_000]).unwrap();
    run_client(
        curl(&home)
            .args(["-C", "-", "-T"])
            .arg(&local)
            .arg(format!("{url}/resume.bin")),
        LIMIT,
    );
    assert!(fs::read(d.root().join("resume.bin")).unwrap() == data);
}

#[test]
fn curl_lists_and_uses_pasv_and_active_mode() {
    let Some((d, home)) = setup("curl") else {
        return;
    };
    let url = d.url();
    let out = run_client(curl(&home).arg(format!("{url}/dir/")), LIMIT);
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["a.txt", "nested", UNICODE] {
        assert!(
            text.lines().any(|l| l.ends_with(&format!(" {name}"))),
            "{name} in {text}"
        );
    }
    let names = run_client(
        curl(&home).args(["--list-only", &format!("{url}/dir/")]),
        LIMIT,
    );
    let mut names: Vec<String> = String::from_utf8(names.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt", "nested", UNICODE]);

    let a = format!("{url}/dir/a.txt");
    let out = run_client(curl(&home).args(["--disable-epsv", &a]), LIMIT);
    assert_eq!(out.stdout, b"alpha\n");
    let out = run_client(curl(&home).args(["-P", "-", &a]), LIMIT);
    assert_eq!(out.stdout, b"alpha\n");
    let out = run_client(
        curl(&home).args(["--ftp-port", "127.0.0.1", "--disable-eprt", &a]),
        LIMIT,
    );
    assert_eq!(out.stdout, b"alpha\n");
    let local = home.path().join("act.txt");
    fs::write(&local, b"sent actively").unwrap();
    run_client(
        curl(&home)
            .args(["--ftp-port", "127.0.0.1", "-T"])
            .arg(&local)
            .arg(format!("{url}/act.txt")),
        LIMIT,
    );
    assert_eq!(
        fs::read(d.root().join("act.txt")).unwrap(),
        b"sent actively"
    );
}

fn lftp(home: &TempDir, d: &Daemon, script: &str) {
    let settings = "set ftp:ssl-allow no; set cmd:fail-exit yes; set net:max-retries 1; \
                    set net:timeout 10; set xfer:clobber yes";
    run_client(
        client("lftp", home)
            .args(["-u", "user,pass", "-e"])
            .arg(format!("{settings}; {script}; quit"))
            .arg(d.url()),
        LIMIT,
    );
}

#[test]
fn lftp_mirrors_both_ways() {
    let Some((d, home)) = setup("lftp") else {
        return;
    };
    let down = home.path().join("down");
    lftp(&home, &d, &format!("mirror dir {}", down.display()));
    let remote = tree(&d.root().join("dir"));
    assert_eq!(remote.len(), 3);
    assert_eq!(tree(&down), remote);

    let up = home.path().join("up");
    fs::create_dir_all(up.join("x/y")).unwrap();
    fs::write(up.join("top.txt"), b"top").unwrap();
    fs::write(up.join(format!("x/{UNICODE}")), b"deep unicode").unwrap();
    Pattern::new().write_file(&up.join("x/y/z.bin"), 1 << 20);
    lftp(&home, &d, &format!("mirror -R {} uploaded", up.display()));
    assert_eq!(tree(&d.root().join("uploaded")), tree(&up));
}

#[test]
fn wget_downloads_recursively() {
    let Some((d, home)) = setup("wget") else {
        return;
    };
    let out = home.path().join("out");
    fs::create_dir(&out).unwrap();
    let url = format!("ftp://user:pass@127.0.0.1:{}/", d.port());
    run_client(
        client("wget", &home)
            .current_dir(&out)
            .args([
                "-r",
                "-nH",
                "-q",
                "--timeout=10",
                "--tries=1",
                "--restrict-file-names=nocontrol",
            ])
            .arg(&url),
        LIMIT,
    );
    assert_eq!(tree(&out), tree(d.root()));
    // Active mode too.
    let one = home.path().join("one.txt");
    run_client(
        client("wget", &home)
            .args(["-q", "--no-passive-ftp", "--timeout=10", "--tries=1", "-O"])
            .arg(&one)
            .arg(format!("{url}dir/a.txt")),
        LIMIT,
    );
    assert_eq!(fs::read(&one).unwrap(), b"alpha\n");
}

#[test]
fn ncftpput_and_ncftpget_round_trip() {
    let Some((d, home)) = setup("ncftpput") else {
        return;
    };
    if !common::require_tool("ncftpget") {
        return;
    }
    let port = d.port().to_string();
    let local = home.path().join("nc.bin");
    let data = Pattern::new().bytes(400_000);
    fs::write(&local, &data).unwrap();
    let auth = ["-u", "user", "-p", "pass", "-P", port.as_str(), "-t", "10"];
    run_client(
        client("ncftpput", &home)
            .args(auth)
            .args(["-m", "127.0.0.1", "/remote"])
            .arg(&local),
        LIMIT,
    );
    assert!(fs::read(d.root().join("remote/nc.bin")).unwrap() == data);
    let got = home.path().join("got");
    fs::create_dir(&got).unwrap();
    run_client(
        client("ncftpget", &home)
            .args(auth)
            .arg("127.0.0.1")
            .arg(&got)
            .arg("/remote/nc.bin"),
        LIMIT,
    );
    assert!(fs::read(got.join("nc.bin")).unwrap() == data);
}

const PY_SCRIPT: &str = r#"
import ftplib, io, sys
port, local = int(sys.argv[1]), sys.argv[2]
data = open(local, 'rb').read()
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', port, timeout=10)
ftp.login('user', 'pass')
with open(local, 'rb') as f:
    ftp.storbinary('STOR py.bin', f)
for passive in (True, False):
    ftp.set_pasv(passive)
    buf = io.BytesIO()
    ftp.retrbinary('RETR py.bin', buf.write)
    assert buf.getvalue() == data, 'retrbinary differs (passive=%s)' % passive
for name, facts in sorted(ftp.mlsd('dir', facts=['type', 'size'])):
    print('MLSD', facts['type'], facts.get('size', '-'), name)
for name in sorted(ftp.nlst('dir')):
    print('NLST', name)
ftp.quit()
"#;

#[test]
fn python_ftplib_stores_retrieves_and_lists() {
    let Some((d, home)) = setup("python3") else {
        return;
    };
    let local = home.path().join("py.bin");
    let data = Pattern::new().bytes(250_000);
    fs::write(&local, &data).unwrap();
    let out = run_client(
        client("python3", &home)
            .env("PYTHONIOENCODING", "utf-8")
            .args(["-c", PY_SCRIPT, &d.port().to_string()])
            .arg(&local),
        LIMIT,
    );
    assert!(fs::read(d.root().join("py.bin")).unwrap() == data);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let unicode_mlsd = format!("MLSD file 8 {UNICODE}");
    let unicode_nlst = format!("NLST {UNICODE}");
    // Directories have a size fact too (as in pyftpdlib); its value is the filesystem's.
    let nested = fs::metadata(d.root().join("dir/nested")).unwrap().len();
    let nested_mlsd = format!("MLSD dir {nested} nested");
    let expected = [
        "MLSD file 6 a.txt",
        &nested_mlsd,
        &unicode_mlsd,
        "NLST a.txt",
        "NLST nested",
        &unicode_nlst,
    ];
    assert_eq!(lines, expected);
}
