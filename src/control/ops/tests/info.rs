//! STAT, HASH (with RANG and OPTS HASH), XCRC, XMD5, XSHA1, XSHA256, XSHA512, AVBL and custom
//! SITE commands (`ops/info.rs`).

use super::rig::{Rig, DATA};
use super::{check, Table};
use crate::auth::UserLimits;
use crate::control::channel::Channel;
use crate::reply::{Reply, ReplyCode};
use crate::SiteCommand;

const NO_FILE: &str = "No such file or directory.";

/// Logged in; HASH refuses files over 3 bytes.
fn small_hashes() -> Rig {
    Rig::custom("elradfmwMT", |_, cfg| cfg.hash_max_size = 3).login()
}

/// Logged in, with a byte quota of 100 (the fixture uses 10).
fn quota() -> Rig {
    Rig::limited(UserLimits {
        quota_bytes: Some(100),
        ..UserLimits::default()
    })
}

/// Two custom SITE commands: `WHO` (after login), `PING` (before too), and one named like a
/// built-in.
fn custom(cfg: &mut crate::config::Config) {
    cfg.site_commands = vec![
        SiteCommand::new("who", "Syntax: SITE WHO (who am I).", |req| {
            let name = req.user.map_or("", |u| u.name.as_str());
            Reply::new(
                ReplyCode::Ok,
                format!("You are {name} in {}.", req.cwd.as_str()),
            )
        }),
        SiteCommand::new("ping", "Syntax: SITE PING", |req| {
            Reply::new(ReplyCode::Ok, format!("pong {}", req.arg))
        })
        .without_login(),
        SiteCommand::new("chmod", "shadowed", |_| Reply::new(ReplyCode::Ok, "custom")),
    ];
}

fn site_fresh() -> Rig {
    Rig::custom("elradfmwMT", |_, cfg| custom(cfg))
}

