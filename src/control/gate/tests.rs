use super::*;
use crate::control::table::lookup;

#[test]
fn login_is_checked_first() {
    let pwd = lookup("PWD").map(|s| check_command(s, false));
    assert_eq!(
        pwd.and_then(|r| r.err()).map(|r| r.code().as_u16()),
        Some(530)
    );
    let feat = lookup("FEAT").map(|s| check_command(s, false));
    assert_eq!(feat.map(|r| r.is_ok()), Some(true));
    let syst = lookup("SYST").map(|s| check_command(s, false));
    assert_eq!(syst.map(|r| r.is_ok()), Some(true));
}

fn code(r: Result<(), Reply>) -> u16 {
    r.err().map_or(0, |r| r.code().as_u16())
}

/// Every row of the table through the gate: its login rule, and its TLS rule with both
/// `--tls-control-required` and `--tls-data-required`, before and after protection.
#[test]
fn every_row_gets_its_login_and_tls_answers() {
    use crate::control::table::{Verb, COMMANDS};
    let data = |f: &str| format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"));
    let mut tls = TlsSettings::load(data("cert.pem"), data("key.pem")).unwrap();
    tls.control_required = true;
    tls.data_required = true;
    for spec in COMMANDS.iter() {
        let login = if spec.auth { 530 } else { 0 };
        assert_eq!(code(check_command(spec, false)), login, "{}", spec.name);
        assert_eq!(code(check_command(spec, true)), 0, "{}", spec.name);
        let (plain, protected) = match spec.tls {
            TlsReq::Control => (550, 0),
            TlsReq::Data => (522, 0),
            _ => (0, 0),
        };
        let unprotected = code(check_tls(spec, Some(&tls), false, false));
        assert_eq!(unprotected, plain, "{}", spec.name);
        assert_eq!(code(check_tls(spec, Some(&tls), true, true)), protected);
        assert_eq!(
            code(check_tls(spec, None, false, false)),
            0,
            "no TLS, no rule"
        );
    }
    // The rows the rules are about.
    let rule = |v: Verb| COMMANDS.iter().find(|s| s.verb == v).map(|s| s.tls);
    assert_eq!(rule(Verb::User), Some(TlsReq::Control));
    assert_eq!(rule(Verb::Retr), Some(TlsReq::Data));
    assert_eq!(rule(Verb::Noop), Some(TlsReq::None));
}
