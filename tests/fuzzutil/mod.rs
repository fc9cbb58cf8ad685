//! Shared fuzzing helpers: a seeded xorshift PRNG, a byte reader for fuzzer inputs, the
//! on-disk jail fixture for `OsFs`, and the per-case harness that prints a failing input.
//!
//! Used by `tests/fuzz_props.rs` (stable, deterministic) and by the cargo-fuzz targets in
//! `fuzz/fuzz_targets/` (which include this file with `#[path]`), so both check exactly the
//! same invariants, written once in [`wire`], [`paths`], [`formats`], [`proxy`] and [`glob`].
//! Each crate uses only part of it.
#![allow(dead_code)]

pub mod formats;
pub mod glob;
pub mod inputs;
pub mod paths;
pub mod proxy;
pub mod wire;

use std::fmt::Debug;
use std::fs;
use std::os::unix::fs::symlink;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ftpdlib::fs::OsFs;

/// xorshift64* seeded through splitmix64: tiny, deterministic, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`; the tiny modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Reads typed values off a fuzzer's byte string; missing bytes read as zero.
#[derive(Debug)]
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// Wraps raw fuzzer bytes.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input(data)
    }

    /// The next `N` bytes, zero-padded.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }

    /// Everything left.
    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// FNV-1a, to derive a deterministic chunking plan from a fuzzer input.
pub fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs one case; if it panics, prints the input (to replay it), then re-panics.
pub fn case<T: Debug + ?Sized>(area: &str, input: &T, f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        eprintln!("{area}: failing input: {input:?}");
        panic::resume_unwind(payload);
    }
}

/// Iterations for an area whose default is `default`: `FTPDLIB_FUZZ_ITERS=N` scales every
/// area by `N / 20000` (20000 being the default of the cheapest areas); at least 1.
pub fn iterations(default: u64) -> u64 {
    match std::env::var("FTPDLIB_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(n) => {
            (u128::from(default) * u128::from(n) / 20_000).clamp(1, u128::from(u64::MAX)) as u64
        }
        None => default,
    }
}

/// The base seed: `FTPDLIB_FUZZ_SEED` (decimal or 0x-hex) or a fixed default.
pub fn base_seed() -> u64 {
    let parsed = std::env::var("FTPDLIB_FUZZ_SEED")
        .ok()
        .and_then(|v| match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        });
    parsed.unwrap_or(0x00f7_d11b_f022)
}

/// Text inside every regular file of the jail; outside files never contain it.
pub const INSIDE_MARK: &[u8] = b"INSIDE-THE-JAIL";
/// Text inside every regular file outside the jail.
pub const OUTSIDE_MARK: &[u8] = b"OUTSIDE-SECRET";

/// A temporary tree: `base/root` is the jail (with symlinks leading out), `base/outside`
/// holds what must stay unreachable. Removed on drop.
#[derive(Debug)]
pub struct Jail {
    /// The temporary directory holding both trees.
    pub base: PathBuf,
    /// The canonical jail root.
    pub root: PathBuf,
    /// `OsFs` jailed in `root`.
    pub fs: OsFs,
    /// `(dev, ino)` of everything outside the jail that a link points to.
    pub forbidden: Vec<(u64, u64)>,
}

/// Names that exist in the jail (or are interesting near it), for path generators.
pub const JAIL_NAMES: &[&str] = &[
    "file.txt",
    "sub",
    "inner.txt",
    "deeper",
    "up",
    "out_abs",
    "out_rel",
    "secret_link",
    "dangling_out",
    "deep_dangle",
    "dangling_in",
    "loop_a",
    "loop_b",
    "in_link",
    "back",
    "self",
    "chain",
    "tricky",
    "etc_link",
    "%2e%2e",
    "%2E%2E",
    "..%2f",
    "x",
    "fifo",
    "nothere",
    "...",
    " ",
    ". .",
    "..\\..",
    "incoming",
    "pub",
];

