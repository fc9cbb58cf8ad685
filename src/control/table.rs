//! The command table: the one home of every fact about an FTP command.
//!
//! Like pyftpdlib's `proto_cmds`, each row says whether the command needs a login, what argument
//! it takes, which permission letter guards it, its HELP text and its FEAT line (RFC 2389). The
//! parser, the pre-dispatch gate, HELP and FEAT all read this table; nothing keeps a side list.
//! Commands of features not built yet have `implemented: false`: they answer
//! `502 Command not implemented.` and stay out of FEAT.

use crate::auth::Perm;

/// Every command the server knows. `X*` verbs are RFC 775 aliases (RFC 1123 asks for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Verb {
    Abor,
    Acct,
    Allo,
    Appe,
    Auth,
    Ccc,
    Cdup,
    Cwd,
    Dele,
    Eprt,
    Epsv,
    Feat,
    Help,
    Host,
    List,
    Mdtm,
    Mfmt,
    Mkd,
    Mlsd,
    Mlst,
    Mode,
    Nlst,
    Noop,
    Opts,
    Pass,
    Pasv,
    Pbsz,
    Port,
    Prot,
    Pwd,
    Quit,
    Rein,
    Rest,
    Retr,
    Rmd,
    Rnfr,
    Rnto,
    Site,
    SiteChmod,
    SiteHelp,
    Size,
    Smnt,
    Stat,
    Stor,
    Stou,
    Stru,
    Syst,
    Type,
    User,
}

/// What argument a command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// No argument (`501 Syntax error: command does not accept arguments.`).
    None,
    /// An argument is required (`501 Syntax error: command needs an argument.`).
    Required,
    /// Either.
    Optional,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// The verb as sent on the wire (`SITE CHMOD` for site commands).
    pub name: &'static str,
    /// The typed verb used for dispatch.
    pub verb: Verb,
    /// Needs a completed login.
    pub auth: bool,
    /// Argument rule.
    pub arg: Arg,
    /// Permission letter required on the path argument: `path_arg` (in `ops/mod.rs`) checks
    /// exactly this letter once the command has resolved its path (gate step 6).
    pub perm: Option<Perm>,
    /// Text for `HELP <verb>`.
    pub help: &'static str,
    /// Line advertised by FEAT, if this command is an extension (RFC 2389).
    pub feat: Option<&'static str>,
    /// False until the feature lands: answered with 502.
    pub implemented: bool,
    /// What TLS policy applies (`--tls-control-required`, `--tls-data-required`).
    pub tls: TlsReq,
}

/// Which TLS policy guards a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsReq {
    /// None.
    None,
    /// Refused before AUTH TLS when the control channel must be protected (USER, PASS).
    Control,
    /// Refused under PROT C when data must be protected (PASV, PORT, transfers, listings).
    Data,
    /// An RFC 4217 command: only advertised (FEAT) when TLS is configured.
    Command,
}

const fn row(
    name: &'static str,
    verb: Verb,
    auth: bool,
    arg: Arg,
    perm: Option<Perm>,
    help: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        verb,
        auth,
        arg,
        perm,
        help,
        feat: None,
        implemented: true,
        tls: TlsReq::None,
    }
}

const fn feat(mut spec: CommandSpec, line: &'static str) -> CommandSpec {
    spec.feat = Some(line);
    spec
}

const fn with_tls(mut spec: CommandSpec, tls: TlsReq) -> CommandSpec {
    spec.tls = tls;
    spec
}

const fn tls_cmd(spec: CommandSpec) -> CommandSpec {
    with_tls(spec, TlsReq::Command)
}

use Arg::{None as No, Optional as Opt, Required as Req};

