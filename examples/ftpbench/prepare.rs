//! `--prepare`: puts the files the scenarios read on the server, through FTP, skipping what is
//! already there (checked with `SIZE` and `NLST`), so a second run costs nothing.
//!
//! * retr: `--file` of `--size` bytes; sessions: `--small-file` of `--small-size` bytes.
//! * list (and stall's list load): `--list-dir` with `--list-entries` empty files `file-NNNNNN.dat`, made by one STOR
//!   each (thousands of round trips: slow). With `--prepare-local DIR` (the server's root on
//!   this machine) they are created on disk instead, and FTP only checks the count.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::Instant;

use crate::bulk::{payload, session};
use crate::proto::Target;
use crate::Ctx;

/// Prepares every fixture the selected scenarios need on `t`.
pub fn run(t: &Target, ctx: &Ctx, scenarios: &[&str]) -> Result<(), String> {
    let a = &ctx.args;
    if scenarios.contains(&"retr") {
        ensure_file(t, ctx, &a.file, a.size)?;
    }
    if scenarios.contains(&"sessions") {
        ensure_file(t, ctx, &a.small_file, a.small_size)?;
    }
    if scenarios.contains(&"list") || scenarios.contains(&"stall-list") {
        if let Some(root) = &a.prepare_local {
            make_local(root, &a.list_dir, a.list_entries)?;
        }
        ensure_list(t, ctx)?;
    }
    Ok(())
}

fn ensure_file(t: &Target, ctx: &Ctx, name: &str, size: u64) -> Result<(), String> {
    let mut c = session(t, ctx)?;
    if c.size(name)? == Some(size) {
        c.quit();
        return Ok(());
    }
    eprintln!("prepare {}: uploading {name} ({size} bytes)", t.label);
    let t0 = Instant::now();
    c.upload(&format!("STOR {name}"), size, &payload(1 << 20))
        .map_err(|e| format!("prepare {name}: {e}"))?;
    let got = c.size(name)?;
    c.quit();
    if got != Some(size) {
        return Err(format!(
            "prepare {name}: server reports {got:?} bytes after upload"
        ));
    }
    eprintln!("  done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}

fn entry_name(i: usize) -> String {
    format!("file-{i:06}.dat")
}

fn make_local(root: &Path, dir: &str, n: usize) -> Result<(), String> {
    let d = root.join(dir.trim_start_matches('/'));
    fs::create_dir_all(&d).map_err(|e| format!("--prepare-local {}: {e}", d.display()))?;
    for i in 0..n {
        let p = d.join(entry_name(i));
        if !p.exists() {
            fs::write(&p, b"").map_err(|e| format!("--prepare-local {}: {e}", p.display()))?;
        }
    }
    Ok(())
}

fn ensure_list(t: &Target, ctx: &Ctx) -> Result<(), String> {
    let a = &ctx.args;
    let dir = a.list_dir.trim_end_matches('/');
    let mut c = session(t, ctx)?;
    // 257 created; 550/521 already there (checked by the NLST below).
    let _ = c.cmd(&format!("MKD {dir}"), &[257, 250, 550, 521]);
    let have: HashSet<String> = c.nlst(dir)?.into_iter().collect();
    let missing: Vec<String> = (0..a.list_entries)
        .map(entry_name)
        .filter(|n| !have.contains(n))
        .collect();
    if missing.is_empty() {
        c.quit();
        return Ok(());
    }
    eprintln!(
        "prepare {}: creating {} entries in {dir} by STOR (use --prepare-local DIR to skip)",
        t.label,
        missing.len()
    );
    let t0 = Instant::now();
    for (k, name) in missing.iter().enumerate() {
        c.upload(&format!("STOR {dir}/{name}"), 0, &[])
            .map_err(|e| format!("prepare {dir}/{name}: {e}"))?;
        if (k + 1) % 2000 == 0 {
            eprintln!("  {} of {}", k + 1, missing.len());
        }
    }
    c.quit();
    eprintln!("  done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}
