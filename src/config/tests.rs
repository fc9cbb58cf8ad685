//! Port ranges and the live configuration's replacement rule.

use super::*;

#[test]
fn port_ranges() {
    assert_eq!(parse_port_range("2121-2121"), Ok(2121..=2121));
    assert_eq!(parse_port_range("60000-60100"), Ok(60000..=60100));
    assert!(parse_port_range("10-5").is_err());
    assert!(parse_port_range("0-5").is_err());
    assert!(parse_port_range("abc").is_err());
}

#[test]
fn live_config_replaces_only_valid_configs() {
    let auth: Arc<dyn Authorizer> = Arc::new(crate::MemoryAuthorizer::new());
    let live = LiveConfig::new(Arc::new(Config::new(Arc::clone(&auth))));
    let before = live.current();
    let mut bad = Config::new(Arc::clone(&auth));
    bad.max_login_attempts = 0;
    assert!(live.replace(Arc::new(bad)).is_err());
    assert!(Arc::ptr_eq(&before, &live.current()));
    let mut good = Config::new(auth);
    good.banner = "new".into();
    live.replace(Arc::new(good)).unwrap();
    assert_eq!(live.current().banner, "new");
    assert_ne!(
        before.banner, "new",
        "a snapshot taken earlier keeps its values"
    );
}

#[test]
fn latin1_round_trip() {
    let s = Encoding::Latin1.decode(b"caf\xe9");
    assert_eq!(s, "café");
    let mut out = Vec::new();
    Encoding::Latin1.encode_into("café ✓".as_bytes(), &mut out);
    assert_eq!(out, b"caf\xe9 ?");
}
