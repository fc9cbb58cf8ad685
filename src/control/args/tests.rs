//! Each syntax of the table: the typed value, or the reply a client gets.

use super::*;

fn code<T: std::fmt::Debug>(r: Result<T, Reply>) -> Result<T, (u16, String)> {
    r.map_err(|r| {
        let text = r.to_string();
        (r.code().as_u16(), text.trim_end()[4..].to_owned())
    })
}

fn v4() -> Option<IpAddr> {
    Some(IpAddr::from([127, 0, 0, 1]))
}

#[test]
fn types_modes_and_structures() {
    let ty = |a| code(transfer_type(a));
    assert_eq!(ty("i"), Ok(TransferType::Binary));
    assert_eq!(ty("L 8"), Ok(TransferType::Binary));
    assert_eq!(ty("A N"), Ok(TransferType::Ascii));
    assert_eq!(ty("E"), Err((504, "Unsupported type \"E\".".into())));
    assert!(matches!(parse(Syntax::Mode, "s", v4()), Ok(Args::Stream)));
    assert!(matches!(parse(Syntax::Stru, "F", v4()), Ok(Args::Stream)));
    let mode = |a| code(parse(Syntax::Mode, a, v4()).map(|_| ()));
    assert_eq!(mode("B"), Err((504, "Unimplemented MODE type.".into())));
    assert_eq!(mode("X"), Err((501, "Unrecognized MODE type.".into())));
    let stru = |a| code(parse(Syntax::Stru, a, v4()).map(|_| ()));
    assert_eq!(stru("R"), Err((504, "Unimplemented STRU type.".into())));
    assert_eq!(stru("Q"), Err((501, "Unrecognized STRU type.".into())));
}

#[test]
fn offsets_and_ranges() {
    let Ok(Args::Offset(Ok(100))) = parse(Syntax::Offset, " 100", v4()) else {
        panic!("REST 100");
    };
    let Ok(Args::Offset(bad)) = parse(Syntax::Offset, "-1", v4()) else {
        panic!("REST -1 is reported by the command");
    };
    assert_eq!(code(bad), Err((501, "Invalid parameter.".into())));
    assert_eq!(code(range("10 20")), Ok(Some((10, 20))));
    assert_eq!(code(range("1 0")), Ok(None));
    assert_eq!(
        code(range("20 10")),
        Err((501, "Invalid byte range.".into()))
    );
    assert_eq!(
        code(range("1 2 3")),
        Err((501, "Invalid byte range.".into()))
    );
}

#[test]
fn addresses() {
    let Ok(Args::Address(Ok(a))) = parse(Syntax::Port, "127,0,0,1,4,1", v4()) else {
        panic!("PORT");
    };
    assert_eq!(a, "127.0.0.1:1025".parse().unwrap());
    let Ok(Args::Address(bad)) = parse(Syntax::Port, "1,2,3", v4()) else {
        panic!("a bad PORT is reported by the command");
    };
    assert_eq!(code(bad), Err((501, "Invalid PORT format.".into())));
    assert_eq!(
        code(eprt("|2|::1|1025|", 1)),
        Err((522, "Network protocol not supported (use 1).".into()))
    );
    assert_eq!(
        code(eprt("|1|x|1|", 1)),
        Err((501, "Invalid EPRT format.".into()))
    );
    assert_eq!(
        code(eprt("|1|127.0.0.1|", 1)),
        Err((501, "Invalid EPRT format.".into()))
    );
    assert_eq!(
        code(eprt("|1|127.0.0.1|1234|", 1)),
        Ok("127.0.0.1:1234".parse().unwrap())
    );
    assert_eq!(
        code(epsv("2", 1)),
        Err((522, "Network protocol not supported (use 1).".into()))
    );
    assert_eq!(code(epsv("ALL", 1)), Ok(true));
    assert_eq!(code(epsv("", 2)), Ok(false));
    assert_eq!(
        code(epsv("x", 2)),
        Err((501, "Unknown network protocol (use 2).".into()))
    );
    let v6 = Some(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]));
    let Ok(Args::Epsv(Err(r))) = parse(Syntax::Epsv, "1", v6) else {
        panic!("EPSV 1 on IPv6");
    };
    assert_eq!(r.code().as_u16(), 522);
}

#[test]
fn times_modes_and_digest_ranges() {
    let Ok(Args::Mtime(_, "a file")) = parse(Syntax::Mtime, "20200101000000 a file", v4()) else {
        panic!("MFMT");
    };
    let mfmt = |a| code(parse(Syntax::Mtime, a, v4()).map(|_| ()));
    assert_eq!(
        mfmt("2020 x"),
        Err((501, "Invalid time format; expected: YYYYMMDDHHMMSS.".into()))
    );
    assert_eq!(
        mfmt("20200101000000"),
        Err((501, "Syntax error: command needs two arguments.".into()))
    );
    let Ok(Args::Chmod(0o755, "f g")) = parse(Syntax::Chmod, "755 f g", v4()) else {
        panic!("SITE CHMOD");
    };
    for bad in ["u+x", "888", "07777"] {
        assert_eq!(octal_mode(bad), None, "{bad}");
    }
    assert_eq!(octal_mode("4755"), Some(0o4755));
    assert_eq!(code(digest("f")), Ok(("f", None)));
    assert_eq!(code(digest("my f 10 20")), Ok(("my f", Some((10, 19)))));
    assert_eq!(code(digest("f 10")), Ok(("f", Some((10, u64::MAX)))));
    assert_eq!(
        code(digest("f 20 10")),
        Err((501, "Invalid byte range.".into()))
    );
}