/// The table, sorted by name (HELP prints it in this order).
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    row("ABOR", Verb::Abor, true, No, None, "Syntax: ABOR (abort transfer)."),
    row("ACCT", Verb::Acct, true, Req, None, "Syntax: ACCT <SP> account-information (superfluous)."),
    row("ALLO", Verb::Allo, true, Req, None, "Syntax: ALLO <SP> bytes (noop; allocate storage)."),
    with_tls(row("APPE", Verb::Appe, true, Req, Some(Perm::A), "Syntax: APPE <SP> file-name (append data to file)."), TlsReq::Data),
    tls_cmd(feat(row("AUTH", Verb::Auth, false, Req, None, "Syntax: AUTH <SP> TLS|SSL (set up secure control channel)."), "AUTH TLS")),
    tls_cmd(row("CCC", Verb::Ccc, true, No, None, "Syntax: CCC (clear command channel).")),
    row("CDUP", Verb::Cdup, true, No, Some(Perm::E), "Syntax: CDUP (go to parent directory)."),
    row("CWD", Verb::Cwd, true, Opt, Some(Perm::E), "Syntax: CWD [<SP> dir-name] (change working directory)."),
    row("DELE", Verb::Dele, true, Req, Some(Perm::D), "Syntax: DELE <SP> file-name (delete file)."),
    with_tls(feat(row("EPRT", Verb::Eprt, true, Req, None, "Syntax: EPRT <SP> |proto|ip|port| (extended active mode)."), "EPRT"), TlsReq::Data),
    with_tls(feat(row("EPSV", Verb::Epsv, true, Opt, None, "Syntax: EPSV [<SP> proto/\"ALL\"] (extended passive mode)."), "EPSV"), TlsReq::Data),
    row("FEAT", Verb::Feat, false, No, None, "Syntax: FEAT (list all new features supported)."),
    row("HELP", Verb::Help, false, Opt, None, "Syntax: HELP [<SP> cmd] (show help)."),
    feat(row("HOST", Verb::Host, false, Req, None, "Syntax: HOST <SP> hostname (virtual host, RFC 7151)."), "HOST"),
    with_tls(row("LIST", Verb::List, true, Opt, Some(Perm::L), "Syntax: LIST [<SP> path] (list files)."), TlsReq::Data),
    feat(row("MDTM", Verb::Mdtm, true, Req, Some(Perm::L), "Syntax: MDTM [<SP> path] (file last modification time)."), "MDTM"),
    feat(row("MFMT", Verb::Mfmt, true, Req, Some(Perm::Mtime), "Syntax: MFMT <SP> timeval <SP> path (file update last modification time)."), "MFMT"),
    row("MKD", Verb::Mkd, true, Req, Some(Perm::M), "Syntax: MKD <SP> path (create directory)."),
    with_tls(row("MLSD", Verb::Mlsd, true, Opt, Some(Perm::L), "Syntax: MLSD [<SP> path] (list directory)."), TlsReq::Data),
    feat(row("MLST", Verb::Mlst, true, Opt, Some(Perm::L), "Syntax: MLST [<SP> path] (show information about path)."), "MLST"),
    row("MODE", Verb::Mode, true, Req, None, "Syntax: MODE <SP> mode (noop; set data transfer mode)."),
    with_tls(row("NLST", Verb::Nlst, true, Opt, Some(Perm::L), "Syntax: NLST [<SP> path-name] (list path in a compact form)."), TlsReq::Data),
    row("NOOP", Verb::Noop, false, No, None, "Syntax: NOOP (just do nothing)."),
    row("OPTS", Verb::Opts, true, Req, None, "Syntax: OPTS <SP> cmd [<SP> option] (set option for command)."),
    with_tls(row("PASS", Verb::Pass, false, Opt, None, "Syntax: PASS [<SP> password] (set user password)."), TlsReq::Control),
    with_tls(row("PASV", Verb::Pasv, true, No, None, "Syntax: PASV (open passive data connection)."), TlsReq::Data),
    tls_cmd(feat(row("PBSZ", Verb::Pbsz, false, Req, None, "Syntax: PBSZ <SP> 0 (negotiate TLS buffer)."), "PBSZ")),
    with_tls(row("PORT", Verb::Port, true, Req, None, "Syntax: PORT <sp> h,h,h,h,p,p (open active data connection)."), TlsReq::Data),
    tls_cmd(feat(row("PROT", Verb::Prot, false, Req, None, "Syntax: PROT <SP> [C|P] (set up un/secure data channel)."), "PROT")),
    row("PWD", Verb::Pwd, true, No, None, "Syntax: PWD (get current working directory)."),
    row("QUIT", Verb::Quit, false, No, None, "Syntax: QUIT (quit current session)."),
    row("REIN", Verb::Rein, true, No, None, "Syntax: REIN (flush account)."),
    feat(row("REST", Verb::Rest, true, Req, None, "Syntax: REST <SP> offset (set file offset)."), "REST STREAM"),
    with_tls(row("RETR", Verb::Retr, true, Req, Some(Perm::R), "Syntax: RETR <SP> file-name (retrieve a file)."), TlsReq::Data),
    row("RMD", Verb::Rmd, true, Req, Some(Perm::D), "Syntax: RMD <SP> dir-name (remove directory)."),
    row("RNFR", Verb::Rnfr, true, Req, Some(Perm::F), "Syntax: RNFR <SP> file-name (rename (source name))."),
    row("RNTO", Verb::Rnto, true, Req, Some(Perm::F), "Syntax: RNTO <SP> file-name (rename (destination name))."),
    row("SITE", Verb::Site, false, Req, None, "Syntax: SITE <SP> site-command (execute SITE command)."),
    row("SITE CHMOD", Verb::SiteChmod, true, Req, Some(Perm::Chmod), "Syntax: SITE CHMOD <SP> mode path (change file mode)."),
    row("SITE HELP", Verb::SiteHelp, false, Opt, None, "Syntax: SITE HELP [<SP> cmd] (show SITE command help)."),
    feat(row("SIZE", Verb::Size, true, Req, Some(Perm::L), "Syntax: SIZE <SP> file-name (get file size)."), "SIZE"),
    row("SMNT", Verb::Smnt, true, Req, None, "Syntax: SMNT <SP> path-name (not implemented)."),
    row("STAT", Verb::Stat, false, Opt, Some(Perm::L), "Syntax: STAT [<SP> path name] (server stats [list files])."),
    with_tls(row("STOR", Verb::Stor, true, Req, Some(Perm::W), "Syntax: STOR <SP> file-name (store a file)."), TlsReq::Data),
    with_tls(row("STOU", Verb::Stou, true, Opt, Some(Perm::W), "Syntax: STOU [<SP> name] (store a file with a unique name)."), TlsReq::Data),
    row("STRU", Verb::Stru, true, Req, None, "Syntax: STRU <SP> type (noop; set file structure)."),
    row("SYST", Verb::Syst, false, No, None, "Syntax: SYST (get operating system type)."),
    row("TYPE", Verb::Type, true, Req, None, "Syntax: TYPE <SP> [A | I] (set transfer type)."),
    with_tls(row("USER", Verb::User, false, Req, None, "Syntax: USER <SP> user-name (set username)."), TlsReq::Control),
];

