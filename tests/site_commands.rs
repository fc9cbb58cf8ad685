//! Custom SITE commands registered through the library API (pyftpdlib's `ftp_SITE_X`): they run
//! with the session's user and directory, show up in SITE HELP, and respect their login rule;
//! built-in SITE commands keep precedence over a custom one of the same name.

mod common;

use common::TestServer;
use ftpdlib::{Reply, ReplyCode, SiteCommand};

fn server() -> TestServer {
    TestServer::start(|cfg| {
        cfg.site_commands.push(SiteCommand::new(
            "WHOAMI",
            "Syntax: SITE WHOAMI (who and where you are).",
            |req| {
                let user = req.user.map_or("nobody", |u| u.name.as_str());
                Reply::new(
                    ReplyCode::Ok,
                    format!("{user} in {} says {:?}", req.cwd, req.arg),
                )
            },
        ));
        cfg.site_commands.push(
            SiteCommand::new("PING", "Syntax: SITE PING (liveness).", |_| {
                Reply::new(ReplyCode::Ok, "PONG")
            })
            .without_login(),
        );
        // Same name as a built-in: the built-in wins.
        cfg.site_commands
            .push(SiteCommand::new("CHMOD", "shadow", |_| {
                Reply::new(ReplyCode::Ok, "custom chmod must never run")
            }));
    })
}

#[test]
fn custom_commands_run_with_the_session_state() {
    let srv = server();
    let mut c = srv.login();
    c.expect("MKD sub", 257);
    c.expect("CWD sub", 250);
    let r = c.expect("site whoami hello world", 200);
    assert_eq!(r.text, "user in /sub says \"hello world\"");
}

#[test]
fn login_rule_is_respected() {
    let srv = server();
    let mut c = srv.connect();
    assert_eq!(c.cmd("SITE WHOAMI").code, 530);
    assert_eq!(c.expect("SITE PING", 200).text, "PONG");
}

#[test]
fn site_help_lists_custom_commands_and_builtins_win() {
    let srv = server();
    let mut c = srv.login();
    let help = c.expect("SITE HELP", 214);
    for name in ["CHMOD", "HELP", "PING", "WHOAMI"] {
        assert!(
            help.text.contains(name),
            "{name} missing from {:?}",
            help.text
        );
    }
    assert_eq!(
        c.expect("SITE HELP WHOAMI", 214).text,
        "Syntax: SITE WHOAMI (who and where you are)."
    );
    // The built-in SITE CHMOD answers, not the custom one.
    let r = c.cmd("SITE CHMOD 999 nothing");
    assert_eq!(r.code, 501, "{r:?}");
    assert_eq!(c.cmd("SITE NOPE").code, 500);
}
