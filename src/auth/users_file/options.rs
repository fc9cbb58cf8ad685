//! The options field of an account line (`key=value,key=value`): limits, quotas, messages,
//! what the user may reach, and the TLS client certificate bound to the user.

use std::collections::HashSet;

use super::{parse_bytes, parse_number};
use crate::auth::cert::parse_sha256;
use crate::auth::UserLimits;

/// The settings of an account line's 5th field.
#[derive(Default)]
pub(super) struct Options {
    pub limits: UserLimits,
    pub msg_login: Option<String>,
    pub msg_quit: Option<String>,
}

/// Parses `key=value,key=value`; an empty text means no options.
pub(super) fn parse_options(text: &str) -> Result<Options, String> {
    let mut options = Options::default();
    if text.is_empty() {
        return Ok(options);
    }
    let mut seen = HashSet::new();
    let mut last = "";
    for item in text.split(',') {
        // `allow_from=NET,NET`: the networks after the first are items of their own.
        if last == "allow_from" && !item.contains('=') {
            options.limits.allow_from.push(item.parse()?);
            continue;
        }
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("option {item:?} is not key=value"))?;
        last = key;
        if !seen.insert(key) {
            return Err(format!("option {key} is given twice"));
        }
        apply_option(&mut options, key, value)?;
    }
    // `cert_only` alone binds nothing: an error with `yes`, no binding with `no`.
    if let Some(cert) = options.limits.cert.take() {
        if cert.cn.is_some() || cert.sha256.is_some() {
            options.limits.cert = Some(cert);
        } else if cert.only {
            return Err("cert_only=yes needs cert_cn= or cert_sha256= (which certificate?)".into());
        }
    }
    Ok(options)
}

/// Applies one `key=value` option of an account line.
fn apply_option(options: &mut Options, key: &str, value: &str) -> Result<(), String> {
    match key {
        "max_sessions" => {
            let n = parse_number(value)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    format!(
                        "bad value {value:?} for max_sessions: expected a whole number \
                         of at least 1 (leave the option out for no limit)"
                    )
                })?;
            options.limits.max_sessions = Some(n);
        }
        "read_limit" | "write_limit" => {
            let bytes = parse_bytes(value).ok_or_else(|| {
                format!(
                    "bad value {value:?} for {key}: expected bytes per second, \
                     e.g. 65536, 64k or 2M (0: unlimited)"
                )
            })?;
            if key == "read_limit" {
                options.limits.read_limit = bytes;
            } else {
                options.limits.write_limit = bytes;
            }
        }
        "allow_from" | "hide" | "deny" | "umask" => apply_access(options, key, value)?,
        "cert_cn" | "cert_sha256" | "cert_only" => apply_cert(options, key, value)?,
        "quota_bytes" | "quota_files" => apply_quota(options, key, value)?,
        "msg_login" | "msg_quit" => {
            if value.is_empty() {
                return Err(format!("{key} must not be empty"));
            }
            let slot = if key == "msg_login" {
                &mut options.msg_login
            } else {
                &mut options.msg_quit
            };
            *slot = Some(value.to_owned());
        }
        _ => {
            return Err(format!(
                "unknown option {key:?} (known: max_sessions, read_limit, write_limit, \
                 allow_from, umask, hide, deny, quota_bytes, quota_files, cert_cn, cert_sha256, \
                 cert_only, msg_login, msg_quit)"
            ))
        }
    }
    Ok(())
}

/// `quota_bytes=SIZE` (K/M/G/T as for `--min-free`, e.g. 10G) and `quota_files=N`.
fn apply_quota(options: &mut Options, key: &str, value: &str) -> Result<(), String> {
    if key == "quota_bytes" {
        let bytes = crate::fs::parse_size(value).ok_or_else(|| {
            format!("bad value {value:?} for quota_bytes: expected a size, e.g. 500M or 10G")
        })?;
        options.limits.quota_bytes = Some(bytes);
    } else {
        let n = parse_number(value).ok_or_else(|| {
            format!("bad value {value:?} for quota_files: expected a whole number")
        })?;
        options.limits.quota_files = Some(n);
    }
    Ok(())
}

/// The options that shape what the user may reach: networks, hidden and denied names, umask.
fn apply_access(options: &mut Options, key: &str, value: &str) -> Result<(), String> {
    match key {
        "allow_from" => options.limits.allow_from.push(value.parse()?),
        "hide" | "deny" => {
            let list = if key == "hide" {
                &mut options.limits.hide
            } else {
                &mut options.limits.deny
            };
            list.extend(
                value
                    .split('|')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
        "umask" => {
            let mask = u32::from_str_radix(value, 8)
                .ok()
                .filter(|m| *m <= 0o777 && !value.is_empty() && value.len() <= 4)
                .ok_or_else(|| {
                    format!("bad value {value:?} for umask: expected octal, e.g. 022")
                })?;
            options.limits.umask = Some(mask);
        }
        _ => {}
    }
    Ok(())
}

/// The certificate options: `cert_cn=NAME`, `cert_sha256=HEX`, `cert_only=yes|no`.
fn apply_cert(options: &mut Options, key: &str, value: &str) -> Result<(), String> {
    let cert = options.limits.cert.get_or_insert_with(Box::default);
    match key {
        "cert_cn" if !value.is_empty() => cert.cn = Some(value.to_owned()),
        "cert_cn" => return Err("cert_cn must not be empty".into()),
        "cert_sha256" => {
            cert.sha256 = Some(parse_sha256(value).ok_or_else(|| {
                format!(
                    "bad value {value:?} for cert_sha256: expected the SHA-256 fingerprint, \
                     64 hex digits (colons allowed), as `openssl x509 -noout -fingerprint \
                     -sha256` prints it"
                )
            })?)
        }
        _ => {
            cert.only = match value {
                "yes" | "true" => true,
                "no" | "false" => false,
                _ => {
                    return Err(format!(
                        "bad value {value:?} for cert_only: expected yes or no"
                    ))
                }
            }
        }
    }
    Ok(())
}
