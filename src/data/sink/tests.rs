use super::*;
use crate::data::testkit::MemFile;
use std::sync::{Arc, Mutex};

#[test]
fn ascii_upload_crlf_becomes_lf_split_anywhere() {
    let wire = b"one\r\ntwo\r\n\r\nlone\rcr\r\n";
    for split in 0..wire.len() {
        let target = MemFile::default();
        let mut sink = FileSink::new(Box::new(target.clone()), true);
        sink.write(&wire[..split]).unwrap();
        sink.write(&wire[split..]).unwrap();
        sink.finish().unwrap();
        let seen = target.0.lock().unwrap();
        let (got, committed) = (seen.bytes.clone(), seen.committed);
        assert!(committed);
        assert_eq!(got, b"one\ntwo\n\nlone\rcr\n", "split {split}");
    }
}

/// An upload target that records whether it was aborted.
#[derive(Debug, Default, Clone)]
struct AbortProbe(Arc<Mutex<bool>>);

impl Write for AbortProbe {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteFile for AbortProbe {
    fn set_len(&mut self, _len: u64) -> io::Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
    fn abort(self: Box<Self>) {
        *self.0.lock().unwrap() = true;
    }
}

#[test]
fn a_sink_dropped_unfinished_aborts_and_a_finished_one_does_not() {
    let dropped = AbortProbe::default();
    let mut sink = FileSink::new(Box::new(dropped.clone()), false);
    sink.write(b"half").unwrap();
    drop(sink);
    assert!(
        *dropped.0.lock().unwrap(),
        "the upload's file decides what remains"
    );
    let finished = AbortProbe::default();
    let mut sink = FileSink::new(Box::new(finished.clone()), false);
    sink.finish().unwrap();
    drop(sink);
    assert!(
        !*finished.0.lock().unwrap(),
        "a committed upload stays committed"
    );
}
