//! From a command line to a command: verb lookup and the argument rule. Pure, no I/O.
//!
//! RFC 959 §5.3: a command is a verb of up to four letters (case-insensitive), optionally a
//! space and an argument, then CRLF. The argument is kept exactly as sent, spaces included,
//! because file names may begin or end with spaces. `SITE` commands carry a sub-verb
//! (`SITE CHMOD 755 f`), looked up as its own row of the table.

use super::table::{self, Arg, CommandSpec};
use crate::reply::{Reply, ReplyCode};

/// A parsed command: its table row and its argument (empty when none).
#[derive(Debug, Clone)]
pub struct Command {
    /// The table row.
    pub spec: &'static CommandSpec,
    /// The argument, exactly as sent (minus the separating space).
    pub arg: String,
}

/// Parses one line into a command, answering `500` for an unknown verb and `501` when the
/// argument rule of the table is broken.
pub fn parse(line: &str) -> Result<Command, Reply> {
    let (verb, mut arg) = match line.split_once(' ') {
        Some((v, a)) => (v.to_ascii_uppercase(), a.to_owned()),
        None => (line.to_ascii_uppercase(), String::new()),
    };
    let mut name = verb.clone();
    if verb == "SITE" && !arg.trim().is_empty() {
        let trimmed = arg.trim_start();
        let (sub, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
        name = format!("SITE {}", sub.to_ascii_uppercase());
        arg = rest.to_owned();
    }
    let Some(spec) = table::lookup(&name) else {
        return Err(Reply::new(
            ReplyCode::SyntaxError,
            format!("Command \"{name}\" not understood."),
        ));
    };
    let has_arg = !arg.trim().is_empty();
    match spec.arg {
        Arg::Required if !has_arg => Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Syntax error: command needs an argument.",
        )),
        Arg::None if has_arg => Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Syntax error: command does not accept arguments.",
        )),
        _ => {
            if !has_arg {
                arg.clear();
            }
            Ok(Command { spec, arg })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::table::{Verb, COMMANDS};

    fn verb(line: &str) -> Result<Verb, u16> {
        parse(line)
            .map(|c| c.spec.verb)
            .map_err(|r| r.code().as_u16())
    }

    #[test]
    fn verbs_are_case_insensitive_and_aliases_work() {
        assert_eq!(verb("noop"), Ok(Verb::Noop));
        assert_eq!(verb("XpWd"), Ok(Verb::Pwd));
        assert_eq!(verb("Site chmod 755 x"), Ok(Verb::SiteChmod));
    }

    #[test]
    fn every_table_row_parses() {
        for spec in COMMANDS.iter().filter(|s| s.verb != Verb::Site) {
            let line = match spec.arg {
                Arg::None => spec.name.to_owned(),
                _ => format!("{} x", spec.name),
            };
            assert_eq!(verb(&line), Ok(spec.verb), "{line}");
        }
    }

    #[test]
    fn unknown_and_argument_rules() {
        assert_eq!(verb("FOO"), Err(500));
        assert_eq!(verb(""), Err(500));
        assert_eq!(verb("SITE FOO"), Err(500));
        assert_eq!(verb("SITE"), Err(501));
        assert_eq!(verb("DELE"), Err(501));
        assert_eq!(verb("DELE   "), Err(501));
        assert_eq!(verb("PWD x"), Err(501));
        assert_eq!(verb("CWD"), Ok(Verb::Cwd));
        let e = parse("FOO bar").err().map(|r| r.to_string());
        assert_eq!(
            e.as_deref(),
            Some("500 Command \"FOO\" not understood.\r\n")
        );
    }

    #[test]
    fn argument_kept_verbatim() {
        let c = parse("STOR  two spaces ").ok().map(|c| c.arg);
        assert_eq!(c.as_deref(), Some(" two spaces "));
        let c = parse("SITE CHMOD 755 my file").ok().map(|c| c.arg);
        assert_eq!(c.as_deref(), Some("755 my file"));
    }
}
