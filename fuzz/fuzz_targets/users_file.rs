//! Fuzz target `users_file`: the bytes (lossy UTF-8) are a users file; `{HOME}` stands for an
//! existing directory with subdirectories and symlinks. Errors must name a real, significant
//! line, consistently with the file cut after it. See docs/fuzzing.md.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzutil/mod.rs"]
mod fuzzutil;

static JAIL: OnceLock<fuzzutil::Jail> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let jail = JAIL.get_or_init(|| fuzzutil::Jail::new("users-target"));
    fuzzutil::formats::run_users(&jail.root.to_string_lossy(), data);
});
