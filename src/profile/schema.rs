//! Reading one profile file: parse, then named checks, then the resolved [`Profile`]. The
//! `[printer]` and `[scanner]` tables have their own modules.

use counter_agent_driver_api::{DeviceKind, DeviceSettings};
use toml::Spanned;

use super::printer::{read_printer, PRINTER_KEYS};
use super::scanner::{read_scanner, SCANNER_KEYS};
use super::{Profile, ProfileSet};
use crate::config::reader::{Fields, Sink};
use crate::config::{is_valid_id, Diagnostics};

const TOP_KEYS: &[&str] = &["id", "kind", "vendor", "model", "notes", "printer", "scanner"];

const KINDS: &[(&str, DeviceKind)] = &[("printer", DeviceKind::Printer), ("scanner", DeviceKind::Scanner)];

/// Parses `text`, adds the profile to `set` when it has no errors, and returns what was found.
pub(super) fn load(set: &mut ProfileSet, source: &str, stem: &str, text: &str) -> Diagnostics {
    let sink = Sink::new(source, text);
    let mut id = stem.to_string();
    if let Some(document) = sink.parse() {
        let root = Fields::new(&sink, &document, 0..0, "", TOP_KEYS);
        let profile = read_profile(&root, set, source, stem);
        if let Some(written) = root.get("id").and_then(|id| id.get_ref().as_str()) {
            id = written.to_string();
        }
        match profile {
            Some(profile) if !sink.has_errors() => {
                set.profiles.insert(profile.id.clone(), profile);
                return Diagnostics(sink.finish());
            }
            None if !sink.has_errors() => {
                // Every path that gives up reports why; this keeps a slip from passing silently.
                let message = "profile could not be resolved (an agent bug: please report it)".to_string();
                sink.error(0..0, message, None);
            }
            _ => {}
        }
    }
    if !set.profiles.contains_key(&id) {
        set.broken.entry(id).or_insert_with(|| source.to_string());
    }
    Diagnostics(sink.finish())
}

fn read_profile(root: &Fields<'_>, set: &ProfileSet, source: &str, stem: &str) -> Option<Profile> {
    let sink = root.sink();
    let id = root.required_string("id", &format!("id = \"{stem}\""));
    if let Some(id) = &id {
        check_id(sink, id, stem, set);
    }
    let kind = root.required_string("kind", "kind = \"printer\" or kind = \"scanner\"");
    let kind = kind.and_then(|kind| sink.choice(&kind, "kind", KINDS));
    let vendor = non_empty(sink, root.required_string("vendor", "vendor = \"Epson\""), "vendor");
    let model = non_empty(sink, root.required_string("model", "model = \"TM-T88VI\""), "model");
    let notes = root.string("notes").map(|notes| notes.into_inner().to_string());

    // The table of the other kind is refused as a whole; its contents are not checked.
    let read_printer_table = kind.is_none_or(|kind| kind == DeviceKind::Printer);
    let read_scanner_table = kind.is_none_or(|kind| kind == DeviceKind::Scanner);
    let printer = if read_printer_table {
        root.table("printer", "[printer]", PRINTER_KEYS).map(|table| read_printer(&table))
    } else {
        None
    };
    let scanner = if read_scanner_table {
        root.table("scanner", "[scanner]", SCANNER_KEYS).map(|table| read_scanner(&table))
    } else {
        None
    };
    let (settings, printer, scanner) = match kind? {
        DeviceKind::Printer => {
            refuse_other_table(root, "printer", "scanner");
            let Some(printer) = printer else {
                missing_table(root, "printer");
                return None;
            };
            let (settings, details) = printer?;
            (DeviceSettings::Printer(settings), Some(details), None)
        }
        DeviceKind::Scanner => {
            refuse_other_table(root, "scanner", "printer");
            let Some(scanner) = scanner else {
                missing_table(root, "scanner");
                return None;
            };
            let (settings, details) = scanner?;
            (DeviceSettings::Scanner(settings), None, Some(details))
        }
    };
    Some(Profile {
        id: id?.into_inner().to_string(),
        kind: settings.kind(),
        vendor: vendor?,
        model: model?,
        notes,
        settings,
        printer,
        scanner,
        source: source.to_string(),
    })
}

/// Check: the id is well formed, equals the file stem and is not taken by another file.
fn check_id(sink: &Sink<'_>, id: &Spanned<&str>, stem: &str, set: &ProfileSet) {
    let value = *id.get_ref();
    if !is_valid_id(value) {
        let message = format!("profile id `{value}` must be lowercase letters, digits, `-` and `_`");
        sink.error(id.span(), message, Some("e.g. id = \"epson-tm-t88vi\", in a file named the same".into()));
    } else if value != stem {
        let message = format!("profile id `{value}` does not match the file name `{stem}.toml`");
        let hint = format!("rename the file to `{value}.toml` or write id = \"{stem}\"");
        sink.error(id.span(), message, Some(hint));
    }
    let earlier = set.get(value).map(|profile| profile.source.as_str()).or_else(|| set.broken_source(value));
    if let Some(earlier) = earlier {
        let message = format!("profile `{value}` is defined twice: in {earlier} and in {}", sink.file());
        let hint = "copy a profile under a new file name and id to change it, and use that id in station.toml";
        sink.error(id.span(), message, Some(hint.into()));
    }
}

fn non_empty(sink: &Sink<'_>, value: Option<Spanned<&str>>, key: &str) -> Option<String> {
    let value = value?;
    if value.get_ref().trim().is_empty() {
        sink.error(
            value.span(),
            format!("`{key}` is empty"),
            Some(format!("write the {key} as on the device's label")),
        );
        return None;
    }
    Some(value.into_inner().trim().to_string())
}

fn refuse_other_table(root: &Fields<'_>, kind: &str, other: &str) {
    if let Some(span) = root.key_span(other) {
        let message = format!("a {kind} profile cannot have a [{other}] table");
        let hint = format!("remove [{other}], or set kind = \"{other}\" and remove [{kind}]");
        root.sink().error(span, message, Some(hint));
    }
}

fn missing_table(root: &Fields<'_>, kind: &str) {
    let message = format!("a {kind} profile needs a [{kind}] table");
    let hint = format!("add [{kind}] with its keys; see the shipped profiles in profiles/{kind}/");
    root.sink().error(root.span(), message, Some(hint));
}
