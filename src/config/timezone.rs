//! The station's time zone: an IANA zone name or a fixed UTC offset.
//!
//! The build has no time-zone database crate, so a name is looked up in the system's zoneinfo
//! folder (`/usr/share/zoneinfo`, Linux and macOS) when there is one, else in a short built-in list
//! of the zones where counters are found. `UTC`, `GMT`, `Etc/UTC`, `Etc/GMT`, `Etc/GMT±N` and offsets
//! such as `+07:00` are accepted everywhere. An unknown name gets a "did you mean" hint.
//!
//! This module only reads names; it never changes the process's time zone.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::reader::edit_distance;
use super::Severity;

/// Where Linux (and macOS) keep compiled zone files, one file per zone name.
const SYSTEM_ZONEINFO: &str = "/usr/share/zoneinfo";

/// Known without a zoneinfo folder (Windows): the zones of Southeast and East Asia and the world's
/// major ones. Every entry is a real IANA name (a test compares them with the system folder).
/// `Asia/Saigon` is IANA's old name for `Asia/Ho_Chi_Minh`; there is no `Asia/Hanoi`.
const BUILT_IN: &[&str] = &[
    "Asia/Ho_Chi_Minh",
    "Asia/Saigon",
    "Asia/Bangkok",
    "Asia/Vientiane",
    "Asia/Phnom_Penh",
    "Asia/Yangon",
    "Asia/Jakarta",
    "Asia/Makassar",
    "Asia/Kuala_Lumpur",
    "Asia/Singapore",
    "Asia/Manila",
    "Asia/Brunei",
    "Asia/Dili",
    "Asia/Hong_Kong",
    "Asia/Macau",
    "Asia/Shanghai",
    "Asia/Taipei",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Kathmandu",
    "Asia/Karachi",
    "Asia/Dubai",
    "Australia/Sydney",
    "Australia/Perth",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
];

/// Accepted on every system.
const ALWAYS: &[&str] = &["UTC", "GMT", "Etc/UTC", "Etc/GMT"];

/// Files in a zoneinfo folder that are not zones, and folders of duplicate trees.
const NOT_ZONES: &[&str] = &["localtime", "posixrules", "Factory", "posix", "right"];

/// Where zone names are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ZoneNames {
    /// A zoneinfo folder: a name is a zone when a zone file of that exact name is in it.
    Folder(PathBuf),
    /// The built-in list.
    BuiltIn,
}

impl ZoneNames {
    /// The system's zoneinfo folder when it exists, else the built-in list.
    pub(super) fn system() -> ZoneNames {
        let folder = Path::new(SYSTEM_ZONEINFO);
        if folder.is_dir() {
            ZoneNames::Folder(folder.to_path_buf())
        } else {
            ZoneNames::BuiltIn
        }
    }

    fn contains(&self, name: &str) -> bool {
        match self {
            ZoneNames::BuiltIn => BUILT_IN.contains(&name),
            ZoneNames::Folder(folder) => is_zone_file(folder, name),
        }
    }

    /// Every name, for suggestions.
    fn all(&self) -> Vec<String> {
        let mut names: Vec<String> = ALWAYS.iter().map(|name| name.to_string()).collect();
        match self {
            ZoneNames::BuiltIn => names.extend(BUILT_IN.iter().map(|name| name.to_string())),
            ZoneNames::Folder(folder) => collect_zone_files(folder, "", &mut names),
        }
        names.sort();
        names.dedup();
        names
    }
}

/// A name as zone names are written: `Region/City_Name`, no `.` parts, nothing path-like.
fn is_name_shaped(name: &str) -> bool {
    name.split('/').all(|part| {
        part.starts_with(|c: char| c.is_ascii_alphabetic())
            && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
    })
}

