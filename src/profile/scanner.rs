//! The `[scanner]` table of a profile and its checks.

use counter_agent_driver_api::{SaneOptionMap, ScanSource, ScannerSettings};
use toml::de::DeValue;
use toml::Spanned;

use super::{SaneOptionNames, ScannerDetails};
use crate::config::reader::Fields;

pub(super) const SCANNER_KEYS: &[&str] =
    &["max_dpi", "default_dpi", "sources", "duplex_back_rotate_180", "options", "source_values", "mode_values", "set"];
const OPTION_KEYS: &[&str] = &["source", "mode", "resolution"];
const SOURCE_KEYS: &[&str] = &["flatbed", "adf", "adf-duplex"];
const MODE_KEYS: &[&str] = &["color", "gray", "lineart"];
const SOURCES: &[(&str, ScanSource)] =
    &[("flatbed", ScanSource::Flatbed), ("adf", ScanSource::Adf), ("adf-duplex", ScanSource::AdfDuplex)];

pub(super) fn read_scanner(table: &Fields<'_>) -> Option<(ScannerSettings, ScannerDetails)> {
    let sink = table.sink();
    let max_dpi = table.required_number("max_dpi", 1, 19_200, "max_dpi = 600");
    let default_dpi = table.required_number("default_dpi", 1, 19_200, "default_dpi = 300");
    let sources = table.required_strings("sources", "sources = [\"flatbed\", \"adf\"]");
    let sources: Option<Vec<Spanned<ScanSource>>> = sources.map(|sources| {
        sources
            .iter()
            .filter_map(|source| Some(Spanned::new(source.span(), sink.choice(source, "source", SOURCES)?)))
            .collect()
    });
    let rotate = table.boolean("duplex_back_rotate_180");
    let options = read_options(table);
    let extra = read_set(table);

    if let (Some(max), Some(default)) = (&max_dpi, &default_dpi) {
        if default.get_ref() > max.get_ref() {
            let message = format!("default_dpi = {} is above max_dpi = {}", default.get_ref(), max.get_ref());
            let hint = format!("lower default_dpi to {} or less; 300 dpi suits text pages", max.get_ref());
            sink.error(default.span(), message, Some(hint));
        }
    }
    let sources = sources?;
    check_sources(table, &sources, options.as_ref());
    if let Some(flag) = rotate.as_ref().filter(|flag| *flag.get_ref()) {
        if !sources.iter().any(|source| *source.get_ref() == ScanSource::AdfDuplex) {
            let message = "duplex_back_rotate_180 is set but sources has no \"adf-duplex\"".to_string();
            sink.warning(flag.span(), message, Some("add \"adf-duplex\" to sources or remove the key".into()));
        }
    }

    let options = options?;
    let settings = ScannerSettings {
        max_dpi: max_dpi?.into_inner(),
        default_dpi: default_dpi?.into_inner(),
        sources: sources.into_iter().map(Spanned::into_inner).collect(),
        duplex_back_rotate_180: rotate.is_some_and(Spanned::into_inner),
        sane: Box::new(SaneOptionMap { extra: extra?, ..option_map(&options) }),
    };
    Some((settings, ScannerDetails { options }))
}

/// The typed option map the SANE driver receives (drivers never read TOML).
fn option_map(names: &SaneOptionNames) -> SaneOptionMap {
    SaneOptionMap {
        source: names.source.clone(),
        mode: names.mode.clone(),
        resolution: names.resolution.clone(),
        flatbed_values: names.flatbed_values.clone(),
        adf_values: names.adf_values.clone(),
        adf_duplex_values: names.adf_duplex_values.clone(),
        color_values: names.color_values.clone(),
        gray_values: names.gray_values.clone(),
        lineart_values: names.lineart_values.clone(),
        extra: Vec::new(),
    }
}

