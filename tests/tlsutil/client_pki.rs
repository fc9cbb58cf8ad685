//! A throwaway PKI for the client-certificate tests, made with the `openssl` command line in a
//! temporary directory: a CA, client certificates it issues (EC P-256, `clientAuth`), and a
//! self-signed certificate that no CA vouches for.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TempDir;

/// The extensions of the CA and of the client certificates.
const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ftpdlib test client CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A CA and its directory; certificates are `NAME.pem` with key `NAME.key` next to it.
pub struct Pki {
    dir: TempDir,
}

/// Runs openssl in `dir`, asserting success.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

impl Pki {
    /// A new CA (`ca.pem`).
    pub fn new() -> Pki {
        let dir = TempDir::new("client-pki");
        std::fs::write(dir.path().join("pki.cnf"), CONFIG).unwrap();
        let mut args = vec!["req", "-x509", "-config", "pki.cnf", "-extensions", "ca"];
        args.extend(EC);
        args.extend([
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        ]);
        openssl(dir.path(), &args);
        Pki { dir }
    }

    /// A path in the PKI's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// Issues `name.pem`/`name.key` with subject `CN=cn`; returns (certificate, key).
    pub fn issue(&self, name: &str, cn: &str) -> (PathBuf, PathBuf) {
        let (csr, pem, key) = (
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.key"),
        );
        let subject = format!("/CN={cn}");
        let mut args = vec!["req", "-new", "-config", "pki.cnf", "-subj", &subject];
        args.extend(EC);
        args.extend(["-nodes", "-keyout", &key, "-out", &csr]);
        openssl(self.dir.path(), &args);
        openssl(
            self.dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &serial(name),
                "-days",
                "2",
                "-extfile",
                "pki.cnf",
                "-extensions",
                "client",
                "-out",
                &pem,
            ],
        );
        (self.path(&pem), self.path(&key))
    }

    /// A self-signed certificate with subject `CN=cn` that the CA did not issue.
    pub fn self_signed(&self, name: &str, cn: &str) -> (PathBuf, PathBuf) {
        let (pem, key) = (format!("{name}.pem"), format!("{name}.key"));
        let subject = format!("/CN={cn}");
        let mut args = vec![
            "req",
            "-x509",
            "-config",
            "pki.cnf",
            "-extensions",
            "client",
        ];
        args.extend(["-subj", &subject]);
        args.extend(EC);
        args.extend(["-nodes", "-keyout", &key, "-out", &pem, "-days", "2"]);
        openssl(self.dir.path(), &args);
        (self.path(&pem), self.path(&key))
    }

    /// The SHA-256 fingerprint of a certificate, as openssl prints it (`AB:CD:...`).
    pub fn fingerprint(&self, cert: &Path) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(cert)
            .output()
            .expect("run openssl");
        let text = String::from_utf8(out.stdout).unwrap();
        text.trim().rsplit('=').next().unwrap().to_owned()
    }
}

/// A serial number per certificate name (distinct within one CA).
fn serial(name: &str) -> String {
    let sum: u32 = name.bytes().map(u32::from).sum();
    format!("{}", 1000 + sum * 7 + name.len() as u32)
}
