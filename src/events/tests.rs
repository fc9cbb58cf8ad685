use super::*;
use chrono::TimeZone;

fn transfer<'a>(path: &'a str, completed: bool) -> TransferEvent<'a> {
    TransferEvent {
        conn: 7,
        peer: "127.0.0.1:40000".parse().unwrap(),
        user: "bob",
        anonymous: false,
        command: "RETR",
        path,
        bytes: 1234,
        seconds: 0.2,
        completed,
        ascii: false,
    }
}

#[test]
fn xferlog_has_the_fourteen_fields() {
    let now = chrono::Local
        .with_ymd_and_hms(2026, 11, 2, 7, 5, 9)
        .unwrap();
    let line = xferlog_line(&transfer("/dir/my file.bin", true), now);
    assert!(
        line.starts_with(
            "Mon Nov  2 07:05:09 2026 1 127.0.0.1 1234 /dir/my_file.bin b _ o r bob ftp 0 * c"
        ),
        "{line}"
    );
    // 5 date words + 13 other fields.
    assert_eq!(line.split_whitespace().count(), 18);
    let incomplete = xferlog_line(&transfer("/x", false), now);
    assert!(incomplete.ends_with(" i"));
}

#[test]
fn json_escapes_and_names_the_event() {
    let ev = Event::Command {
        conn: 3,
        peer: "[::1]:21".parse().unwrap(),
        user: "a\"b",
        command: "MKD x\ny",
        code: Some(257),
    };
    let j = to_json(&ev);
    assert!(j.contains("\"event\":\"command\""));
    assert!(j.contains("\"conn\":3"));
    assert!(j.contains("\"user\":\"a\\\"b\""));
    assert!(j.contains("\"command\":\"MKD x\\ny\""));
    assert!(j.contains("\"code\":257"));
    assert!(!j.contains('\n'));
    let t = to_json(&Event::Transfer(transfer("/f", false)));
    assert!(t.contains("\"result\":\"incomplete\"") && t.contains("\"bytes\":1234"));
}
