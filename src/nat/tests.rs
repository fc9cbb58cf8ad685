//! Unit tests of `-n` parsing, the choice of address and refreshes with scripted answers.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use super::*;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 2));
const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

/// A resolver answering from a script, then failing.
fn scripted(
    answers: Vec<io::Result<Vec<IpAddr>>>,
) -> impl Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync {
    let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
    move |_: &str| {
        answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(io::Error::other("script ended")))
    }
}

#[test]
fn parses_addresses_and_names() {
    assert_eq!(
        "192.0.2.7".parse(),
        Ok(NatHost::Ip("192.0.2.7".parse().unwrap()))
    );
    assert_eq!("2001:db8::1".parse(), Ok(NatHost::Ip(V6)));
    for name in [
        "localhost",
        "ftp.example.org",
        "my-home.dyndns.org.",
        "a1.b2",
    ] {
        assert_eq!(name.parse(), Ok(NatHost::Name(name.to_owned())), "{name}");
    }
}

#[test]
fn refuses_what_is_neither() {
    let long = format!("{}.org", "a".repeat(64));
    for bad in [
        "",
        "1.2.3",
        "256.1.1.1",
        "-x.org",
        "x-.org",
        "a..b",
        "a b",
        "x_y.org",
        &long,
    ] {
        let err = bad.parse::<NatHost>().unwrap_err();
        assert!(
            err.contains("neither an IP address nor a host name"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn ipv4_is_preferred_for_pasv() {
    assert_eq!(pick(&[V6, A, B]), Some(A));
    assert_eq!(pick(&[V6]), Some(V6));
    assert_eq!(pick(&[]), None);
    let mapped = IpAddr::V6(Ipv4Addr::new(203, 0, 113, 1).to_ipv6_mapped());
    assert_eq!(pick(&[mapped]), Some(A));
}

#[test]
fn a_name_without_an_address_at_start_is_an_error() {
    let failing = NatAddress::with_resolver("gone.example", None, scripted(vec![]));
    assert!(failing.is_err());
    let empty = NatAddress::with_resolver("empty.example", None, scripted(vec![Ok(vec![])]));
    assert!(empty.unwrap_err().to_string().contains("empty.example"));
}

#[test]
fn refresh_keeps_the_last_address_on_failure_and_follows_changes() {
    let script = vec![
        Ok(vec![A]),
        Err(io::Error::other("SERVFAIL")),
        Ok(vec![]),
        Ok(vec![V6, B]),
        Ok(vec![B]),
    ];
    let nat = NatAddress::with_resolver("dyn.example", None, scripted(script)).unwrap();
    let clone = nat.clone();
    assert_eq!(nat.current(), A);
    assert!(nat.refresh().is_err());
    assert_eq!(nat.current(), A);
    assert!(nat.refresh().is_err());
    assert_eq!(nat.current(), A);
    assert_eq!(nat.refresh().unwrap(), B);
    assert_eq!(clone.current(), B, "clones share the address");
    assert_eq!(nat.refresh().unwrap(), B);
    assert_eq!(nat.host(), &NatHost::Name("dyn.example".into()));
    assert_eq!(nat.refresh_period(), None);
}

#[test]
fn a_fixed_address_never_changes() {
    let nat = NatAddress::from(A);
    assert_eq!(nat.refresh().unwrap(), A);
    assert_eq!(nat.current(), A);
    assert_eq!(nat.host(), &NatHost::Ip(A));
    let zero = NatAddress::with_resolver(
        "x.example",
        Some(Duration::ZERO),
        scripted(vec![Ok(vec![A])]),
    );
    assert_eq!(zero.unwrap().refresh_period(), None, "0 means never");
}
