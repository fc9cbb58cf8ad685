use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn v1_lines() {
    let h = b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 21\r\nUSER x\r\n";
    let got = parse(h).unwrap().unwrap();
    assert_eq!(got.source, Some(sa("192.0.2.1:56324")));
    assert_eq!(&h[got.len..], b"USER x\r\n");
    let h6 = b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 21\r\n";
    assert_eq!(
        parse(h6).unwrap().unwrap().source,
        Some(sa("[2001:db8::1]:4000"))
    );
    assert_eq!(parse(b"PROXY UNKNOWN\r\n").unwrap().unwrap().source, None);
    // Every prefix is "need more".
    for cut in 0..h.len() - 8 {
        if !h[..cut].windows(2).any(|w| w == b"\r\n") {
            assert_eq!(parse(&h[..cut]), Ok(None), "cut {cut}");
        }
    }
}

#[test]
fn v1_errors() {
    assert!(parse(b"USER anonymous\r\n").is_err());
    assert!(parse(b"PROXY TCP4 ::1 1.2.3.4 1 2\r\n").is_err());
    assert!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 21\r\n").is_err());
    assert!(parse(b"PROXY TCP5 1.2.3.4 5.6.7.8 1 21\r\n").is_err());
    assert!(parse(&[b'P'; 200]).is_err());
    let long = format!("PROXY TCP4 {} 1.1.1.1 1 2\r\n", "1".repeat(120));
    assert!(parse(long.as_bytes()).is_err());
}

fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut h = V2_SIG.to_vec();
    h.push(0x20 | cmd);
    h.push(fam);
    h.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    h.extend_from_slice(body);
    h
}

#[test]
fn v2_headers() {
    let body = [10, 0, 0, 7, 127, 0, 0, 1, 0x1f, 0x90, 0, 21];
    let h = v2(1, 0x11, &body);
    let got = parse(&h).unwrap().unwrap();
    assert_eq!(got.source, Some(sa("10.0.0.7:8080")));
    assert_eq!(got.len, 28);
    for cut in 0..h.len() {
        assert_eq!(parse(&h[..cut]), Ok(None), "cut {cut}");
    }
    let mut b6 = vec![0u8; 36];
    b6[15] = 1;
    b6[32] = 0x10;
    assert_eq!(
        parse(&v2(1, 0x21, &b6)).unwrap().unwrap().source,
        Some(sa("[::1]:4096"))
    );
    assert_eq!(parse(&v2(0, 0x00, &[])).unwrap().unwrap().source, None);
    assert!(parse(&v2(1, 0x11, &[1, 2, 3])).is_err());
    let mut bad = v2(1, 0x11, &body);
    bad[12] = 0x31;
    assert!(parse(&bad).is_err());
    assert!(parse(&v2(5, 0x11, &body)).is_err());
}
