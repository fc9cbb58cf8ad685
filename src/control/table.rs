//! The command table: the one home of every fact about an FTP command.
//!
//! Like pyftpdlib's `proto_cmds`, each row says whether the command needs a login, what argument
//! it takes, which permission letter guards it, its HELP text and its FEAT line (RFC 2389). The
//! parser, the pre-dispatch gate, HELP and FEAT all read this table, and the control connection
//! reads which way a transfer goes (`direction`) from it; nothing keeps a side list. A verb's
//! name is spelled once, in the `verbs!` list that declares [`Verb`].

use crate::auth::Perm;

/// Declares [`Verb`] and its wire names side by side, so that a name is spelled once.
macro_rules! verbs {
    ($($verb:ident = $name:literal,)*) => {
        /// Every command the server knows. `X*` verbs are RFC 775 aliases (RFC 1123 asks for them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Verb {
            $($verb,)*
        }

        impl Verb {
            /// The verb as sent on the wire (`SITE CHMOD` for site commands).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Verb::$verb => $name,)*
                }
            }
        }
    };
}

verbs! {
    Abor = "ABOR",
    Acct = "ACCT",
    Allo = "ALLO",
    Appe = "APPE",
    Auth = "AUTH",
    Avbl = "AVBL",
    Ccc = "CCC",
    Cdup = "CDUP",
    Cwd = "CWD",
    Dele = "DELE",
    Eprt = "EPRT",
    Epsv = "EPSV",
    Feat = "FEAT",
    Help = "HELP",
    Hash = "HASH",
    Host = "HOST",
    List = "LIST",
    Mdtm = "MDTM",
    Mfmt = "MFMT",
    Mkd = "MKD",
    Mlsd = "MLSD",
    Mlst = "MLST",
    Mode = "MODE",
    Nlst = "NLST",
    Noop = "NOOP",
    Opts = "OPTS",
    Pass = "PASS",
    Pasv = "PASV",
    Pbsz = "PBSZ",
    Port = "PORT",
    Prot = "PROT",
    Pwd = "PWD",
    Quit = "QUIT",
    Rang = "RANG",
    Rein = "REIN",
    Rest = "REST",
    Retr = "RETR",
    Rmd = "RMD",
    Rnfr = "RNFR",
    Rnto = "RNTO",
    Site = "SITE",
    SiteChmod = "SITE CHMOD",
    SiteHelp = "SITE HELP",
    SiteQuota = "SITE QUOTA",
    Size = "SIZE",
    Smnt = "SMNT",
    Stat = "STAT",
    Stor = "STOR",
    Stou = "STOU",
    Stru = "STRU",
    Syst = "SYST",
    Type = "TYPE",
    User = "USER",
    Xcrc = "XCRC",
    Xmd5 = "XMD5",
    Xsha1 = "XSHA1",
    Xsha256 = "XSHA256",
    Xsha512 = "XSHA512",
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

impl Verb {
    /// Which way this command moves bytes over a data connection.
    pub fn direction(self) -> Direction {
        COMMANDS
            .iter()
            .find(|c| c.verb == self)
            .map_or(Direction::None, |c| c.direction)
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// The verb as sent on the wire (`SITE CHMOD` for site commands): `verb.name()`.
    pub name: &'static str,
    /// The typed verb used for dispatch.
    pub verb: Verb,
    /// Needs a completed login.
    pub auth: bool,
    /// Argument rule.
    pub arg: Arg,
    /// How the argument is parsed into a typed value (`args.rs`), after the gate.
    pub syntax: Syntax,
    /// Permission letter required on the path argument: `Core::path` (in `core.rs`) checks
    /// exactly this letter once the command has resolved its path (gate step 5).
    pub perm: Option<Perm>,
    /// Text for `HELP <verb>`.
    pub help: &'static str,
    /// Line advertised by FEAT, if this command is an extension (RFC 2389).
    pub feat: Option<&'static str>,
    /// What TLS policy applies (`--tls-control-required`, `--tls-data-required`).
    pub tls: TlsReq,
    /// Which way the command's data connection carries bytes, if it opens one.
    pub direction: Direction,
}

/// How a command's argument is parsed into a typed value (see `args.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// As sent: a path, a name, a password, options.
    Text,
    /// TYPE's representation type.
    Type,
    /// MODE's transfer mode.
    Mode,
    /// STRU's file structure.
    Stru,
    /// REST's offset.
    Offset,
    /// RANG's two octets.
    Range,
    /// PORT's six bytes.
    Port,
    /// EPRT's `|proto|address|port|`.
    Eprt,
    /// EPSV's protocol or `ALL`.
    Epsv,
    /// MFMT's time and path.
    Mtime,
    /// SITE CHMOD's octal mode and path.
    Chmod,
    /// The legacy digests' path and range.
    Digest,
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

/// Which way a command's data connection carries bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The command opens no data connection.
    None,
    /// Server to client: RETR, and the listings (LIST, NLST, MLSD).
    Download,
    /// Client to server: STOR, APPE, STOU.
    Upload,
}

/// A row with every default: no login, no argument, no permission letter, no TLS policy, no
/// FEAT line, no data connection, no help. The setters below change one field each, so that a
/// row of the table names each fact it states.
const fn cmd(verb: Verb) -> CommandSpec {
    CommandSpec {
        name: verb.name(),
        verb,
        auth: false,
        arg: Arg::None,
        syntax: Syntax::Text,
        perm: None,
        help: "",
        feat: None,
        tls: TlsReq::None,
        direction: Direction::None,
    }
}

impl CommandSpec {
    const fn login(mut self) -> Self {
        self.auth = true;
        self
    }
    const fn takes(mut self, arg: Arg) -> Self {
        self.arg = arg;
        self
    }
    const fn parsed(mut self, syntax: Syntax) -> Self {
        self.syntax = syntax;
        self
    }
    const fn perm(mut self, letter: Perm) -> Self {
        self.perm = Some(letter);
        self
    }
    const fn tls(mut self, policy: TlsReq) -> Self {
        self.tls = policy;
        self
    }
    const fn feat(mut self, line: &'static str) -> Self {
        self.feat = Some(line);
        self
    }
    const fn moves(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }
    const fn help(mut self, text: &'static str) -> Self {
        self.help = text;
        self
    }
}

use Arg::{Optional as Opt, Required as Req};

/// The table, sorted by name (HELP prints it in this order). SMNT is a row like any other;
/// its handler answers `502`.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd(Verb::Abor).login().help("Syntax: ABOR (abort transfer)."),
    cmd(Verb::Acct).login().takes(Req).help("Syntax: ACCT <SP> account-information (superfluous)."),
    cmd(Verb::Allo).login().takes(Req).help("Syntax: ALLO <SP> bytes (noop; allocate storage)."),
    cmd(Verb::Appe).login().takes(Req).perm(Perm::A).tls(TlsReq::Data).moves(Direction::Upload).help("Syntax: APPE <SP> file-name (append data to file)."),
    cmd(Verb::Auth).takes(Req).tls(TlsReq::Command).feat("AUTH TLS").help("Syntax: AUTH <SP> TLS|SSL (set up secure control channel)."),
    cmd(Verb::Avbl).login().takes(Opt).perm(Perm::L).feat("AVBL").help("Syntax: AVBL [<SP> path] (bytes available for uploads)."),
    cmd(Verb::Ccc).login().tls(TlsReq::Command).help("Syntax: CCC (clear command channel)."),
    cmd(Verb::Cdup).login().perm(Perm::E).help("Syntax: CDUP (go to parent directory)."),
    cmd(Verb::Cwd).login().takes(Opt).perm(Perm::E).help("Syntax: CWD [<SP> dir-name] (change working directory)."),
    cmd(Verb::Dele).login().takes(Req).perm(Perm::D).help("Syntax: DELE <SP> file-name (delete file)."),
    cmd(Verb::Eprt).login().takes(Req).tls(TlsReq::Data).feat("EPRT").parsed(Syntax::Eprt).help("Syntax: EPRT <SP> |proto|ip|port| (extended active mode)."),
    cmd(Verb::Epsv).login().takes(Opt).tls(TlsReq::Data).feat("EPSV").parsed(Syntax::Epsv).help("Syntax: EPSV [<SP> proto/\"ALL\"] (extended passive mode)."),
    cmd(Verb::Feat).help("Syntax: FEAT (list all new features supported)."),
    cmd(Verb::Hash).login().takes(Req).perm(Perm::R).feat("HASH").help("Syntax: HASH <SP> file-name (checksum of a file, or of the RANG range)."),
    cmd(Verb::Help).takes(Opt).help("Syntax: HELP [<SP> cmd] (show help)."),
    cmd(Verb::Host).takes(Req).feat("HOST").help("Syntax: HOST <SP> hostname (virtual host, RFC 7151)."),
    cmd(Verb::List).login().takes(Opt).perm(Perm::L).tls(TlsReq::Data).moves(Direction::Download).help("Syntax: LIST [<SP> path] (list files)."),
    cmd(Verb::Mdtm).login().takes(Req).perm(Perm::L).feat("MDTM").help("Syntax: MDTM [<SP> path] (file last modification time)."),
    cmd(Verb::Mfmt).login().takes(Req).perm(Perm::Mtime).feat("MFMT").parsed(Syntax::Mtime).help("Syntax: MFMT <SP> timeval <SP> path (file update last modification time)."),
    cmd(Verb::Mkd).login().takes(Req).perm(Perm::M).help("Syntax: MKD <SP> path (create directory)."),
    cmd(Verb::Mlsd).login().takes(Opt).perm(Perm::L).tls(TlsReq::Data).moves(Direction::Download).help("Syntax: MLSD [<SP> path] (list directory)."),
    cmd(Verb::Mlst).login().takes(Opt).perm(Perm::L).feat("MLST").help("Syntax: MLST [<SP> path] (show information about path)."),
    cmd(Verb::Mode).login().takes(Req).parsed(Syntax::Mode).help("Syntax: MODE <SP> mode (noop; set data transfer mode)."),
    cmd(Verb::Nlst).login().takes(Opt).perm(Perm::L).tls(TlsReq::Data).moves(Direction::Download).help("Syntax: NLST [<SP> path-name] (list path in a compact form)."),
    cmd(Verb::Noop).help("Syntax: NOOP (just do nothing)."),
    cmd(Verb::Opts).login().takes(Req).help("Syntax: OPTS <SP> cmd [<SP> option] (set option for command)."),
    cmd(Verb::Pass).takes(Opt).tls(TlsReq::Control).help("Syntax: PASS [<SP> password] (set user password)."),
    cmd(Verb::Pasv).login().tls(TlsReq::Data).help("Syntax: PASV (open passive data connection)."),
    cmd(Verb::Pbsz).takes(Req).tls(TlsReq::Command).feat("PBSZ").help("Syntax: PBSZ <SP> 0 (negotiate TLS buffer)."),
    cmd(Verb::Port).login().takes(Req).tls(TlsReq::Data).parsed(Syntax::Port).help("Syntax: PORT <sp> h,h,h,h,p,p (open active data connection)."),
    cmd(Verb::Prot).takes(Req).tls(TlsReq::Command).feat("PROT").help("Syntax: PROT <SP> [C|P] (set up un/secure data channel)."),
    cmd(Verb::Pwd).login().help("Syntax: PWD (get current working directory)."),
    cmd(Verb::Quit).help("Syntax: QUIT (quit current session)."),
    cmd(Verb::Rang).login().takes(Req).parsed(Syntax::Range).help("Syntax: RANG <SP> first <SP> last (octet range of the next HASH; RANG 1 0 resets)."),
    cmd(Verb::Rein).login().help("Syntax: REIN (flush account)."),
    cmd(Verb::Rest).login().takes(Req).feat("REST STREAM").parsed(Syntax::Offset).help("Syntax: REST <SP> offset (set file offset)."),
    cmd(Verb::Retr).login().takes(Req).perm(Perm::R).tls(TlsReq::Data).moves(Direction::Download).help("Syntax: RETR <SP> file-name (retrieve a file)."),
    cmd(Verb::Rmd).login().takes(Req).perm(Perm::D).help("Syntax: RMD <SP> dir-name (remove directory)."),
    cmd(Verb::Rnfr).login().takes(Req).perm(Perm::F).help("Syntax: RNFR <SP> file-name (rename (source name))."),
    cmd(Verb::Rnto).login().takes(Req).perm(Perm::F).help("Syntax: RNTO <SP> file-name (rename (destination name))."),
    cmd(Verb::Site).takes(Req).help("Syntax: SITE <SP> site-command (execute SITE command)."),
    cmd(Verb::SiteChmod).login().takes(Req).perm(Perm::Chmod).parsed(Syntax::Chmod).help("Syntax: SITE CHMOD <SP> mode path (change file mode)."),
    cmd(Verb::SiteHelp).takes(Opt).help("Syntax: SITE HELP [<SP> cmd] (show SITE command help)."),
    cmd(Verb::SiteQuota).login().help("Syntax: SITE QUOTA (show quota usage and limits)."),
    cmd(Verb::Size).login().takes(Req).perm(Perm::L).feat("SIZE").help("Syntax: SIZE <SP> file-name (get file size)."),
    cmd(Verb::Smnt).login().takes(Req).help("Syntax: SMNT <SP> path-name (not implemented)."),
    cmd(Verb::Stat).takes(Opt).perm(Perm::L).help("Syntax: STAT [<SP> path name] (server stats [list files])."),
    cmd(Verb::Stor).login().takes(Req).perm(Perm::W).tls(TlsReq::Data).moves(Direction::Upload).help("Syntax: STOR <SP> file-name (store a file)."),
    cmd(Verb::Stou).login().takes(Opt).perm(Perm::W).tls(TlsReq::Data).moves(Direction::Upload).help("Syntax: STOU [<SP> name] (store a file with a unique name)."),
    cmd(Verb::Stru).login().takes(Req).parsed(Syntax::Stru).help("Syntax: STRU <SP> type (noop; set file structure)."),
    cmd(Verb::Syst).help("Syntax: SYST (get operating system type)."),
    cmd(Verb::Type).login().takes(Req).parsed(Syntax::Type).help("Syntax: TYPE <SP> [A | I] (set transfer type)."),
    cmd(Verb::User).takes(Req).tls(TlsReq::Control).help("Syntax: USER <SP> user-name (set username)."),
    cmd(Verb::Xcrc).login().takes(Req).perm(Perm::R).parsed(Syntax::Digest).help("Syntax: XCRC <SP> file-name [<SP> start [<SP> end]] (CRC-32 of a file)."),
    cmd(Verb::Xmd5).login().takes(Req).perm(Perm::R).parsed(Syntax::Digest).help("Syntax: XMD5 <SP> file-name [<SP> start [<SP> end]] (MD5 of a file)."),
    cmd(Verb::Xsha1).login().takes(Req).perm(Perm::R).parsed(Syntax::Digest).help("Syntax: XSHA1 <SP> file-name [<SP> start [<SP> end]] (SHA-1 of a file)."),
    cmd(Verb::Xsha256).login().takes(Req).perm(Perm::R).parsed(Syntax::Digest).help("Syntax: XSHA256 <SP> file-name [<SP> start [<SP> end]] (SHA-256 of a file)."),
    cmd(Verb::Xsha512).login().takes(Req).perm(Perm::R).parsed(Syntax::Digest).help("Syntax: XSHA512 <SP> file-name [<SP> start [<SP> end]] (SHA-512 of a file)."),
];