/// Multi-component paths through the jail's tree and links (inside and escaping).
pub const JAIL_PATHS: &[&str] = &[
    "sub/inner.txt",
    "pub/x",
    "%2e%2e/x",
    "sub/deeper",
    "in_link/inner.txt",
    "self/sub/inner.txt",
    "out_abs/secret.txt",
    "out_rel/dir/x",
    "up/outside/secret.txt",
    "up/root/file.txt",
    "in_link/back/outside/dir/x",
    "sub/back/root/pub/x",
    "chain/secret.txt",
    "etc_link/passwd",
    "deep_dangle/..",
];

impl Jail {
    /// Builds the tree under the system temp directory; `tag` keeps parallel tests apart.
    pub fn new(tag: &str) -> Jail {
        remove_stale_jails();
        let base = std::env::temp_dir().join(format!("ftpdlib-fuzz-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (root, out) = (base.join("root"), base.join("outside"));
        for dir in [
            root.join("sub/deeper"),
            root.join("%2e%2e"),
            root.join("incoming"),
            root.join("pub"),
            out.join("dir"),
        ] {
            fs::create_dir_all(dir).expect("create fixture dirs");
        }
        for file in ["file.txt", "sub/inner.txt", "%2e%2e/x", "pub/x"] {
            fs::write(root.join(file), INSIDE_MARK).expect("write inside file");
        }
        for file in ["secret.txt", "dir/x"] {
            fs::write(out.join(file), OUTSIDE_MARK).expect("write outside file");
        }
        let links: &[(&str, PathBuf)] = &[
            ("up", "..".into()),
            ("out_abs", out.clone()),
            ("out_rel", "../outside".into()),
            ("secret_link", "../outside/secret.txt".into()),
            ("dangling_out", "../outside/newfile".into()),
            ("deep_dangle", "../outside/newdir/x".into()),
            ("dangling_in", "nothere".into()),
            ("loop_a", "loop_b".into()),
            ("loop_b", "loop_a".into()),
            ("in_link", "sub".into()),
            ("sub/back", "../..".into()),
            ("self", ".".into()),
            ("chain", "in_link/back/outside".into()),
            ("tricky", "missing/../../outside/secret.txt".into()),
            ("etc_link", "/etc".into()),
        ];
        for (name, target) in links {
            symlink(target, root.join(name)).expect("create fixture symlink");
        }
        // A FIFO: opening it for reading would block the event loop. Best effort.
        let _ = std::process::Command::new("mkfifo")
            .arg(root.join("fifo"))
            .status();
        let root = fs::canonicalize(&root).expect("canonical root");
        let fs = OsFs::new(&root).expect("OsFs::new");
        let mut forbidden = Vec::new();
        for p in [
            base.clone(),
            out.clone(),
            out.join("secret.txt"),
            out.join("dir"),
            out.join("dir/x"),
        ] {
            forbidden.push(dev_ino(&p));
        }
        for p in ["/", "/etc", "/etc/passwd"] {
            if Path::new(p).exists() {
                forbidden.push(dev_ino(Path::new(p)));
            }
        }
        Jail {
            base,
            root,
            fs,
            forbidden,
        }
    }

    /// True if the fixture still looks as built (nothing was created outside).
    pub fn outside_untouched(&self) -> bool {
        let mut names: Vec<_> = fs::read_dir(self.base.join("outside"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        names == ["dir", "secret.txt"]
    }
}

/// Removes the jails of fuzzing processes that are gone (libFuzzer exits without running
/// destructors, so the fuzz targets cannot clean up after themselves).
fn remove_stale_jails() {
    let Ok(dir) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in dir.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("ftpdlib-fuzz-") else {
            continue;
        };
        let pid = rest.rsplit('-').next().unwrap_or("");
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn dev_ino(p: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(p).expect("fixture metadata");
    (md.dev(), md.ino())
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// Every file of `fuzz/corpus/<target>/`, sorted by name (for the tests: the path is taken
/// relative to the main crate's manifest).
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = fs::read(&p).expect("read corpus file");
            (p, data)
        })
        .collect()
}
