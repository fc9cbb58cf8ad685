//! Every settings command as (settings before, command) → (reply, settings after), without a
//! socket: the table below holds one row per command and per reply it can give.

use std::sync::Arc;

use super::*;
use crate::checksum::Algo;
use crate::control::args::Args;
use crate::MemoryAuthorizer;

fn config(encoding: Encoding) -> Config {
    let mut cfg = Config::new(Arc::new(MemoryAuthorizer::new()));
    cfg.encoding = encoding;
    cfg
}

/// Runs `line` (verb and argument) on `session`; the reply's code and its first line.
fn run_line(session: &mut Session, cfg: &Config, line: &str) -> (u16, String) {
    let cmd = crate::control::parser::parse(line).unwrap_or_else(|r| panic!("{line}: {r:?}"));
    let args = match crate::control::args::parse(cmd.spec.syntax, &cmd.arg, None) {
        Ok(args) => args,
        Err(reply) => return reply_of(&reply),
    };
    let reply = run(cmd.spec.verb, &args, Settings { session, cfg })
        .unwrap_or_else(|| panic!("{line} is a settings command"));
    reply_of(&reply)
}

/// A reply's code and its first line's text.
fn reply_of(reply: &Reply) -> (u16, String) {
    let text = reply.to_string();
    let first = text.lines().next().unwrap_or_default();
    (reply.code().as_u16(), first[4..].to_owned())
}

/// A session in binary mode with a REST offset, a RANG and SHA-1 selected.
fn busy_session() -> Session {
    Session {
        ttype: TransferType::Binary,
        rest: 7,
        rang: Some((1, 2)),
        hash_algo: Algo::Sha1,
        ..Session::default()
    }
}

#[test]
fn each_command_and_each_reply() {
    let utf8 = config(Encoding::Utf8);
    #[rustfmt::skip]
    let rows: &[(&str, u16, &str)] = &[
        ("TYPE I", 200, "Type set to: Binary."),
        ("TYPE L 8", 200, "Type set to: Binary."),
        ("TYPE A", 200, "Type set to: ASCII."),
        ("TYPE A N", 200, "Type set to: ASCII."),
        ("TYPE E", 504, "Unsupported type \"E\"."),
        ("MODE S", 200, "Transfer mode set to: S"),
        ("MODE B", 504, "Unimplemented MODE type."),
        ("MODE X", 501, "Unrecognized MODE type."),
        ("STRU f", 200, "File transfer structure set to: F."),
        ("STRU R", 504, "Unimplemented STRU type."),
        ("STRU Q", 501, "Unrecognized STRU type."),
        ("REST 100", 350, "Restarting at position 100."),
        ("REST -1", 501, "Invalid parameter."),
        ("RANG 10 20", 350, "Restarting at 10. Ending byte range at 20."),
        ("RANG 1 0", 350, "Resetting the byte range."),
        ("RANG 20 10", 501, "Invalid byte range."),
        ("RANG 1 2 3", 501, "Invalid byte range."),
        ("OPTS UTF8 ON", 200, "Always in UTF8 mode."),
        ("OPTS UTF8 ON NOW", 501, "Invalid number of arguments."),
        ("OPTS MLST type;size;", 200, "MLST OPTS type;size;"),
        ("OPTS MLST type", 501, "Invalid argument."),
        ("OPTS HASH", 200, "SHA-1"),
        ("OPTS HASH md5", 200, "MD5"),
        ("OPTS HASH rot13", 504, "Unknown algorithm, current selection not changed."),
        ("OPTS MODE Z", 501, "Unsupported command \"MODE\"."),
        ("FEAT", 211, "Features supported:"),
        ("HELP", 214, "The following commands are recognized:"),
        ("HELP retr", 214, "Syntax: RETR <SP> file-name (retrieve a file)."),
        ("HELP NOPE", 501, "Unrecognized command."),
        ("SITE HELP", 214, "The following SITE commands are recognized:"),
        ("SITE HELP chmod", 214, "Syntax: SITE CHMOD <SP> mode path (change file mode)."),
        ("SITE HELP nope", 501, "Unrecognized SITE command."),
        ("SITE QUOTA", 211, "No quota: bytes and files unlimited."),
        ("PWD", 257, "\"/\" is the current directory."),
        ("NOOP", 200, "I successfully did nothing'."),
        ("SYST", 215, "UNIX Type: L8"),
        ("ALLO 100", 202, "No storage allocation necessary."),
        ("ACCT x", 202, "Command not implemented, superfluous at this site."),
        ("SMNT /x", 502, "SMNT not implemented."),
    ];
    for (line, code, text) in rows {
        let mut session = busy_session();
        let (got_code, got_text) = run_line(&mut session, &utf8, line);
        assert_eq!((got_code, got_text.as_str()), (*code, *text), "{line}");
    }
}

