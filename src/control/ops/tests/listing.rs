//! LIST, NLST, MLSD (over the data connection) and MLST (over the control connection),
//! `ops/listing.rs`: the replies, and the lines a listing would send.

use super::rig::Rig;
use super::{check, Table};

const T150: &str = "File status okay. About to open data connection.";
const NO_FILE: &str = "No such file or directory.";
const BUSY: &str = "A transfer is already in progress.";

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::logged_in, rows: &[
        (&["LIST"], "Transfer LIST", 425, "Use PORT or PASV first."),
        (&["LIST nope"], "", 550, NO_FILE),
        (&["NLST nope"], "", 550, NO_FILE),
        (&["MLSD nope"], "", 550, NO_FILE),
        (&["MLSD a.txt"], "", 501, "No such directory."),
        (&["MLST a.txt"], "", 250, "Listing /a.txt"),
        (&["MLST"], "", 250, "Listing /"),
        (&["CWD dir", "MLST b.txt"], "", 250, "Listing /dir/b.txt"),
        (&["MLST nope"], "", 550, NO_FILE),
    ]},
    Table { rig: Rig::passive, rows: &[
        (&["LIST"], "Transfer LIST", 150, T150),
        (&["LIST -la"], "Transfer LIST", 150, T150),
        (&["LIST a.txt"], "Transfer LIST", 150, T150),
        (&["NLST"], "Transfer NLST", 150, T150),
        (&["NLST *.txt"], "Transfer NLST", 150, T150),
        (&["NLST nope/*.txt"], "", 550, NO_FILE),
        (&["MLSD"], "Transfer MLSD", 150, T150),
        (&["MLSD dir"], "Transfer MLSD", 150, T150),
    ]},
    Table { rig: Rig::busy, rows: &[
        (&["LIST"], "", 425, BUSY),
        (&["NLST"], "", 425, BUSY),
        (&["MLSD"], "", 425, BUSY),
        (&["MLST a.txt"], "", 250, "Listing /a.txt"),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

/// The lines the last listing sends, sorted (a directory's order is the disk's).
fn sent_lines(rig: &mut Rig) -> Vec<String> {
    let mut lines: Vec<String> = rig.sent().split("\r\n").map(str::to_owned).collect();
    assert_eq!(lines.pop().as_deref(), Some(""), "every line ends in CRLF");
    lines.sort();
    lines
}

#[test]
fn what_each_listing_sends() {
    let mut rig = Rig::passive();
    rig.run("NLST");
    assert_eq!(sent_lines(&mut rig), ["a.txt", "dir", "empty"]);
    rig.run("NLST *.txt");
    assert_eq!(sent_lines(&mut rig), ["a.txt"]);
    rig.run("NLST dir/*.txt");
    assert_eq!(sent_lines(&mut rig), ["dir/b.txt"]);
    rig.run("NLST a.txt");
    assert_eq!(sent_lines(&mut rig), ["a.txt"]);
    rig.run("LIST dir");
    let list = sent_lines(&mut rig);
    assert_eq!(list.len(), 1);
    assert!(
        list[0].starts_with("-rw") && list[0].ends_with(" b.txt"),
        "{list:?}"
    );
    rig.run("MLSD");
    let mut mlsd = sent_lines(&mut rig);
    mlsd.sort_by_key(|l| l.rsplit_once("; ").map(|(_, name)| name.to_owned()));
    assert_eq!(mlsd.len(), 3, "{mlsd:?}");
    let a = &mlsd[0];
    assert!(
        a.starts_with("type=file;size=6;modify=20200102030405;perm=rawdf;"),
        "{a}"
    );
    assert!(a.ends_with("; a.txt"), "{a}");
    assert!(
        mlsd[1].starts_with("type=dir;") && mlsd[1].ends_with("; dir"),
        "{mlsd:?}"
    );
}

#[test]
fn mlst_shows_the_facts_of_one_path() {
    let mut rig = Rig::custom("elr", |_, _| {}).login();
    let wire = rig.run("MLST a.txt").wire();
    assert!(wire.starts_with("250-Listing /a.txt\r\n "), "{wire}");
    assert!(wire.contains("modify=20200102030405;"), "{wire}");
    assert!(
        wire.contains("perm=r;") && wire.contains("size=6;"),
        "{wire}"
    );
    assert!(wire.contains("; /a.txt\r\n250 End MLST.\r\n"), "{wire}");
}
