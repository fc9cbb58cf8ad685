//! Two `ftpdlib` daemons serving one root directory, as the nodes of a cluster on shared
//! storage do (without the balancer, which `haproxy.rs` adds): a file uploaded through one node
//! is listed and read through the other; two overlapping uploads of one name leave a mix of
//! both in place but exactly the last one with `--atomic-uploads`; and the temporary names of
//! atomic uploads must not collide between nodes.

mod common;
mod scaleutil;

use std::io::Write;
use std::net::Shutdown;

use common::TempDir;
use scaleutil::client::{tcp_from, Raw};
use scaleutil::daemon::Ftpd;

/// Two daemons on `root` with the `extra` flags.
fn nodes(root: &TempDir, extra: &[&str]) -> [Ftpd; 2] {
    let start = || {
        let mut args = Ftpd::base_args(root.path());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Ftpd::start(&args)
    };
    [start(), start()]
}

fn session(d: &Ftpd) -> Raw {
    let mut c = Raw::greeted(d.addr());
    c.login();
    c.expect("TYPE I", 200);
    c
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn upload_on_one_node_is_listed_and_read_on_the_other() {
    let root = TempDir::new("shared");
    let [a, b] = nodes(&root, &[]);
    let data = pattern(300_000, 1);
    session(&a).upload("both.bin", &data);
    let mut cb = session(&b);
    assert_eq!(cb.download("NLST"), b"both.bin\r\n");
    assert!(cb.download("RETR both.bin") == data);
    cb.expect("DELE both.bin", 250);
    assert_eq!(session(&a).download("NLST"), b"");
}

/// Starts `STOR name` on `c` and returns its data connection, once the server has it.
fn start_upload(c: &mut Raw, name: &str) -> std::net::TcpStream {
    let addr = c.pasv();
    c.expect(&format!("STOR {name}"), 150);
    tcp_from(None, addr).unwrap()
}

/// Node a uploads 200 kB and finishes; then node b, whose upload of the same name started
/// before a's data was sent, sends 50 kB. Returns (a's bytes, b's bytes).
fn overlapping_uploads(a: &Ftpd, b: &Ftpd) -> (Vec<u8>, Vec<u8>) {
    let (x, y) = (pattern(200_000, 2), pattern(50_000, 3));
    let (mut ca, mut cb) = (session(a), session(b));
    let mut da = start_upload(&mut ca, "same.bin");
    let mut db = start_upload(&mut cb, "same.bin");
    // STOR truncates when its transfer starts: wait until b's has (STAT reports it).
    let started = (0..1000).any(|_| cb.expect("STAT", 211).text.contains("Total bytes"));
    assert!(started, "b's transfer never started");
    da.write_all(&x).unwrap();
    da.shutdown(Shutdown::Write).unwrap();
    ca.expect_code(226);
    db.write_all(&y).unwrap();
    db.shutdown(Shutdown::Write).unwrap();
    cb.expect_code(226);
    (x, y)
}

#[test]
fn overlapping_uploads_of_one_name() {
    // In place (the default), the shorter upload overwrites only its own bytes: a mix.
    let root = TempDir::new("shared-inplace");
    let [a, b] = nodes(&root, &[]);
    let (x, y) = overlapping_uploads(&a, &b);
    let got = std::fs::read(root.path().join("same.bin")).unwrap();
    let mixed: Vec<u8> = y.iter().chain(&x[y.len()..]).copied().collect();
    assert!(got == mixed, "in place: {} bytes", got.len());
    // With --atomic-uploads each upload is renamed into place whole: the last one wins.
    let root = TempDir::new("shared-atomic");
    let [a, b] = nodes(&root, &["--atomic-uploads"]);
    let (_x, y) = overlapping_uploads(&a, &b);
    let got = std::fs::read(root.path().join("same.bin")).unwrap();
    assert!(got == y, "atomic: {} bytes", got.len());
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["same.bin"], "no temporary file is left");
}

#[test]
fn atomic_upload_temp_names_do_not_collide_between_nodes() {
    let root = TempDir::new("shared-temp");
    let [_a, b] = nodes(&root, &["--atomic-uploads"]);
    // The temporary file another node with b's pid has open for its first upload of the name.
    let other = format!(".x.bin.{}-0.ftpdlib-part", b.pid());
    std::fs::write(root.path().join(&other), b"partial upload of another node").unwrap();
    session(&b).upload("x.bin", b"mine");
    assert_eq!(std::fs::read(root.path().join("x.bin")).unwrap(), b"mine");
}
