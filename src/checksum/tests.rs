//! Known digests (the FIPS 180 / RFC 1321 test vector "abc"), ranges, and the names.

use super::*;

fn hash(algo: Algo, data: &[u8]) -> String {
    digest(&mut &data[..], algo, data.len() as u64).unwrap()
}

#[test]
fn known_digests_of_abc() {
    assert_eq!(
        hash(Algo::Sha256, b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hash(Algo::Sha1, b"abc"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(hash(Algo::Md5, b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(hash(Algo::Crc32, b"abc"), "352441c2");
    assert!(hash(Algo::Sha512, b"abc").starts_with("ddaf35a193617aba"));
}

#[test]
fn a_short_file_is_an_error_and_nothing_hashes_to_the_empty_digest() {
    assert!(digest(&mut &b"0123456789"[..], Algo::Md5, 11).is_err());
    assert_eq!(hash(Algo::Crc32, b""), "00000000");
}

#[test]
fn names_parse_case_insensitively_and_feat_stars_the_selected_one() {
    assert_eq!(Algo::parse("sha-256"), Some(Algo::Sha256));
    assert_eq!(Algo::parse("crc32"), Some(Algo::Crc32));
    assert_eq!(Algo::parse("SHA-3"), None);
    assert_eq!(
        Algo::feat_line(Algo::Md5),
        "HASH SHA-256;SHA-512;SHA-1;MD5*;CRC32"
    );
}
