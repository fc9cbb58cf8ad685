//! The write-behind bookkeeping without sockets or threads: jobs are run by the test, in the
//! order the loop would get them back.

use super::*;
use crate::data::testkit::MemFile;
use crate::reply::{Reply, ReplyCode};

fn upload(ascii: bool) -> (WriteBehind, MemFile) {
    let target = MemFile::default();
    let sink = FileSink::new(Box::new(target.clone()), ascii);
    (WriteBehind::new(sink, false), target)
}

/// Puts `data` into the filling chunk, as reads from the socket would.
fn arrive(wb: &mut WriteBehind, data: &[u8]) {
    let n = wb.filling.read_from(&mut &data[..], data.len()).unwrap();
    assert_eq!(n, data.len());
}

fn aborted() -> Option<Outcome> {
    Some(Outcome::Aborted)
}

#[test]
fn one_write_at_a_time_and_the_bytes_land_in_order() {
    let (mut wb, target) = upload(false);
    assert!(wb.next_job().is_none(), "nothing to write yet");
    assert_eq!(wb.name(), "data:receiving");
    arrive(&mut wb, b"first ");
    let job = wb.next_job().expect("the sink is home: the chunk leaves");
    assert!(wb.writing() && wb.filling.is_empty());
    assert_eq!(wb.name(), "data:upload-writing");
    // The loop reads on into the spare chunk, but nothing leaves while the sink is away.
    arrive(&mut wb, b"second ");
    assert!(wb.next_job().is_none());
    wb.came_home(job.run()).unwrap();
    arrive(&mut wb, b"third");
    let job = wb.next_job().expect("home again");
    assert!(!job.last);
    wb.came_home(job.run()).unwrap();
    assert_eq!(target.0.lock().unwrap().bytes, b"first second third");
    assert!(!target.0.lock().unwrap().committed);
}

#[test]
fn the_end_waits_for_the_sink_then_writes_the_rest_and_commits() {
    let (mut wb, target) = upload(true);
    arrive(&mut wb, b"line one\r");
    let job = wb.next_job().unwrap();
    arrive(&mut wb, b"\nline two\r\n");
    wb.end(false);
    assert!(!wb.receiving());
    assert_eq!(wb.name(), "data:upload-committing");
    assert!(wb.next_job().is_none(), "the sink is away");
    wb.came_home(job.run()).unwrap();
    let last = wb.next_job().expect("the last write");
    assert!(last.last);
    assert!(wb.next_job().is_none(), "nothing after the last");
    let w = last.run();
    assert!(w.last);
    wb.came_home(w).unwrap();
    let seen = target.0.lock().unwrap();
    // CRLF split across the two chunks is still one line end.
    assert_eq!(seen.bytes, b"line one\nline two\n");
    assert!(seen.committed && !seen.aborted);
}

#[test]
fn an_empty_last_chunk_still_commits() {
    let (mut wb, target) = upload(false);
    wb.end(false);
    let last = wb.next_job().expect("the commit is a job too");
    assert!(last.last);
    wb.came_home(last.run()).unwrap();
    assert!(target.0.lock().unwrap().committed);
}

#[test]
fn a_stop_writes_what_arrived_then_reports_its_first_outcome() {
    let (mut wb, target) = upload(false);
    arrive(&mut wb, b"kept ");
    let job = wb.next_job().unwrap();
    arrive(&mut wb, b"also kept");
    wb.stop(aborted());
    assert_eq!(wb.name(), "data:upload-stopping");
    // A later stop (a timeout while waiting) does not replace the first outcome.
    wb.stop(Some(Outcome::Failed(Reply::new(
        ReplyCode::TransferAborted,
        "Data connection timed out.",
    ))));
    assert!(wb.stopped().is_none(), "the sink is still away");
    wb.came_home(job.run()).unwrap();
    assert!(wb.stopped().is_none(), "bytes are left to write");
    let job = wb.next_job().expect("what arrived is written");
    assert!(!job.last);
    wb.came_home(job.run()).unwrap();
    let outcome = wb.stopped().expect("done").expect("an outcome");
    assert!(matches!(outcome, Outcome::Aborted), "{outcome:?}");
    wb.abort();
    let seen = target.0.lock().unwrap();
    assert_eq!(seen.bytes, b"kept also kept");
    assert!(seen.aborted && !seen.committed);
}

#[test]
fn a_stop_after_a_failed_write_writes_nothing_more() {
    let (mut wb, target) = upload(false);
    arrive(&mut wb, b"unwritten");
    wb.discard();
    wb.stop(aborted());
    assert!(wb.next_job().is_none());
    assert!(wb.stopped().is_some());
    wb.abort();
    assert!(target.0.lock().unwrap().bytes.is_empty());
}

#[test]
fn a_lost_write_ends_the_wait_without_the_sink() {
    let (mut wb, _target) = upload(false);
    arrive(&mut wb, b"gone");
    let job = wb.next_job().unwrap();
    // The job panicked on a worker: its sink went with it.
    drop(job);
    wb.stop(aborted());
    assert!(wb.stopped().is_none());
    wb.lost();
    assert!(!wb.writing());
    assert!(wb.next_job().is_none());
    assert!(matches!(wb.stopped(), Some(Some(Outcome::Aborted))));
    wb.abort();
}
