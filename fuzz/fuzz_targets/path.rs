//! Fuzz target `path`: the bytes are LF-separated path arguments resolved one after the
//! other (like successive CWDs); each result must be in normal form, and `OsFs` must never
//! reach outside a temporary jail full of symlinks that lead out. See docs/fuzzing.md.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

/// Built once per process under the temp directory (libFuzzer exits without dropping it).
static JAIL: OnceLock<fuzzutil::Jail> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let jail = JAIL.get_or_init(|| fuzzutil::Jail::new("target"));
    fuzzutil::paths::run_path(jail, data);
});
