//! Invariants of the text formats: the users file parser, and the listing and timestamp
//! formatters (LIST, MLSx, MDTM/MFMT).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ftpdlib::auth::users_file::parse_users;
use ftpdlib::fs::{FileKind, FileStat};
use ftpdlib::fuzzing::listing::{
    escape_name, ls_line, mdtm, mlsx_line, mode_string, parse_mdtm, Facts,
};

use super::Input;

/// Seconds since the epoch of 9999-12-31T23:59:59Z, the last MDTM-representable second.
pub const MAX_MDTM_SECS: i64 = 253_402_300_799;

/// `UNIX_EPOCH + secs + nanos`, or `None` where `SystemTime` cannot hold it.
pub fn time_at(secs: i64, nanos: u32) -> Option<SystemTime> {
    let base = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    base?.checked_add(Duration::from_nanos(u64::from(nanos % 1_000_000_000)))
}

/// The users file parser: an error names the origin and a 1-based line that holds a
/// directive or an account; the file up to that line fails there, the lines before it parse;
/// a success defines one user per account line.
pub fn check_users(text: &str) {
    // The parser drops a leading byte-order mark; line numbers are unchanged by it.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = body.lines().collect();
    let significant = |l: &str| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    };
    match parse_users(text, "fuzz.users") {
        Ok(auth) => {
            let accounts = lines
                .iter()
                .filter(|l| significant(l) && !l.trim().starts_with('@'));
            let mut count = 0;
            for line in accounts {
                count += 1;
                let name = line.trim().split(':').next().unwrap_or("");
                assert!(auth.has_user(name), "user {name:?} of {line:?} missing");
            }
            assert_eq!(auth.user_count(), count, "one user per account line");
        }
        Err(e) => {
            assert_eq!(e.file, "fuzz.users");
            assert!(
                (1..=lines.len()).contains(&e.line),
                "line {} of {}: {e}",
                e.line,
                lines.len()
            );
            let bad = lines[e.line - 1];
            assert!(
                significant(bad),
                "error on a blank or comment line {bad:?}: {e}"
            );
            assert!(!e.problem.is_empty() && !e.problem.contains('\n'), "{e}");
            // Keep the original byte-order mark: a second one is content, not a mark.
            let bom = &text[..text.len() - body.len()];
            let upto = |n: usize| format!("{bom}{}", lines[..n].join("\n"));
            if let Err(early) = parse_users(&upto(e.line - 1), "fuzz.users") {
                panic!("lines before {} fail alone: {early}", e.line);
            }
            let alone = parse_users(&upto(e.line), "fuzz.users").expect_err("prefix fails too");
            assert_eq!(alone.line, e.line, "{alone} vs {e}");
        }
    }
}

/// The `users_file` target: the bytes as a users file; `{HOME}` stands for the jail root.
pub fn run_users(home: &str, data: &[u8]) {
    check_users(&String::from_utf8_lossy(data).replace("{HOME}", home));
}

/// Formats one entry every way: no line breaks, the name escaped at the end, the fixed
/// parts well-formed.
pub fn check_listing(name: &str, st: &FileStat, now: SystemTime, localtime: bool, facts: Facts) {
    let escaped = escape_name(name);
    assert!(!escaped.contains(['\r', '\n']), "{escaped:?}");
    if !name.contains(['\r', '\n']) {
        assert_eq!(escaped, name);
    }
    let mode = mode_string(st.kind, st.mode);
    assert_eq!(mode.chars().count(), 10, "{mode:?}");
    for line in [
        ls_line(name, st, now, localtime),
        ls_line(name, st, now, false),
    ] {
        assert!(!line.contains(['\r', '\n']), "{line:?}");
        assert!(
            line.starts_with(&mode) && line.ends_with(&format!(" {escaped}")),
            "{line:?}"
        );
    }
    for kind in [None, Some("cdir"), Some("pdir")] {
        let line = mlsx_line(name, st, &facts, "adfr", kind, localtime);
        assert!(!line.contains(['\r', '\n']), "{line:?}");
        let (fact_text, rest) = line.split_once(' ').expect("facts, space, name");
        assert_eq!(rest, escaped);
        if facts == Facts::empty() {
            assert_eq!(fact_text, "", "{line:?}");
        }
        let mut items = fact_text.split(';');
        assert_eq!(items.next_back(), Some(""), "facts end in ';': {line:?}");
        assert!(items.all(|item| item.contains('=')), "{line:?}");
    }
    assert_eq!(Facts::parse_opts(&facts.enabled_list()), facts);
    check_mdtm(st.mtime, localtime);
}

