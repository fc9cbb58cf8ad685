//! Deterministic fuzzing on stable Rust: a seeded xorshift PRNG generates thousands of
//! FTP-ish inputs per area and checks the invariants of `tests/fuzzutil` (the same ones the
//! cargo-fuzz targets in `fuzz/` check), then every file of `fuzz/corpus/*/` is replayed.
//!
//! `FTPDLIB_FUZZ_ITERS=N` scales the iteration counts (default: 20000 for the cheap areas),
//! `FTPDLIB_FUZZ_SEED` changes the seed. A failure prints the seed, iteration and input.
//! Regression tests for the bugs the fuzzing found are at the end. See docs/fuzzing.md.

mod fuzzutil;

use std::panic::{self, AssertUnwindSafe};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ftpdlib::fs::{FileKind, FileStat, Resolver, VirtualPath};
use ftpdlib::fuzzing::addr::{self, EprtError};
use ftpdlib::fuzzing::glob_match;
use ftpdlib::fuzzing::line::{Line, LineReader, MAX_LINE};
use ftpdlib::fuzzing::listing::{ls_line, mdtm, Facts};

use fuzzutil::formats::{self, check_listing, check_parse_mdtm, check_users, time_at};
use fuzzutil::inputs::{self, seconds};
use fuzzutil::paths::{check_path_chain, check_resolve};
use fuzzutil::wire::{
    self, check_eprt, check_line_reader, check_parse, check_port, check_strip_telnet,
};
use fuzzutil::{base_seed, case, iterations, Jail, Rng};
use fuzzutil::{glob, proxy};

/// Runs `body` `iterations(default_iters)` times on one PRNG seeded from the base seed and the
/// area's name; on a panic, says how to replay; prints the rate (see docs/fuzzing.md).
fn fuzz(area: &str, default_iters: u64, mut body: impl FnMut(&mut Rng)) {
    let (seed, n, start) = (
        base_seed() ^ fuzzutil::hash(area.as_bytes()),
        iterations(default_iters),
        Instant::now(),
    );
    let mut rng = Rng::new(seed);
    for i in 0..n {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| body(&mut rng))) {
            eprintln!(
                "{area}: failed at iteration {i} of {n}; FTPDLIB_FUZZ_SEED={:#x} replays the run",
                base_seed()
            );
            panic::resume_unwind(payload);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{area}: {n} iterations in {secs:.2} s ({:.0}/s, FTPDLIB_FUZZ_SEED={:#x})",
        n as f64 / secs.max(1e-9),
        base_seed()
    );
}

#[test]
fn line_reader_matches_model_however_chunked() {
    let (mut too_long, mut complete) = (0, 0);
    fuzz("line_reader", 2_000, |rng| {
        let data = inputs::ftp_bytes(rng, 40);
        let chunk_seed = rng.next_u64();
        case("line_reader", &data, || {
            let lines = check_line_reader(&data, chunk_seed, false);
            check_line_reader(&data, chunk_seed, true);
            too_long += lines.iter().filter(|l| **l == Line::TooLong).count();
            complete += lines.len();
        });
    });
    assert!(
        too_long > 10 && complete > 1000,
        "generator too tame: {too_long} / {complete}"
    );
}

#[test]
fn command_stream_lines_parse() {
    fuzz("command_line", 2_000, |rng| {
        let data = inputs::ftp_bytes(rng, 30);
        case("command_line", &data, || wire::run_command_line(&data));
    });
}

#[test]
fn parser_keeps_argument_and_table_rules() {
    let (mut ok, mut bad) = (0, 0);
    fuzz("parser", 20_000, |rng| {
        let line = inputs::command_line(rng);
        case("parser", &line, || check_parse(&line));
        if ftpdlib::fuzzing::parser::parse(&line).is_ok() {
            ok += 1
        } else {
            bad += 1
        }
    });
    assert!(ok > 1000 && bad > 1000, "parsed {ok}, refused {bad}");
}

#[test]
fn strip_telnet_undoes_iac_doubling() {
    fuzz("strip_telnet", 20_000, |rng| {
        let data = inputs::ftp_bytes(rng, 12);
        let command: &[u8] = rng.pick::<&[u8]>(&[
            b"",
            b"\xff\xf4",
            b"\xff\xf2",
            b"\xff\xfb\x01",
            b"\xff\xfe\xff",
            b"\xff\xf4\xff\xf2",
            b"\xf4",
            b"\xf2",
        ]);
        case("strip_telnet", &(&data, command), || {
            check_strip_telnet(&data, command)
        });
    });
}

#[test]
fn resolve_normal_form_and_chaining() {
    fuzz("resolve", 20_000, |rng| {
        let args: Vec<String> = (0..rng.range(1, 4))
            .map(|_| inputs::path_arg(rng))
            .collect();
        case("resolve", &args, || {
            let mut cwd = VirtualPath::root();
            for arg in &args {
                cwd = check_resolve(&cwd, arg);
            }
        });
    });
}

/// Links of the fixture that would lead outside without chroot semantics.
const LEAVING: &[&str] = &[
    "up",
    "out_abs",
    "out_rel",
    "secret_link",
    "dangling_out",
    "deep_dangle",
    "back",
    "chain",
    "tricky",
    "etc_link",
];

/// Random path chains through the fixture, with `resolver`: none leaves the jail, and
/// paths through links that point outside are clamped inside rather than refused.
fn osfs_jail(tag: &str, resolver: Resolver) {
    let mut jail = Jail::new(tag);
    jail.fs = jail.fs.clone().with_resolver(resolver);
    let (mut inside, mut clamped) = (0, 0);
    fuzz(tag, 1_500, |rng| {
        let args: Vec<String> = (0..rng.range(1, 3))
            .map(|_| inputs::path_arg(rng))
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        case(tag, &args, || check_path_chain(&jail, &refs));
        let p = args
            .iter()
            .fold(VirtualPath::root(), |cwd, a| cwd.resolve(a));
        let leaves = p.components().any(|c| LEAVING.contains(&c));
        match ftpdlib::fs::Filesystem::realpath(&jail.fs, &p) {
            Ok(_) if leaves => clamped += 1,
            Ok(_) => inside += 1,
            Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::PermissionDenied, "{p}"),
        }
    });
    assert!(
        inside > 100 && clamped > 100,
        "{inside} inside, {clamped} through links leading out"
    );
}

