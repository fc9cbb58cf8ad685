//! What each command does, grouped by the RFC that defines it (as samotop groups SMTP).
//!
//! [`run`] is the one `match` from verb to command function. Each command is a function of the
//! command core (`core.rs`): it takes the narrow context [`Core`] and its argument and returns
//! an [`Outcome`], a reply or an action for the engine (`apply.rs`), and does no I/O itself.
//! Two helpers are shared by every command that touches the disk: [`Core::path`] turns an
//! argument into a virtual path and checks the permission letter (gate step 5), and
//! [`fs_error`] is the single place where a filesystem error becomes a reply.

mod access;
mod files;
mod info;
pub(crate) mod listing;
mod ports;
mod tls;
mod transfer;

use super::args::{self, Args};
use super::core::{Action, Core, Outcome};
use super::settings::{self, Settings};
use super::table::Verb;
use super::{gate, parser};
use crate::fs::VirtualPath;
pub(crate) use crate::reply::fs_error;
use crate::reply::{Reply, ReplyCode};

pub(super) use access::{end_session, failed_reply, login_checked, quit};
pub(super) use transfer::report_transfer;

/// One command line through the whole pipeline, without I/O: a custom SITE command, the
/// parser (`500`, `501`), the gate (`530`, the TLS policies), the settings commands, then the
/// command itself. `rnfr` is the pending rename source, if the previous command was RNFR.
pub(super) fn run_line(c: &mut Core<'_>, line: &str, rnfr: Option<VirtualPath>) -> Outcome {
    if let Some(reply) = info::custom_site(c, line) {
        return reply.into();
    }
    let cmd = tri!(parser::parse(line));
    tri!(gate::check_command(cmd.spec, c.session.logged_in()));
    tri!(gate::check_tls(
        cmd.spec,
        c.cfg.tls.as_deref(),
        c.tls,
        c.sec.prot_private
    ));
    // The argument's own rules come after the gate: 530 before 501.
    let args = tri!(args::parse(
        cmd.spec.syntax,
        &cmd.arg,
        c.local.map(|a| a.ip())
    ));
    // The permission letter of this row: `Core::path` checks it (gate step 5).
    c.perm = cmd.spec.perm;
    let settings = Settings {
        session: c.session,
        cfg: c.cfg,
    };
    if let Some(reply) = settings::run(cmd.spec.verb, &args, settings) {
        return reply.into();
    }
    run(c, cmd.spec.verb, args, rnfr)
}

/// Runs one gated command of the core (the settings commands are answered before it). `rnfr` is the pending rename source, if the previous command was RNFR.
pub(super) fn run(
    c: &mut Core<'_>,
    verb: Verb,
    args: Args<'_>,
    rnfr: Option<VirtualPath>,
) -> Outcome {
    let arg = args.text();
    match verb {
        Verb::User => access::user(c, arg),
        Verb::Pass => access::pass(c, arg),
        Verb::Quit if c.data.transfer.is_some() => Action::QuitAfterTransfer.into(),
        Verb::Quit => access::quit(c),
        Verb::Rein => access::rein(c),
        Verb::Host => access::host(c),
        Verb::Auth => tls::auth(c, arg),
        Verb::Pbsz => tls::pbsz(c, arg),
        Verb::Prot => tls::prot(c, arg),
        Verb::Ccc => tls::ccc(c),
        _ => run_disk(c, verb, args, rnfr),
    }
}

/// The commands that touch the disk (the rest of `run`).
fn run_disk(c: &mut Core<'_>, verb: Verb, args: Args<'_>, rnfr: Option<VirtualPath>) -> Outcome {
    let arg = args.text();
    match (verb, args) {
        (Verb::Avbl, _) => info::avbl(c, arg),
        (Verb::Hash, _) => info::hash(c, arg),
        (_, Args::Digest(path, range)) => info::digest(c, verb, path, range),
        (Verb::Stat, _) => info::stat(c, arg),
        (Verb::Cwd, _) => files::cwd(c, arg),
        (Verb::Cdup, _) => files::cwd(c, ".."),
        (Verb::Mkd, _) => files::mkd(c, arg),
        (Verb::Rmd, _) => files::rmd(c, arg),
        (Verb::Dele, _) => files::dele(c, arg),
        (Verb::Rnfr, _) => files::rnfr(c, arg),
        (Verb::Rnto, _) => files::rnto(c, arg, rnfr),
        (Verb::Size, _) => files::size(c, arg),
        (Verb::Mdtm, _) => files::mdtm(c, arg),
        (Verb::Mfmt, Args::Mtime(time, path)) => files::mfmt(c, time, path),
        (Verb::SiteChmod, Args::Chmod(mode, path)) => files::site_chmod(c, mode, path),
        (verb, args) => run_data(c, verb, args),
    }
}

/// The commands of the data channel (the rest of `run`).
fn run_data(c: &mut Core<'_>, verb: Verb, args: Args<'_>) -> Outcome {
    let arg = args.text();
    match (verb, args) {
        (Verb::Pasv, _) => ports::pasv(c, None),
        (Verb::Epsv, Args::Epsv(all)) => ports::pasv(c, Some(all)),
        (Verb::Port, Args::Address(target)) => ports::port(c, "PORT", target),
        (Verb::Eprt, Args::Address(target)) => ports::port(c, "EPRT", target),
        (Verb::Retr, _) => transfer::retr(c, arg),
        (Verb::Stor, _) => transfer::stor(c, arg, false),
        (Verb::Appe, _) => transfer::stor(c, arg, true),
        (Verb::Stou, _) => transfer::stou(c, arg),
        (Verb::Abor, _) => transfer::abor(c),
        (Verb::List, _) => listing::list(c, listing::ListKind::List, arg),
        (Verb::Nlst, _) => listing::list(c, listing::ListKind::Nlst, arg),
        (Verb::Mlsd, _) => listing::list(c, listing::ListKind::Mlsd, arg),
        (Verb::Mlst, _) => listing::mlst(c, arg),
        _ => Reply::new(ReplyCode::NotImplemented, "Command not implemented.").into(),
    }
}

/// Unwraps a `Result<T, Reply>` inside a command returning an [`Outcome`].
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return $crate::control::core::Outcome::Reply(reply),
        }
    };
}
pub(crate) use tri;

#[cfg(test)]
mod tests;
