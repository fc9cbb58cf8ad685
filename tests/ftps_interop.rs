//! FTPS interoperability: the real `ftpdlib` daemon (AUTH TLS and implicit FTPS) with real
//! clients: curl (OpenSSL), lftp (GnuTLS), Python's `ftplib.FTP_TLS` (OpenSSL), plus the
//! certificate reload on SIGHUP seen by a rustls client. A test whose client is not installed
//! prints a notice and passes without checking anything.
//!
//! Not tested: curl in active mode over TLS. Debian's curl 7.88 does not put TLS on active
//! data connections (curl/curl#10666, fixed by curl/curl#10669), so it cannot work there.

mod common;
mod tlsutil;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::TempDir;
use tlsutil::{
    assert_success, client_config, data_path, installed, pattern, read_cert, run_client, FtpsCtrl,
    FtpsDaemon, Mode, EC_CERT, RSA_CERT,
};

/// Longest a client run may take (the 50 MiB transfers included).
const CLIENT_LIMIT: Duration = Duration::from_secs(120);
/// Longest the daemon may take to log the reaction to a signal.
const LOG_LIMIT: Duration = Duration::from_secs(10);

fn daemon(extra: &[&str]) -> FtpsDaemon {
    FtpsDaemon::start(&data_path("cert.pem"), &data_path("key.pem"), extra)
}

fn curl(args: &[&str]) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "100"]).args(args);
    let out = run_client(&mut cmd, CLIENT_LIMIT);
    assert_success(&out, "curl");
    String::from_utf8(out.stdout).unwrap()
}

/// `ftp://user:pass@127.0.0.1:PORT/path` on the explicit (AUTH TLS) port.
fn url(d: &FtpsDaemon, path: &str) -> String {
    format!("ftp://user:pass@127.0.0.1:{}/{path}", d.port())
}

#[test]
fn curl_uploads_downloads_and_lists_over_auth_tls() {
    if !installed("curl") {
        return;
    }
    let d = daemon(&[]);
    let local = TempDir::new("curl-ftps");
    let served = pattern(300_000, 21);
    fs::write(d.root().join("served.bin"), &served).unwrap();
    let up = pattern(250_000, 22);
    fs::write(local.path().join("up.bin"), &up).unwrap();

    let src = local.path().join("up.bin");
    curl(&[
        "--ssl-reqd",
        "-k",
        "-T",
        src.to_str().unwrap(),
        &url(&d, "up.bin"),
    ]);
    assert!(
        fs::read(d.root().join("up.bin")).unwrap() == up,
        "uploaded bytes differ"
    );

    let dst = local.path().join("down.bin");
    curl(&[
        "--ssl-reqd",
        "-k",
        "-o",
        dst.to_str().unwrap(),
        &url(&d, "served.bin"),
    ]);
    assert!(fs::read(&dst).unwrap() == served, "downloaded bytes differ");

    let list = curl(&["--ssl-reqd", "-k", &url(&d, "")]);
    assert!(
        list.contains("served.bin") && list.contains("up.bin"),
        "{list}"
    );
    assert!(d.wait_log("data connection secured", LOG_LIMIT).is_some());
}

#[test]
fn curl_downloads_over_implicit_ftps() {
    if !installed("curl") {
        return;
    }
    let d = daemon(&[]);
    fs::write(d.root().join("implicit.txt"), b"over implicit TLS\n").unwrap();
    let url = format!(
        "ftps://user:pass@127.0.0.1:{}/implicit.txt",
        d.implicit_port()
    );
    assert_eq!(curl(&["-k", &url]), "over implicit TLS\n");
}

#[test]
fn curl_large_transfers_both_ways() {
    if !installed("curl") {
        return;
    }
    let d = daemon(&[]);
    let local = TempDir::new("curl-large");
    let big = pattern(50 * 1024 * 1024, 23);
    fs::write(d.root().join("big.bin"), &big).unwrap();
    let dst = local.path().join("big.bin");
    curl(&[
        "--ssl-reqd",
        "-k",
        "-o",
        dst.to_str().unwrap(),
        &url(&d, "big.bin"),
    ]);
    assert_eq!(sha256(&dst), sha256(&d.root().join("big.bin")));
    curl(&[
        "--ssl-reqd",
        "-k",
        "-T",
        dst.to_str().unwrap(),
        &url(&d, "back.bin"),
    ]);
    assert!(
        fs::read(d.root().join("back.bin")).unwrap() == big,
        "uploaded bytes differ"
    );
}