#[test]
fn osfs_never_leaves_the_jail() {
    osfs_jail("osfs", Resolver::Openat2);
}

#[test]
fn osfs_never_leaves_the_jail_walking() {
    osfs_jail("osfs-walk", Resolver::Walk);
}

#[test]
fn port_eprt_epsv_arguments() {
    let mut parsed = 0;
    fuzz("address", 20_000, |rng| {
        let (port, want) = inputs::port_arg(rng);
        let (eprt, sa) = inputs::eprt_arg(rng);
        let junk = String::from_utf8_lossy(&inputs::ftp_bytes(rng, 6)).into_owned();
        case("address", &(&port, &eprt, &junk), || {
            let got = check_port(&port);
            if want.is_some() {
                assert_eq!(got, want, "{port:?}");
            }
            assert_eq!(check_eprt(&eprt), Ok(sa), "{eprt:?}");
            wire::run_address(junk.as_bytes());
            wire::run_address(port.as_bytes());
        });
        parsed += usize::from(addr::parse_port(&port).is_some());
    });
    assert!(parsed > 1000, "{parsed} PORT arguments parsed");
    assert_eq!(check_eprt("|3|1.2.3.4|5|"), Err(EprtError::Protocol));
}

#[test]
fn users_file_errors_point_at_the_bad_line() {
    let jail = Jail::new("users");
    let home = jail.root.to_string_lossy().into_owned();
    let (mut ok, mut bad) = (0, 0);
    fuzz("users_file", 2_500, |rng| {
        let text = inputs::users_text(rng, &home);
        case("users_file", &text, || check_users(&text));
        match ftpdlib::auth::users_file::parse_users(&text, "x") {
            Ok(auth) if auth.user_count() > 0 => ok += 1,
            Ok(_) => {}
            Err(_) => bad += 1,
        }
    });
    assert!(
        ok > 50 && bad > 50,
        "{ok} files with users accepted, {bad} refused"
    );
}

