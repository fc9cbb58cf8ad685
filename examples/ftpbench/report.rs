//! Results: the metrics of each scenario, medians, paired ratios, the table and the JSON file.
//!
//! Conventions of the shared referee (`../shared/bench/ftpbench.py`): a cell is the median of
//! the recorded rounds followed by `[min..max]`; the ratio of the target to the baseline is
//! the **median of the per-round ratios**, each taken between two runs that were adjacent in
//! time, which cancels most of a noisy machine's drift. "higher=better"/"lower=better" says
//! which way a ratio is good; rows without it are context (counts, CPU busy, sizes).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One run's figures, by key, plus free-text notes (failure reasons).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    vals: BTreeMap<&'static str, f64>,
    /// Notes for the log and the JSON (e.g. why sessions failed).
    pub notes: Vec<String>,
}

impl Metrics {
    /// Empty.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Sets a figure (non-finite values are dropped).
    pub fn insert(&mut self, key: &'static str, v: f64) {
        if v.is_finite() {
            self.vals.insert(key, v);
        }
    }

    /// A figure.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.vals.get(key).copied()
    }
}

/// Which direction is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Higher is better.
    Hi,
    /// Lower is better.
    Lo,
    /// Context only, no ratio.
    Info,
}

/// One row of the table.
pub struct Def {
    /// Key in [`Metrics`].
    pub key: &'static str,
    /// Row label.
    pub label: &'static str,
    /// Direction.
    pub better: Better,
    /// Decimals.
    pub prec: usize,
}

const fn d(key: &'static str, label: &'static str, better: Better, prec: usize) -> Def {
    Def {
        key,
        label,
        better,
        prec,
    }
}

use Better::{Hi, Info, Lo};

const BULK: &[Def] = &[
    d("mb_s", "MB/s", Hi, 0),
    d("srv_cpu_s_gib", "srv_cpu_s/GiB", Lo, 3),
    d("pair_cpu_s_gib", "pair_cpu_s/GiB (srv+client)", Lo, 3),
    d("cli_cpu_s_gib", "client_cpu_s/GiB", Info, 3),
];

const SESSIONS: &[Def] = &[
    d("sess_s", "sessions/s", Hi, 0),
    d("p50_ms", "p50_ms", Lo, 1),
    d("p99_ms", "p99_ms", Lo, 1),
    d("srv_cpu_ms_sess", "srv_cpu_ms/session", Lo, 3),
    d("client_busy", "client_core_busy", Info, 2),
    d("failed", "failed", Info, 0),
    d("listen_overflows", "listen_overflows (host)", Info, 0),
];

const IDLE: &[Def] = &[
    d("rss_kib_conn", "RSS_KiB/conn", Lo, 1),
    d("pss_kib_conn", "PSS_KiB/conn", Lo, 1),
    d("logins_s", "logins/s", Hi, 0),
    d("rss_before_mib", "RSS_before_MiB", Info, 1),
    d("rss_after_mib", "RSS_after_MiB", Info, 1),
    d("conns", "connections", Info, 0),
    d("failed", "failed", Info, 0),
];

const LIST: &[Def] = &[
    d("ms", "ms/LIST", Lo, 1),
    d("srv_cpu_ms", "srv_cpu_ms/LIST", Lo, 1),
    d("bytes", "bytes", Info, 0),
    d("lines", "lines", Info, 0),
];

const CHURN: &[Def] = &[
    d("ops_s", "ops/s (STOR+DELE)", Hi, 0),
    d("srv_cpu_ms_op", "srv_cpu_ms/op", Lo, 3),
    d("client_busy", "client_core_busy", Info, 2),
];

const STALL: &[Def] = &[
    d("p50_ms", "probe_p50_ms", Lo, 2),
    d("p99_ms", "probe_p99_ms", Lo, 2),
    d("max_ms", "probe_max_ms", Lo, 1),
    d("rx_p50_ms", "rx_p50_ms", Lo, 2),
    d("rx_p99_ms", "rx_p99_ms", Lo, 2),
    d("rx_max_ms", "rx_max_ms", Lo, 1),
    d("ops_s", "load_ops/s", Hi, 1),
    d("load_mb_s", "load_MB/s", Info, 0),
    d("probes", "probes", Info, 0),
    d("missed", "missed_ticks", Info, 0),
    d("srv_busy", "srv_core_busy", Info, 2),
];

/// The rows of a scenario.
pub fn defs(scenario: &str) -> &'static [Def] {
    match scenario {
        "retr" | "stor" => BULK,
        "sessions" => SESSIONS,
        "idle" => IDLE,
        "list" => LIST,
        "churn" => CHURN,
        s if s.starts_with("stall-") => STALL,
        _ => &[],
    }
}

/// All runs of one scenario: `runs[target][round]`, `None` for a failed round.
pub struct Scenario {
    /// Name.
    pub name: &'static str,
    /// Results.
    pub runs: Vec<Vec<Option<Metrics>>>,
    /// Errors of failed rounds, per target.
    pub errors: Vec<Vec<String>>,
}

