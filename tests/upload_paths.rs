//! Large uploads on each of their paths: spliced (`splice(2)` through a pipe, once an upload
//! proves large), buffered (`--disable-sendfile`, APPE on an `O_APPEND` file, ASCII mode), in
//! place and atomic, whole and resumed with REST. Every byte must land where it belongs; and
//! the daemon's `--trace` shows that the spliced path really runs.

mod common;
mod xfer;

use std::fs;
use std::time::Duration;

use common::{daemon_args, Ctrl, Proc, TempDir, TestServer};
use xfer::{upload, Pattern};

/// Large enough that reads fill the server's 256 KiB buffer and the upload switches to splice.
const BIG: usize = 24 << 20;

fn binary_login(srv: &TestServer) -> Ctrl {
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c
}

/// STOR, REST+STOR and APPE of large data; checks the file after each.
fn store_resume_append(srv: &TestServer) {
    let p = Pattern::new();
    let data = p.bytes(BIG);
    let path = srv.root().join("big.bin");
    let mut c = binary_login(srv);

    upload(&mut c, "STOR big.bin", &data);
    assert!(fs::read(&path).unwrap() == data, "STOR");

    // Overwrite a longer file: it must end up exactly as long as the new upload.
    let shorter = &data[..BIG - (3 << 20) - 5];
    upload(&mut c, "STOR big.bin", shorter);
    assert!(
        fs::read(&path).unwrap() == shorter,
        "STOR over a longer file"
    );

    // REST + STOR: keep the first 5 MiB + 3 bytes, write the rest from there.
    let keep = (5 << 20) + 3;
    fs::write(&path, &data[..keep + 1000]).unwrap();
    c.expect(&format!("REST {keep}"), 350);
    upload(&mut c, "STOR big.bin", &data[keep..]);
    assert!(fs::read(&path).unwrap() == data, "REST + STOR");

    // APPE: the file is opened O_APPEND, which splice refuses; the buffered path takes it.
    let half = BIG / 2;
    fs::write(&path, &data[..half]).unwrap();
    upload(&mut c, "APPE big.bin", &data[half..]);
    assert!(fs::read(&path).unwrap() == data, "APPE");
}

#[test]
fn large_uploads_land_byte_exact_in_place() {
    store_resume_append(&TestServer::with_user());
}

#[test]
fn large_uploads_land_byte_exact_without_zero_copy() {
    store_resume_append(&TestServer::start(|cfg| cfg.use_sendfile = false));
}

#[test]
fn large_uploads_land_byte_exact_when_atomic() {
    store_resume_append(&TestServer::start(|cfg| cfg.atomic_uploads = true));
}

#[test]
fn large_ascii_uploads_are_converted_on_the_buffered_path() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect("TYPE A", 200);
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    let wire: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() * 200_000)
        .collect();
    upload(&mut c, "STOR text.txt", &wire);
    let got = fs::read(srv.root().join("text.txt")).unwrap();
    let lf_line = b"0123456789abcdefghijklmnopqrstuvwxyz\n";
    assert_eq!(got.len(), lf_line.len() * 200_000);
    assert!(got.chunks(lf_line.len()).all(|l| l == lf_line));
}

#[test]
fn the_daemon_splices_a_large_plain_upload() {
    let dir = TempDir::new("splice");
    let mut args = daemon_args(dir.path(), "127.0.0.1", "u", "p");
    args.push("--trace".into());
    let d = Proc::daemon(&args, &[]);
    let addr = d.expect_addr("listening on ");
    let (mut c, _) = Ctrl::connect(addr);
    c.login("u", "p");
    c.expect("TYPE I", 200);
    let data = Pattern::new().bytes(BIG);
    upload(&mut c, "STOR big.bin", &data);
    assert!(fs::read(dir.path().join("big.bin")).unwrap() == data);
    let seen = d
        .log()
        .wait_for(Duration::from_secs(5), |l| l.contains("data:splicing"));
    assert!(
        seen.is_some(),
        "no data connection went through splice:\n{}",
        d.stderr()
    );
    // A small upload stays on the buffered path (no pipe for 4 KiB).
    let before = d.log().lines().len();
    upload(&mut c, "STOR small.bin", &[7u8; 4096]);
    c.expect("NOOP", 200);
    let later: Vec<String> = d.log().lines().into_iter().skip(before).collect();
    assert!(
        !later.iter().any(|l| l.contains("data:splicing")),
        "a 4 KiB upload spliced: {later:#?}"
    );
}
