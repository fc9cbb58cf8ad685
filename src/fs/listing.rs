//! Text formats for directory listings and timestamps: LIST, MLSD/MLST, MDTM and MFMT.
//!
//! These are pure functions of a [`FileStat`] and, where needed, the current time passed
//! in by the caller, so they can be tested without a disk or a clock.
//!
//! * LIST (RFC 959) has no defined format; clients parse Unix `ls -l` output, so
//!   [`ls_line`] imitates it like proftpd and pyftpdlib do (and SYST says `UNIX Type: L8`).
//!   The date shows `HH:MM` for files modified in the last six months and the year
//!   otherwise (or if the date lies in the future).
//! * MLSD/MLST (RFC 3659 §7) are machine-readable: `fact=value;... name`, with times
//!   always in UTC as `YYYYMMDDHHMMSS`. [`Facts`] tracks which facts the client enabled
//!   with `OPTS MLST`.
//! * MDTM replies and MFMT arguments use the same `YYYYMMDDHHMMSS[.fff]` time-val.
//!
//! The rule enforced everywhere: a file name must never break a reply into extra lines,
//! so every formatter passes names through [`escape_name`] (CR and LF become `\r`, `\n`).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, Utc};

use super::{FileKind, FileStat};

/// Files older than this (or dated in the future) show a year instead of a time in LIST.
pub const SIX_MONTHS: Duration = Duration::from_secs(180 * 24 * 60 * 60);

/// File type bits of `st_mode` and the values they can take.
const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFIFO: u32 = 0o010_000;

/// Makes a name safe to put on one line: `"\r"` becomes `\r` and `"\n"` becomes `\n`
/// (a backslash and a letter), so a crafted file name cannot inject reply lines.
pub fn escape_name(name: &str) -> String {
    if !name.contains(['\r', '\n']) {
        return name.to_owned();
    }
    name.replace('\r', "\\r").replace('\n', "\\n")
}

