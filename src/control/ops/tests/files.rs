//! CWD, CDUP, MKD, RMD, DELE, RNFR, RNTO, SIZE, MDTM, MFMT and SITE CHMOD (`ops/files.rs`):
//! every reply, and what each leaves in the session and on the disk.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use super::rig::{Rig, A_MTIME};
use super::{check, Table};

const NO_FILE: &str = "No such file or directory.";

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::logged_in, rows: &[
        (&["CWD dir"], "", 250, "\"/dir\" is the current directory."),
        (&["CWD"], "", 250, "\"/\" is the current directory."),
        (&["CWD dir", "CWD"], "", 250, "\"/\" is the current directory."),
        (&["CWD ../../.."], "", 250, "\"/\" is the current directory."),
        (&["XCWD /dir"], "", 250, "\"/dir\" is the current directory."),
        (&["CWD a.txt"], "", 550, "Not a directory."),
        (&["CWD nope"], "", 550, NO_FILE),
        (&["CWD dir", "CDUP"], "", 250, "\"/\" is the current directory."),
        (&["CDUP"], "", 250, "\"/\" is the current directory."),
        (&["XCUP"], "", 250, "\"/\" is the current directory."),
        (&["CDUP x"], "", 501, "Syntax error: command does not accept arguments."),
        (&["MKD new"], "", 257, "\"/new\" directory created."),
        (&["CWD dir", "XMKD new"], "", 257, "\"/dir/new\" directory created."),
        (&["MKD dir"], "", 550, "File exists."),
        (&["MKD nope/new"], "", 550, NO_FILE),
        (&["RMD empty"], "", 250, "Directory removed."),
        (&["XRMD /empty"], "", 250, "Directory removed."),
        (&["RMD /"], "", 550, "Can't remove root directory."),
        (&["CWD dir", "RMD .."], "", 550, "Can't remove root directory."),
        (&["RMD dir"], "", 550, "Directory not empty."),
        (&["RMD nope"], "", 550, NO_FILE),
        (&["RMD a.txt"], "", 550, "Not a directory."),
        (&["DELE a.txt"], "", 250, "File removed."),
        (&["DELE nope"], "", 550, NO_FILE),
        (&["DELE dir"], "", 550, "Is a directory."),
        (&["RNFR a.txt"], "", 350, "Ready for destination name."),
        (&["RNFR /"], "", 550, "Can't rename home directory."),
        (&["RNFR nope"], "", 550, NO_FILE),
        (&["RNTO c.txt"], "", 503, "Bad sequence of commands: use RNFR first."),
        (&["RNFR a.txt", "RNTO c.txt"], "", 250, "Renaming ok."),
        (&["RNFR dir", "RNTO empty/moved"], "", 250, "Renaming ok."),
        // RNTO must come right after RNFR: any line in between, even a refused one, cancels.
        (&["RNFR a.txt", "NOOP", "RNTO c.txt"], "", 503, "Bad sequence of commands: use RNFR first."),
        (&["RNFR a.txt", "FOO", "RNTO c.txt"], "", 503, "Bad sequence of commands: use RNFR first."),
        (&["RNFR nope", "RNTO c.txt"], "", 503, "Bad sequence of commands: use RNFR first."),
        (&["RNFR a.txt", "RNTO c.txt", "RNTO d.txt"], "", 503, "Bad sequence of commands: use RNFR first."),
        (&["RNFR a.txt", "RNTO /"], "", 553, "Can't rename to the root directory."),
        (&["RNFR a.txt", "RNTO nope/c.txt"], "", 550, NO_FILE),
        (&["RNFR dir", "RNTO a.txt"], "", 550, "Not a directory."),
        (&["SIZE a.txt"], "", 550, "SIZE not allowed in ASCII mode."),
        (&["TYPE I", "SIZE a.txt"], "", 213, "6"),
        (&["TYPE I", "SIZE dir"], "", 550, "dir is not retrievable."),
        (&["TYPE I", "SIZE nope"], "", 550, NO_FILE),
        (&["MDTM a.txt"], "", 213, "20200102030405"),
        (&["MDTM dir"], "", 550, "dir is not retrievable."),
        (&["MDTM nope"], "", 550, "nope is not retrievable."),
        (&["MDTM a.txt/x"], "", 550, "Not a directory."),
        (&["MFMT 20200101000000"], "", 501, "Syntax error: command needs two arguments."),
        (&["MFMT 20200101000000 "], "", 501, "Syntax error: command needs two arguments."),
        (&["MFMT badtime a.txt"], "", 501, "Invalid time format; expected: YYYYMMDDHHMMSS."),
        (&["MFMT 20210304050607 a.txt"], "", 213, "Modify=20210304050607; /a.txt."),
        (&["MFMT 20210304050607 dir"], "", 550, "dir is not retrievable."),
        (&["MFMT 20210304050607 nope"], "", 550, NO_FILE),
        (&["SITE CHMOD 600"], "", 501, "Syntax error: command needs two arguments."),
        (&["SITE CHMOD u+x a.txt"], "", 501, "Invalid SITE CHMOD format."),
        (&["SITE CHMOD 99999 a.txt"], "", 501, "Invalid SITE CHMOD format."),
        (&["SITE CHMOD 600 a.txt"], "", 200, "SITE CHMOD successful."),
        (&["SITE CHMOD 600 nope"], "", 550, NO_FILE),
        (&["SITE CHMOD"], "", 501, "Syntax error: command needs an argument."),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn cwd_and_rnfr_change_the_session() {
    let mut rig = Rig::logged_in();
    rig.run("CWD dir");
    assert_eq!(rig.session.cwd.as_str(), "/dir");
    rig.run("CWD nope");
    assert_eq!(rig.session.cwd.as_str(), "/dir", "a failed CWD stays");
    rig.run("CDUP");
    assert_eq!(rig.session.cwd.as_str(), "/");
    rig.run("RNFR a.txt");
    assert_eq!(
        rig.session.rnfr.as_ref().map(|p| p.as_str()),
        Some("/a.txt")
    );
    rig.run("RNFR nope");
    assert_eq!(rig.session.rnfr, None, "a failed RNFR forgets the source");
}

#[test]
fn rmd_of_the_current_directory_moves_to_its_parent() {
    let mut rig = Rig::logged_in();
    rig.run("CWD empty");
    assert_eq!(rig.run("RMD /empty").code(), 250);
    assert_eq!(rig.session.cwd.as_str(), "/");
    rig.run("MKD /dir/sub");
    rig.run("MKD /dir/sub/deeper");
    rig.run("CWD /dir/sub/deeper");
    rig.run("RMD /dir/sub/deeper");
    assert_eq!(rig.session.cwd.as_str(), "/dir/sub");
    // Removing another directory leaves the cwd alone.
    rig.run("MKD /other");
    rig.run("RMD /other");
    assert_eq!(rig.session.cwd.as_str(), "/dir/sub");
    assert_eq!(
        rig.run("PWD").text(),
        "\"/dir/sub\" is the current directory."
    );
}

#[test]
fn the_disk_after_each_change() {
    let mut rig = Rig::logged_in();
    rig.run("MKD new");
    assert!(rig.disk("new").is_dir());
    rig.run("RMD new");
    assert!(!rig.disk("new").exists());
    rig.run("RMD dir");
    assert!(
        rig.disk("dir/b.txt").is_file(),
        "a refused RMD removes nothing"
    );
    rig.run("DELE dir/b.txt");
    assert!(!rig.disk("dir/b.txt").exists());
    rig.run("RNFR a.txt");
    rig.run("RNTO dir/c.txt");
    assert!(!rig.disk("a.txt").exists());
    assert_eq!(std::fs::read(rig.disk("dir/c.txt")).unwrap(), b"hello\n");
    rig.run("MFMT 20210304050607 dir/c.txt");
    let mtime = std::fs::metadata(rig.disk("dir/c.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        mtime,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_614_834_367)
    );
    rig.run("SITE CHMOD 640 dir/c.txt");
    let mode = std::fs::metadata(rig.disk("dir/c.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
    rig.run("MFMT badtime empty");
    rig.run("RNFR empty");
    rig.run("NOOP");
    rig.run("RNTO gone");
    assert!(rig.disk("empty").is_dir() && !rig.disk("gone").exists());
}

#[test]
fn mdtm_shows_the_time_on_disk() {
    let mut rig = Rig::logged_in();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(A_MTIME);
    assert_eq!(
        std::fs::metadata(rig.disk("a.txt"))
            .unwrap()
            .modified()
            .unwrap(),
        when
    );
    assert_eq!(rig.run("MDTM a.txt").text(), "20200102030405");
    rig.run("MFMT 19991231235959 a.txt");
    assert_eq!(rig.run("MDTM /a.txt").text(), "19991231235959");
}

#[test]
fn a_large_file_is_removed_on_the_pool_a_small_one_on_the_loop() {
    let mut rig = Rig::logged_in();
    std::fs::write(rig.disk("big.bin"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(rig.disk("small.bin"), vec![0u8; (1 << 20) - 1]).unwrap();
    let big = rig.run("DELE big.bin");
    assert_eq!((big.actions(), big.code()), ("Pool".to_owned(), 250));
    assert!(!rig.disk("big.bin").exists());
    let small = rig.run("DELE small.bin");
    assert_eq!((small.actions(), small.code()), (String::new(), 250));
    assert!(!rig.disk("small.bin").exists());
}
