//! Your own logins: an [`Authorizer`] that is neither a users file nor a [`MemoryAuthorizer`].
//!
//! What it teaches: the server asks the authorizer two things. After `USER`/`PASS`,
//! [`Authorizer::authenticate`] turns a name and password into a [`User`] (home directory,
//! permissions) or refuses with [`AuthError::BadCredentials`], whatever was wrong, so that
//! clients cannot probe for user names. Before every command that touches a file,
//! [`Authorizer::has_perm`] decides, per path, and [`Authorizer::perms_for`] gives the MLSD
//! `perm` fact. Here accounts come from a fixed table *and* from a callback (think: a lookup
//! in a database or a call to another service), and one directory is off limits to everyone.
//!
//! Run with `cargo run --example custom_authorizer [PORT] [DIR]` (defaults: 2121 and `.`).
//! Log in as `reader` / `books`, or as `demo` with the password the callback derives: the
//! name backwards, `omed`. Nobody may enter `/private` or list or download anything in it.
//!
//! [`MemoryAuthorizer`]: ftpdlib::MemoryAuthorizer

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ftpdlib::auth::AuthError;
use ftpdlib::fs::VirtualPath;
use ftpdlib::{Authorizer, Config, IoLoop, Perm, Perms, Server, TokenRange, User, UserLimits};

/// Gives the password a user name must present, or `None` for an unknown name.
type PasswordLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

struct TableAuthorizer {
    /// Everyone's home directory: it becomes their `/`.
    home: PathBuf,
    /// Fixed accounts: name -> password.
    table: HashMap<String, String>,
    /// Accounts decided at login time.
    lookup: Box<PasswordLookup>,
}

// `Authorizer` requires `Debug`; never print passwords.
impl std::fmt::Debug for TableAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableAuthorizer")
            .field("home", &self.home)
            .field("users", &self.table.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Authorizer for TableAuthorizer {
    fn authenticate(&self, name: &str, pass: &str, _peer: IpAddr) -> Result<User, AuthError> {
        let expected = self
            .table
            .get(name)
            .cloned()
            .or_else(|| (self.lookup)(name));
        // A real server compares in constant time and stores hashes, not passwords.
        match expected {
            Some(p) if p == pass => Ok(User {
                name: name.to_owned(),
                home: self.home.clone(),
                perms: Perms::READ_ONLY, // elr
                anonymous: false,
                msg_login: format!("Welcome, {name}."),
                msg_quit: String::new(),
                limits: UserLimits::default(),
            }),
            _ => Err(AuthError::BadCredentials),
        }
    }

    /// Called before each file command; the answer depends on the virtual path only.
    fn has_perm(&self, user: &User, perm: Perm, path: &VirtualPath) -> bool {
        self.perms_for(user, path).contains(perm)
    }

    fn perms_for(&self, user: &User, path: &VirtualPath) -> Perms {
        let private = VirtualPath::root().join("private");
        if path.starts_with(&private) {
            Perms::NONE
        } else {
            user.perms
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(2121), |p| p.parse())?;
    let home = std::fs::canonicalize(args.next().unwrap_or_else(|| ".".into()))?;

    let table = HashMap::from([("reader".to_owned(), "books".to_owned())]);
    let lookup = |name: &str| (name == "demo").then(|| name.chars().rev().collect());
    let auth = TableAuthorizer {
        home,
        table,
        lookup: Box::new(lookup),
    };

    let mut ioloop = IoLoop::new()?;
    let addr = ([127, 0, 0, 1], port).into();
    let config = Config::new(Arc::new(auth));
    let mut server = Server::bind(config, addr, ioloop.registry(), TokenRange::default())?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    ioloop.run(&mut server)?;
    Ok(())
}
