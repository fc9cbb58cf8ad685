//! Fuzz target `command_line`: the bytes are a control-connection stream. Checks the line
//! reader against its reference model (whole, chunked, byte by byte), Telnet stripping, and
//! the command parser on every line (UTF-8 and Latin-1 decodings). See docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

fuzz_target!(|data: &[u8]| fuzzutil::wire::run_command_line(data));
