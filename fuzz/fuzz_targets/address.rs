//! Fuzz target `address`: the bytes (lossy UTF-8) are one argument given to PORT, EPRT and
//! EPSV; parsed addresses must re-format and parse back. See docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

fuzz_target!(|data: &[u8]| fuzzutil::wire::run_address(data));
