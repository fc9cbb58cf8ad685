use super::*;
use std::net::Ipv4Addr;

#[test]
fn passive_range_is_respected_and_exhaustion_reported() {
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // Find two free adjacent ports by asking the kernel, then use them as the range.
    let (probe, base) = bind_passive(lo, None).unwrap();
    assert_eq!(probe.local_addr().unwrap().port(), base);
    drop(probe);
    let range = base..=base;
    let (first, port) = match bind_passive(lo, Some(&range)) {
        Ok(l) => l,
        Err(_) => return, // someone else took it meanwhile; nothing to assert
    };
    assert_eq!(port, base);
    assert_eq!(first.local_addr().unwrap().port(), base);
    let second = bind_passive(lo, Some(&range));
    assert_eq!(
        second.err().map(|e| e.kind()),
        Some(io::ErrorKind::AddrInUse)
    );
}