/// RFC 775 "experimental" aliases that RFC 1123 tells servers to accept.
static ALIASES: &[(&str, Verb)] = &[
    ("XCUP", Verb::Cdup),
    ("XCWD", Verb::Cwd),
    ("XMKD", Verb::Mkd),
    ("XPWD", Verb::Pwd),
    ("XRMD", Verb::Rmd),
];

/// FEAT lines that belong to no single command (`UTF8` is added only when the control
/// connection's encoding is UTF-8: RFC 2389 §3, FEAT lists what is supported).
pub static EXTRA_FEATURES: &[&str] = &["TVFS"];

/// Looks up a verb (already upper-cased); aliases resolve to their command.
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, real)| real.name());
    COMMANDS.iter().find(|c| c.name == name)
}

/// The command's name for metrics: the table's name of the line's verb (an alias counts as
/// its command), or `other` for a verb the table does not know, so that a client cannot
/// create new series. Called for every command: compares without upper-casing a copy.
pub fn metric_label(line: &str) -> &'static str {
    let word = line.split(' ').next().unwrap_or("");
    let name = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(word))
        .map_or(word, |(_, real)| real.name());
    COMMANDS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map_or("other", |c| c.name)
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

/// The SITE sub-commands (`CHMOD`, `HELP`, `QUOTA`).
pub fn site_names() -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter_map(|c| c.name.strip_prefix("SITE "))
        .collect()
}

/// The FEAT lines of the extensions, sorted. `mlst_line` replaces the bare `MLST` line
/// with the facts list; `utf8` says whether path names are UTF-8 (RFC 2640 `UTF8`).
pub fn feat_lines(mlst_line: &str, hash_line: &str, tls: bool, utf8: bool) -> Vec<String> {
    let mut lines: Vec<String> = COMMANDS
        .iter()
        .filter(|c| tls || c.tls != TlsReq::Command)
        .filter_map(|c| c.feat)
        .map(|f| match f {
            "MLST" => mlst_line.to_owned(),
            "HASH" => hash_line.to_owned(),
            _ => f.to_owned(),
        })
        .chain(EXTRA_FEATURES.iter().map(|s| (*s).to_owned()))
        .chain(tls.then(|| "AUTH SSL".to_owned()))
        .chain(utf8.then(|| "UTF8".to_owned()))
        .collect();
    lines.sort_unstable();
    lines
}

#[cfg(test)]
mod tests;
