//! The argument rules of EPSV, PORT and EPRT, without a socket.

use super::*;

fn v4() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

fn v6() -> IpAddr {
    IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])
}

fn code(r: Reply) -> (u16, String) {
    let text = r.to_string();
    (r.code().as_u16(), text.trim_end()[4..].to_owned())
}

#[test]
fn epsv_arguments() {
    assert_eq!(epsv_arg("", v4()).map_err(code), Ok(false));
    assert_eq!(epsv_arg("1", v4()).map_err(code), Ok(false));
    assert_eq!(epsv_arg("2", v6()).map_err(code), Ok(false));
    assert_eq!(epsv_arg("all", v4()).map_err(code), Ok(true));
    assert_eq!(
        epsv_arg("2", v4()).map_err(code),
        Err((522, "Network protocol not supported (use 1).".into()))
    );
    assert_eq!(
        epsv_arg("x", v6()).map_err(code),
        Err((501, "Unknown network protocol (use 2).".into()))
    );
}

#[test]
fn port_and_eprt_targets() {
    let want: SocketAddr = "127.0.0.1:1234".parse().unwrap();
    assert_eq!(
        port_target(false, "127,0,0,1,4,210", v4()).map_err(code),
        Ok(want)
    );
    assert_eq!(
        port_target(true, "|1|127.0.0.1|1234|", v4()).map_err(code),
        Ok(want)
    );
    assert_eq!(
        port_target(false, "127,0,0,1,4", v4()).map_err(code),
        Err((501, "Invalid PORT format.".into()))
    );
    assert_eq!(
        port_target(true, "|1|127.0.0.1|", v4()).map_err(code),
        Err((501, "Invalid EPRT format.".into()))
    );
    assert_eq!(
        port_target(true, "|2|::1|1234|", v4()).map_err(code),
        Err((522, "Network protocol not supported (use 1).".into()))
    );
}
