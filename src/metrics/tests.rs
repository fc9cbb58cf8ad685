use super::*;

fn classic(m: &Metrics) -> String {
    m.encode(Format::Classic, 0)
}

#[test]
fn classic_format_names_counters_with_total_and_has_no_eof() {
    let m = Metrics::new();
    m.session_opened();
    let open = m.encode(Format::OpenMetrics, 2);
    assert!(open.contains("# TYPE ftpdlib_sessions counter\n"));
    assert!(open.ends_with("# EOF\n"));
    let text = classic(&m);
    assert!(text.contains("# HELP ftpdlib_sessions_total Control connections"));
    assert!(text.contains("# TYPE ftpdlib_sessions_total counter\nftpdlib_sessions_total 1\n"));
    assert!(text.contains("# TYPE ftpdlib_sessions_active gauge\nftpdlib_sessions_active 0\n"));
    assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
}

#[test]
fn commands_are_counted_by_verb_and_reply_class() {
    let m = Metrics::new();
    m.command("RETR", Some(150));
    m.command("RETR", Some(125));
    m.command("PASS", Some(530));
    m.command("PASS", None);
    let text = classic(&m);
    assert!(text.contains(r#"ftpdlib_commands_total{command="RETR",class="1xx"} 2"#));
    assert!(text.contains(r#"ftpdlib_commands_total{command="PASS",class="5xx"} 1"#));
    assert!(text.contains(r#"ftpdlib_commands_total{command="PASS",class="none"} 1"#));
}

#[test]
fn client_words_never_become_label_values() {
    use crate::control::table::metric_label;
    assert_eq!(metric_label("retr a file"), "RETR");
    assert_eq!(
        metric_label("XPWD"),
        "PWD",
        "an alias counts as its command"
    );
    assert_eq!(metric_label("site chmod 644 x"), "SITE");
    assert_eq!(metric_label("XSHA256 big.iso"), "XSHA256");
    for line in [
        "FOO",
        "",
        "RETRIEVE x",
        "RETRIEVEALL x",
        "ÄÖÜ x",
        "\u{7f}\u{7f}",
    ] {
        assert_eq!(metric_label(line), "other", "{line:?}");
    }
}

#[test]
fn bytes_transfers_logins_and_tls_land_in_their_series() {
    let m = Metrics::new();
    m.data_bytes(true).inc_by(10);
    m.data_bytes(false).inc_by(3);
    m.data_bytes(false).inc_by(4);
    m.transfer(true, "aborted");
    m.login_ok();
    m.login_failed("address-not-allowed");
    m.tls_handshake("data", false);
    m.banned();
    m.refused("banned");
    let g = m.passive_listeners();
    g.inc();
    let text = classic(&m);
    for line in [
        r#"ftpdlib_data_bytes_total{direction="in"} 10"#,
        r#"ftpdlib_data_bytes_total{direction="out"} 7"#,
        r#"ftpdlib_transfers_total{direction="upload",result="aborted"} 1"#,
        "ftpdlib_logins_total 1",
        r#"ftpdlib_login_failures_total{reason="address-not-allowed"} 1"#,
        r#"ftpdlib_tls_handshakes_total{channel="data",result="failed"} 1"#,
        "ftpdlib_bans_total 1",
        r#"ftpdlib_connections_refused_total{reason="banned"} 1"#,
        "ftpdlib_passive_listeners 1",
    ] {
        assert!(text.contains(&format!("{line}\n")), "{line} in\n{text}");
    }
}

#[test]
fn loop_meters_are_the_exported_ones() {
    let m = Metrics::new();
    let meters = m.loop_meters();
    meters.turn.observe(0.0001);
    meters.turn.observe(0.3);
    meters.pool_queued.inc();
    meters.pool_lifts.inc();
    let text = classic(&m);
    assert!(text.contains("ftpdlib_pool_lifts_total 1\n"), "{text}");
    assert!(text.contains("ftpdlib_loop_turn_seconds_count 2\n"));
    assert!(text.contains("ftpdlib_loop_turn_seconds_bucket{le=\"0.0001\"} 1\n"));
    assert!(text.contains("ftpdlib_pool_queued_jobs 1\n"));
}

#[test]
fn health_follows_listeners_pauses_limits_and_drain() {
    let s = Status::default();
    assert_eq!(s.health(0, 0), Health::NotListening);
    s.listener_opened();
    assert_eq!(s.health(5, 0), Health::Ready);
    assert_eq!(s.health(5, 5), Health::Full);
    s.accept_paused(true);
    assert_eq!(s.health(0, 5), Health::AcceptFailing);
    s.accept_paused(false);
    assert!(s.health(4, 5).ready());
    s.drain();
    s.listener_closed();
    let h = s.health(1, 5);
    assert_eq!(h, Health::Draining);
    assert!(h.healthy() && !h.ready());
    assert!(!Health::Full.healthy() && !Health::NotListening.healthy());
}
