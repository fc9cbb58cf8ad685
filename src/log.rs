//! Logging conventions: every line about a session starts with `ip:port-[user]` (as pyftpdlib's
//! logs do), and passwords never reach a log.

/// Replaces the argument of a `PASS` command line with stars, for `-D` command logging.
pub fn mask_password(line: &str) -> String {
    let verb = line.split(' ').next().unwrap_or("");
    if verb.eq_ignore_ascii_case("PASS") && line.len() > 4 {
        "PASS ******".to_owned()
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_pass_in_any_case() {
        assert_eq!(mask_password("PASS secret"), "PASS ******");
        assert_eq!(mask_password("pass secret"), "PASS ******");
        assert_eq!(mask_password("PASS"), "PASS");
        assert_eq!(mask_password("PASV"), "PASV");
        assert_eq!(mask_password("USER bob"), "USER bob");
    }
}
