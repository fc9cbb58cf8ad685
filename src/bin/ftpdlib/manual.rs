//! `ftpdlib man` and `ftpdlib completions SHELL`: the manual page and shell completions,
//! generated from the same clap command that parses the flags, so they cannot drift from it.
//!
//! The man page is clap_mangen's (name, synopsis, every flag with its `FTPDLIB_*` variable,
//! subcommands) plus sections clap does not know about: the configuration file with every
//! key (computed from the flags by the file's own mapping rule, see [`crate::config_file`]),
//! signals, and files.

use std::io::Write;

use crate::config_file::TABLES;
use crate::layers::{command, env_name, is_setting};

/// Escapes text for roff: backslashes, and a leading `.` or `'` that would be a request.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.chars().next() {
        Some('.' | '\'') => format!("\\&{text}"),
        _ => text,
    }
}

/// The table form of a flag, if one reads better: `ban-after` → `[ban] after`.
fn table_form(long: &str, switch: bool) -> Option<String> {
    TABLES.iter().find_map(|t| {
        if switch && long == *t {
            return Some(format!("[{t}] enabled"));
        }
        long.strip_prefix(t)
            .and_then(|rest| rest.strip_prefix('-'))
            .map(|rest| format!("[{t}] {rest}"))
    })
}

/// The CONFIGURATION FILE section: the rule, then every key.
fn config_section(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, ".SH \"CONFIGURATION FILE\"")?;
    writeln!(
        out,
        "{}",
        roff(
            "--config FILE reads TOML. Every flag has a key of the same name, without the leading \
             dashes; a switch takes true or false. In a table [NAME], the key KEY is the flag \
             --NAME-KEY if there is one, otherwise --KEY, and enabled is the switch --NAME. \
             Tables: tls, limits, timeouts, ban, log, auth, accounts. An unknown key, a wrong \
             type or a bad value stops startup with exit status 2, naming the file, the line \
             and the key. Precedence: flags, then FTPDLIB_* environment variables, then the \
             file, then the defaults. /usr/share/doc/ftpdlib/ftpdlib.toml is an example with \
             every key. The keys:"
        )
    )?;
    let cmd = command();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long().filter(|l| is_setting(l) && *l != "config") else {
            continue;
        };
        let switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        let kind = if switch { "true|false" } else { "value" };
        let also = table_form(long, switch).map_or(String::new(), |t| format!(" (or {t})"));
        writeln!(out, ".TP\n\\fB{}\\fR = {kind}{}", roff(long), roff(&also))?;
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        writeln!(out, "{}", roff(&help))?;
    }
    Ok(())
}

/// The ENVIRONMENT, SIGNALS and FILES sections.
fn other_sections(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(
        out,
        "{}",
        roff(&format!(
            "Every flag --NAME can be set by the variable FTPDLIB_NAME in capitals with \
             underscores, e.g. {} for --max-cons (switches: 1/0, true/false, yes/no, on/off). \
             FTPDLIB_CONFIG names the configuration file. TZ sets the time zone of \
             --use-localtime.",
            env_name("max-cons")
        ))
    )?;
    writeln!(out, ".SH SIGNALS")?;
    writeln!(
        out,
        "{}",
        roff(
            "SIGINT, SIGTERM: stop accepting, close every session (after --shutdown-grace), \
             exit 0. SIGHUP: read flags, variables and the configuration file again; new \
             sessions get the new settings, running ones keep theirs; changes that need new \
             sockets or threads are logged as needing a restart; a file that does not load \
             keeps the old configuration."
        )
    )?;
    writeln!(out, ".SH FILES")?;
    writeln!(
        out,
        "{}",
        roff(
            "/etc/ftpdlib/ftpdlib.toml (by convention, with --config), the users file \
             (--users-file), /lib/systemd/system/ftpdlib.service and ftpdlib.socket."
        )
    )
}

/// Writes the man page (roff) to `out`.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let page = clap_mangen::Man::new(command()).section("8");
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    page.render_subcommands_section(out)?;
    config_section(out)?;
    other_sections(out)?;
    page.render_version_section(out)
}

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut command(), "ftpdlib", out);
}
