use super::*;
use std::io::Write;
use std::net::TcpStream;

use crate::data::testkit::{tcp_pair, temp_file, MemFile, OsTarget};
use crate::fs::WriteFile;

/// A target whose writes fail.
#[derive(Debug)]
struct Broken;

impl Write for Broken {
    fn write(&mut self, _b: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::StorageFull.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteFile for Broken {
    fn set_len(&mut self, _len: u64) -> io::Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
    fn abort(self: Box<Self>) {}
}

#[test]
fn a_memory_chunk_fills_to_its_size_and_writes_out_empty() {
    let data: Vec<u8> = (0..CHUNK_BYTES + 100).map(|i| (i % 251) as u8).collect();
    let mut chunk = Chunk::memory();
    let mut src = &data[..];
    let mut got = 0;
    // A reader hands out what is asked; the chunk never asks for more than its room.
    while !chunk.is_full() {
        got += chunk.read_from(&mut src, 100_000).unwrap();
    }
    assert_eq!(got, CHUNK_BYTES);
    assert_eq!(chunk.len(), CHUNK_BYTES);
    let target = MemFile::default();
    let mut sink = FileSink::new(Box::new(target.clone()), false);
    chunk.write_to(&mut sink).unwrap();
    assert!(chunk.is_empty());
    assert_eq!(chunk.room(), CHUNK_BYTES);
    assert!(target.0.lock().unwrap().bytes == data[..CHUNK_BYTES]);
}

#[test]
fn a_failed_write_leaves_a_spent_chunk() {
    let mut chunk = Chunk::memory();
    chunk.read_from(&mut &b"doomed"[..], 6).unwrap();
    let mut sink = FileSink::new(Box::new(Broken), false);
    let e = chunk.write_to(&mut sink).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::StorageFull);
    assert!(chunk.is_empty() && chunk.is_full(), "{chunk:?}");
}

#[test]
fn the_last_job_writes_then_commits_and_hands_the_sink_back() {
    let target = MemFile::default();
    let mut chunk = Chunk::memory();
    chunk.read_from(&mut &b"tail\r\n"[..], 6).unwrap();
    let sink = FileSink::new(Box::new(target.clone()), true);
    let w = WriteJob {
        sink,
        chunk,
        last: true,
    }
    .run();
    assert!(w.result.is_ok() && w.last && w.chunk.is_empty());
    let seen = target.0.lock().unwrap();
    assert_eq!(
        (seen.bytes.clone(), seen.committed),
        (b"tail\n".to_vec(), true)
    );
}

/// Splices what `rx` has into a pipe chunk until `n` bytes are in (bounded).
fn splice_in(chunk: &mut Chunk, rx: &TcpStream, n: usize) {
    for _ in 0..100_000 {
        if chunk.len() >= n {
            return;
        }
        match chunk.splice_from(rx, n - chunk.len()) {
            Ok(0) => panic!("end of stream at {}", chunk.len()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("splice: {e}"),
        }
    }
    panic!("splice stalled at {}", chunk.len());
}

#[test]
#[cfg(all(target_os = "linux", feature = "sendfile"))]
fn a_pipe_chunk_is_spliced_into_the_file() {
    let (mut tx, rx) = tcp_pair();
    rx.set_nonblocking(true).unwrap();
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    tx.write_all(&data).unwrap();
    let mut chunk = Chunk::pipe().unwrap();
    assert!(chunk.room() >= 4096);
    let want = data.len().min(chunk.room());
    splice_in(&mut chunk, &rx, want);
    let n = chunk.len();
    let (path, file) = temp_file("chunk-splice", false);
    let mut sink = FileSink::new(Box::new(OsTarget(file)), false);
    chunk.write_to(&mut sink).unwrap();
    assert!(chunk.is_pipe() && chunk.is_empty());
    assert!(std::fs::read(&path).unwrap() == data[..n]);
    let _ = std::fs::remove_file(&path);
}

#[test]
#[cfg(all(target_os = "linux", feature = "sendfile"))]
fn a_pipe_chunk_whose_file_refuses_splice_is_written_by_hand_and_turns_to_memory() {
    let (mut tx, rx) = tcp_pair();
    rx.set_nonblocking(true).unwrap();
    tx.write_all(b"hello, appended file").unwrap();
    let mut chunk = Chunk::pipe().unwrap();
    splice_in(&mut chunk, &rx, 20);
    // O_APPEND: splice(2) refuses it with EINVAL.
    let (path, file) = temp_file("chunk-append", true);
    let mut sink = FileSink::new(Box::new(OsTarget(file)), false);
    chunk.write_to(&mut sink).unwrap();
    assert!(!chunk.is_pipe() && chunk.is_empty());
    assert_eq!(chunk.room(), CHUNK_BYTES);
    assert_eq!(std::fs::read(&path).unwrap(), b"hello, appended file");
    let _ = std::fs::remove_file(&path);
}
