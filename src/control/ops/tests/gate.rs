//! `run_line`'s order (parser, login, TLS policy, then the command) and the permission letter
//! of every row of the command table, as a client meets them.

use super::rig::{Rig, DATA};
use super::{check, Table};
use crate::auth::Perm;
use crate::control::channel::Channel;
use crate::control::table::{Arg, Verb, COMMANDS};

const LOGIN: &str = "Log in with USER and PASS first.";

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::fresh, rows: &[
        (&["FOO"], "", 500, "Command \"FOO\" not understood."),
        (&[""], "", 500, "Command \"\" not understood."),
        // The parser's argument rule comes first, then the login, then the command's own
        // checks of its argument.
        (&["DELE"], "", 501, "Syntax error: command needs an argument."),
        (&["DELE x"], "", 530, LOGIN),
        (&["MFMT badtime x"], "", 530, LOGIN),
        (&["SITE CHMOD u+x a.txt"], "", 530, LOGIN),
        (&["RETR nope"], "", 530, LOGIN),
        (&["xpwd"], "", 530, LOGIN),
    ]},
    Table { rig: Rig::logged_in, rows: &[
        (&["FOO bar"], "", 500, "Command \"FOO\" not understood."),
        (&["PWD x"], "", 501, "Syntax error: command does not accept arguments."),
        (&["MFMT badtime x"], "", 501, "Invalid time format; expected: YYYYMMDDHHMMSS."),
        (&["dele nope"], "", 550, "No such file or directory."),
    ]},
];

#[test]
fn the_order_of_the_checks() {
    check(TABLES);
}

/// A line of `verb` that reaches its path check on the fixture.
fn line_for(verb: Verb) -> String {
    let arg = match verb {
        Verb::Cdup | Verb::Stou | Verb::List | Verb::Nlst | Verb::Mlsd | Verb::Mlst => "",
        Verb::Avbl | Verb::Cwd | Verb::Stat => "dir",
        Verb::Mkd | Verb::Stor => "new",
        Verb::Rmd => "empty",
        Verb::Rnto => "c.txt",
        Verb::Mfmt => "20200101000000 a.txt",
        Verb::SiteChmod => "600 a.txt",
        _ => "a.txt",
    };
    format!("{} {arg}", verb.name()).trim_end().to_owned()
}

/// Every command guarded by a permission letter, for a user with every letter but that one:
/// `550 Not enough privileges.`, and the disk unchanged.
#[test]
fn each_permission_letter_is_checked() {
    let guarded: Vec<_> = COMMANDS.iter().filter(|s| s.perm.is_some()).collect();
    assert_eq!(guarded.len(), 27, "rows with a letter");
    for spec in guarded {
        let letter = spec.perm.map(Perm::letter).unwrap_or_default();
        let perms: String = "elradfmwMT".chars().filter(|c| *c != letter).collect();
        let mut rig = Rig::custom(&perms, |_, _| {}).login();
        rig.data.chan = Channel::Passive(DATA);
        if spec.verb == Verb::Rnto {
            rig.session.rnfr = Some(rig.session.cwd.resolve("a.txt"));
        }
        let line = line_for(spec.verb);
        let ran = rig.run(&line);
        assert_eq!(
            (ran.actions().as_str(), ran.code(), ran.text()),
            ("", 550, "Not enough privileges."),
            "{line} without {letter}"
        );
        let names: Vec<_> = std::fs::read_dir(rig.home()).unwrap().collect();
        assert_eq!(names.len(), 3, "{line} changed the disk");
        assert_eq!(std::fs::read(rig.disk("a.txt")).unwrap(), b"hello\n");
    }
}

/// Every command that needs a login, logged out: `530`, whatever its argument.
#[test]
fn each_login_row_is_refused_before_login() {
    for spec in COMMANDS.iter().filter(|s| s.auth) {
        let line = match spec.arg {
            Arg::None => spec.name.to_owned(),
            _ => format!("{} x", line_for(spec.verb)),
        };
        let mut rig = Rig::fresh();
        let ran = rig.run(&line);
        assert_eq!((ran.code(), ran.text()), (530, LOGIN), "{line}");
        assert!(ran.actions.is_empty(), "{line}");
    }
}
