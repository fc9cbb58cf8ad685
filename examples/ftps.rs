//! FTPS: FTP over TLS, both ways clients ask for it.
//!
//! What it teaches:
//! * [`TlsSettings::load`] reads a PEM certificate chain and private key; putting the settings
//!   in [`Config::tls`] enables *explicit* FTPS: the client connects in plaintext, sends
//!   `AUTH TLS`, and the connection turns into TLS (RFC 4217). Data connections are encrypted
//!   after `PBSZ 0` + `PROT P`, and must resume the control connection's TLS session.
//! * `control_required` and `data_required` refuse logins and transfers that would travel in
//!   clear text: this server is FTPS-only.
//! * [`Server::add_implicit_tls_listener`] adds a second port where TLS starts with the first
//!   byte (the old port-990 style, still used by some clients).
//!
//! Run with `cargo run --example ftps [PORT] [IMPLICIT_PORT] [DIR] [CERT] [KEY]` (defaults: 2121,
//! 9990, `.` and the test certificate in `tests/data`, which is self-signed for `localhost`:
//! clients must be told to trust it, e.g. `curl --cacert tests/data/cert.pem --ssl-reqd
//! ftp://user:pass@localhost:2121/`). Log in as `user` / `pass` (read-only).

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

use ftpdlib::tls::TlsSettings;
use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, TokenRange};

const TEST_CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cert.pem");
const TEST_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/key.pem");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let port: u16 = arg(0, "2121").parse()?;
    let implicit_port: u16 = arg(1, "9990").parse()?;
    let dir = arg(2, ".");

    let mut tls = TlsSettings::load(arg(3, TEST_CERT), arg(4, TEST_KEY))?;
    tls.control_required = true; // USER/PASS only after AUTH TLS
    tls.data_required = true; // transfers and listings only under PROT P

    let mut auth = MemoryAuthorizer::new();
    auth.add_user("user", "pass", &dir, "elr")?;
    let config = Config::builder(Arc::new(auth)).tls(tls).build()?;

    let mut ioloop = IoLoop::new()?;
    let explicit = TcpListener::bind(("127.0.0.1", port))?;
    let mut server = Server::new(config, explicit, ioloop.registry(), TokenRange::default())?;
    let implicit = TcpListener::bind(("127.0.0.1", implicit_port))?;
    let implicit_addr = server.add_implicit_tls_listener(implicit, ioloop.registry())?;

    println!("implicit FTPS listening on {implicit_addr}");
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    ioloop.run(&mut server)?;
    Ok(())
}
