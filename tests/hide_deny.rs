//! `--hide` and `--deny` (and a user's `hide=`/`deny=`): hidden names look missing to every
//! command and are left out of listings; denied names are refused by every operation. And
//! `--nat-map`, the other per-network setting.

mod common;
mod xfer;

use common::TestServer;

fn server() -> TestServer {
    TestServer::start_with_root(|cfg, root| {
        std::fs::write(root.join("public.txt"), b"public").unwrap();
        std::fs::write(root.join(".secret"), b"secret").unwrap();
        std::fs::write(root.join("tool.exe"), b"MZ").unwrap();
        std::fs::create_dir(root.join(".private")).unwrap();
        std::fs::write(root.join(".private/inner.txt"), b"inner").unwrap();
        cfg.hide = vec![".*".to_owned()];
        cfg.deny = vec!["*.exe".to_owned()];
    })
}

#[test]
fn hidden_names_look_missing_everywhere() {
    let srv = server();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let names = xfer::listing(&mut c, "NLST");
    assert!(names.contains(&"public.txt".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with('.')), "{names:?}");
    let list = xfer::listing(&mut c, "LIST -a").join("\n");
    assert!(
        !list.contains("secret") && !list.contains("private"),
        "{list}"
    );
    let mlsd = xfer::listing(&mut c, "MLSD").join("\n");
    assert!(!mlsd.contains(".secret"), "{mlsd}");
    for cmd in [
        "SIZE .secret",
        "MDTM .secret",
        "RETR .secret",
        "CWD .private",
        "MLST .secret",
    ] {
        let r = c.cmd(cmd);
        assert_eq!(r.code, 550, "{cmd}: {r:?}");
    }
    let stat = c.expect("STAT .private/inner.txt", 550);
    assert!(!stat.text.contains("inner"), "{stat:?}");
    c.expect("DELE .secret", 550);
    assert!(srv.root().join(".secret").exists());
    // Nor can a file be put, or renamed, under a hidden name.
    c.expect("PASV", 227);
    c.expect("STOR .new", 550);
    c.expect("RNFR public.txt", 350);
    c.expect("RNTO .public", 550);
    assert!(srv.root().join("public.txt").exists());
}

#[test]
fn denied_names_are_refused_by_every_operation() {
    let srv = server();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    // Listed (deny does not hide), but untouchable.
    assert!(xfer::listing(&mut c, "NLST").contains(&"tool.exe".to_owned()));
    for cmd in [
        "RETR tool.exe",
        "SIZE tool.exe",
        "DELE tool.exe",
        "RNFR tool.exe",
        "HASH tool.exe",
    ] {
        let r = c.cmd(cmd);
        assert_eq!(r.code, 550, "{cmd}: {r:?}");
        assert!(r.text.contains("not allowed"), "{cmd}: {r:?}");
    }
    c.expect("PASV", 227);
    c.expect("STOR other.exe", 550);
    c.expect("RNFR public.txt", 350);
    c.expect("RNTO public.exe", 550);
    assert_eq!(std::fs::read(srv.root().join("tool.exe")).unwrap(), b"MZ");
    assert!(!srv.root().join("other.exe").exists());
    assert_eq!(xfer::download(&mut c, "RETR public.txt"), b"public");
}

/// `--nat-map`: a client in a mapped network is told that network's address in PASV replies;
/// others get `-n` (tested here, next to the other per-network policies).
#[test]
fn nat_map_gives_each_network_its_pasv_address() {
    let mapped = TestServer::start(|cfg| {
        cfg.masquerade_address = Some("203.0.113.5".parse().unwrap());
        cfg.nat_map = vec![
            ("10.0.0.0/8".parse().unwrap(), "10.1.1.1".parse().unwrap()),
            ("127.0.0.0/8".parse().unwrap(), "192.0.2.7".parse().unwrap()),
        ];
    });
    let mut c = mapped.login();
    let r = c.expect("PASV", 227);
    assert!(r.text.contains("(192,0,2,7,"), "{r:?}");
    c.expect("EPSV", 229);

    let unmapped = TestServer::start(|cfg| {
        cfg.masquerade_address = Some("203.0.113.5".parse().unwrap());
        cfg.nat_map = vec![("10.0.0.0/8".parse().unwrap(), "10.1.1.1".parse().unwrap())];
    });
    let mut c = unmapped.login();
    let r = c.expect("PASV", 227);
    assert!(r.text.contains("(203,0,113,5,"), "{r:?}");
}