/// Whether `folder` holds a zone file named exactly `name` (same case, also on case-insensitive
/// file systems).
fn is_zone_file(folder: &Path, name: &str) -> bool {
    if !is_name_shaped(name) || name.split('/').next().is_some_and(|first| NOT_ZONES.contains(&first)) {
        return false;
    }
    let mut path = folder.to_path_buf();
    for part in name.split('/') {
        let Ok(entries) = fs::read_dir(&path) else {
            return false;
        };
        if !entries.flatten().any(|entry| entry.file_name() == part) {
            return false;
        }
        path.push(part);
    }
    has_zone_magic(&path)
}

/// Compiled zone files start with `TZif`; the folder's tables and notes do not.
fn has_zone_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path).and_then(|mut file| file.read_exact(&mut magic)).is_ok() && &magic == b"TZif"
}

fn collect_zone_files(folder: &Path, prefix: &str, names: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(file_name) = entry.file_name().into_string() else {
            continue;
        };
        let name = format!("{prefix}{file_name}");
        if !is_name_shaped(&file_name) || (prefix.is_empty() && NOT_ZONES.contains(&file_name.as_str())) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect_zone_files(&path, &format!("{name}/"), names);
        } else if has_zone_magic(&path) {
            names.push(name);
        }
    }
}

/// `+07:00` → minutes east of UTC; offsets run from -12:00 to +14:00.
fn parse_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || !digits(minutes) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let total = sign * (hours * 60 + minutes);
    (minutes < 60 && (-12 * 60..=14 * 60).contains(&total)).then_some(total)
}

fn format_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60)
}

/// `Etc/GMT+7` → `-7` hours (the sign of these names is inverted: POSIX counts west).
fn etc_gmt_hours(zone: &str) -> Option<i32> {
    let rest = zone.strip_prefix("Etc/GMT")?;
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (-1, &rest[1..]),
        b'-' => (1, &rest[1..]),
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours = sign * digits.parse::<i32>().ok()?;
    (-12..=14).contains(&hours).then_some(hours)
}

/// What people write for an offset (`GMT +7`, `UTC+07:00`, `+7`, `+0700`) → `+07:00`.
fn offset_shorthand(zone: &str) -> Option<String> {
    let upper = zone.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("UTC").or_else(|| upper.strip_prefix("GMT")).unwrap_or(&upper).trim();
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, rest[1..].trim()),
        b'-' => (-1, rest[1..].trim()),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        _ => {
            let split = digits.len() - 2;
            (digits[..split].parse::<i32>().ok()?, digits[split..].parse::<i32>().ok()?)
        }
    };
    let total = sign * (hours * 60 + minutes);
    (minutes < 60 && (-12 * 60..=14 * 60).contains(&total)).then(|| format_offset(total))
}

/// The known name closest to `zone`: within a few edits (ignoring case), or in the same region with
/// a city name that starts the same way (`Asia/Saigon_City` → `Asia/Saigon`).
fn suggestion(zone: &str, names: &[String]) -> Option<String> {
    let wanted = zone.to_lowercase();
    let wanted_len = wanted.chars().count();
    let (wanted_region, wanted_city) = wanted.rsplit_once('/').unwrap_or(("", &wanted));
    names
        .iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = edit_distance(&wanted, &lower);
            let (region, city) = lower.rsplit_once('/').unwrap_or(("", &lower));
            let near = distance <= 2.max(wanted_len / 6) && distance < wanted_len;
            let shared = region == wanted_region
                && city.len().min(wanted_city.len()) >= 4
                && (wanted_city.starts_with(city) || city.starts_with(wanted_city));
            (near || shared).then_some((distance, name))
        })
        .min_by_key(|(distance, name)| (*distance, name.len()))
        .map(|(_, name)| name.clone())
}

const ZONE_EXAMPLE: &str =
    "write timezone = \"Asia/Ho_Chi_Minh\" (Việt Nam), another IANA name such as \"Asia/Bangkok\", or a UTC offset \
     such as \"+07:00\"";

