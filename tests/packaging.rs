//! What `cargo publish` would upload (`cargo package --list`): what a user of the crate or
//! the daemon needs (code, examples, docs, units, example configuration, fail2ban files), and
//! nothing of the test fixtures, the fuzz workspace or CI.
//!
//! The Debian package (`cargo deb`, then `dpkg -i`) is checked by `.ci/run` when cargo-deb is
//! installed: building it compiles the release binary, too slow for a test.

mod common;

use std::process::Command;
use std::time::Duration;

#[test]
fn the_crate_package_holds_what_users_need_and_no_fixtures() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = common::run_bounded(
        Command::new(cargo)
            .args(["package", "--list", "--allow-dirty", "--offline"])
            .current_dir(env!("CARGO_MANIFEST_DIR")),
        Duration::from_secs(120),
    );
    common::assert_success(&out, "cargo package --list");
    let list = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = list.lines().collect();
    for needed in [
        "src/lib.rs",
        "src/bin/ftpdlib/main.rs",
        "README.md",
        "LICENSE",
        "docs/ftpdlib.toml",
        "docs/ftpdlib.service",
        "docs/ftpdlib.socket",
        "docs/ftpdlib.8",
        "contrib/fail2ban/filter.d/ftpdlib.conf",
        "contrib/completions/ftpdlib.bash",
        "examples/embed.rs",
    ] {
        assert!(files.contains(&needed), "{needed} is not packaged");
    }
    for file in &files {
        assert!(
            !file.starts_with("tests/") && !file.starts_with("fuzz/") && !file.starts_with(".ci/"),
            "{file} should not be packaged"
        );
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(root.join(f)).ok())
        .map(|m| m.len())
        .sum();
    assert!(bytes < 2 << 20, "the package holds {bytes} bytes");
}