/// `[scanner.set]`: backend options set before every scan, e.g. `df-action = "Stop"` (fujitsu:
/// stop on a double feed). Values are strings, integers, floats or booleans, passed to the driver
/// as text in the order written; whether the backend has the option is known only when the
/// device is opened (an unknown option then fails the scan with a clear message).
fn read_set(table: &Fields<'_>) -> Option<Vec<(String, String)>> {
    let sink = table.sink();
    let Some(value) = table.get("set") else {
        return Some(Vec::new());
    };
    let DeValue::Table(entries) = value.get_ref() else {
        let hint = "write it as a table: [scanner.set] on its own line, then option = value".to_string();
        sink.type_error(value, "`set`", "a table", Some(hint));
        return None;
    };
    let mut extra = Vec::new();
    let mut good = true;
    // In the order written: some backends need one option before another (e.g. mode before depth).
    let mut entries: Vec<_> = entries.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in entries {
        let text = match value.get_ref() {
            DeValue::String(text) => text.to_string(),
            DeValue::Integer(number) => number.as_str().to_string(),
            DeValue::Float(number) => number.as_str().to_string(),
            DeValue::Boolean(flag) => if *flag { "yes" } else { "no" }.to_string(),
            _ => {
                let hint = format!("write {} = \"value\", a number or true/false", key.get_ref());
                sink.type_error(value, &format!("`{}`", key.get_ref()), "a string, number or boolean", Some(hint));
                good = false;
                continue;
            }
        };
        extra.push((key.get_ref().to_string(), text));
    }
    good.then_some(extra)
}

/// Check: at least one source, each once, each with a SANE value name to select it.
fn check_sources(table: &Fields<'_>, sources: &[Spanned<ScanSource>], options: Option<&SaneOptionNames>) {
    let sink = table.sink();
    if table.is_empty_array("sources") {
        let span = table.get("sources").map_or(table.span(), |value| value.span());
        let hint = "list where paper can go: \"flatbed\", \"adf\", \"adf-duplex\"";
        sink.error(span, "`sources` is empty".into(), Some(hint.into()));
    }
    for (i, source) in sources.iter().enumerate() {
        let source_name = source.get_ref().as_str();
        if sources[..i].iter().any(|earlier| earlier.get_ref() == source.get_ref()) {
            sink.warning(source.span(), format!("source `{source_name}` listed twice"), Some("remove one".into()));
            continue;
        }
        if options.is_some_and(|options| options.source_values(*source.get_ref()).is_empty()) {
            let message = format!("source `{source_name}` has no SANE value name");
            let hint = format!(
                "add {source_name} = [\"…\"] to [scanner.source_values] with the backend's name for it \
                 (see `scanimage --help -d DEVICE`)"
            );
            sink.error(source.span(), message, Some(hint));
        }
    }
}

fn read_options(table: &Fields<'_>) -> Option<SaneOptionNames> {
    let options = table.table("options", "[scanner.options]", OPTION_KEYS);
    let option_name = |key: &str| -> Option<String> {
        let Some(options) = &options else {
            return Some(key.to_string());
        };
        match options.string(key) {
            Some(name) if name.get_ref().trim().is_empty() => {
                let hint = format!("write the SANE option name, usually {key} = \"{key}\"");
                options.sink().error(name.span(), format!("option name `{key}` is empty"), Some(hint));
                None
            }
            Some(name) => Some(name.into_inner().to_string()),
            None if options.get(key).is_some() => None,
            None => Some(key.to_string()),
        }
    };
    let (source, mode, resolution) = (option_name("source"), option_name("mode"), option_name("resolution"));

    let sources = table.table("source_values", "[scanner.source_values]", SOURCE_KEYS);
    let modes = table.table("mode_values", "[scanner.mode_values]", MODE_KEYS);
    let values = |fields: &Option<Fields<'_>>, key: &str, default: &[&str]| -> Option<Vec<String>> {
        match fields {
            Some(fields) if fields.get(key).is_some() => value_names(fields, key),
            _ => Some(default.iter().map(|name| name.to_string()).collect()),
        }
    };
    Some(SaneOptionNames {
        flatbed_values: values(&sources, "flatbed", &[])?,
        adf_values: values(&sources, "adf", &[])?,
        adf_duplex_values: values(&sources, "adf-duplex", &[])?,
        color_values: values(&modes, "color", &["Color"])?,
        gray_values: values(&modes, "gray", &["Gray"])?,
        lineart_values: values(&modes, "lineart", &["Lineart"])?,
        source: source?,
        mode: mode?,
        resolution: resolution?,
    })
}

/// A value name or a list of them (tried in order); empty names are refused.
fn value_names(fields: &Fields<'_>, key: &str) -> Option<Vec<String>> {
    let sink = fields.sink();
    let value = fields.get(key)?;
    let names = match value.get_ref() {
        DeValue::String(_) => vec![fields.string(key)?],
        _ => fields.strings(key)?,
    };
    let mut good = Vec::new();
    for name in names {
        if name.get_ref().trim().is_empty() {
            let hint = "write the value as the backend lists it, e.g. \"ADF\"".to_string();
            sink.error(name.span(), format!("empty value name in `{key}`"), Some(hint));
        } else {
            good.push(name.into_inner().to_string());
        }
    }
    Some(good)
}
