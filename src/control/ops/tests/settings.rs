//! The settings commands through the whole pipeline (`run_line`: parser, gate, then
//! `settings::run`). Each of their replies is tested in `control/settings/tests.rs`; these rows
//! check that every one is reached, behind the login where the table asks for it.

use super::rig::Rig;
use super::{check, Table};
use crate::control::session::TransferType;

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::fresh, rows: &[
        (&["FEAT"], "", 211, "Features supported:"),
        (&["HELP"], "", 214, "The following commands are recognized:"),
        (&["HELP stor"], "", 214, "Syntax: STOR <SP> file-name (store a file)."),
        (&["NOOP"], "", 200, "I successfully did nothing'."),
        (&["SYST"], "", 215, "UNIX Type: L8"),
        (&["SITE HELP"], "", 214, "The following SITE commands are recognized:"),
        (&["SITE"], "", 501, "Syntax error: command needs an argument."),
        (&["TYPE I"], "", 530, "Log in with USER and PASS first."),
        (&["PWD"], "", 530, "Log in with USER and PASS first."),
        (&["SITE QUOTA"], "", 530, "Log in with USER and PASS first."),
        (&["OPTS UTF8 ON"], "", 530, "Log in with USER and PASS first."),
    ]},
    Table { rig: Rig::logged_in, rows: &[
        (&["TYPE I"], "", 200, "Type set to: Binary."),
        (&["TYPE X"], "", 504, "Unsupported type \"X\"."),
        (&["MODE S"], "", 200, "Transfer mode set to: S"),
        (&["STRU F"], "", 200, "File transfer structure set to: F."),
        (&["REST 10"], "", 501, "Resuming transfers not allowed in ASCII mode."),
        (&["TYPE I", "REST 10"], "", 350, "Restarting at position 10."),
        (&["RANG 1 2"], "", 350, "Restarting at 1. Ending byte range at 2."),
        (&["PWD"], "", 257, "\"/\" is the current directory."),
        (&["XPWD"], "", 257, "\"/\" is the current directory."),
        (&["OPTS UTF8 ON"], "", 200, "Always in UTF8 mode."),
        (&["SITE HELP CHMOD"], "", 214, "Syntax: SITE CHMOD <SP> mode path (change file mode)."),
        (&["SITE QUOTA"], "", 211, "No quota: bytes and files unlimited."),
        (&["ALLO 100"], "", 202, "No storage allocation necessary."),
        (&["ACCT x"], "", 202, "Command not implemented, superfluous at this site."),
        (&["SMNT /x"], "", 502, "SMNT not implemented."),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn type_changes_the_session() {
    let mut rig = Rig::logged_in();
    assert_eq!(rig.session.ttype, TransferType::Ascii);
    rig.run("TYPE I");
    assert_eq!(rig.session.ttype, TransferType::Binary);
    rig.run("TYPE X");
    assert_eq!(rig.session.ttype, TransferType::Binary);
    rig.run("REST 3");
    assert_eq!(rig.session.rest, 3);
}
