//! Where the daemon's log goes (`--log-file`, default stderr) and in which form
//! (`--log-format text|json`). In JSON form every log record is one object per line, and the
//! session events of [`ftpdlib::events`] (target `ftpdlib::event`) are printed as they are.

use std::fs::OpenOptions;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use ftpdlib::events::json_str;

/// The `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (simplelog).
    Text,
    /// One JSON object per line.
    Json,
}

type Sink = Box<dyn Write + Send>;

/// The log destination, line-buffered: the logger formats a record in many small pieces,
/// and on the loop thread each would otherwise be its own `write(2)`.
fn open_sink(file: Option<&Path>) -> Result<Sink, String> {
    match file {
        Some(path) => OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|f| Box::new(LineWriter::new(f)) as Sink)
            .map_err(|e| format!("log file {}: {e}", path.display())),
        None => Ok(Box::new(LineWriter::new(std::io::stderr()))),
    }
}

/// A `log::Log` writing JSON lines.
struct JsonLogger {
    level: log::LevelFilter,
    out: Mutex<Sink>,
}

impl log::Log for JsonLogger {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = if record.target() == "ftpdlib::event" {
            record.args().to_string()
        } else {
            format!(
                "{{\"ts\":\"{}\",\"event\":\"log\",\"level\":\"{}\",\"msg\":{}}}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                record.level().as_str().to_ascii_lowercase(),
                json_str(&record.args().to_string())
            )
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }

    fn flush(&self) {
        if let Ok(mut out) = self.out.lock() {
            let _ = out.flush();
        }
    }
}

/// Installs the logger.
pub fn init(
    base: log::LevelFilter,
    debug: bool,
    trace: bool,
    file: Option<&Path>,
    format: LogFormat,
) -> Result<(), String> {
    let level = match (debug, trace) {
        (_, true) => log::LevelFilter::Trace,
        (true, false) => base.max(log::LevelFilter::Debug),
        (false, false) => base,
    };
    let sink = open_sink(file)?;
    match format {
        LogFormat::Text => {
            let config = simplelog::ConfigBuilder::new()
                .set_target_level(simplelog::LevelFilter::Off)
                .set_thread_level(simplelog::LevelFilter::Off)
                // rustls' own trace output would drown the loop's.
                .add_filter_ignore_str("rustls")
                .build();
            // Only fails if a logger is already set, which cannot happen here.
            let _ = simplelog::WriteLogger::init(level, config, sink);
        }
        LogFormat::Json => {
            let logger = JsonLogger {
                level,
                out: Mutex::new(sink),
            };
            if log::set_boxed_logger(Box::new(logger)).is_ok() {
                log::set_max_level(level);
            }
        }
    }
    Ok(())
}
