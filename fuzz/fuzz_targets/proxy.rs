//! Fuzz target `proxy`: the bytes are a stream given to the PROXY protocol parser (v1 and v2),
//! then the recipe of a well-formed header that must parse back, and that header with one byte
//! changed. See docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

fuzz_target!(|data: &[u8]| fuzzutil::proxy::run_proxy(data));
