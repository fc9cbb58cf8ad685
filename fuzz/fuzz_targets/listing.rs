//! Fuzz target `listing`: the bytes are a `FileStat`, a current time, flags and facts (binary,
//! little-endian; layout in docs/fuzzing.md), then a file name that is also tried as an MFMT
//! time-val. LIST/MLSx lines must stay single lines, MDTM must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

fuzz_target!(|data: &[u8]| fuzzutil::formats::run_listing(data));
