//! Value parsers of the command line.

use super::{size, umask};

#[test]
fn umasks_are_octal() {
    assert_eq!(umask("022"), Ok(0o022));
    assert_eq!(umask("0077"), Ok(0o077));
    assert!(umask("8").is_err());
    assert!(umask("1000").is_err());
    assert!(umask("").is_err());
}

#[test]
fn sizes_take_bytes_or_a_binary_unit() {
    assert_eq!(size("0"), Ok(0));
    assert_eq!(size("1500"), Ok(1500));
    assert_eq!(size("4K"), Ok(4096));
    assert_eq!(size("10M"), Ok(10 << 20));
    assert_eq!(size("2g"), Ok(2 << 30));
    assert_eq!(size("1TiB"), Ok(1 << 40));
    assert!(size("12Q").is_err());
    assert!(size("-1").is_err());
    assert!(size("").is_err());
    assert!(size("99999999999T").is_err());
}
