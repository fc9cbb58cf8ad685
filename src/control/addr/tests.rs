use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn port_arguments() {
    assert_eq!(parse_port("127,0,0,1,4,1"), Some(sa("127.0.0.1:1025")));
    assert_eq!(parse_port(" 10, 0,0,2,255,255"), Some(sa("10.0.0.2:65535")));
    assert_eq!(parse_port("127,0,0,1,4"), None);
    assert_eq!(parse_port("127,0,0,1,4,1,1"), None);
    assert_eq!(parse_port("256,0,0,1,4,1"), None);
    assert_eq!(parse_port("a,b,c,d,e,f"), None);
    assert_eq!(parse_port(""), None);
}

#[test]
fn eprt_arguments() {
    assert_eq!(
        parse_eprt("|1|132.235.1.2|6275|", 1),
        Ok(sa("132.235.1.2:6275"))
    );
    assert_eq!(parse_eprt("|2|::1|5282|", 2), Ok(sa("[::1]:5282")));
    assert_eq!(parse_eprt("!1!127.0.0.1!80!", 1), Ok(sa("127.0.0.1:80")));
    assert_eq!(parse_eprt("|1|::1|5282|", 1), Err(EprtError::Protocol));
    assert_eq!(parse_eprt("|3|1.2.3.4|5|", 1), Err(EprtError::Protocol));
    assert_eq!(parse_eprt("|x|1.2.3.4|5|", 1), Err(EprtError::Syntax));
    assert_eq!(parse_eprt("|1|1.2.3.4|99999|", 1), Err(EprtError::Syntax));
    assert_eq!(parse_eprt("|1|1.2.3.4|5", 1), Err(EprtError::Syntax));
    assert_eq!(parse_eprt("|1|1.2.3.4|5|x", 1), Err(EprtError::Syntax));
    assert_eq!(parse_eprt("", 1), Err(EprtError::Syntax));
    assert_eq!(parse_eprt(" 1 1.2.3.4 5 ", 1), Err(EprtError::Syntax));
}

#[test]
fn eprt_protocol_field_is_checked_first() {
    // Another protocol than the control connection's: 522 whatever follows (RFC 2428 §2).
    assert_eq!(parse_eprt("|2|garbage|x|", 1), Err(EprtError::Protocol));
    assert_eq!(parse_eprt("|2|1.2.3.4|99999|", 1), Err(EprtError::Protocol));
    assert_eq!(parse_eprt("|1|::1|5|", 2), Err(EprtError::Protocol));
    assert_eq!(parse_eprt("|1|garbage|5|", 1), Err(EprtError::Syntax));
}

#[test]
fn epsv_arguments_and_pasv_tuple() {
    assert_eq!(parse_epsv(""), Some(EpsvArg::Default));
    assert_eq!(parse_epsv("all"), Some(EpsvArg::All));
    assert_eq!(parse_epsv("2"), Some(EpsvArg::Proto(2)));
    assert_eq!(parse_epsv("x"), None);
    assert_eq!(
        pasv_tuple(Ipv4Addr::new(10, 0, 0, 1), 60001),
        "10,0,0,1,234,97"
    );
}