/// A problem with a time zone: severity, message, hint.
pub(super) type ZoneProblem = (Severity, String, String);

/// Checks a `timezone` value; `None` when it is a zone or an offset and says what it seems to.
pub(super) fn check_zone(zone: &str, names: &ZoneNames) -> Option<ZoneProblem> {
    if ALWAYS.contains(&zone) || parse_offset(zone).is_some() {
        return None;
    }
    if let Some(hours) = etc_gmt_hours(zone) {
        if hours == 0 {
            return None;
        }
        let offset = format_offset(hours * 60);
        let message = format!("`{zone}` is UTC{offset}: the sign of Etc/GMT names is the opposite of what they seem");
        let hint = format!("if UTC{offset} is meant, write timezone = \"{offset}\", which reads the way it is meant");
        return Some((Severity::Warning, message, hint));
    }
    if names.contains(zone) {
        return None;
    }
    let message = format!("time zone `{zone}` is not an IANA zone name or a UTC offset");
    let hint = if let Some(offset) = offset_shorthand(zone) {
        format!("for UTC{offset} write timezone = \"{offset}\" (in Việt Nam, \"Asia/Ho_Chi_Minh\")")
    } else if let Some(name) = suggestion(zone, &names.all()) {
        format!("did you mean `{name}`? Zone names are case-sensitive")
    } else {
        ZONE_EXAMPLE.to_string()
    };
    Some((Severity::Error, message, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zoneinfo folder with a few zones, a link, and the files that are not zones.
    fn fake_zoneinfo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let zone = b"TZif2\0\0\0 (rest of a zone file)";
        for name in ["Asia/Ho_Chi_Minh", "Asia/Bangkok", "Europe/Paris", "UTC", "Japan", "posix/Asia/Bangkok"] {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            fs::write(path, zone).expect("write");
        }
        fs::write(dir.path().join("Asia/Saigon"), zone).expect("write");
        fs::write(dir.path().join("zone.tab"), b"# tzdb zone descriptions\n").expect("write");
        fs::write(dir.path().join("leapseconds"), b"# leap seconds\n").expect("write");
        fs::write(dir.path().join("Factory"), zone).expect("write");
        dir
    }

    fn check(names: &ZoneNames, zone: &str, expected: Option<(Severity, &str, &str)>) {
        let actual = check_zone(zone, names);
        let actual = actual.as_ref().map(|(severity, message, hint)| (*severity, message.as_str(), hint.as_str()));
        assert_eq!(actual, expected, "{zone} with {names:?}");
    }

    fn unknown(zone: &str) -> String {
        format!("time zone `{zone}` is not an IANA zone name or a UTC offset")
    }

    /// What every source answers alike.
    fn check_common(names: &ZoneNames) {
        for zone in ["Asia/Ho_Chi_Minh", "Asia/Saigon", "Asia/Bangkok", "UTC", "Etc/UTC", "GMT", "Etc/GMT", "+07:00"] {
            check(names, zone, None);
        }
        for zone in ["-03:30", "+14:00", "-12:00", "+05:45", "Etc/GMT-0", "Etc/GMT+0"] {
            check(names, zone, None);
        }
        check(names, "Mars/Olympus", Some((Severity::Error, &unknown("Mars/Olympus"), ZONE_EXAMPLE)));
        check(
            names,
            "Asia/Saigon_City",
            Some((
                Severity::Error,
                &unknown("Asia/Saigon_City"),
                "did you mean `Asia/Saigon`? Zone names are case-sensitive",
            )),
        );
        check(
            names,
            "asia/ho_chi_minh",
            Some((
                Severity::Error,
                &unknown("asia/ho_chi_minh"),
                "did you mean `Asia/Ho_Chi_Minh`? Zone names are case-sensitive",
            )),
        );
        check(
            names,
            "Asia/Ho Chi Minh",
            Some((
                Severity::Error,
                &unknown("Asia/Ho Chi Minh"),
                "did you mean `Asia/Ho_Chi_Minh`? Zone names are case-sensitive",
            )),
        );
        let for_plus_7 = "for UTC+07:00 write timezone = \"+07:00\" (in Việt Nam, \"Asia/Ho_Chi_Minh\")";
        for zone in ["GMT +7", "UTC+7", "utc+07:00", "+7", "+0700", "GMT+07"] {
            check(names, zone, Some((Severity::Error, &unknown(zone), for_plus_7)));
        }
        for zone in ["+15:00", "+07:60", "07:00", "+7:00", "../../etc/passwd", "", "Asia/", "/etc/localtime"] {
            let problem = check_zone(zone, names);
            assert!(matches!(problem, Some((Severity::Error, _, _))), "{zone}: {problem:?}");
        }
        check(
            names,
            "Etc/GMT+7",
            Some((
                Severity::Warning,
                "`Etc/GMT+7` is UTC-07:00: the sign of Etc/GMT names is the opposite of what they seem",
                "if UTC-07:00 is meant, write timezone = \"-07:00\", which reads the way it is meant",
            )),
        );
        check(
            names,
            "Etc/GMT-7",
            Some((
                Severity::Warning,
                "`Etc/GMT-7` is UTC+07:00: the sign of Etc/GMT names is the opposite of what they seem",
                "if UTC+07:00 is meant, write timezone = \"+07:00\", which reads the way it is meant",
            )),
        );
        assert!(matches!(check_zone("Etc/GMT-15", names), Some((Severity::Error, _, _))));
    }

    #[test]
    fn built_in_names() {
        check_common(&ZoneNames::BuiltIn);
        check(&ZoneNames::BuiltIn, "Asia/Hanoi", Some((Severity::Error, &unknown("Asia/Hanoi"), ZONE_EXAMPLE)));
    }

    #[test]
    fn names_from_a_zoneinfo_folder() {
        let dir = fake_zoneinfo();
        let names = ZoneNames::Folder(dir.path().to_path_buf());
        check_common(&names);
        check(&names, "Europe/Paris", None);
        check(&names, "Japan", None);
        // Not zones: tables, notes, the `posix/` duplicate tree, `Factory`; nor a zone of another case.
        for zone in ["zone.tab", "leapseconds", "posix/Asia/Bangkok", "Factory", "ASIA/Bangkok", "Asia", "Asia/Hanoi"] {
            let problem = check_zone(zone, &names);
            assert!(matches!(problem, Some((Severity::Error, _, _))), "{zone}: {problem:?}");
        }
        assert_eq!(
            names.all(),
            [
                "Asia/Bangkok",
                "Asia/Ho_Chi_Minh",
                "Asia/Saigon",
                "Etc/GMT",
                "Etc/UTC",
                "Europe/Paris",
                "GMT",
                "Japan",
                "UTC"
            ]
        );
    }

    /// The built-in list holds real names only (checked where the system has a zoneinfo folder).
    #[test]
    fn built_in_names_are_real() {
        let ZoneNames::Folder(folder) = ZoneNames::system() else {
            return;
        };
        for name in BUILT_IN.iter().chain(ALWAYS) {
            assert!(is_zone_file(&folder, name), "{name} is not in {}", folder.display());
        }
        assert!(!is_zone_file(&folder, "Asia/Hanoi"), "Asia/Hanoi is not an IANA zone");
        assert!(!is_zone_file(&folder, "localtime"));
    }

    #[test]
    fn offsets() {
        let check = |text: &str, expected: Option<i32>| assert_eq!(parse_offset(text), expected, "{text}");
        check("+07:00", Some(420));
        check("-09:30", Some(-570));
        check("+00:00", Some(0));
        check("+14:01", None);
        check("-12:30", None);
        check("+7", None);
        check("0700", None);
        assert_eq!(format_offset(-570), "-09:30");
    }
}
