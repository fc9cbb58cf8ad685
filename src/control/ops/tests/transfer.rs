//! RETR, STOR, APPE, STOU and ABOR (`ops/transfer.rs`): `425` without a channel, `150` while
//! it is set up, `125` once it is up, the refusals, REST, and ABOR's four answers.

use super::rig::{Rig, DATA};
use super::{check, Table};
use crate::auth::UserLimits;
use crate::config::MinFree;
use crate::control::channel::{Channel, Work};
use crate::fs::WriteMode;
use crate::reply::{Reply, ReplyCode};

const T125: &str = "Data connection already open. Transfer starting.";
const T150: &str = "File status okay. About to open data connection.";
const NO_CHANNEL: &str = "Use PORT or PASV first.";
const BUSY: &str = "A transfer is already in progress.";
const NO_FILE: &str = "No such file or directory.";
const PAST_END: &str = "Invalid REST parameter: position (100) > file size (6).";

/// Passive, and the disk always short of `--min-free`.
fn full_disk() -> Rig {
    let mut rig = Rig::custom("elradfmwMT", |_, cfg| {
        cfg.min_free = MinFree::Bytes(u64::MAX)
    })
    .login();
    rig.data.chan = Channel::Passive(DATA);
    rig
}

/// Passive, with a file quota of 2 files (the fixture has 2).
fn files_quota() -> Rig {
    let mut rig = Rig::limited(UserLimits {
        quota_files: Some(2),
        ..UserLimits::default()
    });
    rig.data.chan = Channel::Passive(DATA);
    rig
}

