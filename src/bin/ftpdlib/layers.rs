//! Where each setting comes from: command-line flags, then environment variables
//! `FTPDLIB_<FLAG>`, then the `--config` file, then the defaults; the first that sets a
//! value wins.
//!
//! The flags are the one list of settings. Every flag `--max-cons` has an environment
//! variable `FTPDLIB_MAX_CONS` (clap's `env`, added here to every flag so none can be
//! forgotten) and a key `max-cons` in the file ([`crate::config_file`] maps keys and tables to
//! flags). Layering works on clap's own notion of a value's source: the command line is parsed
//! once; every file key whose flag was set neither on the command line nor in the environment
//! is turned into that flag and the command line is parsed again with them in front. So a file
//! value goes through exactly the parser of its flag, and `--help` shows every variable.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches};

use crate::args::Args;
use crate::config_file;

/// Flags that are actions rather than settings: no variable, no file key.
const NOT_SETTINGS: [&str; 3] = ["help", "version", "check"];

/// The environment variable of the flag `long`: `max-cons` → `FTPDLIB_MAX_CONS`.
pub fn env_name(long: &str) -> String {
    format!("FTPDLIB_{}", long.to_ascii_uppercase().replace('-', "_"))
}

/// True if the flag `long` is a setting (has a variable and, except `config`, a file key).
pub fn is_setting(long: &str) -> bool {
    !NOT_SETTINGS.contains(&long)
}

/// The daemon's command: [`Args`] with an `FTPDLIB_*` variable for every setting. Switches
/// read their variable as a yes/no word (`1`, `true`, `yes`, `on` or `0`, `false`, ...).
pub fn command() -> clap::Command {
    Args::command().mut_args(|arg| {
        let Some(long) = arg.get_long().filter(|l| is_setting(l)) else {
            return arg;
        };
        let name = env_name(long);
        let hide = long == "password";
        let arg = arg.env(name).hide_env_values(hide);
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            arg.value_parser(clap::builder::BoolishValueParser::new())
        } else {
            arg
        }
    })
}

/// Why the settings could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// A flag or variable is wrong (or `--help`/`--version`): clap prints it.
    Cli(clap::Error),
    /// The configuration file is unreadable or wrong: the text names the file, line and key.
    File(String),
}

/// The settings from `argv` (with the program name first), the environment and the file named
/// by `--config` (or `FTPDLIB_CONFIG`).
pub fn load(argv: &[OsString]) -> Result<Args, LoadError> {
    let mut cmd = command();
    cmd.build();
    let first = cmd
        .clone()
        .try_get_matches_from(argv)
        .map_err(LoadError::Cli)?;
    let path = first.get_one::<PathBuf>("config").cloned();
    let injected = match path {
        // A subcommand (hash-password, man, ...) needs no settings.
        Some(path) if first.subcommand().is_none() => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                LoadError::File(format!("configuration file {}: {e}", path.display()))
            })?;
            let origin = path.display().to_string();
            let entries = config_file::parse(&text, &origin, &cmd).map_err(LoadError::File)?;
            entries
                .into_iter()
                .filter(|e| {
                    !matches!(
                        first.value_source(&e.id),
                        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                    )
                })
                .flat_map(|e| e.tokens)
                .collect()
        }
        _ => Vec::new(),
    };
    if injected.is_empty() {
        return Args::from_arg_matches(&first).map_err(LoadError::Cli);
    }
    let mut full = Vec::with_capacity(argv.len() + injected.len());
    full.extend(argv.iter().take(1).cloned());
    full.extend(injected.into_iter().map(OsString::from));
    full.extend(argv.iter().skip(1).cloned());
    let matches = cmd.try_get_matches_from(full).map_err(LoadError::Cli)?;
    Args::from_arg_matches(&matches).map_err(LoadError::Cli)
}
