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

#[test]
fn nat_address_takes_an_ip_or_a_host_name() {
    use clap::Parser;
    use ftpdlib::nat::NatHost;
    use std::time::Duration;
    let parse = |argv: &[&str]| super::Args::try_parse_from([&["ftpdlib"], argv].concat());
    let args = parse(&["-n", "203.0.113.7"]).unwrap();
    assert_eq!(
        args.nat_address,
        Some(NatHost::Ip("203.0.113.7".parse().unwrap()))
    );
    assert_eq!(args.nat_refresh, Duration::from_secs(300));
    let args = parse(&["--nat-address", "ftp.example.org", "--nat-refresh", "0"]).unwrap();
    assert_eq!(
        args.nat_address,
        Some(NatHost::Name("ftp.example.org".into()))
    );
    assert_eq!(args.nat_refresh, Duration::ZERO);
    let err = parse(&["-n", "not a host"]).unwrap_err().to_string();
    assert!(
        err.contains("neither an IP address nor a host name"),
        "{err}"
    );
    assert!(parse(&["--nat-refresh", "-1"]).is_err());
}
