use super::*;
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
