//! Byte plumbing of the control connection: the command line reader and the bounded output
//! buffer (the two halves of pyftpdlib's `AsyncChat`).
//!
//! **Lines.** RFC 959 commands end in CRLF; many clients send a bare LF and we accept it too. A
//! line longer than [`MAX_LINE`] bytes is answered `500 Command too long.` once, and the rest of
//! that line is discarded as it arrives, so a flood without newlines cannot grow our memory; the
//! connection lives on. Telnet IAC sequences (RFC 854), which some clients send before ABOR as
//! "Interrupt Process" and "Synch", are stripped from each line. Several commands arriving in one
//! packet (pipelining) come out one by one, in order.
//!
//! **Output.** Replies accumulate in an [`OutBuf`] and are written until the socket says
//! `WouldBlock`; the control connection stops reading commands while the buffer is over its cap,
//! so a client that never reads its replies cannot make the server buffer without limit.

use std::io::{self, Write};

/// Longest accepted command line, terminator excluded (as in most FTP servers).
pub const MAX_LINE: usize = 2048;

/// What [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete command line, terminator and Telnet sequences removed.
    Complete(Vec<u8>),
    /// A line exceeded [`MAX_LINE`]; its remaining bytes will be dropped up to the next LF.
    TooLong,
}

/// Splits an incoming byte stream into command lines.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already consumed.
    start: usize,
    /// Inside an over-long line: drop bytes up to the next LF.
    discarding: bool,
    /// How far from `start` we already looked for a LF (avoids rescanning).
    scanned: usize,
}

impl LineReader {
    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered but not yet returned as lines.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops everything buffered (used after AUTH TLS and REIN-like resets).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        self.discarding = false;
    }

    /// Returns the next complete line, if any.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let window = &self.buf[self.start..];
            match window[self.scanned..].iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    let end = self.scanned + pos;
                    let raw_start = self.start;
                    self.start += end + 1;
                    self.scanned = 0;
                    if self.discarding {
                        self.discarding = false;
                        continue;
                    }
                    if end > MAX_LINE + 1 {
                        return Some(Line::TooLong);
                    }
                    let mut line = self.buf[raw_start..raw_start + end].to_vec();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.len() > MAX_LINE {
                        return Some(Line::TooLong);
                    }
                    self.compact();
                    return Some(Line::Complete(strip_telnet(&line)));
                }
                None => {
                    self.scanned = window.len();
                    if self.discarding {
                        // Throw away the tail of the over-long line as it comes.
                        self.buf.truncate(self.start);
                        self.scanned = 0;
                        self.compact();
                        return None;
                    }
                    if window.len() > MAX_LINE + 1 {
                        self.discarding = true;
                        self.buf.truncate(self.start);
                        self.scanned = 0;
                        self.compact();
                        return Some(Line::TooLong);
                    }
                    self.compact();
                    return None;
                }
            }
        }
    }

    fn compact(&mut self) {
        if self.start > 0 && (self.start == self.buf.len() || self.start > 4096) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.is_empty() && self.buf.capacity() > 16 * 1024 {
            self.buf = Vec::new();
        }
    }
}

/// Telnet "Interpret As Command" byte (RFC 854).
const IAC: u8 = 255;

/// Removes Telnet command sequences (RFC 854) from a command line.
///
/// `IAC IAC` is a literal 255; `IAC WILL/WONT/DO/DONT x` are three bytes; `IAC` followed by
/// another command byte (240–250: SE, NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SB) two. An `IAC`
/// followed by an ordinary byte (below 240) is not a sequence: only the `IAC` goes, the byte
/// stays. Finally, stray command bytes (240–254) before the verb are dropped: a client's
/// "Interrupt Process" and "Synch" (`IAC IP`, `IAC DM`) are partly sent as TCP urgent data,
/// and what reaches the line can be a bare IP or DM without its `IAC`, so `\xF4\xFFABOR` and
/// `\xF2ABOR` are both ABOR.
pub fn strip_telnet(line: &[u8]) -> Vec<u8> {
    let start = line
        .iter()
        .position(|b| !(240..=254).contains(b))
        .unwrap_or(line.len());
    let line = &line[start..];
    if !line.contains(&IAC) {
        return line.to_vec();
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != IAC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            Some(251..=254) => i += 3,
            Some(240..=250) => i += 2,
            _ => i += 1,
        }
    }
    if out.len() < line.len() && out.first().is_some_and(|b| (240..=254).contains(b)) {
        // Stray bytes that only the removal of an IAC brought to the front (`\xF4\xFFABOR`).
        return strip_telnet(&out);
    }
    out
}

/// A write buffer that remembers how much of it the socket already took.
#[derive(Debug, Default)]
pub struct OutBuf {
    buf: Vec<u8>,
    pos: usize,
}