/// Converts to UTC without panicking; times beyond chrono's range are clamped.
fn to_utc(t: SystemTime) -> DateTime<Utc> {
    let (secs, nanos) = super::unix_time(t);
    // Keep two days inside chrono's range, so that adding a local-time offset can never
    // overflow (a file with an absurd mtime must not panic the loop).
    let margin = 2 * 86_400;
    let lo = DateTime::<Utc>::MIN_UTC.timestamp() + margin;
    let hi = DateTime::<Utc>::MAX_UTC.timestamp() - margin;
    let clamped = secs.clamp(lo, hi);
    let nanos = if clamped == secs { nanos } else { 0 };
    DateTime::from_timestamp(clamped, nanos).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The wall-clock time to display: UTC, or the server's local zone (honours `TZ`).
fn wall_clock(t: SystemTime, localtime: bool) -> NaiveDateTime {
    let utc = to_utc(t);
    if localtime {
        utc.with_timezone(&Local).naive_local()
    } else {
        utc.naive_utc()
    }
}

/// The ten-character `ls -l` mode string, e.g. `drwxr-xr-x` or `-rwsr-x--T`.
///
/// The type letter comes from `kind`; for [`FileKind::Other`] the type bits of `mode`
/// pick `p`, `s`, `c` or `b`. Setuid, setgid and sticky show as `s`/`S` and `t`/`T`
/// (lowercase when the underlying execute bit is also set).
pub fn mode_string(kind: FileKind, mode: u32) -> String {
    let type_char = match kind {
        FileKind::File => '-',
        FileKind::Dir => 'd',
        FileKind::Symlink => 'l',
        FileKind::Other => match mode & S_IFMT {
            S_IFIFO => 'p',
            S_IFSOCK => 's',
            S_IFCHR => 'c',
            S_IFBLK => 'b',
            S_IFDIR => 'd',
            S_IFLNK => 'l',
            _ => '?',
        },
    };
    let mut out = String::with_capacity(10);
    out.push(type_char);
    // (shift of the rwx triplet, special bit, letter for the special bit)
    for (shift, special, letter) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        out.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        let exec = bits & 0o1 != 0;
        out.push(match (mode & special != 0, exec) {
            (true, true) => letter,
            (true, false) => letter.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// One `ls -l` style LIST line, without the line terminator:
/// `-rw-r--r--   1 1000     1000         1234 Jan 05 14:30 name`.
///
/// Owner and group are numeric ids. The date shows `Mon DD HH:MM` if the file was
/// modified at most 180 days (`SIX_MONTHS`) before `now`, and `Mon DD  YYYY` if it is older or
/// in the future. Times are UTC unless `localtime`. The name is escaped.
pub fn ls_line(name: &str, st: &FileStat, now: SystemTime, localtime: bool) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let recent = match now.duration_since(st.mtime) {
        Ok(age) => age <= SIX_MONTHS,
        Err(_) => false, // in the future
    };
    // Hand-formatted: this runs once per entry of a listing (a format string would be
    // parsed again for every line).
    let t = wall_clock(st.mtime, localtime);
    let month = MONTHS[t.month0() as usize % 12];
    let mut line = String::with_capacity(64 + name.len());
    let _ = write!(
        line,
        "{} {:>3} {:<8} {:<8} {:>8} {month} {:02} ",
        mode_string(st.kind, st.mode),
        st.nlink,
        st.uid,
        st.gid,
        st.size,
        t.day()
    );
    let _ = if recent {
        write!(line, "{:02}:{:02}", t.hour(), t.minute())
    } else {
        write!(line, " {}", t.year())
    };
    line.push(' ');
    line.push_str(&escape_name(name));
    line
}

/// An MDTM time-val `YYYYMMDDHHMMSS` (RFC 3659 §2.3); UTC unless `localtime`.
pub fn mdtm(t: SystemTime, localtime: bool) -> String {
    wall_clock(t, localtime).format("%Y%m%d%H%M%S").to_string()
}

/// Parses an MFMT time-val: 14 digits `YYYYMMDDHHMMSS`, optionally `.` and a decimal
/// fraction of a second, always interpreted as UTC (RFC 3659 §2.3).
///
/// Returns `None` for anything else, including out-of-range fields (month 13, day 31
/// in April, hour 24). A leap second (`60`) is accepted as `59`.
pub fn parse_mdtm(s: &str) -> Option<SystemTime> {
    let (main, frac) = match s.split_once('.') {
        Some((main, frac)) => (main, Some(frac)),
        None => (s, None),
    };
    let all_digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if main.len() != 14 || !all_digits(main) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let field = |from: usize, to: usize| main.get(from..to)?.parse::<u32>().ok();
    let year = i32::try_from(field(0, 4)?).ok()?;
    let (month, day) = (field(4, 6)?, field(6, 8)?);
    let (hour, minute, second) = (field(8, 10)?, field(10, 12)?, field(12, 14)?);
    if second > 60 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let stamp = date
        .and_hms_opt(hour, minute, second.min(59))?
        .and_utc()
        .timestamp();
    let nanos = match frac {
        Some(f) => {
            let digits: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
            digits.parse::<u32>().ok()?
        }
        None => 0,
    };
    let base = if stamp >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(stamp.unsigned_abs()))?
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(stamp.unsigned_abs()))?
    };
    base.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// A set of MLSx facts (RFC 3659 §7), chosen by the client with `OPTS MLST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Facts(u16);

impl Facts {
    /// `type`: file, dir, cdir, pdir or `OS.unix=...`.
    pub const TYPE: Facts = Facts(1);
    /// `size`: size in bytes (files and directories, as pyftpdlib; RFC 3659 §7.5.5 allows it).
    pub const SIZE: Facts = Facts(1 << 1);
    /// `modify`: last modification time, UTC (local time under `--use-localtime`).
    pub const MODIFY: Facts = Facts(1 << 2);
    /// `perm`: what the user may do (letters computed by the caller).
    pub const PERM: Facts = Facts(1 << 3);
    /// `unique`: an id that is the same for two names of one file.
    pub const UNIQUE: Facts = Facts(1 << 4);
    /// `unix.mode`: octal permission bits.
    pub const UNIX_MODE: Facts = Facts(1 << 5);
    /// `unix.uid`: numeric owner.
    pub const UNIX_UID: Facts = Facts(1 << 6);
    /// `unix.gid`: numeric group.
    pub const UNIX_GID: Facts = Facts(1 << 7);

    /// Every supported fact with its name, in the order they are emitted.
    const NAMES: [(Facts, &'static str); 8] = [
        (Facts::TYPE, "type"),
        (Facts::SIZE, "size"),
        (Facts::MODIFY, "modify"),
        (Facts::PERM, "perm"),
        (Facts::UNIQUE, "unique"),
        (Facts::UNIX_MODE, "unix.mode"),
        (Facts::UNIX_UID, "unix.uid"),
        (Facts::UNIX_GID, "unix.gid"),
    ];

    /// No facts.
    pub const fn empty() -> Facts {
        Facts(0)
    }

    /// Every supported fact.
    pub const fn all() -> Facts {
        Facts(0xff)
    }

    /// True if every fact in `other` is enabled in `self`.
    pub const fn contains(self, other: Facts) -> bool {
        self.0 & other.0 == other.0
    }

    /// Enables the facts in `other`.
    pub fn insert(&mut self, other: Facts) {
        self.0 |= other.0;
    }

    /// Disables the facts in `other`.
    pub fn remove(&mut self, other: Facts) {
        self.0 &= !other.0;
    }

    /// Parses the argument of `OPTS MLST`, e.g. `type;size;modify;`.
    ///
    /// Names are case-insensitive and unknown ones are ignored (RFC 3659 §7.9); an
    /// empty list disables every fact.
    pub fn parse_opts(arg: &str) -> Facts {
        let mut facts = Facts::empty();
        for wanted in arg.split(';').map(str::trim) {
            for (fact, name) in Facts::NAMES {
                if wanted.eq_ignore_ascii_case(name) {
                    facts.insert(fact);
                }
            }
        }
        facts
    }

    /// The FEAT line (without its leading space): every supported fact, with `*` after
    /// the enabled ones, in pyftpdlib's order:
    /// `MLST type*;perm*;size*;modify*;unique*;unix.mode*;unix.uid*;unix.gid*;`.
    pub fn feat_line(&self) -> String {
        const FEAT_ORDER: [(Facts, &str); 8] = [
            (Facts::TYPE, "type"),
            (Facts::PERM, "perm"),
            (Facts::SIZE, "size"),
            (Facts::MODIFY, "modify"),
            (Facts::UNIQUE, "unique"),
            (Facts::UNIX_MODE, "unix.mode"),
            (Facts::UNIX_UID, "unix.uid"),
            (Facts::UNIX_GID, "unix.gid"),
        ];
        let mut out = String::from("MLST ");
        for (fact, name) in FEAT_ORDER {
            out.push_str(name);
            if self.contains(fact) {
                out.push('*');
            }
            out.push(';');
        }
        out
    }

    /// The enabled facts as `type;size;modify;`, for the reply to `OPTS MLST`.
    pub fn enabled_list(&self) -> String {
        let mut out = String::new();
        for (fact, name) in Facts::NAMES {
            if self.contains(fact) {
                out.push_str(name);
                out.push(';');
            }
        }
        out
    }
}

impl Default for Facts {
    /// All facts are enabled until the client says otherwise.
    fn default() -> Self {
        Facts::all()
    }
}

/// The default `type` fact for a kind of file (RFC 3659 §7.5.1; symlinks follow the
/// `OS.unix=symlink` spelling of RFC 3659 erratum 1500).
fn type_fact(st: &FileStat) -> &'static str {
    match st.kind {
        FileKind::File => "file",
        FileKind::Dir => "dir",
        FileKind::Symlink => "OS.unix=symlink",
        FileKind::Other => match st.mode & S_IFMT {
            S_IFIFO => "OS.unix=fifo",
            S_IFSOCK => "OS.unix=socket",
            S_IFCHR => "OS.unix=chardev",
            S_IFBLK => "OS.unix=blockdev",
            _ => "file",
        },
    }
}

/// One MLSD line or MLST entry (without leading space or line terminator):
/// `type=file;size=123;modify=20250101120000;perm=rw;...; name`.
///
/// Only the facts enabled in `facts` appear, in a fixed order. `perm` is the `perm` fact
/// value computed by the caller from the user's permissions. `kind_override` replaces
/// the `type` value (MLSD uses `cdir` and `pdir` for `.` and `..`). `size` is emitted
/// for regular files and directories, `modify` is UTC unless `localtime`
/// (`--use-localtime`, as pyftpdlib), and `unique` is hex `dev` + `g` + hex `ino`. The name
/// is escaped.
pub fn mlsx_line(
    name: &str,
    st: &FileStat,
    facts: &Facts,
    perm: &str,
    kind_override: Option<&str>,
    localtime: bool,
) -> String {
    let mut out = String::with_capacity(128);
    // Writing to a String cannot fail, so the fmt::Results below are ignored.
    if facts.contains(Facts::TYPE) {
        let _ = write!(out, "type={};", kind_override.unwrap_or(type_fact(st)));
    }
    if facts.contains(Facts::SIZE) && matches!(st.kind, FileKind::File | FileKind::Dir) {
        let _ = write!(out, "size={};", st.size);
    }
    if facts.contains(Facts::MODIFY) {
        let _ = write!(out, "modify={};", mdtm(st.mtime, localtime));
    }
    if facts.contains(Facts::PERM) {
        let _ = write!(out, "perm={perm};");
    }
    if facts.contains(Facts::UNIQUE) {
        let _ = write!(out, "unique={:x}g{:x};", st.dev, st.ino);
    }
    if facts.contains(Facts::UNIX_MODE) {
        let _ = write!(out, "unix.mode=0{:03o};", st.mode & 0o7777);
    }
    if facts.contains(Facts::UNIX_UID) {
        let _ = write!(out, "unix.uid={};", st.uid);
    }
    if facts.contains(Facts::UNIX_GID) {
        let _ = write!(out, "unix.gid={};", st.gid);
    }
    out.push(' ');
    out.push_str(&escape_name(name));
    out
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
