//! What a client is told about its quota: `SITE QUOTA` (usage and limits) and the quota's
//! share of `AVBL` (the bytes an upload may still use).

use std::io;

use super::Quota;
use crate::fs::Space;
use crate::reply::{Reply, ReplyCode};

/// `SITE QUOTA`: a multi-line `211` with the bytes and files used and their limits.
pub(crate) fn site_quota(quota: Option<&Quota>) -> Reply {
    let Some(q) = quota else {
        return Reply::new(
            ReplyCode::SystemStatus,
            "No quota: bytes and files unlimited.",
        );
    };
    let (used, limits) = q.snapshot();
    Reply::multi(
        ReplyCode::SystemStatus,
        vec![
            "Quota:".to_owned(),
            line("Bytes", used.bytes, limits.bytes),
            line("Files", used.files, limits.files),
            "End of quota.".to_owned(),
        ],
    )
}

/// `Bytes: 10 used, 100 limit, 90 left` or `Files: 3 used, unlimited`.
fn line(what: &str, used: u64, limit: Option<u64>) -> String {
    match limit {
        Some(l) => format!(
            "{what}: {used} used, {l} limit, {} left",
            l.saturating_sub(used)
        ),
        None => format!("{what}: {used} used, unlimited"),
    }
}

/// `AVBL`: the smaller of the filesystem's free space and what the byte quota leaves. A
/// filesystem that cannot tell its free space (`Unsupported`) leaves the quota's figure.
pub(crate) fn avbl(quota: Option<&Quota>, space: io::Result<Space>) -> io::Result<u64> {
    let left = quota.and_then(Quota::bytes_left);
    match (space, left) {
        (Ok(space), Some(left)) => Ok(space.available.min(left)),
        (Ok(space), None) => Ok(space.available),
        (Err(e), Some(left)) if e.kind() == io::ErrorKind::Unsupported => Ok(left),
        (Err(e), _) => Err(e),
    }
}
