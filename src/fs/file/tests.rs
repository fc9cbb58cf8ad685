use super::*;
use std::fs;
use std::path::PathBuf;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ftpdlib-upload-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn upload(path: &Path, policy: UploadPolicy, data: &[u8]) -> Box<OsUpload> {
    let mut u = Box::new(OsUpload::open(path, policy, false, None, false).unwrap());
    u.set_len(0).unwrap();
    u.write_all(data).unwrap();
    u
}

#[test]
fn atomic_upload_replaces_only_on_commit() {
    let d = dir("atomic");
    let f = d.join("f.txt");
    fs::write(&f, b"old").unwrap();
    let policy = UploadPolicy {
        atomic: true,
        delete_incomplete: false,
        ..Default::default()
    };
    let u = upload(&f, policy, b"new data");
    assert_eq!(fs::read(&f).unwrap(), b"old", "untouched while uploading");
    u.commit().unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"new data");
    let u = upload(&f, policy, b"cut");
    u.abort();
    assert_eq!(fs::read(&f).unwrap(), b"new data");
    assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "temporary removed");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn atomic_append_and_resume_keep_the_prefix() {
    let d = dir("append");
    let f = d.join("f.txt");
    fs::write(&f, b"0123456789").unwrap();
    let policy = UploadPolicy {
        atomic: true,
        delete_incomplete: false,
        ..Default::default()
    };
    let mut u = Box::new(OsUpload::open(&f, policy, true, None, false).unwrap());
    u.write_all(b"AB").unwrap();
    u.commit().unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"0123456789AB");
    let mut u = Box::new(OsUpload::open(&f, policy, false, Some(4), false).unwrap());
    u.set_len(4).unwrap();
    u.write_all(b"xy").unwrap();
    u.commit().unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"0123xy");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn in_place_abort_deletes_only_with_the_policy() {
    let d = dir("inplace");
    let f = d.join("f.txt");
    let keep = UploadPolicy::default();
    upload(&f, keep, b"partial").abort();
    assert_eq!(
        fs::read(&f).unwrap(),
        b"partial",
        "pyftpdlib keeps partial uploads"
    );
    let delete = UploadPolicy {
        atomic: false,
        delete_incomplete: true,
        ..Default::default()
    };
    upload(&f, delete, b"again").abort();
    assert!(!f.exists(), "delete_incomplete removes a failed STOR");
    fs::write(&f, b"base").unwrap();
    let mut u = Box::new(OsUpload::open(&f, delete, true, None, false).unwrap());
    u.write_all(b"+").unwrap();
    u.abort();
    assert_eq!(
        fs::read(&f).unwrap(),
        b"base+",
        "a failed APPE never deletes the file"
    );
    let _ = fs::remove_dir_all(&d);
}