fn sha256(path: &Path) -> String {
    let out = run_client(Command::new("sha256sum").arg(path), CLIENT_LIMIT);
    assert_success(&out, "sha256sum");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().next().unwrap().to_owned()
}

/// Every regular file under `root`, by relative path, with its contents.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>, depth: usize) {
        assert!(depth < 16, "tree too deep");
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out, depth + 1);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out, 0);
    out
}

#[test]
fn lftp_mirrors_a_tree_both_ways_with_protected_data() {
    if !installed("lftp") {
        return;
    }
    let d = daemon(&[]);
    let local = TempDir::new("lftp-ftps");
    let src = local.path().join("src");
    fs::create_dir_all(src.join("a/b/c")).unwrap();
    fs::create_dir_all(src.join("empty-sibling/x")).unwrap();
    fs::write(src.join("top.txt"), b"top\n").unwrap();
    fs::write(src.join("a/mid.bin"), pattern(120_000, 31)).unwrap();
    fs::write(src.join("a/b/c/deep.bin"), pattern(70_000, 32)).unwrap();
    fs::write(src.join("empty-sibling/x/one.txt"), b"1").unwrap();
    let script = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ssl:verify-certificate no; set net:max-retries 1; set net:timeout 10; \
         open -u user,pass ftp://127.0.0.1:{}; mirror -R {} up; mirror up {}",
        d.port(),
        src.display(),
        local.path().join("down").display()
    );
    let out = run_client(Command::new("lftp").args(["-c", &script]), CLIENT_LIMIT);
    assert_success(&out, "lftp");
    let expected = tree(&src);
    assert_eq!(expected.len(), 4);
    assert!(
        tree(&d.root().join("up")) == expected,
        "uploaded tree differs"
    );
    assert!(
        tree(&local.path().join("down")) == expected,
        "downloaded tree differs"
    );
    let secured = d.wait_log("data connection secured", LOG_LIMIT);
    assert!(
        secured.is_some(),
        "lftp's data connections were not protected"
    );
}

/// Python's ftplib: `plain` is `FTP_TLS` as it is (a full TLS handshake on each data
/// connection); otherwise the usual subclass that resumes the control session on them.
const FTPLIB: &str = r#"
import ftplib, hashlib, io, ssl, sys
mode, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Reusing(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session)
        return conn, size

cls = ftplib.FTP_TLS if mode == "plain" else Reusing
f = cls(context=ssl.create_default_context(cafile=cafile), timeout=10)
f.connect("127.0.0.1", port)
f.login("user", "pass")
f.prot_p()
print("LOGIN OK", flush=True)

def sha(name):
    h = hashlib.sha256()
    f.retrbinary("RETR " + name, h.update)
    return h.hexdigest()

try:
    if mode == "abort":
        # A download read slowly, then ABOR (FTP_TLS.abort sends it through TLS).
        conn = f.transfercmd("RETR huge.bin")
        got = 0
        while got < 100000:
            b = conn.recv(4096)
            if not b:
                break
            got += len(b)
        print("ABORT", f.abort(), flush=True)
        print("THEN", f.getmultiline(), flush=True)
        try:
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                got += len(b)
        except OSError:
            pass
        conn.close()
        print("GOT", got, flush=True)
        print("NOOP", f.voidcmd("NOOP"), flush=True)
    elif mode == "upload":
        data = bytes(range(256)) * 4096
        f.storbinary("STOR py-up.bin", io.BytesIO(data))
        print("STORED", hashlib.sha256(data).hexdigest(), flush=True)
    else:
        print("SHA", sha("big.bin"), flush=True)
        print("NLST", " ".join(sorted(f.nlst())), flush=True)
        print("SHA", sha("big.bin"), flush=True)
except Exception as e:
    print("FAILED", type(e).__name__, e, flush=True)
    sys.exit(3)
f.quit()
"#;

/// Runs the ftplib script in `mode` against `d`; returns (exit code, stdout).
fn ftplib(d: &FtpsDaemon, mode: &str) -> (Option<i32>, String) {
    let cert = data_path("cert.pem");
    let mut cmd = Command::new("python3");
    cmd.args(["-c", FTPLIB, mode, &d.port().to_string()])
        .arg(cert);
    let out = run_client(&mut cmd, CLIENT_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), format!("{stdout}{stderr}"))
}