#[test]
fn settings_after_each_command() {
    let cfg = config(Encoding::Utf8);
    let mut s = busy_session();
    run_line(&mut s, &cfg, "TYPE A");
    assert_eq!(s.ttype, TransferType::Ascii);
    // In ASCII mode REST is refused and the offset stays.
    assert_eq!(
        run_line(&mut s, &cfg, "REST 5"),
        (501, "Resuming transfers not allowed in ASCII mode.".into())
    );
    assert_eq!(s.rest, 7);
    run_line(&mut s, &cfg, "TYPE I");
    run_line(&mut s, &cfg, "REST 5");
    assert_eq!((s.ttype, s.rest), (TransferType::Binary, 5));
    run_line(&mut s, &cfg, "REST x");
    assert_eq!(s.rest, 5, "a bad REST keeps the offset");
    run_line(&mut s, &cfg, "RANG 3 9");
    assert_eq!(s.rang, Some((3, 9)));
    run_line(&mut s, &cfg, "RANG 9 3");
    assert_eq!(s.rang, Some((3, 9)), "a bad RANG keeps the range");
    run_line(&mut s, &cfg, "RANG 1 0");
    assert_eq!(s.rang, None);
    run_line(&mut s, &cfg, "OPTS HASH SHA-512");
    assert_eq!(s.hash_algo, Algo::Sha512);
    run_line(&mut s, &cfg, "OPTS HASH nope");
    assert_eq!(
        s.hash_algo,
        Algo::Sha512,
        "an unknown algorithm keeps the choice"
    );
    run_line(&mut s, &cfg, "OPTS MLST size;");
    assert_eq!(s.facts.enabled_list(), "size;");
    for line in ["MODE S", "STRU F", "PWD", "NOOP", "SYST", "HELP", "FEAT"] {
        run_line(&mut s, &cfg, line);
    }
    assert_eq!(
        (s.ttype, s.rest, s.rang, s.hash_algo),
        (TransferType::Binary, 5, None, Algo::Sha512),
        "commands that only answer change nothing"
    );
}

#[test]
fn feat_follows_the_session_and_the_configuration() {
    let mut s = Session::default();
    let feat = |s: &mut Session, cfg: &Config| match run(
        Verb::Feat,
        &Args::Text(""),
        Settings { session: s, cfg },
    ) {
        Some(r) => r.to_string(),
        None => unreachable!(),
    };
    let utf8 = feat(&mut s, &config(Encoding::Utf8));
    assert!(
        utf8.contains(" UTF8\r\n") && utf8.contains(" HASH SHA-256*;"),
        "{utf8}"
    );
    assert!(!utf8.contains("AUTH TLS"), "no TLS configured: {utf8}");
    let latin = feat(&mut s, &config(Encoding::Latin1));
    assert!(!latin.contains(" UTF8\r\n"), "{latin}");
    // Under latin-1, OPTS UTF8 is an unsupported option.
    assert_eq!(
        run_line(&mut s, &config(Encoding::Latin1), "OPTS UTF8 ON").0,
        501
    );
    run_line(&mut s, &config(Encoding::Utf8), "OPTS HASH MD5");
    assert!(feat(&mut s, &config(Encoding::Utf8)).contains(";MD5*"));
}

#[test]
fn pwd_quotes_the_current_directory() {
    // RFC 959 appendix II: a quote inside the name is doubled.
    let mut s = Session {
        cwd: crate::fs::VirtualPath::root().resolve("/a \"b\"/c"),
        ..Session::default()
    };
    assert_eq!(
        run_line(&mut s, &config(Encoding::Utf8), "PWD"),
        (257, "\"/a \"\"b\"\"/c\" is the current directory.".into())
    );
}

#[test]
fn a_bare_site_needs_a_sub_command() {
    // The parser answers a bare SITE itself; the row's own answer says the same.
    let cfg = config(Encoding::Utf8);
    let mut s = Session::default();
    let reply = run(
        Verb::Site,
        &Args::Text(""),
        Settings {
            session: &mut s,
            cfg: &cfg,
        },
    );
    assert_eq!(
        reply.map(|r| r.to_string()),
        Some("501 Syntax error: command needs an argument.\r\n".to_owned())
    );
}

#[test]
fn commands_with_io_are_not_settings_commands() {
    let cfg = config(Encoding::Utf8);
    for verb in [
        Verb::Retr,
        Verb::Stor,
        Verb::List,
        Verb::Pasv,
        Verb::User,
        Verb::Quit,
    ] {
        let mut s = Session::default();
        assert!(
            run(
                verb,
                &Args::Text("x"),
                Settings {
                    session: &mut s,
                    cfg: &cfg
                }
            )
            .is_none(),
            "{verb:?}"
        );
    }
}
