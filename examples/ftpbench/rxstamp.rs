//! Kernel receive timestamps on a TCP socket (`SO_TIMESTAMPNS`), for the `stall` probe.
//!
//! Why: the probe's client thread runs on the same cores as the load generator, so the time it
//! sees for a reply includes its own wait for a CPU after the reply arrived. With
//! `SO_TIMESTAMPNS` the kernel stamps each segment when the network stack delivers it to the
//! socket (on loopback: right after the server's `write`, in the server's own system call or in
//! `ksoftirqd`), and `recvmsg` hands the stamp over as a control message. Send time to stamp is
//! the server's part of the latency; stamp to read is the client's wait.
//!
//! The stamps are `CLOCK_REALTIME` (`SystemTime`), so the send time is taken with the same clock.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

/// Asks the kernel to stamp every segment `sock` receives from now on.
pub fn enable(sock: &TcpStream) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid fd, a pointer to a live c_int and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One `recvmsg` into `buf`: the bytes read and, when the kernel attached one, the receive
/// stamp of the newest segment they came from. A read timeout set on `sock` applies.
pub fn recv(sock: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    // Room for one cmsg carrying a timespec, aligned for cmsghdr.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid "no name, no buffers" header; filled in below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers (`buf` through iov, `control`) of the lengths given.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((n as usize, stamp_of(&msg)))
}

/// The `SCM_TIMESTAMPNS` control message of a received `msg`, if there is one.
fn stamp_of(msg: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: msg was filled by recvmsg; the CMSG macros walk only inside msg_control's
    // msg_controllen bytes, and the payload of an SCM_TIMESTAMPNS message is a timespec
    // (read unaligned, as the kernel does not promise its alignment).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                let d = Duration::new(u64::try_from(ts.tv_sec).ok()?, ts.tv_nsec as u32);
                return SystemTime::UNIX_EPOCH.checked_add(d);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}
