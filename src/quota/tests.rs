use super::charge::AbortEffect;
use super::*;
use crate::auth::tests::TempDir;
use crate::auth::{Perms, UserLimits};
use crate::data::FileSink;
use crate::fs::{Filesystem, OsFs, UploadPolicy, VirtualPath, WriteMode};
use std::fs;

fn user(name: &str, home: &Path, bytes: Option<u64>, files: Option<u64>) -> User {
    User {
        name: name.into(),
        home: home.into(),
        perms: Perms::ALL,
        anonymous: false,
        msg_login: String::new(),
        msg_quit: String::new(),
        limits: UserLimits {
            quota_bytes: bytes,
            quota_files: files,
            ..UserLimits::default()
        },
    }
}

fn vp(p: &str) -> VirtualPath {
    VirtualPath::root().resolve(p)
}

fn used(q: &Quota) -> (u64, u64) {
    let (u, _) = q.snapshot();
    (u.bytes, u.files)
}

#[test]
fn the_walk_counts_regular_files_only_and_entries_are_shared_while_held() {
    let d = TempDir::new(&[]);
    fs::write(d.join("a"), b"12345").unwrap();
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    fs::write(d.join("sub/deeper/b"), b"123").unwrap();
    std::os::unix::fs::symlink(d.join("a"), d.join("link")).unwrap();
    std::os::unix::fs::symlink(&d, d.join("sub/loop")).unwrap();
    let quotas = Quotas::default();
    assert!(quotas.attach(&user("u", &d, None, None)).is_none());
    let q = quotas.attach(&user("u", &d, Some(100), None)).unwrap();
    assert_eq!(used(&q), (8, 2));
    q.release(8, 2);
    // A second session shares the entry (and takes the latest limits).
    let q2 = quotas.attach(&user("u", &d, Some(50), Some(9))).unwrap();
    assert!(Arc::ptr_eq(&q, &q2));
    assert_eq!(
        q.snapshot().1,
        Limits {
            bytes: Some(50),
            files: Some(9)
        }
    );
    assert_eq!(used(&q2), (0, 0));
    drop((q, q2));
    // Once no session holds it, the next login measures again.
    let q3 = quotas.attach(&user("u", &d, Some(50), None)).unwrap();
    assert_eq!(used(&q3), (8, 2));
    // Same name, another home: another entry.
    let other = TempDir::new(&[]);
    let q4 = quotas.attach(&user("u", &other, Some(50), None)).unwrap();
    assert!(!Arc::ptr_eq(&q3, &q4));
}

#[test]
fn growth_stops_at_the_byte_limit_and_files_at_theirs() {
    let q = Quota::with_usage(
        Limits {
            bytes: Some(10),
            files: Some(2),
        },
        Usage { bytes: 4, files: 1 },
    );
    assert_eq!(q.grow(3), 3);
    assert_eq!(q.grow(5), 3);
    assert_eq!(q.grow(1), 0);
    assert_eq!(q.bytes_left(), Some(0));
    assert!(q.file_room());
    assert!(q.take_file());
    assert!(!q.file_room());
    assert!(!q.take_file());
    q.release(100, 100);
    assert_eq!(used(&q), (0, 0));
    let free = Quota::with_usage(Limits::default(), Usage::default());
    assert_eq!(free.grow(u64::MAX), u64::MAX);
    assert_eq!(free.bytes_left(), None);
}

#[test]
fn abort_effects_follow_the_upload_policy() {
    use AbortEffect::*;
    use WriteMode::*;
    // (atomic, delete_incomplete, mode, existed) → effect
    let cases = [
        (false, false, Truncate, true, Kept),
        (false, true, Truncate, true, Removed),
        (false, true, Truncate, false, Removed),
        (false, true, At(5), true, Kept),
        (false, true, Append, true, Kept),
        (false, true, Append, false, Removed),
        (true, false, Truncate, true, Reverted),
        (true, true, Append, true, Reverted),
        (true, false, CreateNew, false, Removed),
    ];
    for (atomic, del, mode, existed, want) in cases {
        assert_eq!(
            AbortEffect::of(atomic, del, mode, existed),
            want,
            "{atomic} {del} {mode:?} {existed}"
        );
    }
}