/// MDTM: never a line break; between 1970 and 9999 it is 14 digits that parse back to the
/// same second.
pub fn check_mdtm(t: SystemTime, localtime: bool) {
    let local = mdtm(t, localtime);
    assert!(!local.contains(['\r', '\n']), "{local:?}");
    let utc = mdtm(t, false);
    let Ok(since) = t.duration_since(UNIX_EPOCH) else {
        return;
    };
    let secs = since.as_secs() as i64;
    if secs <= MAX_MDTM_SECS {
        assert_eq!(utc.len(), 14, "{utc:?}");
        let back = parse_mdtm(&utc).unwrap_or_else(|| panic!("{utc:?} does not parse"));
        assert_eq!(back, time_at(secs, 0).expect("in range"), "{utc:?}");
    }
}

/// MFMT argument parsing: a success is 14 digits (and a fraction) that MDTM prints back,
/// but for a leap second which becomes 59.
pub fn check_parse_mdtm(s: &str) {
    let Some(t) = parse_mdtm(s) else { return };
    let (main, frac) = s.split_once('.').map_or((s, None), |(m, f)| (m, Some(f)));
    assert!(
        main.len() == 14 && main.bytes().all(|b| b.is_ascii_digit()),
        "{s:?}"
    );
    let mut want = main.to_owned();
    if &main[12..] == "60" {
        want.replace_range(12.., "59");
    }
    assert_eq!(mdtm(t, false), want, "{s:?}");
    let digits: String = frac
        .unwrap_or("")
        .chars()
        .chain(std::iter::repeat('0'))
        .take(9)
        .collect();
    let nanos: u64 = digits.parse().expect("nine digits");
    let whole = parse_mdtm(main).expect("parses without its fraction too");
    assert_eq!(
        t.duration_since(whole).ok(),
        Some(Duration::from_nanos(nanos)),
        "fraction of {s:?}"
    );
}

/// The facts whose bit is set in `bits` (bit 0 = type ... bit 7 = unix.gid).
pub fn facts_from_bits(bits: u8) -> Facts {
    let all = [
        Facts::TYPE,
        Facts::SIZE,
        Facts::MODIFY,
        Facts::PERM,
        Facts::UNIQUE,
        Facts::UNIX_MODE,
        Facts::UNIX_UID,
        Facts::UNIX_GID,
    ];
    let mut facts = Facts::empty();
    for (i, fact) in all.into_iter().enumerate() {
        if bits & (1 << i) != 0 {
            facts.insert(fact);
        }
    }
    facts
}

/// A `FileStat` from fuzzer bytes (mtime may be anywhere `SystemTime` reaches).
pub fn stat_from(input: &mut Input<'_>) -> FileStat {
    let kind = [
        FileKind::File,
        FileKind::Dir,
        FileKind::Symlink,
        FileKind::Other,
    ][usize::from(input.u8() % 4)];
    let (secs, nanos) = (input.u64() as i64, input.u32());
    FileStat {
        kind,
        size: input.u64(),
        mtime: time_at(secs, nanos).unwrap_or(UNIX_EPOCH),
        mode: input.u32(),
        uid: input.u32(),
        gid: input.u32(),
        nlink: input.u64(),
        dev: input.u64(),
        ino: input.u64(),
    }
}

/// The `listing` target: a `FileStat`, `now`, flags and facts, then the name (also tried
/// as an MFMT time-val).
pub fn run_listing(data: &[u8]) {
    let mut input = Input::new(data);
    let st = stat_from(&mut input);
    let now = time_at(input.u64() as i64, input.u32()).unwrap_or(UNIX_EPOCH);
    let flags = input.u8();
    let fact_bits = input.u8();
    let facts = if flags & 2 != 0 {
        facts_from_bits(fact_bits)
    } else {
        Facts::all()
    };
    let name = String::from_utf8_lossy(input.rest()).into_owned();
    let localtime = flags & 1 != 0;
    check_listing(&name, &st, now, localtime, facts);
    check_parse_mdtm(&name);
    check_parse_mdtm(name.trim());
}