impl OutBuf {
    /// Bytes not yet written.
    pub fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer to append to.
    pub fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes until empty or `WouldBlock` (retrying `Interrupted`). `Ok(true)` when empty.
    pub fn flush_to(&mut self, w: &mut impl Write) -> io::Result<bool> {
        while self.pos < self.buf.len() {
            match w.write(&self.buf[self.pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.clear();
        self.pos = 0;
        if self.buf.capacity() > 64 * 1024 {
            // Give memory back after a big multi-line reply: idle sessions stay small.
            self.buf = Vec::new();
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(r: &mut LineReader) -> Vec<Line> {
        std::iter::from_fn(|| r.next_line()).collect()
    }

    #[test]
    fn crlf_and_bare_lf_and_pipelining() {
        let mut r = LineReader::default();
        r.feed(b"USER a\r\nPASS b\nNOOP\r\nPW");
        assert_eq!(
            lines(&mut r),
            vec![
                Line::Complete(b"USER a".to_vec()),
                Line::Complete(b"PASS b".to_vec()),
                Line::Complete(b"NOOP".to_vec())
            ]
        );
        r.feed(b"D\r\n");
        assert_eq!(lines(&mut r), vec![Line::Complete(b"PWD".to_vec())]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn input_split_at_every_byte() {
        let input = b"CWD /a b\r\nLIST -la\r\nQUIT\r\n";
        for split in 0..input.len() {
            let mut r = LineReader::default();
            let mut got = Vec::new();
            for chunk in [&input[..split], &input[split..]] {
                r.feed(chunk);
                got.extend(lines(&mut r));
            }
            assert_eq!(got.len(), 3, "split at {split}");
            assert_eq!(got[0], Line::Complete(b"CWD /a b".to_vec()));
        }
    }

    #[test]
    fn over_long_line_reported_once_then_discarded() {
        let mut r = LineReader::default();
        let long = vec![b'A'; MAX_LINE + 10];
        r.feed(&long);
        assert_eq!(lines(&mut r), vec![Line::TooLong]);
        r.feed(&long);
        assert_eq!(lines(&mut r), vec![]);
        assert!(r.pending() < MAX_LINE, "discarded bytes are not kept");
        r.feed(b"tail\r\nNOOP\r\n");
        assert_eq!(lines(&mut r), vec![Line::Complete(b"NOOP".to_vec())]);
    }

    #[test]
    fn long_line_in_one_packet_and_exact_cap() {
        let mut r = LineReader::default();
        let mut data = vec![b'B'; MAX_LINE + 1];
        data.extend_from_slice(b"\r\n");
        let mut ok = vec![b'C'; MAX_LINE];
        ok.extend_from_slice(b"\r\n");
        r.feed(&data);
        r.feed(&ok);
        let got = lines(&mut r);
        assert_eq!(got[0], Line::TooLong);
        assert_eq!(got[1], Line::Complete(vec![b'C'; MAX_LINE]));
    }

    #[test]
    fn telnet_sequences_stripped() {
        // IAC IP IAC DM ABOR, as clients send before an abort.
        assert_eq!(strip_telnet(b"\xff\xf4\xff\xf2ABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"\xff\xfb\x01NOOP"), b"NOOP");
        assert_eq!(strip_telnet(b"a\xff\xffb"), b"a\xffb");
        assert_eq!(strip_telnet(b"x\xff"), b"x");
        // IAC before an ordinary byte drops only the IAC.
        assert_eq!(strip_telnet(b"\xffABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"NO\xffOP"), b"NOOP");
        // Stray Telnet command bytes before the verb (a bare IP or DM).
        assert_eq!(strip_telnet(b"\xf4\xffABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"\xf2ABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"\xff\xf4\xf2STAT"), b"STAT");
        assert_eq!(strip_telnet(b"\xf4\xf2"), b"");
        // A 0xF2 after the verb is data (a latin-1 file name), not Telnet.
        assert_eq!(strip_telnet(b"RETR \xf2.txt"), b"RETR \xf2.txt");
    }

    #[test]
    fn outbuf_flushes_partially() {
        struct Slow(Vec<u8>, usize);
        impl Write for Slow {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.1 == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                self.1 -= 1;
                let n = b.len().min(3);
                self.0.extend_from_slice(&b[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut o = OutBuf::default();
        o.buf_mut().extend_from_slice(b"220 hello\r\n");
        let mut w = Slow(Vec::new(), 2);
        assert!(!o.flush_to(&mut w).unwrap_or(true));
        assert_eq!(o.len(), 5);
        w.1 = 10;
        assert!(o.flush_to(&mut w).unwrap_or(false));
        assert_eq!(w.0, b"220 hello\r\n");
    }
}
