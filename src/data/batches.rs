//! Listings made off the loop, one batch ahead of the socket.
//!
//! A LIST of a 10,000-entry directory needs 10,000 `lstat` calls and as many formatted lines:
//! tens of milliseconds in all, and on a slow disk far more. Made on the loop, in the data
//! connection's callbacks, that time is taken from every other session. So a producer that
//! says it may block ([`Producer::may_block`]: the listings) is driven from the blocking-work
//! pool instead: the producer itself (it is `Send`) travels to a worker, fills one batch of
//! up to [`CHUNK`] bytes there, and comes back with it in a message (`Msg::Batch`). The data
//! connection sends one batch while the pool makes the next, so the socket rarely waits and the
//! loop never formats a line.
//!
//! [`Batches`] is the bookkeeping of that exchange; the data connection calls it from its send
//! loop and its message handler.

use std::io;

use super::producer::Producer;
use super::CHUNK;
use crate::msg::{Cx, Msg};

/// What the send loop should do when its buffer is empty.
#[derive(Debug)]
pub(super) enum Next {
    /// Send these bytes.
    Bytes(Vec<u8>),
    /// A batch is being made: wait for its message.
    Wait,
    /// The producer is exhausted and everything was handed out: the transfer is complete.
    Done,
}

/// A pooled producer and the batch made ahead.
#[derive(Debug)]
pub(super) struct Batches {
    /// The producer, while no batch is being made with it (`None`: on a worker).
    producer: Option<Box<dyn Producer>>,
    /// A batch that arrived before the buffer was empty.
    ahead: Option<Vec<u8>>,
    /// The producer said it is exhausted.
    eof: bool,
}

impl Batches {
    /// Starts making the first batch at once.
    pub fn start(producer: Box<dyn Producer>, cx: &mut Cx<'_>) -> Batches {
        let mut b = Batches {
            producer: Some(producer),
            ahead: None,
            eof: false,
        };
        b.request(cx);
        b
    }

    /// The send loop's buffer is empty: the next bytes, or why there are none. Taking a batch
    /// starts the next one.
    pub fn next(&mut self, cx: &mut Cx<'_>) -> Next {
        if let Some(bytes) = self.ahead.take() {
            self.request(cx);
            return Next::Bytes(bytes);
        }
        if self.eof && self.producer.is_some() {
            Next::Done
        } else {
            self.request(cx);
            Next::Wait
        }
    }

    /// A batch came back from the pool. `Err` ends the transfer.
    pub fn arrived(
        &mut self,
        producer: Box<dyn Producer>,
        batch: io::Result<Vec<u8>>,
    ) -> io::Result<()> {
        self.producer = Some(producer);
        let bytes = batch?;
        if bytes.is_empty() {
            self.eof = true;
        } else {
            self.ahead = Some(bytes);
        }
        Ok(())
    }

    /// Sends the producer to a worker for one batch, unless it is there already, a batch is
    /// waiting, or it is exhausted.
    fn request(&mut self, cx: &mut Cx<'_>) {
        if self.eof || self.ahead.is_some() {
            return;
        }
        let Some(mut producer) = self.producer.take() else {
            return;
        };
        cx.offload(
            move || {
                let mut out = Vec::with_capacity(CHUNK);
                let batch = producer.fill(&mut out, CHUNK).map(|_| out);
                Msg::Batch(Box::new((producer, batch)))
            },
            Msg::BatchLost,
        );
    }
}
