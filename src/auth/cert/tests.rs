use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::*;

/// `openssl x509 -in tests/data/cert.pem -noout -fingerprint -sha256`.
const TEST_SHA256: &str =
    "8E:93:E1:A0:18:C0:C8:E5:44:BE:C7:48:BF:B3:64:68:B0:C0:FF:C8:33:71:3B:28:00:88:51:47:D9:D7:FE:67";

fn test_cert() -> ClientCert {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cert.pem");
    let der = CertificateDer::from_pem_file(path).expect("test certificate");
    ClientCert::from_der(der.as_ref())
}

#[test]
fn reads_the_common_name_and_fingerprint() {
    let cert = test_cert();
    assert_eq!(cert.cn.as_deref(), Some("localhost"));
    assert_eq!(Some(cert.sha256), parse_sha256(TEST_SHA256));
    assert_eq!(
        cert.fingerprint(),
        TEST_SHA256.replace(':', "").to_ascii_lowercase()
    );
}

#[test]
fn garbage_has_no_common_name() {
    for bytes in [
        &b""[..],
        b"\x30",
        b"\x30\x03\x30\x01",
        b"\x30\x84\xff\xff\xff\xff",
    ] {
        assert_eq!(ClientCert::from_der(bytes).cn, None, "{bytes:?}");
    }
}

#[test]
fn fingerprints_parse_in_any_case_with_or_without_colons() {
    let plain = TEST_SHA256.replace(':', "");
    let lower = TEST_SHA256.to_ascii_lowercase();
    let expected = parse_sha256(TEST_SHA256).expect("parses");
    assert_eq!(parse_sha256(&plain), Some(expected));
    assert_eq!(parse_sha256(&lower), Some(expected));
    assert_eq!(parse_sha256(&plain[2..]), None, "too short");
    assert_eq!(parse_sha256(&format!("{plain}00")), None, "too long");
    assert_eq!(parse_sha256(&plain.replace('E', "G")), None, "not hex");
    assert_eq!(parse_sha256(&format!("+{}", &plain[1..])), None, "sign");
}

#[test]
fn bindings_match_by_name_fingerprint_or_both() {
    let cert = test_cert();
    let by_cn = |cn: &str| CertBinding {
        cn: Some(cn.into()),
        ..CertBinding::default()
    };
    assert!(by_cn("localhost").matches(&cert));
    assert!(!by_cn("LOCALHOST").matches(&cert));
    let by_sha = CertBinding {
        sha256: Some(cert.sha256),
        ..CertBinding::default()
    };
    assert!(by_sha.matches(&cert));
    let both_wrong_sha = CertBinding {
        sha256: Some([0; 32]),
        ..by_cn("localhost")
    };
    assert!(!both_wrong_sha.matches(&cert));
    assert!(!CertBinding::default().matches(&cert), "empty binding");
}
