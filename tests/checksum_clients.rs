//! HASH, OPTS HASH, RANG and the legacy XCRC/XMD5/XSHA* commands driven by real clients, each
//! digest compared with one computed here:
//! - curl's `-Q` sends each command on the control connection before the transfer; with `-v`
//!   its stderr shows every reply (`< 213 ...`). A `4xx`/`5xx` reply stops curl with exit
//!   status 21 ("QUOT command failed"), unless the command starts with `*`.
//! - lftp's `quote` prints the server's reply on stdout, and succeeds (exit status 0) even
//!   for a `5xx`.
//!
//! A client that is not installed is skipped (locally) or fails the test (CI).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{run_bounded, TempDir, TestServer};
use sha2::Digest;

const LIMIT: Duration = Duration::from_secs(60);
/// Over 256 KiB, so that the server hashes it in more than one read.
const SIZE: usize = 300_000;

/// Deterministic bytes that are not a repeating block: every offset matters.
fn content() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..SIZE)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

fn sha512(data: &[u8]) -> String {
    hex(&sha2::Sha512::digest(data))
}

fn sha1(data: &[u8]) -> String {
    hex(&sha1::Sha1::digest(data))
}

fn md5(data: &[u8]) -> String {
    hex(&md5::Md5::digest(data))
}

/// A server whose root holds `data.bin`, and a scratch directory for the client's HOME (so
/// no user configuration gets in the way).
fn setup(client: &str) -> Option<(TestServer, TempDir, Vec<u8>)> {
    if !common::require_tool(client) {
        return None;
    }
    let data = content();
    let file = data.clone();
    let srv = TestServer::start_with_root(move |_, root| {
        std::fs::write(root.join("data.bin"), file).unwrap();
    });
    Some((srv, TempDir::new("hash-client"), data))
}

fn client(bin: &str, home: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(home).env("HOME", home);
    cmd
}

/// curl with `-Q` commands before downloading `data.bin` into the client's directory.
fn curl(srv: &TestServer, home: &Path, quotes: &[&str]) -> Output {
    let mut cmd = client("curl", home);
    cmd.args(["-sS", "-v", "--user", "user:pass", "--max-time", "30"]);
    for q in quotes {
        cmd.args(["-Q", q]);
    }
    let url = format!("ftp://127.0.0.1:{}/data.bin", srv.addr().port());
    run_bounded(cmd.args(["-o", "down.bin", &url]), LIMIT)
}

/// The server's replies in curl's `-v` output, without the `< ` prefix.
fn replies(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("< "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn curl_quote_gets_hash_rang_and_legacy_digests() {
    let Some((srv, home, data)) = setup("curl") else {
        return;
    };
    let quotes = [
        "HASH data.bin",
        "OPTS HASH SHA-512",
        "HASH data.bin",
        "OPTS HASH SHA-1",
        "RANG 100 199999",
        "HASH data.bin",
        "XCRC data.bin",
        "XMD5 data.bin 10 20",
    ];
    let out = curl(&srv, home.path(), &quotes);
    let got = replies(&out);
    assert_eq!(out.status.code(), Some(0), "{got:#?}");
    let last = SIZE - 1;
    let crc = format!("{:08X}", crc32fast::hash(&data));
    let want = [
        format!("213 SHA-256 0-{last} {} /data.bin", sha256(&data)),
        "200 SHA-512".into(),
        format!("213 SHA-512 0-{last} {} /data.bin", sha512(&data)),
        "200 SHA-1".into(),
        format!(
            "213 SHA-1 100-199999 {} /data.bin",
            sha1(&data[100..200_000])
        ),
        format!("250 {crc}"),
        format!("250 {}", md5(&data[10..20]).to_uppercase()),
    ];
    for line in &want {
        assert!(got.contains(line), "no {line:?} in {got:#?}");
    }
    // The transfer after the commands still happens.
    assert_eq!(std::fs::read(home.path().join("down.bin")).unwrap(), data);
}

#[test]
fn curl_quote_fails_on_a_5xx_hash_unless_starred() {
    let Some((srv, home, data)) = setup("curl") else {
        return;
    };
    let out = curl(&srv, home.path(), &["HASH missing.bin"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(21), "{err}");
    assert!(err.contains("QUOT command failed with 550"), "{err}");
    assert!(!home.path().join("down.bin").exists());

    let out = curl(&srv, home.path(), &["*HASH missing.bin", "HASH data.bin"]);
    let got = replies(&out);
    assert_eq!(out.status.code(), Some(0), "{got:#?}");
    assert!(got.iter().any(|l| l.starts_with("550 ")), "{got:#?}");
    let line = format!("213 SHA-256 0-{} {} /data.bin", SIZE - 1, sha256(&data));
    assert!(got.contains(&line), "no {line:?} in {got:#?}");
}

#[test]
fn lftp_quote_prints_the_hash_replies() {
    let Some((srv, home, data)) = setup("lftp") else {
        return;
    };
    let script = format!(
        "set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 10; \
         open -u user,pass ftp://127.0.0.1:{}; \
         quote HASH data.bin; quote OPTS HASH SHA-1; quote RANG 0 9; quote HASH data.bin; \
         quote HASH data.bin; quote OPTS HASH MD5; quote XSHA256 data.bin; \
         quote HASH missing.bin; quote HASH data.bin",
        srv.addr().port()
    );
    let out = run_bounded(client("lftp", home.path()).args(["-c", &script]), LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{err}");
    let last = SIZE - 1;
    let want = [
        format!("213 SHA-256 0-{last} {} /data.bin", sha256(&data)),
        "200 SHA-1".into(),
        "350 Restarting at 0. Ending byte range at 9.".into(),
        format!("213 SHA-1 0-9 {} /data.bin", sha1(&data[..10])),
        // RANG covered only the HASH after it.
        format!("213 SHA-1 0-{last} {} /data.bin", sha1(&data)),
        "200 MD5".into(),
        format!("250 {}", sha256(&data).to_uppercase()),
        "550 No such file or directory.".into(),
        format!("213 MD5 0-{last} {} /data.bin", md5(&data)),
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want, "{err}");
}
