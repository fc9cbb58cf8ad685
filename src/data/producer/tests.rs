use super::*;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

/// An in-memory upload target that records whether it was committed.
#[derive(Debug, Default, Clone)]
struct MemFile(Arc<Mutex<(Vec<u8>, bool)>>);

impl Write for MemFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteFile for MemFile {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.lock().unwrap().0.truncate(len as usize);
        Ok(())
    }
    fn commit(self: Box<Self>) -> io::Result<()> {
        self.0.lock().unwrap().1 = true;
        Ok(())
    }
    fn abort(self: Box<Self>) {}
}

fn temp_file(data: &[u8]) -> File {
    let path = std::env::temp_dir().join(format!(
        "ftpdlib-producer-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let _ = std::fs::remove_file(&path);
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

fn drain(p: &mut dyn Producer, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        if p.fill(&mut out, max).unwrap() == 0 {
            return out;
        }
    }
    panic!("producer never ended");
}

#[test]
fn binary_is_unchanged() {
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let mut p = FileProducer::new(Box::new(temp_file(&data)), false);
    assert_eq!(drain(&mut p, 777), data);
}

#[test]
fn ascii_lf_becomes_crlf_at_every_chunk_size() {
    let data = b"a\nb\r\nc\n\nd\r\n";
    for max in 2..20 {
        let mut p = FileProducer::new(Box::new(temp_file(data)), true);
        assert_eq!(drain(&mut p, max), b"a\r\nb\r\nc\r\n\r\nd\r\n", "max {max}");
    }
}

#[test]
fn ascii_upload_crlf_becomes_lf_split_anywhere() {
    let wire = b"one\r\ntwo\r\n\r\nlone\rcr\r\n";
    for split in 0..wire.len() {
        let target = MemFile::default();
        let mut sink = FileSink::new(Box::new(target.clone()), true);
        sink.write(&wire[..split]).unwrap();
        sink.write(&wire[split..]).unwrap();
        sink.finish().unwrap();
        let (got, committed) = target.0.lock().unwrap().clone();
        assert!(committed);
        assert_eq!(got, b"one\ntwo\n\nlone\rcr\n", "split {split}");
    }
}

#[test]
fn lines_producer_is_lazy_and_complete() {
    let lines = (0..1000).map(|i| format!("line {i}"));
    let mut p = LinesProducer::new(Box::new(lines), crate::config::Encoding::Utf8);
    let mut out = Vec::new();
    p.fill(&mut out, 100).unwrap();
    assert!(
        out.len() < 200,
        "one fill does not format the whole listing"
    );
    let rest = drain(&mut p, 100);
    out.extend(rest);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1000);
    assert!(text.ends_with("line 999\r\n"));
}
