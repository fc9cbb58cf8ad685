use super::*;
use crate::auth::tests::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// An executable `/bin/sh` script with `body`.
fn script(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("auth.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn authorizer(program: &Path, options: ExternalOptions) -> ExternalAuthorizer {
    ExternalAuthorizer::new(program, options, None).unwrap()
}

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

#[test]
fn the_request_goes_in_and_an_accepting_answer_makes_the_user() {
    let dir = TempDir::new(&[]);
    let body = format!(
        "cat > {d}/request.json\n\
         echo '{{\"ok\": true, \"home\": \"{d}\", \"perms\": \"elrw\", \"max_sessions\": 2, \
         \"write_limit\": \"1k\", \"read_limit\": 300, \"msg_login\": \"Hi\"}}'",
        d = dir.display()
    );
    let auth = authorizer(&script(&dir, &body), ExternalOptions::default());
    let user = auth.authenticate("alice", "pa\"ss", IP).unwrap();
    assert_eq!(user.name, "alice");
    assert_eq!(user.home, dir.0);
    assert_eq!(user.perms.to_string(), "elrw");
    assert_eq!(user.msg_login, "Hi");
    assert_eq!(user.msg_quit, "Goodbye.");
    assert_eq!(user.limits.max_sessions, Some(2));
    assert_eq!(
        (user.limits.read_limit, user.limits.write_limit),
        (300, 1024)
    );
    let request: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("request.json")).unwrap()).unwrap();
    assert_eq!(
        request,
        serde_json::json!({"user": "alice", "password": "pa\"ss", "client": "192.0.2.7"})
    );
    assert_eq!(auth.perms_for(&user, &VirtualPath::root()), user.perms);
}

#[test]
fn every_failure_fails_closed() {
    let dir = TempDir::new(&[]);
    let home = dir.display();
    let answers = [
        "echo '{\"ok\": false, \"message\": \"no such user\"}'".to_owned(),
        "echo 'not json'".to_owned(),
        format!("echo '{{\"ok\": true, \"home\": \"{home}\", \"perms\": \"elr\"}}'; exit 3"),
        format!("echo '{{\"ok\": true, \"home\": \"{home}\"}}'"),
        format!("echo '{{\"ok\": true, \"home\": \"{home}\", \"perms\": \"xyz\"}}'"),
        format!("echo '{{\"ok\": true, \"home\": \"{home}\", \"perms\": \"elr\", \"admin\": 1}}'"),
        "echo '{\"ok\": true, \"home\": \"/nonexistent\", \"perms\": \"elr\"}'".to_owned(),
        "kill -9 $$".to_owned(),
    ];
    for body in answers {
        let auth = authorizer(&script(&dir, &body), ExternalOptions::default());
        let got = auth.authenticate("alice", "pw", IP);
        assert!(
            matches!(got, Err(AuthError::BadCredentials)),
            "{body}: {got:?}"
        );
    }
}

#[test]
fn a_command_past_its_timeout_is_killed_with_its_children() {
    let dir = TempDir::new(&[]);
    let pidfile = dir.join("child.pid");
    let body = format!("sleep 30 &\necho $! > {}\nsleep 30", pidfile.display());
    // 1 s: long enough for the shell to write the pid file even while other tests (the pool's
    // starvation test spins every core) keep the machine busy.
    let options = ExternalOptions {
        timeout: Duration::from_secs(1),
        ..ExternalOptions::default()
    };
    let auth = authorizer(&script(&dir, &body), options);
    let started = Instant::now();
    assert!(auth.authenticate("alice", "pw", IP).is_err());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The background child was in the command's process group, so it was killed too: its
    // pidfd becomes readable when it exits (a SIGKILL is delivered asynchronously).
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return; // already gone
    };
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let limit = rustix::event::Timespec {
        tv_sec: 5,
        tv_nsec: 0,
    };
    let ready = rustix::event::poll(&mut fds, Some(&limit)).unwrap();
    assert_eq!(ready, 1, "the command's child survived the kill");
}

#[test]
fn the_cache_reuses_successes_for_the_same_password_only() {
    let dir = TempDir::new(&[]);
    let body = format!(
        "echo run >> {d}/runs\n\
         echo '{{\"ok\": true, \"home\": \"{d}\", \"perms\": \"elr\"}}'",
        d = dir.display()
    );
    let options = ExternalOptions {
        cache: Duration::from_secs(60),
        ..ExternalOptions::default()
    };
    let auth = authorizer(&script(&dir, &body), options);
    let runs = || {
        std::fs::read_to_string(dir.join("runs"))
            .unwrap()
            .lines()
            .count()
    };
    auth.authenticate("alice", "pw", IP).unwrap();
    auth.authenticate("alice", "pw", IP).unwrap();
    assert_eq!(runs(), 1);
    auth.authenticate("alice", "other", IP).unwrap();
    assert_eq!(runs(), 2, "another password asks the command again");
    let other_ip = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    auth.authenticate("alice", "pw", other_ip).unwrap();
    assert_eq!(runs(), 3, "another client asks the command again");
}