/// Logged in; the last data connection was refused its TLS handshake (PROT P).
fn refused() -> Rig {
    let mut rig = Rig::logged_in();
    rig.data.refusal = Some(Reply::new(ReplyCode::ProtocolNotSupported, "Refused."));
    rig
}

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::logged_in, rows: &[
        (&["RETR a.txt"], "Transfer RETR /a.txt", 425, NO_CHANNEL),
        (&["RETR nope"], "", 550, NO_FILE),
        (&["RETR dir"], "", 550, "\"/dir\" is not a regular file."),
        (&["RETR"], "", 501, "Syntax error: command needs an argument."),
        (&["TYPE I", "REST 100", "RETR a.txt"], "", 554, PAST_END),
        (&["STOR new.txt"], "NoChannel", 425, NO_CHANNEL),
        (&["STOR nope/new.txt"], "", 550, NO_FILE),
        (&["STOR dir"], "", 550, "\"/dir\" is not a regular file."),
        (&["TYPE I", "REST 100", "STOR a.txt"], "", 554, PAST_END),
        (&["TYPE I", "REST 2", "STOR nope.txt"], "", 550, NO_FILE),
        (&["APPE a.txt"], "NoChannel", 425, NO_CHANNEL),
        (&["APPE dir"], "", 550, "\"/dir\" is not a regular file."),
        (&["TYPE I", "REST 2", "APPE a.txt"], "", 554, "Can't APPE while REST request is pending."),
        (&["STOU"], "NoChannel", 425, NO_CHANNEL),
        (&["STOU nope/x"], "", 550, NO_FILE),
        (&["TYPE I", "REST 2", "STOU"], "", 554, "Can't STOU while REST request is pending."),
        (&["ABOR"], "", 225, "No transfer to abort."),
        (&["ABOR x"], "", 501, "Syntax error: command does not accept arguments."),
    ]},
    Table { rig: Rig::passive, rows: &[
        (&["RETR a.txt"], "Transfer RETR /a.txt", 150, T150),
        (&["CWD dir", "RETR b.txt"], "Transfer RETR /dir/b.txt", 150, T150),
        (&["TYPE I", "REST 6", "RETR a.txt"], "Transfer RETR /a.txt", 150, T150),
        (&["STOR new.txt"], "Transfer STOR /new.txt", 150, T150),
        (&["STOR a.txt"], "Transfer STOR /a.txt", 150, T150),
        (&["TYPE I", "REST 2", "STOR a.txt"], "Transfer STOR /a.txt", 150, T150),
        (&["APPE a.txt"], "Transfer APPE /a.txt", 150, T150),
        (&["APPE new.txt"], "Transfer APPE /new.txt", 150, T150),
        (&["STOU"], "Transfer STOU /ftpd", 150, "FILE: ftpd"),
        (&["STOU a.txt"], "Transfer STOU /a.txt.1", 150, "FILE: a.txt.1"),
        (&["CWD dir", "STOU b.txt"], "Transfer STOU /dir/b.txt.1", 150, "FILE: b.txt.1"),
        (&["ABOR"], "CloseChannel", 225, "ABOR command successful; data channel closed."),
        // The client got a 150 for the waiting transfer: 426 ends it, then 226.
        (&["RETR a.txt", "ABOR"], "CloseChannel", 226, "ABOR command successful."),
    ]},
    Table { rig: Rig::ready, rows: &[
        (&["RETR a.txt"], "Transfer RETR /a.txt", 125, T125),
        (&["STOR new.txt"], "Transfer STOR /new.txt", 125, T125),
        (&["APPE a.txt"], "Transfer APPE /a.txt", 125, T125),
        (&["STOU"], "Transfer STOU /ftpd", 125, "FILE: ftpd"),
        (&["ABOR"], "CloseChannel", 225, "ABOR command successful; data channel closed."),
    ]},
    Table { rig: Rig::busy, rows: &[
        (&["RETR a.txt"], "", 425, BUSY),
        (&["STOR new.txt"], "", 425, BUSY),
        (&["APPE a.txt"], "", 425, BUSY),
        (&["STOU"], "", 425, BUSY),
        (&["ABOR"], "AbortTransfer 7", 0, ""),
    ]},
    Table { rig: full_disk, rows: &[
        (&["STOR new.txt"], "", 452, "Insufficient storage space: the server keeps a minimum free."),
        (&["STOU"], "", 452, "Insufficient storage space: the server keeps a minimum free."),
        (&["RETR a.txt"], "Transfer RETR /a.txt", 150, T150),
    ]},
    Table { rig: files_quota, rows: &[
        (&["STOR new.txt"], "", 552, "Exceeded storage allocation: file quota reached."),
        (&["STOU"], "", 552, "Exceeded storage allocation: file quota reached."),
        (&["STOR a.txt"], "Transfer STOR /a.txt", 150, T150),
        (&["DELE a.txt", "STOR new.txt"], "Transfer STOR /new.txt", 150, T150),
    ]},
    Table { rig: refused, rows: &[
        (&["RETR a.txt"], "Transfer RETR /a.txt", 522, "Refused."),
        (&["STOR new.txt"], "NoChannel", 522, "Refused."),
        (&["STOR new.txt", "STOR new.txt"], "NoChannel", 425, NO_CHANNEL),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn rest_is_spent_by_the_next_transfer() {
    let mut rig = Rig::passive();
    rig.run("TYPE I");
    rig.run("REST 2");
    assert_eq!(rig.run("RETR a.txt").code(), 150);
    assert_eq!(rig.session.rest, 0);
    assert_eq!(rig.sent(), "llo\n", "RETR sends from the offset");
    rig.run("REST 4");
    rig.run("STOR a.txt");
    assert_eq!(rig.session.rest, 0);
    match rig.job().work {
        Work::Upload(plan) => assert_eq!(plan.mode, WriteMode::At(4)),
        other => panic!("{other:?}"),
    }
    // A refused transfer spends it too.
    rig.run("REST 100");
    assert_eq!(rig.run("RETR a.txt").code(), 554);
    assert_eq!(rig.session.rest, 0);
    assert_eq!(rig.run("RETR a.txt").code(), 150);
    assert_eq!(rig.sent(), "hello\n");
}

#[test]
fn uploads_touch_nothing_before_their_data_connection() {
    let mut rig = Rig::passive();
    rig.run("STOR new.txt");
    rig.run("STOU");
    rig.run("TYPE I");
    rig.run("REST 2");
    rig.run("STOR a.txt");
    assert!(!rig.disk("new.txt").exists() && !rig.disk("ftpd").exists());
    assert_eq!(std::fs::read(rig.disk("a.txt")).unwrap(), b"hello\n");
    let modes: Vec<WriteMode> = ["APPE a.txt", "STOU", "STOR a.txt"]
        .iter()
        .map(|line| {
            rig.run(line);
            match rig.job().work {
                Work::Upload(plan) => plan.mode,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(
        modes,
        [WriteMode::Append, WriteMode::CreateNew, WriteMode::Truncate]
    );
}

#[test]
fn stou_runs_out_of_names() {
    let mut rig = Rig::passive();
    for i in 1..100 {
        std::fs::write(rig.disk(&format!("a.txt.{i}")), b"").unwrap();
    }
    let ran = rig.run("STOU a.txt");
    assert_eq!(
        (ran.code(), ran.text()),
        (550, "No usable unique file name found.")
    );
}

#[test]
fn abor_of_a_waiting_transfer_ends_it_first() {
    let mut rig = Rig::passive();
    rig.run("RETR a.txt");
    assert!(rig.data.pending.is_some());
    let ran = rig.run("ABOR");
    let replies: Vec<String> = ran.replies.iter().map(ToString::to_string).collect();
    assert_eq!(
        replies,
        [
            "426 Transfer aborted via ABOR.\r\n",
            "226 ABOR command successful.\r\n"
        ]
    );
}

/// ABOR of a transfer that waits for its data connection answers `426` and `226` and closes
/// the channel; the transfer must go too, or a second ABOR finishes it again and the next
/// data connection (after a new PASV) would start it (`DataSide::abandon`).
#[test]
fn abor_drops_the_waiting_transfer() {
    let mut rig = Rig::passive();
    rig.run("RETR a.txt");
    assert_eq!(rig.run("ABOR").code(), 226);
    assert!(rig.data.pending.is_none(), "the aborted RETR still waits");
    let again = rig.run("ABOR");
    assert_eq!((again.code(), again.text()), (225, "No transfer to abort."));
}
