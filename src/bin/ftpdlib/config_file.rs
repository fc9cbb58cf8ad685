//! The `--config` file: TOML whose keys are the daemon's long flag names.
//!
//! `max-cons = 100` means `--max-cons 100`; a switch takes a boolean (`write = true` means
//! `-w`; `false` leaves it off). Tables group keys where that reads better, and the rule is
//! mechanical so that no key needs its own code: in a table `[NAME]`, the key `KEY` is the flag
//! `--NAME-KEY` if there is one, otherwise the flag `--KEY`, and `enabled` is the switch
//! `--NAME` itself. So `[tls] enabled = true, certfile = "..."` is `--tls --certfile ...`,
//! `[ban] after = 5` is `--ban-after 5` and `[limits] max-cons = 100` is `--max-cons 100`.
//! `docs/ftpdlib.toml` shows every key.
//!
//! This module only checks the file's shape (known keys, the right TOML type, each flag set
//! once) and turns each key into command-line tokens; [`crate::layers`] validates the values
//! with the flags' own parsers, at the key's line. Every error names the file, the line and
//! the key.

use std::borrow::Cow;

use clap::{Arg, ArgAction};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::layers::is_setting;

/// The tables the file may have (see the module documentation for how their keys map).
pub const TABLES: [&str; 7] = [
    "tls", "limits", "timeouts", "ban", "log", "auth", "accounts",
];

/// One key of the file, as the flag it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The flag's clap id.
    pub id: String,
    /// `--flag=value` (or `--flag` for a switch set to true; nothing for false).
    pub tokens: Vec<String>,
    /// 1-based line of the key.
    pub line: usize,
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1
}

/// A key with its value, the flag it names (if any) and how to show it in errors.
type Item<'t, 'c> = (
    String,
    Option<&'c Arg>,
    &'t Spanned<Cow<'t, str>>,
    &'t Spanned<DeValue<'t>>,
);

/// Parses the file's text into entries, in file order; `origin` names it in errors.
pub fn parse(text: &str, origin: &str, cmd: &clap::Command) -> Result<Vec<Entry>, String> {
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        format!("{origin}:{line}: {}", e.message().trim_end())
    })?;
    let mut items: Vec<Item<'_, '_>> = Vec::new();
    for (key, value) in doc.get_ref().iter() {
        let DeValue::Table(table) = value.get_ref() else {
            items.push((
                key.get_ref().to_string(),
                flag(cmd, key.get_ref()),
                key,
                value,
            ));
            continue;
        };
        if !TABLES.contains(&key.get_ref().as_ref()) {
            return Err(format!(
                "{origin}:{}: unknown table [{}] (tables: {})",
                line_of(text, key.span().start),
                key.get_ref(),
                TABLES.join(", ")
            ));
        }
        for (inner, v) in table.iter() {
            let shown = format!("{}.{}", key.get_ref(), inner.get_ref());
            items.push((
                shown,
                table_key(cmd, key.get_ref(), inner.get_ref()),
                inner,
                v,
            ));
        }
    }
    items.sort_by_key(|item| item.2.span().start);
    let mut out: Vec<Entry> = Vec::new();
    for (shown, arg, key, value) in items {
        push(&mut out, text, origin, &shown, arg, key, value)?;
    }
    Ok(out)
}

/// A settings flag by its long name.
fn flag<'c>(cmd: &'c clap::Command, long: &str) -> Option<&'c Arg> {
    if !is_setting(long) || long == "config" {
        return None;
    }
    cmd.get_arguments().find(|a| a.get_long() == Some(long))
}

fn table_key<'c>(cmd: &'c clap::Command, table: &str, key: &str) -> Option<&'c Arg> {
    if key == "enabled" {
        return flag(cmd, table).filter(|a| is_switch(a));
    }
    flag(cmd, &format!("{table}-{key}")).or_else(|| flag(cmd, key))
}

fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue)
}

/// Checks one key and adds its entry.
fn push(
    out: &mut Vec<Entry>,
    text: &str,
    origin: &str,
    shown: &str,
    arg: Option<&Arg>,
    key: &Spanned<Cow<'_, str>>,
    value: &Spanned<DeValue<'_>>,
) -> Result<(), String> {
    let line = line_of(text, key.span().start);
    let at = |problem: String| format!("{origin}:{line}: key `{shown}`: {problem}");
    let Some(arg) = arg else {
        return Err(format!(
            "{origin}:{line}: unknown key `{shown}` (keys are the long flag names, see --help)"
        ));
    };
    let id = arg.get_id().to_string();
    if let Some(first) = out.iter().find(|e| e.id == id) {
        return Err(at(format!("set twice (also on line {})", first.line)));
    }
    let long = arg.get_long().unwrap_or_default();
    let tokens = match (is_switch(arg), value.get_ref()) {
        (true, DeValue::Boolean(true)) => vec![format!("--{long}")],
        (true, DeValue::Boolean(false)) => Vec::new(),
        (true, other) => {
            return Err(at(format!(
                "wrong type: expected true or false, found {}",
                other.type_str()
            )))
        }
        // A repeatable flag (--hide, --deny) takes an array: one flag per item.
        (false, DeValue::Array(items)) if is_repeatable(arg) => {
            let mut tokens = Vec::new();
            for item in items.iter() {
                let text = scalar(item.get_ref()).ok_or_else(|| {
                    at(format!(
                        "wrong type: expected strings, found {}",
                        item.get_ref().type_str()
                    ))
                })?;
                check_value(arg, &text).map_err(at)?;
                tokens.push(format!("--{long}={text}"));
            }
            tokens
        }
        (false, v) => {
            let text = scalar(v).ok_or_else(|| {
                at(format!(
                    "wrong type: expected a string or a number, found {}",
                    v.type_str()
                ))
            })?;
            check_value(arg, &text).map_err(at)?;
            vec![format!("--{long}={text}")]
        }
    };
    out.push(Entry { id, tokens, line });
    Ok(())
}

/// A flag that may be given several times (its values are collected).
fn is_repeatable(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::Append)
}

/// A string, integer or float as the text a flag would get.
fn scalar(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) if i.radix() == 10 => Some(i.as_str().replace('_', "")),
        DeValue::Integer(i) => i128::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        _ => None,
    }
}

/// Runs the flag's own parser on `value` (a one-flag command parsing `--flag=value`): the
/// file gets the same checks as the command line.
fn check_value(arg: &Arg, value: &str) -> Result<(), String> {
    let long = arg.get_long().unwrap_or_default();
    clap::Command::new("ftpdlib")
        .no_binary_name(true)
        .arg(arg.clone())
        .try_get_matches_from([format!("--{long}={value}")])
        .map(drop)
        .map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            format!("bad value: {}", first.trim_start_matches("error: "))
        })
}

#[cfg(test)]
mod tests;
