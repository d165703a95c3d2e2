//! What a `folder:` connection asks for: the folder, and how long to wait for files.
//!
//! The connection is `folder:<absolute path>[?settle=2s&idle=10s&wait=2m&keep=24h]`. Options follow the last
//! `?` when what follows it has no path separator, so `\\?\C:\scans` stays a Windows path.
//! This one reader is behind both [`crate::FolderFactory`]'s `check` and `open`.

use std::path::PathBuf;
use std::time::Duration;

use counter_agent_driver_api::{Connection, DeviceSettings, OpenSpec};

/// How the scanner waits for files. [`Timing::default`] suits an office printer writing over SMB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often the folder is listed while waiting.
    pub poll: Duration,
    /// A file counts once its size and modification time have not changed for this long.
    pub settle: Duration,
    /// After at least one page, the batch ends when the folder has been quiet this long.
    pub idle: Duration,
    /// With no page yet, the batch gives up (`feeder_empty`) when the folder has been quiet this long.
    pub wait: Duration,
    /// Files in `rejected/` (and their `.reason.txt` notes) are deleted once they have been there
    /// this long: they are citizen documents too.
    pub rejected_keep: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            poll: Duration::from_millis(200),
            settle: Duration::from_secs(2),
            idle: Duration::from_secs(10),
            wait: Duration::from_secs(120),
            rejected_keep: Duration::from_secs(24 * 3600),
        }
    }
}

/// The options a `folder:` connection takes, each with the range it accepts.
const OPTIONS: &[(&str, Duration, Duration)] = &[
    ("settle", Duration::from_millis(50), Duration::from_secs(60)),
    ("idle", Duration::from_millis(100), Duration::from_secs(600)),
    ("wait", Duration::from_millis(100), Duration::from_secs(3600)),
    ("keep", Duration::from_secs(60), Duration::from_secs(30 * 24 * 3600)),
];

/// A checked `folder:` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FolderSpec {
    pub path: PathBuf,
    pub timing: Timing,
}

/// Splits `text` into the path and the option string, if it has one.
pub(crate) fn split_options(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once('?') {
        Some((path, options)) if !options.contains(['/', '\\']) => (path, Some(options)),
        _ => (text, None),
    }
}

/// Reads `spec` against `defaults`, returning every problem found (see `DriverFactory::check`).
pub(crate) fn read(spec: &OpenSpec, defaults: Timing) -> Result<FolderSpec, Vec<String>> {
    let mut problems = Vec::new();
    if let DeviceSettings::Printer(_) = spec.settings {
        problems.push(
            "`folder:` is a scanner (a folder of scanned images) but the profile is a printer's \
             — use a scanner profile such as hot-folder"
                .to_string(),
        );
    }
    let Connection::Folder { path: text } = &spec.connection else {
        problems.push(format!(
            "`{}:` is not a folder connection — write folder:/path/to/the/scan/folder",
            spec.connection.scheme()
        ));
        return Err(problems);
    };
    let (path, options) = split_options(text.trim());
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        problems.push(format!(
            "`folder:{}` is not an absolute path — write the whole path, e.g. folder:/srv/scan-inbox",
            path.display()
        ));
    }
    let mut timing = defaults;
    for option in options.unwrap_or("").split('&').filter(|option| !option.is_empty()) {
        match read_option(option) {
            Ok(("settle", value)) => timing.settle = value,
            Ok(("idle", value)) => timing.idle = value,
            Ok(("wait", value)) => timing.wait = value,
            Ok((_, value)) => timing.rejected_keep = value,
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(FolderSpec { path, timing })
    } else {
        Err(problems)
    }
}

/// One `key=duration` option, checked against its range.
fn read_option(option: &str) -> Result<(&'static str, Duration), String> {
    let (key, value) = option.split_once('=').unwrap_or((option, ""));
    let Some(&(name, min, max)) = OPTIONS.iter().find(|(name, _, _)| *name == key) else {
        return Err(format!(
            "unknown folder option `{option}` — the options are settle, idle, wait and keep, \
             e.g. folder:/srv/scan-inbox?idle=20s"
        ));
    };
    let duration = humantime::parse_duration(value).map_err(|_| {
        format!("`{option}` is not a duration — write a number with a unit, e.g. {name}=2s or {name}=500ms")
    })?;
    if duration < min || duration > max {
        return Err(format!(
            "`{option}` is out of range — {name} must be from {} to {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok((name, duration))
}