/// RFC 775 "experimental" aliases that RFC 1123 tells servers to accept.
static ALIASES: &[(&str, &str)] = &[
    ("XCUP", "CDUP"),
    ("XCWD", "CWD"),
    ("XMKD", "MKD"),
    ("XPWD", "PWD"),
    ("XRMD", "RMD"),
];

/// FEAT lines that belong to no single command (`UTF8` is added only when the control
/// connection's encoding is UTF-8: RFC 2389 §3, FEAT lists what is supported).
pub static EXTRA_FEATURES: &[&str] = &["TVFS"];

/// Looks up a verb (already upper-cased); aliases resolve to their command.
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, real)| real);
    COMMANDS.iter().find(|c| c.name == name)
}

/// Names of the top-level commands (not `SITE x`), aliases included, in sorted order.
pub fn help_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = COMMANDS
        .iter()
        .filter(|c| !c.name.starts_with("SITE "))
        .map(|c| c.name)
        .chain(ALIASES.iter().map(|(a, _)| *a))
        .collect();
    names.sort_unstable();
    names
}

/// The SITE sub-commands (`CHMOD`, `HELP`).
pub fn site_names() -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter_map(|c| c.name.strip_prefix("SITE "))
        .collect()
}

/// The FEAT lines of implemented extensions, sorted. `mlst_line` replaces the bare `MLST` line
/// with the facts list; `utf8` says whether path names are UTF-8 (RFC 2640 `UTF8`).
pub fn feat_lines(mlst_line: &str, tls: bool, utf8: bool) -> Vec<String> {
    let mut lines: Vec<String> = COMMANDS
        .iter()
        .filter(|c| c.implemented && (tls || c.tls != TlsReq::Command))
        .filter_map(|c| c.feat)
        .map(|f| {
            if f == "MLST" {
                mlst_line.to_owned()
            } else {
                f.to_owned()
            }
        })
        .chain(EXTRA_FEATURES.iter().map(|s| (*s).to_owned()))
        .chain(tls.then(|| "AUTH SSL".to_owned()))
        .chain(utf8.then(|| "UTF8".to_owned()))
        .collect();
    lines.sort_unstable();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in COMMANDS.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(lookup("XPWD").map(|c| c.verb), Some(Verb::Pwd));
        assert_eq!(lookup("XMKD").map(|c| c.verb), Some(Verb::Mkd));
        assert!(lookup("FOO").is_none());
    }

    #[test]
    fn help_mentions_every_command_and_alias() {
        let names = help_names();
        assert!(names.contains(&"XCWD"));
        assert!(names.contains(&"MFMT"));
        assert!(!names.iter().any(|n| n.contains(' ')));
        assert_eq!(site_names(), vec!["CHMOD", "HELP"]);
    }

    #[test]
    fn feat_lists_only_implemented_extensions() {
        let lines = feat_lines("MLST type*;", false, true);
        assert!(lines.contains(&"MDTM".to_owned()));
        assert!(lines.contains(&"UTF8".to_owned()));
        assert!(lines.contains(&"HOST".to_owned()));
        assert!(!feat_lines("MLST type*;", false, false).contains(&"UTF8".to_owned()));
        assert!(lines.contains(&"TVFS".to_owned()));
        for spec in COMMANDS.iter().filter(|c| !c.implemented) {
            if let Some(f) = spec.feat {
                assert!(
                    !lines.iter().any(|l| l.starts_with(f)),
                    "{f} is not built yet"
                );
            }
        }
    }
}