/// An upload of `data` to `name` in `mode` through a [`FileSink`] with a charge.
fn upload(
    fs: &OsFs,
    q: &Arc<Quota>,
    name: &str,
    mode: WriteMode,
    policy: (bool, bool),
    data: &[u8],
) -> Result<FileSink, Reply> {
    let charge = Charge::begin(Arc::clone(q), fs, &vp(name), mode, policy)?;
    let file = fs.open_write(&vp(name), mode).unwrap();
    let mut sink = FileSink::new(file, false).with_quota(Some(charge));
    match mode {
        WriteMode::Truncate => sink.truncate(0).unwrap(),
        WriteMode::At(n) => sink.truncate(n).unwrap(),
        _ => {}
    }
    let _ = sink.write(data);
    Ok(sink)
}

use crate::reply::Reply;

fn osfs(d: &Path, atomic: bool, delete_incomplete: bool) -> OsFs {
    OsFs::new(d).unwrap().with_uploads(UploadPolicy {
        atomic,
        delete_incomplete,
        umask: 0o022,
    })
}

#[test]
fn uploads_count_growth_only() {
    let d = TempDir::new(&[]);
    fs::write(d.join("old"), vec![b'x'; 10]).unwrap();
    let fs = osfs(&d, false, false);
    let q = Arc::new(Quota::with_usage(
        Limits {
            bytes: Some(100),
            files: Some(5),
        },
        Usage {
            bytes: 10,
            files: 1,
        },
    ));
    // STOR over the old file: its 10 bytes leave, the 4 new ones count.
    upload(&fs, &q, "old", WriteMode::Truncate, (false, false), b"abcd")
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(used(&q), (4, 1));
    // REST 2 + STOR of 5 bytes: the file is cut at 2 and grows to 7.
    upload(&fs, &q, "old", WriteMode::At(2), (false, false), b"12345")
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(used(&q), (7, 1));
    // APPE keeps it all; a new file takes a place.
    upload(&fs, &q, "old", WriteMode::Append, (false, false), b"zz")
        .unwrap()
        .finish()
        .unwrap();
    upload(&fs, &q, "new", WriteMode::Truncate, (false, false), b"n")
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(used(&q), (10, 2));
    assert_eq!(fs::metadata(d.join("old")).unwrap().len(), 9);
}

#[test]
fn crossing_the_byte_quota_writes_up_to_the_limit_then_fails() {
    let d = TempDir::new(&[]);
    let fs = osfs(&d, false, false);
    let q = Arc::new(Quota::with_usage(
        Limits {
            bytes: Some(10),
            files: None,
        },
        Usage { bytes: 4, files: 0 },
    ));
    let charge = Charge::begin(
        Arc::clone(&q),
        &fs,
        &vp("f"),
        WriteMode::Truncate,
        (false, false),
    )
    .unwrap();
    let file = fs.open_write(&vp("f"), WriteMode::Truncate).unwrap();
    let mut sink = FileSink::new(file, false).with_quota(Some(charge));
    sink.write(b"1234").unwrap();
    let e = sink.write(b"abcdef").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::QuotaExceeded);
    sink.abort();
    // Kept (no --delete-incomplete-uploads): exactly the limit.
    assert_eq!(fs::read(d.join("f")).unwrap(), b"1234ab");
    assert_eq!(used(&q), (10, 1));
}

