//! File transfers over real data connections, checked byte for byte against the disk: passive
//! (PASV, EPSV) and active (PORT, EPRT) modes, binary and ASCII (line ends converted both ways,
//! also across the server's chunk boundaries), REST resume for downloads and uploads, APPE,
//! STOU, the 125/150/425 openings, and an upload whose data connection never comes (the old
//! file must survive). IPv6 (EPSV, EPRT on ::1) runs when ::1 can be bound.

mod common;
mod xfer;

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::time::Duration;

use common::{Ctrl, TestServer};
use xfer::{CtrlExt, Pattern};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn binary_session() -> (TestServer, Ctrl) {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect_line("TYPE I", "200 Type set to: Binary.");
    (srv, c)
}

#[test]
fn passive_binary_round_trip_keeps_every_byte() {
    let (srv, mut c) = binary_session();
    let data = Pattern::new().bytes(300_000);
    xfer::upload(&mut c, "STOR bin.dat", &data);
    assert_eq!(fs::read(srv.root().join("bin.dat")).unwrap(), data);
    assert_eq!(xfer::download(&mut c, "RETR bin.dat"), data);
    // An empty file is a transfer too.
    xfer::upload(&mut c, "STOR empty", b"");
    assert_eq!(fs::metadata(srv.root().join("empty")).unwrap().len(), 0);
    assert_eq!(xfer::download(&mut c, "RETR empty"), b"");
}

#[test]
fn epsv_round_trip() {
    let (srv, mut c) = binary_session();
    let data = Pattern::new().bytes(70_000);
    let addr = xfer::epsv(&mut c, LOCALHOST);
    c.expect("STOR e.bin", 150);
    let mut s = xfer::connect(addr);
    s.write_all(&data).unwrap();
    drop(s);
    c.expect_line_reply("226 Transfer complete.");
    assert_eq!(fs::read(srv.root().join("e.bin")).unwrap(), data);
    let addr = xfer::epsv(&mut c, LOCALHOST);
    c.expect("RETR e.bin", 150);
    assert_eq!(xfer::read_all(&mut xfer::connect(addr), 1 << 20), data);
    c.expect_line_reply("226 Transfer complete.");
}

/// PORT or EPRT to a listener of the test; the server connects and both directions work.
fn active_round_trip(eprt: bool) {
    let (srv, mut c) = binary_session();
    let data = Pattern::new().bytes(200_000);
    let cmd = |l: &std::net::TcpListener| {
        let addr = l.local_addr().unwrap();
        match eprt {
            true => format!("EPRT {}", xfer::eprt_arg(addr)),
            false => format!("PORT {}", xfer::port_arg(addr)),
        }
    };
    let l = xfer::active_listener(LOCALHOST);
    c.expect_line(&cmd(&l), "200 Active data connection established.");
    let mut s = xfer::accept(&l);
    c.expect_line(
        "STOR act.bin",
        "125 Data connection already open. Transfer starting.",
    );
    s.write_all(&data).unwrap();
    drop(s);
    c.expect_line_reply("226 Transfer complete.");
    assert_eq!(fs::read(srv.root().join("act.bin")).unwrap(), data);

    let l = xfer::active_listener(LOCALHOST);
    c.expect(&cmd(&l), 200);
    let mut s = xfer::accept(&l);
    c.expect("RETR act.bin", 125);
    assert_eq!(xfer::read_all(&mut s, 1 << 20), data);
    c.expect_line_reply("226 Transfer complete.");
}

#[test]
fn active_mode_with_port() {
    active_round_trip(false);
}

#[test]
fn active_mode_with_eprt() {
    active_round_trip(true);
}

/// Text with LF line ends, plus "\r\n" at 65535/65536 and an LF at 131071: the server reads
/// files in 32 KiB slices in ASCII mode, so both land on slice boundaries.
fn text_file() -> Vec<u8> {
    let mut data: Vec<u8> = (0..140_000u32)
        .map(|i| {
            if i % 97 == 96 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    data[65535] = b'\r';
    data[65536] = b'\n';
    data[131070] = b'x';
    data[131071] = b'\n';
    data
}

#[test]
fn ascii_download_turns_lf_into_crlf_across_chunk_boundaries() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    let data = text_file();
    fs::write(srv.root().join("t.txt"), &data).unwrap();
    c.expect_line("TYPE A", "200 Type set to: ASCII.");
    let got = xfer::download(&mut c, "RETR t.txt");
    assert_eq!(got.len(), xfer::ascii_wire(&data).len());
    assert!(got == xfer::ascii_wire(&data), "ASCII download differs");
    // The CRLF already in the file, split between two reads, was not doubled.
    assert!(!got.windows(3).any(|w| w == b"\r\r\n"));
    // The same file in binary mode is sent as it is.
    c.expect("TYPE I", 200);
    assert!(xfer::download(&mut c, "RETR t.txt") == data);
}

#[test]
fn ascii_upload_turns_crlf_into_lf_even_when_split_between_reads() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    let mut wire = xfer::ascii_wire(&text_file());
    wire.extend_from_slice(b"lone\rcr\r\n");
    // The first part ends with the CR of a CRLF; the LF is sent only once the server has
    // consumed (STAT says so) everything before it, so its reads split the pair.
    let split = (65_535..wire.len()).find(|&i| wire[i] == b'\r').unwrap() + 1;
    let addr = xfer::pasv(&mut c);
    c.expect("STOR up.txt", 150);
    let mut s = xfer::connect(addr);
    s.write_all(&wire[..split]).unwrap();
    xfer::wait_transferred(&mut c, split as u64);
    s.write_all(&wire[split..]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    c.expect_line_reply("226 Transfer complete.");
    // Every CRLF became LF; the lone CR is data and stays.
    let mut expected = text_file();
    expected.remove(65535);
    expected.extend_from_slice(b"lone\rcr\n");
    let got = fs::read(srv.root().join("up.txt")).unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "ASCII upload differs");
}

