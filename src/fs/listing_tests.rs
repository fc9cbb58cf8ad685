//! Tests for the pure LIST/MLSx/MDTM formatters in [`listing`](super).

use super::*;

const DAY: u64 = 24 * 60 * 60;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn stat(kind: FileKind, mode: u32, mtime: SystemTime) -> FileStat {
    FileStat {
        kind,
        size: 1234,
        mtime,
        mode,
        uid: 1000,
        gid: 100,
        nlink: 1,
        dev: 0x803,
        ino: 0x1a2,
    }
}

// 2025-01-05 14:30:00 UTC
const JAN5: u64 = 1_736_087_400;

#[test]
fn ls_line_recent_file() {
    let st = stat(FileKind::File, 0o100_644, at(JAN5));
    let line = ls_line("name", &st, at(JAN5 + DAY), false);
    assert_eq!(
        line,
        "-rw-r--r--   1 1000     100          1234 Jan 05 14:30 name"
    );
}

#[test]
fn six_month_rule_both_sides() {
    let st = stat(FileKind::File, 0o644, at(JAN5));
    let just_inside = at(JAN5 + 180 * DAY);
    assert!(ls_line("f", &st, just_inside, false).ends_with("Jan 05 14:30 f"));
    let just_outside = at(JAN5 + 180 * DAY + 1);
    assert!(ls_line("f", &st, just_outside, false).ends_with("Jan 05  2025 f"));
}

#[test]
fn future_dates_show_the_year() {
    let st = stat(FileKind::File, 0o644, at(JAN5 + 60));
    assert!(ls_line("f", &st, at(JAN5), false).ends_with("Jan 05  2025 f"));
    let same = stat(FileKind::File, 0o644, at(JAN5));
    assert!(ls_line("f", &same, at(JAN5), false).ends_with("Jan 05 14:30 f"));
}

#[test]
fn localtime_uses_tz_or_falls_back() {
    // Whatever the zone, the line must be well-formed and keep the name last.
    let st = stat(FileKind::Dir, 0o040_755, at(JAN5));
    let line = ls_line("d", &st, at(JAN5), true);
    assert!(line.starts_with("drwxr-xr-x   1 1000"));
    assert!(line.ends_with(" d"));
    assert_eq!(mdtm(at(JAN5), true).len(), 14);
}

#[test]
fn mode_strings() {
    assert_eq!(mode_string(FileKind::Dir, 0o040_755), "drwxr-xr-x");
    assert_eq!(mode_string(FileKind::Symlink, 0o120_777), "lrwxrwxrwx");
    assert_eq!(mode_string(FileKind::File, 0o4755), "-rwsr-xr-x");
    assert_eq!(mode_string(FileKind::File, 0o4644), "-rwSr--r--");
    assert_eq!(mode_string(FileKind::File, 0o2755), "-rwxr-sr-x");
    assert_eq!(mode_string(FileKind::File, 0o2745), "-rwxr-Sr-x");
    assert_eq!(mode_string(FileKind::Dir, 0o1777), "drwxrwxrwt");
    assert_eq!(mode_string(FileKind::Dir, 0o1776), "drwxrwxrwT");
    assert_eq!(mode_string(FileKind::File, 0), "----------");
    assert_eq!(mode_string(FileKind::Other, 0o010_600), "prw-------");
    assert_eq!(mode_string(FileKind::Other, 0o020_660), "crw-rw----");
    assert_eq!(mode_string(FileKind::Other, 0o140_755), "srwxr-xr-x");
    assert_eq!(mode_string(FileKind::Other, 0o060_660), "brw-rw----");
}

#[test]
fn names_cannot_split_lines() {
    assert_eq!(escape_name("a\r\nb\nc\rd"), "a\\r\\nb\\nc\\rd");
    assert_eq!(escape_name("plain name"), "plain name");
    let st = stat(FileKind::File, 0o644, at(JAN5));
    let line = ls_line("evil\r\n226 ok", &st, at(JAN5), false);
    assert!(!line.contains(['\r', '\n']));
    assert!(line.ends_with("evil\\r\\n226 ok"));
    let line = mlsx_line("x\ny", &st, &Facts::empty(), "", None, false);
    assert_eq!(line, " x\\ny");
}

