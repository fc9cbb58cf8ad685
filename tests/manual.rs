//! `ftpdlib man` and `ftpdlib completions SHELL` from the real binary: the man page names
//! every flag, its environment variable and its configuration key; the completion scripts
//! are produced for bash, zsh and fish, and bash accepts its script's syntax.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn run(args: &[&str]) -> String {
    let out = common::run_bounded(
        Command::new(common::BIN).args(args),
        Duration::from_secs(20),
    );
    common::assert_success(&out, &args.join(" "));
    String::from_utf8(out.stdout).unwrap()
}

/// The long flags of `--help`.
fn flags() -> Vec<String> {
    run(&["--help"])
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split("--").nth(1))
        .filter_map(|rest| rest.split([' ', '=', ',', '<']).next())
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_man_page_documents_every_flag_variable_and_key() {
    let page = run(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH ftpdlib 8"),
        "not roff"
    );
    // roff escapes dashes.
    let page = page.replace("\\-", "-");
    let all = flags();
    assert!(all.len() > 40, "{all:?}");
    for flag in &all {
        assert!(page.contains(&format!("--{flag}")), "--{flag} missing");
        if !["help", "version", "check"].contains(&flag.as_str()) {
            let var = format!("FTPDLIB_{}", flag.to_uppercase().replace('-', "_"));
            assert!(page.contains(&var), "{var} missing");
        }
        if !["help", "version", "check", "config"].contains(&flag.as_str()) {
            assert!(
                page.contains(&format!("\\fB{flag}\\fR = ")),
                "key {flag} missing"
            );
        }
    }
    for section in [
        "CONFIGURATION FILE",
        "ENVIRONMENT",
        "SIGNALS",
        "[ban] after",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        assert!(script.contains("max-cons"), "{shell}: no --max-cons");
        assert!(script.contains("hash-password"), "{shell}: no subcommand");
    }
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let script = run(&["completions", "bash"]);
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(bash.wait().unwrap().success(), "bash -n refused the script");
    let out = common::run_bounded(
        Command::new(common::BIN).args(["completions", "tcsh"]),
        Duration::from_secs(20),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

/// The generated files the Debian package installs (Cargo.toml `[package.metadata.deb]`).
const GENERATED: [(&str, &[&str]); 2] = [
    ("docs/ftpdlib.8", &["man"]),
    ("contrib/completions/ftpdlib.bash", &["completions", "bash"]),
];

#[test]
fn the_shipped_man_page_and_completion_are_up_to_date() {
    for (file, args) in GENERATED {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        let now = run(args);
        assert!(
            shipped == now,
            "{file} is stale: regenerate it with `cargo run -- {} > {file}`",
            args.join(" ")
        );
    }
}