#[test]
fn rest_resumes_a_download_once() {
    let (srv, mut c) = binary_session();
    let data = Pattern::new().bytes(100_000);
    fs::write(srv.root().join("r.bin"), &data).unwrap();
    c.expect_line("REST 40000", "350 Restarting at position 40000.");
    assert!(xfer::download(&mut c, "RETR r.bin") == data[40_000..]);
    // The offset applies to one transfer only.
    assert!(xfer::download(&mut c, "RETR r.bin") == data);
    // At exactly the end: nothing left to send.
    c.expect("REST 100000", 350);
    assert_eq!(xfer::download(&mut c, "RETR r.bin"), b"");
}

#[test]
fn rest_resumes_an_upload_at_the_offset() {
    let (srv, mut c) = binary_session();
    let path = srv.root().join("partial.bin");
    fs::write(&path, b"0123456789").unwrap();
    c.expect("REST 4", 350);
    xfer::upload(&mut c, "STOR partial.bin", b"abc");
    assert_eq!(fs::read(&path).unwrap(), b"0123abc");
    // STOR without REST replaces the whole file.
    xfer::upload(&mut c, "STOR partial.bin", b"new");
    assert_eq!(fs::read(&path).unwrap(), b"new");
    // Past the end of the file: refused, and the file is left alone.
    c.expect("PASV", 227);
    c.expect("REST 100", 350);
    c.expect_line(
        "STOR partial.bin",
        "554 Invalid REST parameter: position (100) > file size (3).",
    );
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

#[test]
fn rest_past_the_end_or_in_ascii_mode_is_refused() {
    let (srv, mut c) = binary_session();
    fs::write(srv.root().join("small"), b"12345").unwrap();
    c.expect("PASV", 227);
    c.expect("REST 6", 350);
    c.expect_line(
        "RETR small",
        "554 Invalid REST parameter: position (6) > file size (5).",
    );
    c.expect_line("REST x", "501 Invalid parameter.");
    c.expect("TYPE A", 200);
    c.expect_line(
        "REST 1",
        "501 Resuming transfers not allowed in ASCII mode.",
    );
    // The refused offset was consumed: a plain download sends the whole file.
    c.expect("TYPE I", 200);
    assert_eq!(xfer::download(&mut c, "RETR small"), b"12345");
}

#[test]
fn appe_appends_and_creates() {
    let (srv, mut c) = binary_session();
    fs::write(srv.root().join("log.txt"), b"hello ").unwrap();
    xfer::upload(&mut c, "APPE log.txt", b"world");
    assert_eq!(
        fs::read(srv.root().join("log.txt")).unwrap(),
        b"hello world"
    );
    xfer::upload(&mut c, "APPE new.txt", b"first");
    assert_eq!(fs::read(srv.root().join("new.txt")).unwrap(), b"first");
}

#[test]
fn stou_stores_under_a_new_name_and_says_which() {
    let (srv, mut c) = binary_session();
    fs::write(srv.root().join("report"), b"old").unwrap();
    let mut names = Vec::new();
    for body in [&b"one"[..], b"two"] {
        let prelim = xfer::upload(&mut c, "STOU report", body);
        let name = prelim.text.strip_prefix("FILE: ").unwrap().to_owned();
        assert_ne!(name, "report", "an existing file must not be reused");
        assert_eq!(fs::read(srv.root().join(&name)).unwrap(), body);
        names.push(name);
    }
    assert_ne!(names[0], names[1]);
    assert_eq!(fs::read(srv.root().join("report")).unwrap(), b"old");
    // Without an argument the server picks the whole name.
    let prelim = xfer::upload(&mut c, "STOU", b"three");
    let name = prelim.text.strip_prefix("FILE: ").unwrap();
    assert_eq!(fs::read(srv.root().join(name)).unwrap(), b"three");
}

#[test]
fn a_passive_connection_made_early_is_taken_when_the_command_comes() {
    let (srv, mut c) = binary_session();
    fs::write(srv.root().join("f"), b"content").unwrap();
    let addr = xfer::pasv(&mut c);
    let mut s = xfer::connect(addr);
    // Connected, but left in the accept queue: nothing needs it before the command.
    c.expect("NOOP", 200);
    let stat = c.expect("STAT", 211);
    assert!(
        stat.lines()
            .iter()
            .any(|l| l.trim() == "Passive data channel waiting for connection."),
        "{stat:?}"
    );
    c.expect_line(
        "RETR f",
        "150 File status okay. About to open data connection.",
    );
    assert_eq!(xfer::read_all(&mut s, 1024), b"content");
    c.expect_line_reply("226 Transfer complete.");
}

#[test]
fn transfer_without_pasv_or_port_is_425() {
    let (srv, mut c) = binary_session();
    fs::write(srv.root().join("f"), b"x").unwrap();
    for cmd in ["RETR f", "STOR g", "APPE g", "STOU", "LIST", "NLST", "MLSD"] {
        c.expect_line(cmd, "425 Use PORT or PASV first.");
    }
    // A data connection serves one transfer: the next one needs a new PASV.
    xfer::download(&mut c, "RETR f");
    c.expect_line("RETR f", "425 Use PORT or PASV first.");
}

#[test]
fn retr_of_a_missing_file_or_a_directory_is_550_and_keeps_the_channel() {
    let (srv, mut c) = binary_session();
    fs::create_dir(srv.root().join("dir")).unwrap();
    fs::write(srv.root().join("f"), b"kept").unwrap();
    let addr = xfer::pasv(&mut c);
    c.expect("RETR missing", 550);
    c.expect("RETR dir", 550);
    // The refused commands did not use up the passive channel.
    c.expect("RETR f", 150);
    assert_eq!(xfer::read_all(&mut xfer::connect(addr), 1024), b"kept");
    c.expect_line_reply("226 Transfer complete.");
}

#[test]
fn upload_refused_with_425_creates_no_file() {
    let (srv, mut c) = binary_session();
    c.expect_line("STOR g", "425 Use PORT or PASV first.");
    c.expect_line("APPE h", "425 Use PORT or PASV first.");
    c.expect_line("STOU", "425 Use PORT or PASV first.");
    let left: Vec<_> = fs::read_dir(srv.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "refused uploads left files behind: {left:?}"
    );
}

#[test]
fn stor_whose_data_connection_never_comes_leaves_the_file_intact() {
    let srv = TestServer::start(|cfg| cfg.passive_timeout = Some(Duration::from_millis(300)));
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let path = srv.root().join("existing.txt");
    fs::write(&path, b"precious data").unwrap();
    c.expect("PASV", 227);
    c.expect("STOR existing.txt", 150);
    // Never connect: the server gives up after passive_timeout.
    c.expect_line_reply("425 Can't open data connection: passive data connection timed out.");
    assert_eq!(fs::read(&path).unwrap(), b"precious data");
    // ABOR before the data connection comes does not truncate either.
    c.expect("PASV", 227);
    c.expect("STOR existing.txt", 150);
    c.expect_line("ABOR", "426 Transfer aborted via ABOR.");
    c.expect_line_reply("226 ABOR command successful.");
    assert_eq!(fs::read(&path).unwrap(), b"precious data");
    c.expect("NOOP", 200);
}

#[test]
fn ipv6_epsv_and_eprt_work_and_ipv4_only_forms_are_refused() {
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0);
    let srv = match xfer::ServerAt::start(v6, |_| {}) {
        Ok(srv) => srv,
        Err(e) => {
            common::require(false, &format!("cannot bind [::1]:0 ({e})"));
            return;
        }
    };
    let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let data = Pattern::new().bytes(50_000);
    let addr = xfer::epsv(&mut c, ip);
    c.expect("STOR six.bin", 150);
    let mut s = xfer::connect(addr);
    s.write_all(&data).unwrap();
    drop(s);
    c.expect_line_reply("226 Transfer complete.");
    assert_eq!(fs::read(srv.root().join("six.bin")).unwrap(), data);

    let l = xfer::active_listener(ip);
    let arg = xfer::eprt_arg(l.local_addr().unwrap());
    assert!(arg.starts_with("|2|::1|"), "{arg}");
    c.expect_line(
        &format!("EPRT {arg}"),
        "200 Active data connection established.",
    );
    let mut s = xfer::accept(&l);
    c.expect("RETR six.bin", 125);
    assert_eq!(xfer::read_all(&mut s, 1 << 20), data);
    c.expect_line_reply("226 Transfer complete.");

    c.expect("EPSV 2", 229);
    c.expect_line("EPSV 1", "522 Network protocol not supported (use 2).");
    c.expect_line(
        "PASV",
        "425 PASV is IPv4 only on this connection; use EPSV.",
    );
    c.expect_line(
        "EPRT |1|127.0.0.1|2000|",
        "522 Network protocol not supported (use 2).",
    );
}
