//! The in-memory filesystem of `examples/memory_fs` (its `memfs.rs`, included as a module),
//! served in-process and exercised by real clients: the raw control-connection client of the
//! harness, and Python's ftplib when `python3` is installed. Nothing may reach the disk.

mod common;
mod exutil;
#[path = "../examples/memory_fs/memfs.rs"]
mod memfs;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use ftpdlib::fs::{Filesystem, VirtualPath};

use common::TestServer;
use exutil::{download, lines, open_data, pattern, upload, wait_transferred};
use memfs::MemFs;

/// A server whose users all see `fs`.
fn serve(fs: &MemFs) -> TestServer {
    let fs = fs.clone();
    TestServer::start(move |cfg| cfg.filesystem = Some(Arc::new(fs)))
}

/// The contents of `path` as stored in `fs` right now.
fn stored(fs: &MemFs, path: &str) -> Vec<u8> {
    let mut f = fs.open_read(&VirtualPath::root().join(path)).unwrap();
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

/// The server's on-disk root holds nothing: every byte went to memory.
fn assert_disk_untouched(server: &TestServer) {
    let entries: Vec<_> = std::fs::read_dir(server.root()).unwrap().collect();
    assert!(entries.is_empty(), "the disk was written: {entries:?}");
}

#[test]
fn raw_client_lists_transfers_resumes_and_renames() {
    let fs = MemFs::new();
    fs.put("hello.txt", b"hello, memory\n").unwrap();
    fs.mkdir(&VirtualPath::root().join("docs")).unwrap();
    let server = serve(&fs);
    let mut c = server.login();
    c.expect("TYPE I", 200);

    assert_eq!(lines(&mut c, "NLST"), ["docs", "hello.txt"]);
    let list = lines(&mut c, "LIST");
    assert!(
        list[0].starts_with("drwxr-xr-x") && list[0].ends_with(" docs"),
        "{list:?}"
    );
    let file = &list[1];
    assert!(
        file.starts_with("-rw-r--r--") && file.contains(" 14 "),
        "{list:?}"
    );
    assert!(file.ends_with(" hello.txt"), "{list:?}");
    assert_eq!(download(&mut c, "RETR hello.txt"), b"hello, memory\n");
    c.expect("REST 7", 350);
    assert_eq!(download(&mut c, "RETR hello.txt"), b"memory\n");

    // STOR, then resume it with REST + STOR, then APPE.
    let data = pattern(200_000);
    assert_eq!(
        upload(&mut c, "STOR docs/big.bin", &data[..50_000]).code,
        226
    );
    c.expect("REST 40000", 350);
    assert_eq!(
        upload(&mut c, "STOR docs/big.bin", &data[40_000..150_000]).code,
        226
    );
    assert_eq!(
        upload(&mut c, "APPE docs/big.bin", &data[150_000..]).code,
        226
    );
    assert!(stored(&fs, "docs/big.bin") == data, "resumed upload");
    c.expect_line("SIZE docs/big.bin", "213 200000");
    assert!(download(&mut c, "RETR docs/big.bin") == data);

    // Rename a file, then a directory with what is inside it.
    c.expect("RNFR docs/big.bin", 350);
    c.expect("RNTO docs/renamed.bin", 250);
    c.expect("RNFR docs", 350);
    c.expect("RNTO archive", 250);
    assert_eq!(lines(&mut c, "NLST"), ["archive", "hello.txt"]);
    assert!(download(&mut c, "RETR archive/renamed.bin") == data);
    c.expect("SIZE docs/renamed.bin", 550);

    // STOU, MFMT/MDTM, SITE CHMOD, MLSD facts.
    let r = upload(&mut c, "STOU", b"unique");
    assert_eq!(r.code, 226, "{r:?}");
    c.expect_line(
        "MFMT 20200102030405 hello.txt",
        "213 Modify=20200102030405; /hello.txt.",
    );
    c.expect_line("MDTM hello.txt", "213 20200102030405");
    c.expect("SITE CHMOD 600 hello.txt", 200);
    let mlsd = lines(&mut c, "MLSD");
    assert_eq!(mlsd.len(), 3, "{mlsd:?}");
    let hello = mlsd.iter().find(|l| l.ends_with(" hello.txt")).unwrap();
    assert!(hello.contains("modify=20200102030405;"), "{hello}");
    assert!(hello.contains("unix.mode=0600;"), "{hello}");
    let uniques: std::collections::HashSet<_> = mlsd
        .iter()
        .map(|l| l.split(';').find(|f| f.starts_with("unique=")).unwrap())
        .collect();
    assert_eq!(uniques.len(), 3, "unique facts differ: {mlsd:?}");

    // DELE, RMD (not while it has files).
    c.expect_line("RMD archive", "550 Directory not empty.");
    c.expect_line("DELE archive", "550 Is a directory.");
    c.expect("DELE archive/renamed.bin", 250);
    c.expect("RMD archive", 250);
    c.expect_line("DELE archive/renamed.bin", "550 No such file or directory.");
    assert_disk_untouched(&server);
}

#[test]
fn stor_over_an_existing_file_replaces_it_only_on_commit() {
    let fs = MemFs::new();
    fs.put("doc.txt", b"old version").unwrap();
    let server = serve(&fs);
    let mut c = server.login();
    let mut reader = server.login();
    c.expect("TYPE I", 200);
    reader.expect("TYPE I", 200);

    // Half an upload, consumed by the server: the old file is still what everyone sees.
    let new = pattern(3000);
    let mut sock = open_data(&mut c, "STOR doc.txt").unwrap();
    sock.write_all(&new[..1000]).unwrap();
    wait_transferred(&mut c, 1000);
    assert_eq!(stored(&fs, "doc.txt"), b"old version");
    assert_eq!(download(&mut reader, "RETR doc.txt"), b"old version");
    reader.expect_line("SIZE doc.txt", "213 11");
    sock.write_all(&new[1000..]).unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(c.read_reply().code, 226);
    drop(sock);
    assert!(stored(&fs, "doc.txt") == new, "committed");

    // An aborted upload leaves the committed version alone.
    let mut sock = open_data(&mut c, "STOR doc.txt").unwrap();
    sock.write_all(b"garbage").unwrap();
    wait_transferred(&mut c, 7);
    let r = c.cmd("ABOR");
    assert_eq!(r.code, 426, "{r:?}");
    assert_eq!(c.read_reply().code, 226);
    drop(sock);
    assert!(stored(&fs, "doc.txt") == new, "abort dropped the bytes");
    assert!(download(&mut reader, "RETR doc.txt") == new);
    assert_disk_untouched(&server);
}

/// What the Python client does; prints `OK` at the end.
const FTPLIB_SCRIPT: &str = r#"
import ftplib, io, sys
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=10)
ftp.login("user", "pass")
data = bytes(range(256)) * 400
ftp.storbinary("STOR py.bin", io.BytesIO(data))
assert ftp.size("py.bin") == len(data), ftp.size("py.bin")
got = io.BytesIO(); ftp.retrbinary("RETR py.bin", got.write)
assert got.getvalue() == data
got = io.BytesIO(); ftp.retrbinary("RETR py.bin", got.write, rest=1000)
assert got.getvalue() == data[1000:]
ftp.mkd("sub")
ftp.rename("py.bin", "sub/moved.bin")
assert sorted(ftp.nlst()) == ["seed.txt", "sub"], ftp.nlst()
facts = dict(ftp.mlsd("sub"))
assert facts["moved.bin"]["type"] == "file" and facts["moved.bin"]["size"] == str(len(data)), facts
lines = []; ftp.retrlines("LIST", lines.append)
assert any(l.endswith(" seed.txt") for l in lines), lines
got = []; ftp.retrlines("RETR seed.txt", got.append)
assert got == ["seeded"], got
ftp.delete("sub/moved.bin")
ftp.rmd("sub")
ftp.quit()
print("OK")
"#;

#[test]
fn python_ftplib_works_against_the_memory_filesystem() {
    if !common::require_tool("python3") {
        return;
    }
    let version = Command::new("python3").arg("--version").output().unwrap();
    assert!(version.status.success());
    let fs = MemFs::new();
    fs.put("seed.txt", b"seeded\n").unwrap();
    let server = serve(&fs);
    let mut child = Command::new("python3")
        .args(["-c", FTPLIB_SCRIPT, &server.addr().port().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    // The pipes close when python exits: the event waited for.
    std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        let _ = tx.send((o, e));
    });
    let Ok((stdout, stderr)) = rx.recv_timeout(Duration::from_secs(20)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("ftplib script did not finish");
    };
    let status = child.wait().unwrap();
    assert!(
        status.success() && stdout.trim() == "OK",
        "{stdout}\n{stderr}"
    );
    assert!(stored(&fs, "seed.txt") == b"seeded\n");
    assert_eq!(lines(&mut server.login(), "NLST"), ["seed.txt"]);
    assert_disk_untouched(&server);
}