/// A daemon serving a ~5 MiB `big.bin`, and its sha256.
fn daemon_with_big_file(extra: &[&str]) -> (FtpsDaemon, String) {
    let d = daemon(extra);
    let path = d.root().join("big.bin");
    fs::write(&path, pattern(5 * 1024 * 1024 + 17, 41)).unwrap();
    let digest = sha256(&path);
    (d, digest)
}

#[test]
fn python_ftp_tls_without_session_reuse_depends_on_the_policy() {
    if !installed("python3") {
        return;
    }
    // ftplib does not resume the control session on data connections: refused by default...
    let (d, _) = daemon_with_big_file(&[]);
    let (code, out) = ftplib(&d, "plain");
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("LOGIN OK") && out.contains("FAILED"), "{out}");
    assert!(d.wait_log("session reuse required", LOG_LIMIT).is_some());
    // ...accepted when the daemon does not require reuse.
    let (d, digest) = daemon_with_big_file(&["--no-tls-session-reuse"]);
    let (code, out) = ftplib(&d, "plain");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches(&format!("SHA {digest}")).count(), 2, "{out}");
}

#[test]
fn python_ftp_tls_resuming_the_session_downloads_and_lists() {
    if !installed("python3") {
        return;
    }
    // Three data connections resuming the very same session (OpenSSL reuses it as is): the
    // regression test of the non-consuming server session store.
    let (d, digest) = daemon_with_big_file(&[]);
    let (code, out) = ftplib(&d, "reuse");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches(&format!("SHA {digest}")).count(), 2, "{out}");
    assert!(out.contains("NLST big.bin\n"), "{out}");
}

#[test]
fn python_ftp_tls_resuming_the_session_uploads() {
    if !installed("python3") {
        return;
    }
    let d = daemon(&[]);
    let (code, out) = ftplib(&d, "upload");
    assert_eq!(code, Some(0), "{out}");
    let data: Vec<u8> = (0..4096).flat_map(|_| 0..=255u8).collect();
    assert!(fs::read(d.root().join("py-up.bin")).unwrap() == data);
}

#[test]
fn python_ftp_tls_abort_during_a_protected_download() {
    if !installed("python3") {
        return;
    }
    let d = daemon(&[]);
    let size = 24 << 20;
    fs::write(d.root().join("huge.bin"), pattern(size, 7)).unwrap();
    let (code, out) = ftplib(&d, "abort");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ABORT 426 Transfer aborted via ABOR.\n"),
        "{out}"
    );
    assert!(out.contains("THEN 226 ABOR command successful.\n"), "{out}");
    assert!(out.contains("NOOP 200"), "{out}");
    let got: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("GOT "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(got < size, "the whole file was delivered despite the ABOR");
}

#[test]
fn sighup_reloads_the_certificate_for_new_connections_only() {
    let dir = TempDir::new("sighup");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    fs::copy(data_path("cert.pem"), &cert).unwrap();
    fs::copy(data_path("key.pem"), &key).unwrap();
    let d = FtpsDaemon::start(&cert, &key, &[]);
    fs::write(d.root().join("f.txt"), b"still here").unwrap();
    let cfg = client_config();
    let mut old = FtpsCtrl::secure_login(d.addr(), &cfg);
    assert_eq!(old.peer_certificate(), Some(read_cert(RSA_CERT)));

    fs::copy(data_path("ec-cert.pem"), &cert).unwrap();
    fs::copy(data_path("ec-key.pem"), &key).unwrap();
    d.sighup();
    assert!(
        d.wait_log("reloaded", LOG_LIMIT).is_some(),
        "no reload logged"
    );
    let new_cfg = client_config();
    let mut new = FtpsCtrl::secure_login(d.addr(), &new_cfg);
    assert_eq!(new.peer_certificate(), Some(read_cert(EC_CERT)));
    let list = new.download(Mode::Pasv, &new_cfg, "NLST");
    assert_eq!(String::from_utf8_lossy(&list).trim_end(), "f.txt");
    // The session opened before the reload goes on with its certificate.
    old.expect("NOOP", 200);
    assert_eq!(old.download(Mode::Epsv, &cfg, "RETR f.txt"), b"still here");

    fs::write(&cert, "garbage, not a certificate\n").unwrap();
    d.sighup();
    let line = d.wait_log("keeping the old certificate", LOG_LIMIT);
    assert!(line.is_some_and(|l| l.contains("ERROR")), "no error logged");
    let mut after = FtpsCtrl::secure_login(d.addr(), &client_config());
    assert_eq!(after.peer_certificate(), Some(read_cert(EC_CERT)));
    after.expect("NOOP", 200);
}