#[test]
fn mdtm_format_and_round_trip() {
    assert_eq!(mdtm(at(JAN5), false), "20250105143000");
    assert_eq!(mdtm(UNIX_EPOCH, false), "19700101000000");
    assert_eq!(parse_mdtm("20250105143000"), Some(at(JAN5)));
    let t = at(1_000_000_000);
    assert_eq!(parse_mdtm(&mdtm(t, false)), Some(t));
    assert_eq!(
        parse_mdtm("20250105143000.5"),
        Some(at(JAN5) + Duration::from_millis(500))
    );
    assert_eq!(
        parse_mdtm("20250105143000.123"),
        Some(at(JAN5) + Duration::from_millis(123))
    );
    assert_eq!(
        parse_mdtm("19691231235959"),
        UNIX_EPOCH.checked_sub(Duration::from_secs(1))
    );
    assert_eq!(parse_mdtm("20161231235960"), parse_mdtm("20161231235959"));
    assert_eq!(
        parse_mdtm("20240229000000")
            .map(|t| mdtm(t, false))
            .as_deref(),
        Some("20240229000000")
    );
}

#[test]
fn parse_mdtm_rejects_garbage() {
    for bad in [
        "",
        "2025010514300",   // 13 digits
        "202501051430000", // 15 digits
        "20251305143000",  // month 13
        "20250005143000",  // month 0
        "20250431000000",  // 31 April
        "20230229000000",  // not a leap year
        "20250105243000",  // hour 24
        "20250105146000",  // minute 60
        "20250105143061",  // second 61
        "2025O105143000",  // letter O
        "20250105143000.", // empty fraction
        "20250105143000.x",
        "+2025010514300",
        " 20250105143000",
        "20250105143000Z",
    ] {
        assert_eq!(parse_mdtm(bad), None, "{bad:?}");
    }
}

#[test]
fn facts_parsing_and_feat() {
    let all = Facts::default();
    assert_eq!(all, Facts::all());
    assert_eq!(
        all.feat_line(),
        "MLST type*;perm*;size*;modify*;unique*;unix.mode*;unix.uid*;unix.gid*;"
    );
    let some = Facts::parse_opts("TYPE;Size; modify;bogus;;");
    assert_eq!(some.enabled_list(), "type;size;modify;");
    assert_eq!(
        some.feat_line(),
        "MLST type*;perm;size*;modify*;unique;unix.mode;unix.uid;unix.gid;"
    );
    assert_eq!(Facts::parse_opts("").enabled_list(), "");
    assert_eq!(Facts::parse_opts("unix.mode").enabled_list(), "unix.mode;");
    let mut f = Facts::empty();
    f.insert(Facts::PERM);
    assert!(f.contains(Facts::PERM) && !f.contains(Facts::TYPE));
    f.remove(Facts::PERM);
    assert_eq!(f, Facts::empty());
}

#[test]
fn mlsx_lines() {
    let file = stat(FileKind::File, 0o100_644, at(JAN5));
    assert_eq!(
        mlsx_line("a.txt", &file, &Facts::default(), "adfrw", None, false),
        "type=file;size=1234;modify=20250105143000;perm=adfrw;unique=803g1a2;\
         unix.mode=0644;unix.uid=1000;unix.gid=100; a.txt"
    );
    let dir = stat(FileKind::Dir, 0o042_755, at(JAN5));
    let facts = Facts::parse_opts("type;size;unix.mode;");
    assert_eq!(
        mlsx_line("d", &dir, &facts, "el", None, false),
        "type=dir;size=1234;unix.mode=02755; d"
    );
    assert_eq!(
        mlsx_line(".", &dir, &facts, "el", Some("cdir"), false),
        "type=cdir;size=1234;unix.mode=02755; ."
    );
    let link = stat(FileKind::Symlink, 0o120_777, at(JAN5));
    assert_eq!(
        mlsx_line("l", &link, &facts, "", None, false),
        "type=OS.unix=symlink;unix.mode=0777; l"
    );
    let fifo = stat(FileKind::Other, 0o010_600, at(JAN5));
    assert_eq!(
        mlsx_line("p", &fifo, &Facts::TYPE, "", None, false),
        "type=OS.unix=fifo; p"
    );
}

#[test]
fn extreme_times_do_not_panic() {
    let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
    let st = stat(FileKind::File, 0o644, far);
    let _ = ls_line("f", &st, UNIX_EPOCH, false);
    let _ = ls_line("f", &st, UNIX_EPOCH, true);
    let _ = mdtm(far, false);
    if let Some(before) = UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 40)) {
        let _ = mdtm(before, false);
    }
}
