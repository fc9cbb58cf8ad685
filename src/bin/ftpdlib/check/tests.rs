use super::is_private;

#[test]
fn private_addresses() {
    for ip in [
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.9",
        "127.0.0.1",
        "::1",
        "fd00::1",
    ] {
        assert!(is_private(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["203.0.113.7", "8.8.8.8", "2001:db8::1"] {
        assert!(!is_private(ip.parse().unwrap()), "{ip}");
    }
}
