//! Every command of the core as (session state, command line) → (replies, actions, next state),
//! without a socket (issue 14).
//!
//! A [`Rig`](rig::Rig) owns what a control connection owns (session, configuration, server
//! state, data side, TLS state) over a temporary home served by the real `OsFs`, and runs a
//! line through `ops::run_line` as the engine does: filesystem work runs inline, a login check
//! and the delay after a failed login are resolved at once, every other action is recorded.
//! Each submodule holds tables of rows (lines sent, actions, last reply) for one group of
//! commands, one row per table row of the command table and per reply each command can give,
//! and tests of the state a command leaves (the session, the data side, the files on disk).
//! [`every_table_row_has_a_row`] checks that no command of the table is left without one.

mod access;
mod files;
mod gate;
mod info;
mod listing;
mod ports;
mod rig;
mod settings;
mod tls;
mod transfer;

use std::collections::HashSet;

use super::super::parser;
use super::super::table::{Verb, COMMANDS};
use rig::Rig;

/// One row: the lines sent (only the last one is checked), the actions the last line leads
/// to (comma-separated, `""` for none), and the code and first text line of its last reply
/// (`0, ""`: no reply yet, the engine answers once its action is done).
type Row = (&'static [&'static str], &'static str, u16, &'static str);

/// Rows that start from the same state.
struct Table {
    /// Makes the state each row starts from (a fresh one per row).
    rig: fn() -> Rig,
    rows: &'static [Row],
}

/// Runs every row of `tables`, each on a fresh rig; fails with every row that did not give
/// what it says.
fn check(tables: &[Table]) {
    let mut wrong = Vec::new();
    for table in tables {
        for &(lines, actions, code, text) in table.rows {
            let mut rig = (table.rig)();
            let (last, before) = lines.split_last().expect("a line");
            for line in before {
                rig.run(line);
            }
            let ran = rig.run(last);
            let got = (ran.actions(), ran.code(), ran.text().to_owned());
            if got != (actions.to_owned(), code, text.to_owned()) {
                wrong.push(format!(
                    "{lines:?}: got {got:?}, not ({actions:?}, {code}, {text:?})"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Every group's tables.
fn all_tables() -> Vec<&'static [Table]> {
    vec![
        access::TABLES,
        files::TABLES,
        gate::TABLES,
        info::TABLES,
        listing::TABLES,
        ports::TABLES,
        settings::TABLES,
        tls::TABLES,
        transfer::TABLES,
    ]
}

/// The verb of a row's checked line, if it parses.
fn verb_of(row: &Row) -> Option<Verb> {
    let line = row.0.last()?;
    parser::parse(line).ok().map(|c| c.spec.verb)
}

#[test]
fn every_table_row_has_a_row() {
    let tables = all_tables();
    let covered: HashSet<Verb> = tables
        .iter()
        .flat_map(|t| t.iter())
        .flat_map(|t| t.rows.iter())
        .filter_map(verb_of)
        .collect();
    let missing: Vec<&str> = COMMANDS
        .iter()
        .filter(|spec| !covered.contains(&spec.verb) && spec.verb != Verb::Site)
        .map(|spec| spec.name)
        .collect();
    assert!(missing.is_empty(), "commands without a row: {missing:?}");
    // A bare SITE never parses as a command of its own: the parser answers it.
    let site = tables
        .iter()
        .flat_map(|t| t.iter())
        .flat_map(|t| t.rows.iter())
        .any(|row| row.0.last() == Some(&"SITE") && row.2 == 501);
    assert!(site, "SITE without a sub-command has a row");
}