#[test]
fn failed_uploads_leave_the_usage_of_what_remains() {
    let d = TempDir::new(&[]);
    fs::write(d.join("old"), vec![b'x'; 10]).unwrap();
    let start = Usage {
        bytes: 10,
        files: 1,
    };
    let limits = Limits {
        bytes: Some(15),
        files: None,
    };
    // --delete-incomplete-uploads: the replaced file is gone.
    let fs_del = osfs(&d, false, true);
    let q = Arc::new(Quota::with_usage(limits, start));
    let mut sink = upload(
        &fs_del,
        &q,
        "old",
        WriteMode::Truncate,
        (false, true),
        &[b'y'; 20],
    )
    .unwrap();
    assert_eq!(used(&q), (15, 1));
    sink.abort();
    assert!(!d.join("old").exists());
    assert_eq!(used(&q), (0, 0));
    // Atomic: the old file stays, and so does its usage.
    fs::write(d.join("old"), vec![b'x'; 10]).unwrap();
    let fs_atomic = osfs(&d, true, false);
    let q = Arc::new(Quota::with_usage(limits, start));
    let mut sink = upload(
        &fs_atomic,
        &q,
        "old",
        WriteMode::Truncate,
        (true, false),
        &[b'y'; 20],
    )
    .unwrap();
    sink.abort();
    assert_eq!(fs::metadata(d.join("old")).unwrap().len(), 10);
    assert_eq!(used(&q), (10, 1));
    // A new file under the atomic policy, cut short: removed, its place given back.
    let mut sink = upload(
        &fs_atomic,
        &q,
        "new",
        WriteMode::Append,
        (true, false),
        b"abc",
    )
    .unwrap();
    sink.abort();
    assert_eq!(used(&q), (10, 1));
}

#[test]
fn a_new_file_needs_a_place_in_the_file_quota() {
    let d = TempDir::new(&[]);
    fs::write(d.join("one"), b"1").unwrap();
    let fs = osfs(&d, false, false);
    let q = Arc::new(Quota::with_usage(
        Limits {
            bytes: None,
            files: Some(1),
        },
        Usage { bytes: 1, files: 1 },
    ));
    let refused = room_for_file(&fs, Some(&q), &vp("two")).unwrap_err();
    assert_eq!(refused.code(), crate::reply::ReplyCode::ExceededStorage);
    assert!(room_for_file(&fs, Some(&q), &vp("one")).is_ok());
    assert!(room_for_file(&fs, None, &vp("two")).is_ok());
    assert!(upload(&fs, &q, "two", WriteMode::Truncate, (false, false), b"").is_err());
    assert!(!d.join("two").exists());
    // DELE gives the place back; RNTO over a file takes the replaced file off.
    let one = fs.lstat(&vp("one")).unwrap().size;
    remove_file(&fs, Some(&q), &vp("one"), Some(one)).unwrap();
    assert_eq!(used(&q), (0, 0));
    upload(&fs, &q, "two", WriteMode::Truncate, (false, false), b"22")
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(used(&q), (2, 1));
    // "two" (2 bytes) and "three" (3 bytes): the rename leaves one file of 3 bytes.
    fs::write(d.join("three"), b"333").unwrap();
    let q = Quota::with_usage(Limits::default(), Usage { bytes: 5, files: 2 });
    rename(&fs, Some(&q), &vp("three"), &vp("two")).unwrap();
    assert_eq!(fs::read(d.join("two")).unwrap(), b"333");
    assert_eq!(used(&q), (3, 1));
    // Renaming a file over another name of itself changes nothing.
    fs::hard_link(d.join("two"), d.join("same")).unwrap();
    let q = Quota::with_usage(Limits::default(), Usage { bytes: 6, files: 2 });
    rename(&fs, Some(&q), &vp("same"), &vp("two")).unwrap();
    assert_eq!(used(&q), (6, 2));
}

#[test]
fn site_quota_and_avbl() {
    let q = Quota::with_usage(
        Limits {
            bytes: Some(100),
            files: None,
        },
        Usage {
            bytes: 30,
            files: 2,
        },
    );
    let text = site_quota(Some(&q)).to_string();
    assert_eq!(
        text,
        "211-Quota:\r\n Bytes: 30 used, 100 limit, 70 left\r\n Files: 2 used, unlimited\r\n\
         211 End of quota.\r\n"
    );
    assert!(site_quota(None).to_string().starts_with("211 No quota"));
    let space = |n| {
        Ok(crate::fs::Space {
            available: n,
            total: n,
        })
    };
    assert_eq!(avbl(Some(&q), space(1000)).unwrap(), 70);
    assert_eq!(avbl(Some(&q), space(20)).unwrap(), 20);
    assert_eq!(avbl(None, space(20)).unwrap(), 20);
    assert_eq!(
        avbl(Some(&q), Err(io::ErrorKind::Unsupported.into())).unwrap(),
        70
    );
    assert!(avbl(None, Err(io::ErrorKind::Unsupported.into())).is_err());
}
