//! Fuzz target `glob`: `pattern LF name` (lossy UTF-8) for NLST's glob matching, checked
//! against a reference matcher. See docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

fuzz_target!(|data: &[u8]| fuzzutil::glob::run_glob(data));