/// Median (sorts in place).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// `(median, min, max)` of one figure of one target.
pub fn stats(runs: &[Option<Metrics>], key: &str) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = runs.iter().flatten().filter_map(|m| m.get(key)).collect();
    let med = median(&mut v)?;
    Some((med, v[0], v[v.len() - 1]))
}

/// Median of the per-round ratios `a / b`.
pub fn ratio(a: &[Option<Metrics>], b: &[Option<Metrics>], key: &str) -> Option<f64> {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some((x.as_ref()?.get(key)?, y.as_ref()?.get(key)?)))
        .filter(|(_, y)| *y != 0.0)
        .map(|(x, y)| x / y)
        .collect();
    median(&mut r)
}

fn cell(runs: &[Option<Metrics>], def: &Def) -> String {
    match stats(runs, def.key) {
        None => "-".into(),
        Some((m, lo, hi)) if def.better != Info && runs.iter().flatten().count() > 1 => {
            format!("{m:.p$} [{lo:.p$}..{hi:.p$}]", p = def.prec)
        }
        Some((m, _, _)) => format!("{m:.p$}", p = def.prec),
    }
}

/// The table: one row per figure, one column per server, and a ratio column with a baseline.
pub fn table(labels: &[String], scenarios: &[Scenario]) -> String {
    let mut head = vec!["scenario".to_owned(), "metric".to_owned()];
    head.extend(labels.iter().cloned());
    if labels.len() == 2 {
        head.push(format!("ratio {}/{}", labels[0], labels[1]));
    }
    let mut rows = vec![head];
    for sc in scenarios {
        for def in defs(sc.name) {
            if sc.runs.iter().all(|r| stats(r, def.key).is_none()) {
                continue;
            }
            let arrow = match def.better {
                Hi => " (higher=better)",
                Lo => " (lower=better)",
                Info => "",
            };
            let mut row = vec![sc.name.to_owned(), format!("{}{arrow}", def.label)];
            row.extend(sc.runs.iter().map(|r| cell(r, def)));
            if sc.runs.len() == 2 {
                let r = (def.better != Info)
                    .then(|| ratio(&sc.runs[0], &sc.runs[1], def.key))
                    .flatten();
                row.push(r.map_or_else(String::new, |r| format!("{r:.2}x")));
            }
            rows.push(row);
        }
        for (t, errs) in sc.errors.iter().enumerate() {
            if !errs.is_empty() {
                let mut row = vec![sc.name.to_owned(), "failed rounds".to_owned()];
                row.extend((0..labels.len()).map(|i| {
                    if i == t {
                        errs.len().to_string()
                    } else {
                        String::new()
                    }
                }));
                if labels.len() == 2 {
                    row.push(String::new());
                }
                rows.push(row);
            }
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
        if i == 0 {
            let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "|-{}-|", dashes.join("-|-"));
        }
    }
    out
}

/// A JSON string literal.
pub fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON number (`null` if not finite).
pub fn jn(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

fn metrics_json(m: &Metrics) -> String {
    let vals: Vec<String> = m
        .vals
        .iter()
        .map(|(k, v)| format!("{}: {}", js(k), jn(*v)))
        .collect();
    let notes: Vec<String> = m.notes.iter().map(|n| js(n)).collect();
    format!("{{{}, \"notes\": [{}]}}", vals.join(", "), notes.join(", "))
}

/// The `scenarios` part of the JSON file: raw runs, medians, min, max and ratios.
pub fn scenarios_json(labels: &[String], scenarios: &[Scenario]) -> String {
    let mut parts = Vec::new();
    for sc in scenarios {
        let mut per = Vec::new();
        for (t, label) in labels.iter().enumerate() {
            let runs: Vec<String> = sc.runs[t]
                .iter()
                .map(|r| r.as_ref().map_or_else(|| "null".into(), metrics_json))
                .collect();
            let errs: Vec<String> = sc.errors[t].iter().map(|e| js(e)).collect();
            let mut summ = Vec::new();
            for def in defs(sc.name) {
                if let Some((m, lo, hi)) = stats(&sc.runs[t], def.key) {
                    summ.push(format!(
                        "{}: {{\"median\": {}, \"min\": {}, \"max\": {}}}",
                        js(def.key),
                        jn(m),
                        jn(lo),
                        jn(hi)
                    ));
                }
            }
            per.push(format!(
                "{}: {{\"runs\": [{}], \"errors\": [{}], \"summary\": {{{}}}}}",
                js(label),
                runs.join(", "),
                errs.join(", "),
                summ.join(", ")
            ));
        }
        let mut ratios = Vec::new();
        if sc.runs.len() == 2 {
            for def in defs(sc.name).iter().filter(|d| d.better != Info) {
                if let Some(r) = ratio(&sc.runs[0], &sc.runs[1], def.key) {
                    ratios.push(format!("{}: {}", js(def.key), jn(r)));
                }
            }
        }
        parts.push(format!(
            "{}: {{\"servers\": {{{}}}, \"ratio_first_over_second\": {{{}}}}}",
            js(sc.name),
            per.join(", "),
            ratios.join(", ")
        ));
    }
    format!("{{{}}}", parts.join(",\n  "))
}