#[test]
fn listing_lines_stay_single_and_mdtm_round_trips() {
    fuzz("listing", 10_000, |rng| {
        let mut name = inputs::ftp_bytes(rng, 5);
        if !rng.one_in(50) {
            name.truncate(80); // long names are rare in listings, and slow in debug builds
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        let (secs, now_secs) = (seconds(rng), seconds(rng));
        let kind = rng.pick(&[
            FileKind::File,
            FileKind::Dir,
            FileKind::Symlink,
            FileKind::Other,
        ]);
        let st = FileStat {
            kind,
            size: rng.next_u64() >> rng.below(64),
            mtime: time_at(secs, rng.next_u64() as u32).unwrap_or(UNIX_EPOCH),
            mode: rng.next_u64() as u32,
            uid: rng.next_u64() as u32,
            gid: rng.next_u64() as u32,
            nlink: rng.next_u64() >> rng.below(64),
            dev: rng.next_u64(),
            ino: rng.next_u64(),
        };
        let now = time_at(now_secs, 0).unwrap_or(SystemTime::now());
        let local = rng.one_in(2);
        let facts = formats::facts_from_bits(rng.next_u64() as u8);
        let stamp = match rng.below(3) {
            0 => mdtm(st.mtime, false),
            1 => format!(
                "{}.{}",
                mdtm(st.mtime, false),
                rng.next_u64() % 10_000_000_000
            ),
            _ => format!("{:014}", rng.next_u64() % 100_000_000_000_000),
        };
        case("listing", &(&name, &st, now, local, &stamp), || {
            check_listing(&name, &st, now, local, facts);
            check_parse_mdtm(&stamp);
        });
    });
}

#[test]
fn proxy_headers_parse_back_and_prefixes_need_more() {
    let (mut found, mut need_more, mut refused) = (0, 0, 0);
    fuzz("proxy", 5_000, |rng| {
        let recipe: Vec<u8> = (0..rng.below(120)).map(|_| rng.next_u64() as u8).collect();
        let built = proxy::build(&mut fuzzutil::Input::new(&recipe)).bytes;
        let raw = match rng.below(4) {
            0 => inputs::ftp_bytes(rng, 4),
            _ => proxy::mangle(rng, built),
        };
        case("proxy", &(&recipe, &raw), || {
            proxy::run_proxy(&recipe);
            match proxy::check_any(&raw) {
                Ok(Some(_)) => found += 1,
                Ok(None) => need_more += 1,
                Err(_) => refused += 1,
            }
        });
    });
    assert!(
        found > 500 && need_more > 500 && refused > 500,
        "{found} headers, {need_more} need more, {refused} refused"
    );
}

#[test]
fn glob_match_agrees_with_the_reference() {
    let (mut matched, mut not) = (0, 0);
    fuzz("glob", 20_000, |rng| {
        let pattern = glob::glob_text(rng, 8);
        let name = match rng.below(3) {
            0 => glob::glob_text(rng, 6),
            _ => glob::matching_name(rng, &glob::tokens(&pattern)).unwrap_or_default(),
        };
        case("glob", &(&pattern, &name), || {
            if glob::check_glob(&pattern, &name) {
                matched += 1
            } else {
                not += 1
            }
        });
    });
    assert!(matched > 1000 && not > 1000, "{matched} matched, {not} not");
}

#[test]
fn glob_match_is_fast_on_adversarial_patterns() {
    let (name, start) = ("a".repeat(2000), Instant::now());
    for k in [5, 20, 60] {
        let stars = "*a".repeat(k);
        assert!(!glob_match(&format!("{stars}b"), &name));
        assert!(glob_match(&format!("{stars}*"), &name));
        assert!(!glob_match(&format!("{}[b]", "*[a]".repeat(k)), &name));
        assert!(!glob_match(&format!("{}?b", "*?".repeat(k)), &name));
    }
    // Quadratic at worst: milliseconds. A backtracking matcher would not finish at all.
    let secs = start.elapsed().as_secs_f64();
    assert!(secs < 5.0, "adversarial patterns took {secs:.1} s");
}

/// A byte-level target check, as the fuzz targets call it.
type Check<'a> = dyn Fn(&[u8]) + 'a;

#[test]
fn corpus_replays_through_the_same_checks() {
    let jail = Jail::new("corpus");
    let home = jail.root.to_string_lossy().into_owned();
    let targets: [(&str, &Check); 7] = [
        ("command_line", &wire::run_command_line),
        ("path", &|d| fuzzutil::paths::run_path(&jail, d)),
        ("address", &wire::run_address),
        ("users_file", &|d| formats::run_users(&home, d)),
        ("listing", &formats::run_listing),
        ("proxy", &proxy::run_proxy),
        ("glob", &glob::run_glob),
    ];
    for (target, run) in targets {
        let files = fuzzutil::corpus(target);
        assert!(
            files.len() >= 20,
            "corpus of {target} has only {} files",
            files.len()
        );
        for (path, data) in &files {
            case(target, path, || run(data));
        }
    }
}

#[test]
fn line_reader_clear_resets_the_discard_state() {
    let mut r = LineReader::default();
    r.feed(&[b'A'; MAX_LINE + 10]);
    assert_eq!(r.next_line(), Some(Line::TooLong));
    r.clear();
    r.feed(b"NOOP\r\n");
    assert_eq!(r.next_line(), Some(Line::Complete(b"NOOP".to_vec())));
}

#[test]
fn localtime_extreme_mtime_does_not_panic() {
    const NAME: &str = "localtime_extreme_mtime_does_not_panic";
    if std::env::var_os("FTPDLIB_FUZZ_CHILD").is_some() {
        for secs in [i64::MAX, 8_210_266_876_799, i64::MIN, -8_334_601_228_800] {
            let t = time_at(secs, 0).unwrap_or(UNIX_EPOCH);
            let st = FileStat {
                kind: FileKind::File,
                size: 1,
                mtime: t,
                mode: 0o644,
                uid: 0,
                gid: 0,
                nlink: 1,
                dev: 0,
                ino: 0,
            };
            let _ = mdtm(t, true);
            let _ = ls_line("f", &st, SystemTime::now(), true);
            check_listing("f", &st, SystemTime::now(), true, Facts::all());
        }
        return;
    }
    // The local zone is read from TZ: run this test again in a child east and west of UTC.
    for tz in ["JST-9", "PST8"] {
        let exe = std::env::current_exe().expect("test binary");
        let out = std::process::Command::new(exe)
            .args([
                NAME,
                "--exact",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TZ", tz)
            .env("FTPDLIB_FUZZ_CHILD", "1")
            .output()
            .expect("run child");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "TZ={tz}: {stderr}");
    }
}
