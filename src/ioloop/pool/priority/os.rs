//! The system calls behind the workers' and the loops' scheduling classes: Linux's
//! `sched_setscheduler(2)` (not wrapped by rustix, hence the crate's second `unsafe` module),
//! thread ids, `RLIMIT_NICE` and the `/proc` statistics; elsewhere, stand-ins that say no.

pub use imp::*;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    //! Linux: `sched_setscheduler(2)` (not wrapped by rustix), thread ids, `RLIMIT_NICE`.

    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::time::Instant;

    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

    use super::super::{Sample, NICER};

    pub const SUPPORTED: bool = true;

    pub fn tid() -> i32 {
        rustix::thread::gettid().as_raw_nonzero().get()
    }

    /// Moves thread `tid` of this process to the idle class, or back to the normal class.
    pub fn set_idle(tid: i32, idle: bool) -> bool {
        let policy = if idle {
            libc::SCHED_IDLE
        } else {
            libc::SCHED_OTHER
        };
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid, initialised `sched_param` that outlives the call, which
        // only reads it; a wrong or gone `tid` makes the call fail with ESRCH, nothing else.
        unsafe { libc::sched_setscheduler(tid, policy, &param) == 0 }
    }

    pub fn set_fifo() -> std::io::Result<()> {
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: as in `set_idle`; 0 is the calling thread.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Raises `RLIMIT_NICE` to allow nice +[`NICER`] (it counts 20 - nice), if it is lower
    /// and this process may: then a thread can leave the idle class after a privilege drop.
    pub fn raise_nice_limit() {
        let need = u64::try_from(20 - NICER).unwrap_or(15);
        let now = getrlimit(Resource::Nice);
        if now.current.is_none_or(|c| c >= need) {
            return;
        }
        let raised = Rlimit {
            current: Some(need),
            maximum: Some(now.maximum.map_or(need, |m| m.max(need))),
        };
        let _ = setrlimit(Resource::Nice, raised);
    }

    /// True if a thread of this process, at nice +[`NICER`], can leave the idle class: a
    /// throwaway thread enters it and tries (the kernel's own rule, capabilities, limits and
    /// security modules included).
    pub fn can_lift() -> bool {
        let probe = std::thread::Builder::new()
            .name("ftpdlib-probe".into())
            .spawn(|| {
                let _ = rustix::process::nice(NICER);
                let me = tid();
                set_idle(me, true) && set_idle(me, false)
            });
        probe.ok().and_then(|t| t.join().ok()).unwrap_or(false)
    }

    /// Reads a thread's `schedstat` (nanoseconds run, waited, slices) and `stat` (`tid
    /// (name) STATE ...`).
    pub fn read([schedstat, stat]: &[File; 2], at: Instant) -> Option<Sample> {
        let mut buf = [0u8; 512];
        let n = schedstat.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(buf.get(..n)?).ok()?;
        let ran = text.split_ascii_whitespace().next()?.parse().ok()?;
        let n = stat.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(buf.get(..n)?).ok()?;
        let state = text.rsplit_once(')')?.1.trim_start().chars().next()?;
        Some(Sample {
            at,
            ran,
            runnable: state == 'R',
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    //! Elsewhere: no idle class; the workers only lower their nice value.

    use std::fs::File;
    use std::time::Instant;

    use super::super::Sample;

    pub const SUPPORTED: bool = false;

    pub fn tid() -> i32 {
        0
    }

    pub fn set_idle(_tid: i32, _idle: bool) -> bool {
        false
    }

    pub fn raise_nice_limit() {}

    pub fn set_fifo() -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    pub fn can_lift() -> bool {
        false
    }

    pub fn read(_files: &[File; 2], _at: Instant) -> Option<Sample> {
        None
    }
}
