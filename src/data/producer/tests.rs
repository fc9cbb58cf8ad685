use super::*;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

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
