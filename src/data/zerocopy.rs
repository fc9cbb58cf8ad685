//! Zero copy with Linux `sendfile(2)` and `splice(2)`: one of the crate's two `unsafe` modules
//! (the other sets the threads' scheduling classes, `ioloop/pool/priority/os.rs`).
//!
//! For a plain binary RETR the kernel can move file pages straight to the socket, without
//! copying them through our buffer. The call is non-blocking on a non-blocking socket: it
//! returns how many bytes it queued, or `WouldBlock` when the socket buffer is full. The data
//! connection falls back to buffered writes if the very first call fails (e.g. a filesystem
//! that does not support it), and never uses it for ASCII mode or TLS.
//!
//! A large plain binary STOR goes the other way through a [`Pipe`]: `splice` moves the
//! received socket pages into the pipe, and a second `splice` writes them into the file, so
//! the bytes are copied once (into the page cache) instead of twice (to our buffer, then to
//! the page cache). Both ends of the pipe are non-blocking. The loop fills a pipe from the
//! socket; a worker of the blocking pool empties it into the file (`writebehind.rs`), so a
//! pipe holds up to [`Pipe::capacity`] bytes between those two steps.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
#[cfg(all(target_os = "linux", feature = "sendfile"))]
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// True when this build can use sendfile.
pub const AVAILABLE: bool = cfg!(all(target_os = "linux", feature = "sendfile"));

/// Sends up to `count` bytes of `file` from `*offset` to `sock`, advancing `*offset`.
/// `Ok(0)` means end of file.
#[cfg(all(target_os = "linux", feature = "sendfile"))]
pub fn send(sock: &impl AsRawFd, file: &File, offset: &mut u64, count: usize) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // owners), `off` is a valid, exclusively borrowed off_t, and sendfile writes nothing else
    // into our memory.
    let n = unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    *offset = u64::try_from(off).unwrap_or(*offset);
    Ok(n.unsigned_abs())
}

/// Stand-in where sendfile is not available: always `Unsupported`, so callers fall back.
#[cfg(not(all(target_os = "linux", feature = "sendfile")))]
pub fn send(
    _sock: &impl AsRawFd,
    _file: &File,
    _offset: &mut u64,
    _count: usize,
) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A kernel pipe for uploads by `splice(2)` (see the module docs). Closed on drop.
#[derive(Debug)]
pub struct Pipe {
    #[cfg(all(target_os = "linux", feature = "sendfile"))]
    read: File,
    #[cfg(all(target_os = "linux", feature = "sendfile"))]
    write: OwnedFd,
    /// The bytes the pipe holds at most (what the kernel granted, not what was asked).
    capacity: usize,
}

impl Pipe {
    /// The bytes the pipe holds at most. (It may take fewer: the kernel counts pages, and a
    /// page spliced from a socket may be partly filled.)
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(all(target_os = "linux", feature = "sendfile"))]
impl Pipe {
    /// A non-blocking pipe, asked to hold `size` bytes (kept at the default 64 KiB if the
    /// system refuses).
    pub fn new(size: usize) -> io::Result<Pipe> {
        let mut fds: [libc::c_int; 2] = [-1, -1];
        // SAFETY: `fds` is a writable array of two ints, which is what pipe2 fills.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are new descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        if let Ok(size) = libc::c_int::try_from(size) {
            // SAFETY: fcntl on a descriptor we own; a failure only leaves the default size.
            unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
        }
        // SAFETY: fcntl on a descriptor we own; it reads nothing of our memory and answers
        // the pipe's size in bytes (or -1).
        let granted = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) };
        Ok(Pipe {
            read: File::from(read),
            write,
            // 4096: the least a pipe holds (one page), should the kernel not say.
            capacity: usize::try_from(granted).unwrap_or(4096).max(4096),
        })
    }

    /// Moves up to `len` received bytes from `sock` into the pipe. `Ok(0)` is the end of the
    /// stream; `WouldBlock` means the socket has nothing now, or (if the pipe holds bytes
    /// already) that the pipe is full.
    pub fn fill_from(&self, sock: &impl AsRawFd, len: usize) -> io::Result<usize> {
        splice(
            sock.as_raw_fd(),
            self.write.as_raw_fd(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    }

    /// Writes the `len` bytes the pipe holds into `file` at its position. On error, also
    /// says how many were written before it.
    pub fn drain_to(&self, file: &File, len: usize) -> Result<(), (usize, io::Error)> {
        let mut moved = 0;
        while moved < len {
            match splice(
                self.read.as_raw_fd(),
                file.as_raw_fd(),
                len - moved,
                libc::SPLICE_F_MOVE,
            ) {
                Ok(0) => return Err((moved, io::ErrorKind::WriteZero.into())),
                Ok(n) => moved += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err((moved, e)),
            }
        }
        Ok(())
    }

    /// Reads bytes out of the pipe, for finishing a chunk by hand when the file refused
    /// `splice`. `WouldBlock` once the pipe is empty.
    pub fn read_out(&self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut &self.read, buf)
    }
}

/// True for the errors with which a file says it does not take `splice(2)` (`EINVAL`,
/// `EOPNOTSUPP`), as opposed to a write error such as a full disk.
pub fn refused_by_file(e: &io::Error) -> bool {
    #[cfg(all(target_os = "linux", feature = "sendfile"))]
    {
        matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EOPNOTSUPP))
    }
    #[cfg(not(all(target_os = "linux", feature = "sendfile")))]
    {
        let _ = e;
        false
    }
}

/// `splice(2)` between two descriptors at their current positions.
#[cfg(all(target_os = "linux", feature = "sendfile"))]
fn splice(from: RawFd, to: RawFd, len: usize, flags: libc::c_uint) -> io::Result<usize> {
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // owners); null offsets mean "use and advance the file position", and splice reads or
    // writes none of our memory.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            flags,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.unsigned_abs())
}

/// Stand-ins where splice is not available: `new` is `Unsupported`, so no upload uses one.
#[cfg(not(all(target_os = "linux", feature = "sendfile")))]
impl Pipe {
    /// Always `Unsupported` here.
    pub fn new(_size: usize) -> io::Result<Pipe> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Never called (no pipe exists).
    pub fn fill_from(&self, _sock: &impl AsRawFd, _len: usize) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Never called (no pipe exists).
    pub fn drain_to(&self, _file: &File, _len: usize) -> Result<(), (usize, io::Error)> {
        Err((0, io::ErrorKind::Unsupported.into()))
    }
    /// Never called (no pipe exists).
    pub fn read_out(&self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests;
