//! A refused PROT P data connection changes nothing on disk.
//!
//! Under PROT P a data connection is up only once its TLS handshake has finished and passed the
//! session-reuse check. Until then an upload has not started, so STOR must not truncate the
//! existing file, create a new one, or leave an atomic upload's temporary file behind. Each
//! test sets up a real data connection that is refused in one of the ways a client (or a third
//! party racing to the passive port) can cause, and checks the reply and the file.

mod common;
mod tlsutil;

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind};

use common::Reply;
use tlsutil::{client_config, client_config_tls12, no_resumption, tls_connect, FtpsCtrl};
use tlsutil::{FtpsServer, Mode};

const OLD: &[u8] = b"the old content, which must survive\n";
const OLD_MODE: u32 = 0o640;

/// A server with default TLS policies (reuse required), uploads in place or atomic, and a
/// short passive timeout so that a stalled handshake ends quickly.
fn server(atomic: bool) -> FtpsServer {
    let srv = FtpsServer::start(
        |_| {},
        |cfg| {
            cfg.atomic_uploads = atomic;
            cfg.delete_incomplete_uploads = true;
            cfg.passive_timeout = Some(Duration::from_millis(700));
        },
    );
    let path = srv.file("keep.bin");
    std::fs::write(&path, OLD).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(OLD_MODE)).unwrap();
    srv
}

/// The file still has its old content and mode, and nothing else appeared next to it.
#[track_caller]
fn assert_untouched(root: &Path) {
    let path = root.join("keep.bin");
    assert_eq!(std::fs::read(&path).unwrap(), OLD, "content changed");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, OLD_MODE, "mode changed");
    let mut names: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["keep.bin"], "files left next to it");
}

/// Opens a data connection for `cmd` in `mode` and hands its socket to `client`, which plays
/// the data side and returns what must stay open until the final reply. Returns that reply.
fn refused<T>(
    c: &mut FtpsCtrl,
    mode: Mode,
    cmd: &str,
    client: impl FnOnce(TcpStream) -> T,
) -> Reply {
    let sock = c
        .open_data(mode, cmd)
        .unwrap_or_else(|r| panic!("{cmd}: {r:?}"));
    let keep = client(sock);
    let r = c.final_reply();
    drop(keep);
    r
}

/// A full handshake with `config`, then an attempt to upload new content.
fn handshake_and_write(
    config: &Arc<ClientConfig>,
) -> impl FnOnce(TcpStream) -> Option<HandshakeKind> + '_ {
    move |sock| {
        let mut tls = tls_connect(sock, config).ok()?;
        let kind = tls.conn.handshake_kind();
        // The server may already have closed: the write may fail, that is fine.
        let _ = tls.write_all(b"NEW CONTENT THAT MUST NOT LAND");
        let _ = tls.flush();
        kind
    }
}

