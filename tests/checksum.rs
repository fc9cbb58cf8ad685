//! HASH (draft-bryan-ftpext-hash), RANG, OPTS HASH and the legacy XCRC/XMD5/XSHA* commands,
//! over real sockets and with Python's ftplib as the client; and the space commands next to
//! them, AVBL and `--min-free`. The file is the FIPS 180 / RFC
//! 1321 test vector "abc", whose digests are known.

mod common;

use common::TestServer;

const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const ABC_SHA1: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";
const ABC_MD5: &str = "900150983cd24fb0d6963f7d28e17f72";
const ABC_CRC32: &str = "352441c2";

fn server(max: u64) -> TestServer {
    TestServer::start_with_root(|cfg, root| {
        std::fs::write(root.join("abc.txt"), b"abc").unwrap();
        std::fs::write(root.join("xabcx.txt"), b"xabcx").unwrap();
        std::fs::write(root.join("big.bin"), vec![0u8; 4096]).unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();
        cfg.hash_max_size = max;
    })
}

#[test]
fn hash_gives_the_selected_digest_with_the_range_and_the_path() {
    let srv = server(0);
    let mut c = srv.login();
    let feat = c.expect("FEAT", 211);
    assert!(
        feat.lines()
            .iter()
            .any(|l| l.trim() == "HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32"),
        "{feat:?}"
    );
    let r = c.expect("HASH abc.txt", 213);
    assert_eq!(r.text, format!("SHA-256 0-2 {ABC_SHA256} /abc.txt"));
    assert_eq!(c.expect("OPTS HASH", 200).text, "SHA-256");
    assert_eq!(c.expect("OPTS HASH md5", 200).text, "MD5");
    assert_eq!(
        c.expect("HASH abc.txt", 213).text,
        format!("MD5 0-2 {ABC_MD5} /abc.txt")
    );
    let feat = c.expect("FEAT", 211);
    assert!(feat.lines().iter().any(|l| l.contains("MD5*")), "{feat:?}");
    c.expect("OPTS HASH SHA-3", 504);
    assert_eq!(c.expect("OPTS HASH", 200).text, "MD5");
}

#[test]
fn rang_selects_octets_first_to_last_for_the_next_hash_only() {
    let srv = server(0);
    let mut c = srv.login();
    c.expect("OPTS HASH SHA-1", 200);
    c.expect("RANG 1 3", 350);
    let r = c.expect("HASH xabcx.txt", 213);
    assert_eq!(r.text, format!("SHA-1 1-3 {ABC_SHA1} /xabcx.txt"));
    // The range was used up: the whole file now.
    assert!(c
        .expect("HASH xabcx.txt", 213)
        .text
        .starts_with("SHA-1 0-4 "));
    c.expect("RANG 2 9", 350);
    c.expect("HASH xabcx.txt", 501);
    c.expect("RANG 3 1", 501);
    c.expect("RANG 1 3", 350);
    c.expect("RANG 1 0", 350);
    assert!(c
        .expect("HASH xabcx.txt", 213)
        .text
        .starts_with("SHA-1 0-4 "));
}

#[test]
fn the_legacy_commands_answer_as_proftpd_does() {
    let srv = server(0);
    let mut c = srv.login();
    assert_eq!(c.expect("XCRC abc.txt", 250).text, ABC_CRC32.to_uppercase());
    assert_eq!(c.expect("XMD5 abc.txt", 250).text, ABC_MD5.to_uppercase());
    assert_eq!(c.expect("XSHA1 abc.txt", 250).text, ABC_SHA1.to_uppercase());
    assert_eq!(
        c.expect("XSHA256 abc.txt", 250).text,
        ABC_SHA256.to_uppercase()
    );
    assert_eq!(c.expect("XSHA512 abc.txt", 250).text.len(), 128);
    // start and end (exclusive), or start alone: the same three octets of "xabcx".
    assert_eq!(
        c.expect("XMD5 xabcx.txt 1 4", 250).text,
        ABC_MD5.to_uppercase()
    );
    assert_eq!(c.expect("XMD5 abc.txt 0", 250).text, ABC_MD5.to_uppercase());
    c.expect("XMD5 abc.txt 2 1", 501);
}

#[test]
fn errors_are_550_for_what_is_not_a_readable_file_and_for_files_over_the_limit() {
    let srv = server(1024);
    let mut c = srv.login();
    c.expect("HASH missing.txt", 550);
    c.expect("HASH dir", 550);
    c.expect("XCRC missing.txt", 550);
    let r = c.expect("HASH big.bin", 550);
    assert!(r.text.contains("1024"), "{r:?}");
    c.expect("HASH abc.txt", 213);
    let mut anon = srv.connect();
    anon.expect("USER anonymous", 331);
    anon.expect("PASS x", 230);
    anon.expect("HASH abc.txt", 213);
    let mut nobody = srv.connect();
    nobody.expect("HASH abc.txt", 530);
}

#[test]
fn python_ftplib_reads_the_hash_reply() {
    if !common::require_tool("python3") {
        return;
    }
    let srv = server(0);
    let script = format!(
        r#"
import ftplib, hashlib
f = ftplib.FTP()
f.connect("127.0.0.1", {port}, timeout=10)
f.login("user", "pass")
reply = f.sendcmd("HASH abc.txt")
code, algo, rng, digest, path = reply.split(" ", 4)
assert (code, algo, rng, path) == ("213", "SHA-256", "0-2", "/abc.txt"), reply
assert digest == hashlib.sha256(b"abc").hexdigest(), reply
print("OK")
f.quit()
"#,
        port = srv.addr().port()
    );
    let stdout = common::run_python(&script);
    assert!(stdout.contains("OK"), "{stdout}");
}

/// AVBL reports what the filesystem under the root has free (as `df` would, within what
/// other writers change meanwhile), and `--min-free` refuses uploads with 452 below it.
#[test]
fn avbl_and_min_free() {
    let srv = server(0);
    let mut c = srv.login();
    let feat = c.expect("FEAT", 211);
    assert!(feat.lines().iter().any(|l| l.trim() == "AVBL"), "{feat:?}");
    let free: u64 = c.expect("AVBL", 213).text.parse().unwrap();
    assert!(free > 0);
    c.expect("AVBL dir", 213);
    c.expect("AVBL missing", 550);

    // A minimum no disk here can meet: uploads are refused, before any data connection.
    let full = TestServer::start(|cfg| cfg.min_free = ftpdlib::MinFree::Percent(100));
    let mut c = full.login();
    c.expect("PASV", 227);
    let r = c.expect("STOR new.bin", 452);
    assert!(r.text.contains("Insufficient storage"), "{r:?}");
    c.expect("STOU", 452);
    assert!(!full.root().join("new.bin").exists());
    let fine = TestServer::start(|cfg| cfg.min_free = ftpdlib::MinFree::Bytes(1));
    let mut c = fine.login();
    c.expect("PASV", 227);
    c.expect("STOR new.bin", 150);
}