#[test]
fn fallback_accounts_never_reach_the_command() {
    let dir = TempDir::new(&[]);
    let mut fallback = MemoryAuthorizer::new();
    fallback.add_anonymous(&dir.0, "elr").unwrap();
    let program = script(&dir, &format!("touch {}/ran; exit 1", dir.display()));
    let auth =
        ExternalAuthorizer::new(program, ExternalOptions::default(), Some(fallback)).unwrap();
    let user = auth.authenticate("anonymous", "x@y", IP).unwrap();
    assert!(user.anonymous);
    assert!(!dir.join("ran").exists());
    assert!(
        ExternalAuthorizer::new(dir.join("missing"), ExternalOptions::default(), None).is_err()
    );
}

#[test]
fn no_more_than_the_cap_run_at_once() {
    let dir = TempDir::new(&[]);
    // Each run marks itself running, notes how many runs it sees, works a little, unmarks.
    let body = format!(
        "d={d}\nmkdir $d/running-$$\nls -d $d/running-* | wc -l >> $d/seen\nsleep 0.1\n\
         rmdir $d/running-$$\n\
         echo '{{\"ok\": true, \"home\": \"'$d'\", \"perms\": \"elr\"}}'",
        d = dir.display()
    );
    let options = ExternalOptions {
        concurrency: 2,
        ..ExternalOptions::default()
    };
    let auth = std::sync::Arc::new(authorizer(&script(&dir, &body), options));
    let logins: Vec<_> = (0..6)
        .map(|i| {
            let auth = std::sync::Arc::clone(&auth);
            std::thread::spawn(move || auth.authenticate(&format!("u{i}"), "pw", IP).is_ok())
        })
        .collect();
    for login in logins {
        assert!(login.join().unwrap(), "a login failed");
    }
    let seen = std::fs::read_to_string(dir.join("seen")).unwrap();
    let counts: Vec<usize> = seen.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(counts.len(), 6);
    assert!(counts.iter().all(|&n| (1..=2).contains(&n)), "{counts:?}");
}

#[test]
fn the_request_carries_the_client_certificate_and_the_cache_keys_on_it() {
    let dir = TempDir::new(&[]);
    let body = format!(
        "cat >> {d}/requests.json\n\
         echo '{{\"ok\": true, \"home\": \"{d}\", \"perms\": \"elr\"}}'",
        d = dir.display()
    );
    let options = ExternalOptions {
        cache: Duration::from_secs(60),
        ..ExternalOptions::default()
    };
    let auth = authorizer(&script(&dir, &body), options);
    let cert = crate::auth::ClientCert {
        cn: Some("alice".into()),
        sha256: [0xab; 32],
    };
    auth.authenticate_with_cert("alice", "pw", IP, Some(&cert))
        .unwrap();
    // Cached for the same certificate; another certificate (or none) asks again.
    auth.authenticate_with_cert("alice", "pw", IP, Some(&cert))
        .unwrap();
    auth.authenticate("alice", "pw", IP).unwrap();
    let text = std::fs::read_to_string(dir.join("requests.json")).unwrap();
    let requests: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fingerprint = "ab".repeat(32);
    assert_eq!(
        requests,
        [
            serde_json::json!({"user": "alice", "password": "pw", "client": "192.0.2.7",
                "cn": "alice", "fingerprint": fingerprint}),
            serde_json::json!({"user": "alice", "password": "pw", "client": "192.0.2.7"}),
        ]
    );
}

#[test]
fn quotas_come_as_numbers_or_sizes() {
    let dir = TempDir::new(&[]);
    let answer = |extra: &str| {
        let text = format!(
            "{{\"ok\": true, \"home\": \"{}\", \"perms\": \"elrw\"{extra}}}",
            dir.display()
        );
        protocol::parse_answer(text.as_bytes(), "alice")
    };
    let limits = |extra: &str| match answer(extra) {
        Ok(protocol::Verdict::Accept(user)) => (user.limits.quota_bytes, user.limits.quota_files),
        other => panic!("{extra}: {other:?}"),
    };
    assert_eq!(limits(""), (None, None));
    assert_eq!(limits(", \"quota_bytes\": 1000"), (Some(1000), None));
    assert_eq!(
        limits(", \"quota_bytes\": \"10G\", \"quota_files\": 5"),
        (Some(10 << 30), Some(5))
    );
    let err = answer(", \"quota_bytes\": \"10X\"").unwrap_err();
    assert!(err.contains("quota_bytes"), "{err}");
    assert!(answer(", \"quota_files\": -1").is_err());
}
