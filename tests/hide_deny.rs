//! `--hide` and `--deny` (and a user's `hide=`/`deny=`): hidden names look missing to every
//! command and are left out of listings; denied names are refused by every operation.

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
