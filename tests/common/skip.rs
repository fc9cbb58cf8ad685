//! Tests that need something this machine may lack (a client program, IPv6, root, enough
//! descriptors) call [`require`] or [`require_tool`] first.
//!
//! Locally a missing requirement skips the test: it returns early and passes, a notice goes
//! straight to stderr (not through libtest's capture, which would hide it), and the test
//! binary prints one line at exit that counts its skips. In CI (`FTPDLIB_REQUIRE_ALL=1`, set
//! by `.ci/run`) a missing requirement fails the test instead, so a machine without a client
//! cannot pass by skipping everything that uses it.

use std::io::Write;
use std::sync::{Mutex, Once};

/// The environment variable that turns skips into failures.
pub const REQUIRE_ALL: &str = "FTPDLIB_REQUIRE_ALL";

static SKIPS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SUMMARY: Once = Once::new();

/// True if `available`; otherwise skips (locally) or fails (CI) the calling test, saying
/// `missing`.
#[track_caller]
pub fn require(available: bool, missing: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var_os(REQUIRE_ALL).is_some_and(|v| v != "0" && !v.is_empty()) {
        panic!("{missing}; {REQUIRE_ALL} is set, so this test may not be skipped");
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {missing}");
    if let Ok(mut skips) = SKIPS.lock() {
        skips.push(test);
    }
    SUMMARY.call_once(|| {
        // SAFETY: `summary` is a plain `extern "C" fn` without arguments that does not unwind
        // (it only formats and writes, ignoring errors); registering it has no preconditions.
        unsafe {
            libc::atexit(summary);
        }
    });
    false
}

/// True if `bin` is an executable on `PATH`; otherwise skips or fails as [`require`] does.
#[track_caller]
pub fn require_tool(bin: &str) -> bool {
    require(
        super::on_path(bin),
        &format!("{bin} is not installed (.ci/run installs it)"),
    )
}

/// Printed when the test binary exits: how many of its tests skipped themselves.
extern "C" fn summary() {
    let skips = match SKIPS.lock() {
        Ok(s) => s.clone(),
        Err(_) => return,
    };
    if !skips.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "{} test(s) of this binary SKIPPED (passed without checking anything): {}",
            skips.len(),
            skips.join(", ")
        );
    }
}
