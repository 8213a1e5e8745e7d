//! Printing: data to stdout, messages to stderr, colour only on a terminal.

use std::io::{IsTerminal, Write};

use owo_colors::OwoColorize;

pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Writes data to stdout. A closed pipe (`vigia … | head`) is not an error worth a panic.
pub(crate) fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes a JSON document to stdout.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    print(&s);
    Ok(())
}

pub(crate) fn error(msg: &str) {
    // Errors quote inputs (paths, entry names, bytes): escaped for the terminal.
    let msg = vigia_report::printable::escape_line(msg);
    let mut err = std::io::stderr().lock();
    if stderr_is_terminal() {
        let _ = writeln!(err, "{} {msg}", "error:".red().bold());
    } else {
        let _ = writeln!(err, "error: {msg}");
    }
}

pub(crate) fn warning(msg: &str) {
    let msg = vigia_report::printable::escape_line(msg);
    let mut err = std::io::stderr().lock();
    if stderr_is_terminal() {
        let _ = writeln!(err, "{} {msg}", "warning:".yellow().bold());
    } else {
        let _ = writeln!(err, "warning: {msg}");
    }
}

/// Now, as RFC 3339 UTC with whole seconds; `SOURCE_DATE_EPOCH` (the
/// reproducible-builds convention) fixes it, for reproducible reports.
pub(crate) fn now_rfc3339() -> String {
    now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Now, or `SOURCE_DATE_EPOCH` when set.
pub(crate) fn now() -> jiff::Timestamp {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or_else(jiff::Timestamp::now)
}

/// Writes `text` (plus a final newline) to `path`, or to stdout.
pub(crate) fn write_to(path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    match path {
        // Written beside the target and renamed over it once complete and
        // flushed: a full disk or a killed process leaves the previous report
        // as it was, never a truncated one. A target that is no regular file
        // (`/dev/null`, `/dev/stdout`, a FIFO) is written as it is: renaming
        // over it would replace the device with a file.
        Some(path) => {
            let write = || -> std::io::Result<()> {
                let meta = std::fs::metadata(path).ok();
                if meta.as_ref().is_some_and(|m| !m.is_file()) {
                    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
                    f.write_all(text.as_bytes())?;
                    if !text.ends_with('\n') {
                        f.write_all(b"\n")?;
                    }
                    return Ok(());
                }
                // Through a symlink, the file it points to is replaced.
                let target = match &meta {
                    Some(_) => std::fs::canonicalize(path)?,
                    None => path.to_path_buf(),
                };
                let dir = match target.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => std::path::PathBuf::from("."),
                };
                // The report keeps the permissions it had, or gets a new
                // file's (0666 less the umask), not a temporary file's 0600.
                let mode = meta.as_ref().map_or(0o666, |m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode()
                });
                let mut f = tempfile::Builder::new()
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .tempfile_in(&dir)?;
                f.write_all(text.as_bytes())?;
                if !text.ends_with('\n') {
                    f.write_all(b"\n")?;
                }
                f.as_file().sync_all()?;
                f.persist(&target).map_err(|e| e.error)?;
                Ok(())
            };
            write().with_context(|| format!("cannot write {}", path.display()))?;
        }
        None if text.ends_with('\n') => print(text),
        None => print(&format!("{text}\n")),
    }
    Ok(())
}
