use super::*;

#[test]
fn the_head_ends_at_the_first_blank_line() {
    assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(24));
    assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
    assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
}

#[test]
fn responses_say_their_length_and_close() {
    let r = String::from_utf8(response(503, "Service Unavailable", "", "draining\n")).unwrap();
    assert!(r.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    assert!(r.contains("Content-Length: 9\r\n"));
    assert!(r.contains("Connection: close\r\n"));
    assert!(r.contains("Content-Type: text/plain; charset=utf-8\r\n"));
    assert!(r.ends_with("\r\n\r\ndraining\n"));
    let head = String::from_utf8(without_body(r.into_bytes())).unwrap();
    assert!(head.ends_with("Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"));
    assert!(
        head.contains("Content-Length: 9\r\n"),
        "HEAD keeps the length"
    );
}

#[test]
fn a_given_content_type_is_not_doubled() {
    let r = response(
        200,
        "OK",
        "Content-Type: text/plain; version=0.0.4\r\n",
        "x",
    );
    let r = String::from_utf8(r).unwrap();
    assert_eq!(r.matches("Content-Type").count(), 1);
}