/// The first half of a real ClientHello: a handshake that never finishes.
fn half_a_hello(mut sock: TcpStream) -> TcpStream {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(client_config(), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    sock.write_all(&hello[..hello.len() / 2]).unwrap();
    sock
}

#[test]
fn a_data_connection_that_does_not_resume_the_session_cannot_empty_the_file() {
    for atomic in [false, true] {
        for mode in [Mode::Epsv, Mode::Port] {
            let srv = server(atomic);
            let config = client_config();
            let mut c = FtpsCtrl::secure_login(srv.addr(), &config);
            let fresh = no_resumption();
            let r = refused(&mut c, mode, "STOR keep.bin", handshake_and_write(&fresh));
            assert_eq!(r.code, 522, "atomic={atomic} {mode:?}: {r:?}");
            assert!(r.text.contains("reuse"), "{r:?}");
            assert_untouched(srv.root());
            // The session goes on, and a proper upload then replaces the file.
            c.expect("NOOP", 200);
            let r = c.upload(mode, &config, "STOR keep.bin", b"new");
            assert_eq!(r.code, 226, "{r:?}");
            assert_eq!(std::fs::read(srv.file("keep.bin")).unwrap(), b"new");
        }
    }
}

#[test]
fn a_data_connection_that_resumes_another_sessions_ticket_is_refused() {
    for atomic in [false, true] {
        let srv = server(atomic);
        let mut victim = FtpsCtrl::secure_login(srv.addr(), &client_config());
        // A second client of the same server: its configuration caches its own tickets.
        let other_config = client_config();
        let mut other = FtpsCtrl::secure_login(srv.addr(), &other_config);
        other.expect("NOOP", 200);
        let mut kind = None;
        let r = refused(&mut victim, Mode::Epsv, "STOR keep.bin", |sock| {
            kind = handshake_and_write(&other_config)(sock);
        });
        assert_eq!(
            kind,
            Some(HandshakeKind::Resumed),
            "the data handshake must resume"
        );
        assert_eq!(r.code, 522, "atomic={atomic}: {r:?}");
        assert_untouched(srv.root());
        victim.expect("NOOP", 200);
    }
}

#[test]
fn a_data_connection_closed_before_its_handshake_changes_nothing() {
    for atomic in [false, true] {
        for mode in [Mode::Epsv, Mode::Port] {
            let srv = server(atomic);
            let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
            let r = refused(&mut c, mode, "STOR keep.bin", drop);
            assert!(
                r.code == 522 || r.code == 425,
                "atomic={atomic} {mode:?}: {r:?}"
            );
            assert_untouched(srv.root());
            c.expect("NOOP", 200);
        }
    }
}

#[test]
fn a_handshake_that_stalls_times_out_and_changes_nothing() {
    for atomic in [false, true] {
        let srv = server(atomic);
        let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
        let r = refused(&mut c, Mode::Epsv, "STOR keep.bin", half_a_hello);
        assert_eq!(r.code, 425, "atomic={atomic}: {r:?}");
        assert!(r.text.contains("timed out"), "{r:?}");
        assert_untouched(srv.root());
        c.expect("NOOP", 200);
    }
}

#[test]
fn a_refused_upload_of_a_new_name_creates_nothing() {
    for (cmd, atomic) in [
        ("STOR fresh.bin", false),
        ("STOR fresh.bin", true),
        ("STOU", false),
    ] {
        let srv = server(atomic);
        let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
        let fresh = no_resumption();
        let r = refused(&mut c, Mode::Epsv, cmd, handshake_and_write(&fresh));
        assert_eq!(r.code, 522, "{cmd} atomic={atomic}: {r:?}");
        assert_untouched(srv.root());
    }
}

#[test]
fn appe_and_rest_stor_refused_keep_the_file() {
    for cmd in ["APPE keep.bin", "REST 4|STOR keep.bin"] {
        for atomic in [false, true] {
            let srv = server(atomic);
            let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
            c.expect("TYPE I", 200);
            let cmd = match cmd.split_once('|') {
                Some((rest, stor)) => {
                    c.expect(rest, 350);
                    stor
                }
                None => cmd,
            };
            let fresh = no_resumption();
            let r = refused(&mut c, Mode::Epsv, cmd, handshake_and_write(&fresh));
            assert_eq!(r.code, 522, "{cmd} atomic={atomic}: {r:?}");
            assert_untouched(srv.root());
        }
    }
}

/// TLS 1.2 pinned down: the reuse check accepts the client's own session and refuses a full
/// handshake; rustls does not expose which session a TLS 1.2 session id belonged to, so a
/// resumption of *another* client's session of this server is accepted (README, Limitations).
#[test]
fn tls12_reuse_check_accepts_resumptions_of_this_server_and_refuses_full_handshakes() {
    let srv = server(false);
    let own = client_config_tls12();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &own);
    let r = c.upload(Mode::Epsv, &own, "STOR a.bin", b"own session");
    assert_eq!(r.code, 226, "own session: {r:?}");

    let full = Arc::new({
        let mut cfg = (*client_config_tls12()).clone();
        cfg.resumption = rustls::client::Resumption::disabled();
        cfg
    });
    let r = refused(
        &mut c,
        Mode::Epsv,
        "STOR keep.bin",
        handshake_and_write(&full),
    );
    assert_eq!(r.code, 522, "full handshake: {r:?}");
    assert_eq!(std::fs::read(srv.file("keep.bin")).unwrap(), OLD);

    let other_config = client_config_tls12();
    let mut other = FtpsCtrl::secure_login(srv.addr(), &other_config);
    other.expect("NOOP", 200);
    let r = c.upload(Mode::Epsv, &other_config, "STOR b.bin", b"other session");
    assert_eq!(
        r.code, 226,
        "another session of this server, TLS 1.2: {r:?}"
    );
}

/// Python's stock `ftplib.FTP_TLS` does not resume the control session on its data
/// connections: with the reuse check on, its STOR is refused and the file stays as it was.
#[test]
fn python_ftplib_ftp_tls_stor_is_refused_without_touching_the_file() {
    if !common::require_tool("python3") {
        return;
    }
    let srv = server(false);
    let script = format!(
        r#"
import ftplib, io, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=10)
f.connect("127.0.0.1", {port})
f.login("user", "pass")
f.prot_p()
try:
    f.storbinary("STOR keep.bin", io.BytesIO(b"NEW CONTENT" * 1000))
    print("STORED")
except ftplib.Error as e:
    print("REFUSED", e)
except OSError as e:
    # The data connection broke first; the refusal is still to be read.
    try:
        f.getresp()
    except ftplib.Error as e:
        print("REFUSED", e)
f.voidcmd("NOOP")
f.quit()
"#,
        port = srv.addr().port()
    );
    let stdout = common::run_python(&script);
    assert!(stdout.contains("REFUSED 522"), "{stdout}");
    assert_untouched(srv.root());
}

/// A data connection refused before the transfer command arrives: that command gets the
/// refusal (not a bare `425`), and the file is untouched.
#[test]
fn a_refusal_before_the_command_is_the_commands_reply() {
    let srv = server(false);
    let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
    let r = c.cmd("EPSV");
    let addr = tlsutil::passive_addr(&r, srv.addr().ip()).unwrap();
    let mut data = TcpStream::connect(addr).unwrap();
    data.write_all(b"not a TLS record\r\n").unwrap();
    // Wait until the server has refused (closed) the connection, then ask for a transfer.
    tlsutil::wait_closed(&mut data, Duration::from_secs(5)).unwrap();
    let r = c.cmd("STOR keep.bin");
    assert_eq!(r.code, 522, "{r:?}");
    assert_untouched(srv.root());
    // Only once: the next command without a channel is the usual 425.
    c.expect("STOR keep.bin", 425);
}
