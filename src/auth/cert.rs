//! TLS client certificates as login credentials: what the server learned from the certificate
//! verified on the control connection ([`ClientCert`]), and which certificate a user is bound
//! to ([`CertBinding`], the users file's `cert_cn=`, `cert_sha256=` and `cert_only=`).
//!
//! The TLS layer (`--tls-client-ca`) decides whether a certificate is *valid*: issued by the
//! configured CA, in date, meant for client authentication. This module only decides whether a
//! valid certificate is *this user's*: its subject common name, or the SHA-256 fingerprint of
//! its DER encoding, must be the one bound to the account. A binding with `only` set lets the
//! certificate replace the password (`USER` answered `232`, RFC 2228); without it the
//! certificate is required besides the password.
//!
//! The common name is read with a small DER walk of the certificate's subject, not a full
//! X.509 parser: rustls has already verified the certificate, and a certificate whose subject
//! cannot be read simply has no common name (a `cert_cn` binding then does not match).

use sha2::{Digest, Sha256};

/// The verified client certificate of a control connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    /// The subject's common name (the first CN attribute), if it has one.
    pub cn: Option<String>,
    /// SHA-256 of the certificate's DER encoding.
    pub sha256: [u8; 32],
}

impl ClientCert {
    /// Reads the common name and computes the fingerprint of a DER certificate.
    pub fn from_der(der: &[u8]) -> ClientCert {
        ClientCert {
            cn: subject_cn(der),
            sha256: Sha256::digest(der).into(),
        }
    }

    /// The fingerprint as lower-case hex without separators (64 digits).
    pub fn fingerprint(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The certificate a user is bound to. With both a name and a fingerprint, both must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertBinding {
    /// `cert_cn=`: the subject common name the certificate must have (exact, case-sensitive).
    pub cn: Option<String>,
    /// `cert_sha256=`: the SHA-256 fingerprint of the certificate's DER encoding.
    pub sha256: Option<[u8; 32]>,
    /// `cert_only=yes`: the certificate alone logs the user in (no password).
    pub only: bool,
}

impl CertBinding {
    /// True if `cert` is the bound certificate. A binding without a name or fingerprint
    /// matches nothing.
    pub fn matches(&self, cert: &ClientCert) -> bool {
        let cn_ok = self
            .cn
            .as_ref()
            .is_none_or(|cn| cert.cn.as_ref() == Some(cn));
        let sha_ok = self.sha256.is_none_or(|sha| sha == cert.sha256);
        (self.cn.is_some() || self.sha256.is_some()) && cn_ok && sha_ok
    }
}

/// Parses a SHA-256 fingerprint: 64 hex digits, any case, with or without `:` between bytes
/// (as `openssl x509 -fingerprint -sha256` prints it).
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// The user `user` if it may log in with `cert` alone: its binding has `only` and matches.
pub fn cert_only_user(user: Option<&super::User>, cert: &ClientCert) -> Option<super::User> {
    let user = user?;
    let binding = user.limits.cert.as_ref()?;
    (binding.only && binding.matches(cert)).then(|| user.clone())
}

/// One DER element: (tag, contents, the rest after it).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The contents of a SEQUENCE, or `None` for any other element.
fn sequence(input: &[u8]) -> Option<(&[u8], &[u8])> {
    match element(input)? {
        (0x30, inner, rest) => Some((inner, rest)),
        _ => None,
    }
}

/// The DER encoding of the OID 2.5.4.3 (id-at-commonName).
const CN_OID: [u8; 3] = [0x55, 0x04, 0x03];

/// The first common name of the certificate's subject.
fn subject_cn(der: &[u8]) -> Option<String> {
    let (cert, _) = sequence(der)?;
    let (mut tbs, _) = sequence(cert)?;
    // [0] version is optional; then serialNumber, signature, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.2;
    }
    for _ in 0..4 {
        tbs = element(tbs)?.2;
    }
    let (mut rdns, _) = sequence(tbs)?;
    while !rdns.is_empty() {
        let (tag, mut set, rest) = element(rdns)?;
        rdns = rest;
        if tag != 0x31 {
            return None;
        }
        while !set.is_empty() {
            let (attr, rest) = sequence(set)?;
            set = rest;
            let (oid_tag, oid, value) = element(attr)?;
            if oid_tag == 0x06 && oid == CN_OID {
                return string_value(value);
            }
        }
    }
    None
}

/// A directory string: UTF8String, PrintableString, IA5String or T61String (as Latin-1).
fn string_value(input: &[u8]) -> Option<String> {
    let (tag, bytes, _) = element(input)?;
    match tag {
        0x0c | 0x13 | 0x16 => String::from_utf8(bytes.to_vec()).ok(),
        0x14 => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
