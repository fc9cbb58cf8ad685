//! OpenMetrics text to the classic Prometheus text format (0.0.4).
//!
//! `prometheus-client` writes OpenMetrics. Prometheus itself asks for that, but `curl`, older
//! scrapers and `promtool check metrics` read the classic format, where two things differ for
//! what this server exports: a counter family's `# HELP`/`# TYPE` lines carry the sample name
//! (`ftpdlib_sessions_total`, not `ftpdlib_sessions`), and there is no `# UNIT` or `# EOF`.
//! Samples are written the same way in both.

use std::collections::HashSet;

/// The classic rendering of an OpenMetrics exposition.
pub(super) fn from_openmetrics(text: &str) -> String {
    let counters: HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len() + 16 * counters.len());
    for line in text.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        match meta_name(line) {
            Some((head, name, rest)) if counters.contains(name) => {
                out.push_str(head);
                out.push_str(name);
                out.push_str("_total");
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Splits `# HELP name text` or `# TYPE name type` into the prefix, the name and the rest.
fn meta_name(line: &str) -> Option<(&str, &str, &str)> {
    let head = ["# HELP ", "# TYPE "]
        .into_iter()
        .find(|h| line.starts_with(h))?;
    let tail = &line[head.len()..];
    let end = tail.find(' ').unwrap_or(tail.len());
    Some((head, &tail[..end], &tail[end..]))
}