fn site_in() -> Rig {
    site_fresh().login()
}

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::fresh, rows: &[
        (&["STAT"], "", 211, "FTP server status:"),
        (&["STAT a.txt"], "", 530, "Log in with USER and PASS first."),
        (&["HASH a.txt"], "", 530, "Log in with USER and PASS first."),
        (&["AVBL"], "", 530, "Log in with USER and PASS first."),
    ]},
    Table { rig: Rig::logged_in, rows: &[
        (&["STAT"], "", 211, "FTP server status:"),
        (&["STAT a.txt"], "", 213, "Status of \"/a.txt\":"),
        (&["STAT -la dir"], "", 213, "Status of \"/dir\":"),
        (&["STAT *.txt"], "", 550, "Globbing not supported."),
        (&["STAT nope"], "", 550, NO_FILE),
        (&["HASH a.txt"], "Pool", 213, "SHA-256 0-5 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 /a.txt"),
        (&["OPTS HASH MD5", "HASH a.txt"], "Pool", 213, "MD5 0-5 b1946ac92492d2347c6235b4d2611184 /a.txt"),
        (&["RANG 1 3", "HASH a.txt"], "Pool", 213, "SHA-256 1-3 baea96500997ff5cd6cfd26592a978d6b73d480b4ad33d002499cf0041ac9996 /a.txt"),
        (&["RANG 1 3", "HASH a.txt", "HASH a.txt"], "Pool", 213, "SHA-256 0-5 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 /a.txt"),
        (&["RANG 10 20", "HASH a.txt"], "Pool", 501, "Invalid byte range."),
        (&["HASH dir"], "Pool", 550, "Not a regular file."),
        (&["HASH nope"], "Pool", 550, NO_FILE),
        (&["XCRC a.txt"], "Pool", 250, "363A3020"),
        (&["XMD5 a.txt"], "Pool", 250, "B1946AC92492D2347C6235B4D2611184"),
        (&["XSHA1 a.txt"], "Pool", 250, "F572D396FAE9206628714FB2CE00F72E94F2258F"),
        (&["XSHA256 a.txt"], "Pool", 250, "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03"),
        (&["XSHA512 a.txt"], "Pool", 250, "E7C22B994C59D9CF2B48E549B1E24666636045930D3DA7C1ACB299D1C3B7F931F94AAE41EDDA2C2B207A36E10F8BCB8D45223E54878F5B316E7CE3B6BC019629"),
        (&["XMD5 a.txt 1 4"], "Pool", 250, "3123059C1C816471780539F6B6B738DC"),
        (&["XMD5 a.txt 2"], "Pool", 250, "3D60DF79EFCAB9AD97ACE328383BBB8C"),
        (&["XMD5 a.txt 4 1"], "", 501, "Invalid byte range."),
        (&["XMD5 a.txt 10"], "Pool", 501, "Invalid byte range."),
        (&["XSHA1 dir"], "Pool", 550, "Not a regular file."),
        (&["XCRC nope"], "Pool", 550, NO_FILE),
        (&["AVBL nope"], "", 550, NO_FILE),
    ]},
    Table { rig: small_hashes, rows: &[
        (&["HASH a.txt"], "Pool", 550, "File too large to hash (the limit is 3 bytes)."),
        (&["XSHA256 a.txt"], "Pool", 550, "File too large to hash (the limit is 3 bytes)."),
    ]},
    Table { rig: quota, rows: &[
        (&["AVBL"], "", 213, "90"),
        (&["AVBL dir"], "", 213, "90"),
        (&["SITE QUOTA"], "", 211, "Quota:"),
    ]},
    Table { rig: site_fresh, rows: &[
        (&["SITE WHO"], "", 530, "Log in with USER and PASS first."),
        (&["SITE ping hello"], "", 200, "pong hello"),
        (&["SITE NOPE"], "", 500, "Command \"SITE NOPE\" not understood."),
    ]},
    Table { rig: site_in, rows: &[
        (&["CWD dir", "SITE WHO"], "", 200, "You are alice in /dir."),
        (&["SITE CHMOD 600 a.txt"], "", 200, "SITE CHMOD successful."),
        (&["SITE HELP WHO"], "", 214, "Syntax: SITE WHO (who am I)."),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn stat_tells_the_session_and_the_data_channel() {
    let mut rig = Rig::fresh();
    let wire = rig.run("STAT").wire();
    assert!(wire.contains(" Connected to: 127.0.0.1:21\r\n"), "{wire}");
    assert!(wire.contains(" Waiting for username.\r\n"), "{wire}");
    assert!(wire.contains(" Data connection closed.\r\n"), "{wire}");
    rig.run("USER alice");
    assert!(rig
        .run("STAT")
        .wire()
        .contains(" Waiting for password.\r\n"));
    let mut rig = rig.login();
    rig.run("TYPE I");
    rig.data.chan = Channel::Passive(DATA);
    let wire = rig.run("STAT").wire();
    assert!(wire.contains(" Logged in as: alice\r\n"), "{wire}");
    assert!(wire.contains(" TYPE: Binary; STRUcture: File; MODE: Stream\r\n"));
    assert!(wire.contains(" Passive data channel waiting for connection.\r\n"));
    assert!(wire.ends_with("211 End of status.\r\n"), "{wire}");
    let mut rig = Rig::busy();
    let wire = rig.run("STAT").wire();
    assert!(wire.contains(" Data connection open:\r\n Total bytes transferred: 0\r\n"));
}

#[test]
fn stat_of_a_path_lists_it() {
    let mut rig = Rig::logged_in();
    let wire = rig.run("STAT dir").wire();
    assert!(wire.starts_with("213-Status of \"/dir\":\r\n"), "{wire}");
    assert!(
        wire.contains(" b.txt\r\n") && wire.contains(" 4 "),
        "{wire}"
    );
    assert!(wire.ends_with("213 End of status.\r\n"), "{wire}");
}

#[test]
fn avbl_without_a_quota_is_the_free_space() {
    let mut rig = Rig::logged_in();
    let ran = rig.run("AVBL");
    assert_eq!(ran.code(), 213);
    assert!(ran.text().parse::<u64>().is_ok(), "{}", ran.text());
}

#[test]
fn rang_is_spent_by_one_hash() {
    let mut rig = Rig::logged_in();
    rig.run("RANG 1 3");
    assert_eq!(rig.session.rang, Some((1, 3)));
    rig.run("HASH a.txt");
    assert_eq!(rig.session.rang, None);
    rig.run("RANG 1 3");
    rig.run("XMD5 a.txt");
    assert_eq!(
        rig.session.rang,
        Some((1, 3)),
        "the legacy commands leave it"
    );
}
