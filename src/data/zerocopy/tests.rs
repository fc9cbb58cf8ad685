use super::*;
use crate::data::testkit::{tcp_pair, temp_file};
use std::io::{Read, Write};
use std::net::TcpStream;

/// Moves everything `from` sends into `file` through the pipe; returns the bytes moved.
/// Bounded: 20 s at most.
fn splice_all(pipe: &Pipe, from: &TcpStream, file: &File) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut total = 0;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "splice stalled at {total}"
        );
        match pipe.fill_from(from, 64 * 1024) {
            Ok(0) => return total,
            Ok(n) => {
                pipe.drain_to(file, n).unwrap();
                total += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("splice from the socket: {e}"),
        }
    }
}

#[test]
#[cfg(all(target_os = "linux", feature = "sendfile"))]
fn socket_bytes_reach_the_file_in_order() {
    let (mut tx, rx) = tcp_pair();
    rx.set_nonblocking(true).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sent = data.clone();
    let writer = std::thread::spawn(move || tx.write_all(&sent).unwrap());
    let (path, file) = temp_file("zerocopy-order", false);
    let pipe = Pipe::new(256 * 1024).unwrap();
    let n = splice_all(&pipe, &rx, &file);
    writer.join().unwrap();
    assert_eq!(n, data.len());
    assert!(std::fs::read(&path).unwrap() == data);
    let _ = std::fs::remove_file(&path);
}

#[test]
#[cfg(all(target_os = "linux", feature = "sendfile"))]
fn a_file_that_refuses_splice_leaves_the_bytes_readable_from_the_pipe() {
    let (mut tx, rx) = tcp_pair();
    tx.write_all(b"hello, pipe").unwrap();
    drop(tx);
    let (path, file) = temp_file("zerocopy-append", true);
    let pipe = Pipe::new(64 * 1024).unwrap();
    let mut n = 0;
    for _ in 0..1000 {
        match pipe.fill_from(&rx, 1024) {
            Ok(got) => {
                n = got;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(n, 11);
    let (done, err) = pipe.drain_to(&file, n).unwrap_err();
    assert_eq!(done, 0);
    assert!(refused_by_file(&err), "{err}");
    let mut buf = [0u8; 64];
    assert_eq!(pipe.read_out(&mut buf).unwrap(), 11);
    assert_eq!(&buf[..11], b"hello, pipe");
    // Empty now: non-blocking, never a hang.
    let again = pipe.read_out(&mut buf).unwrap_err();
    assert_eq!(again.kind(), io::ErrorKind::WouldBlock);
    let mut rest = Vec::new();
    (&rx).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let _ = std::fs::remove_file(&path);
}

#[test]
#[cfg(all(target_os = "linux", feature = "sendfile"))]
fn a_pipe_says_how_much_it_holds() {
    let pipe = Pipe::new(256 * 1024).unwrap();
    // The kernel grants whole pages (at most /proc/sys/fs/pipe-max-size, 1 MiB by default).
    let cap = pipe.capacity();
    assert!(cap >= 4096 && cap % 4096 == 0, "{cap}");
}
