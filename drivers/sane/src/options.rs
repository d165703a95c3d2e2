//! SANE option descriptors and values as plain data, and the pure choice of what to set for a
//! [`ScanRequest`]: source (flatbed / ADF / ADF duplex), mode and resolution.
//!
//! This module owns the matching rules; it must not call libsane. Names are matched first against
//! the profile's [`SaneOptionMap`] (case-insensitive, in order), then by the patterns NAPS2 uses
//! (a value *containing* ADF/Feeder, Duplex, Color/Colour, Gray/Grey, Lineart/Binary/Black & White).
//! When nothing fits, the error lists what the device does offer.

use std::fmt;

use counter_agent_driver_api::{ColorMode, SaneOptionMap, ScanSource};

/// `SANE_CAP_SOFT_SELECT`: the option can be set by software.
pub const CAP_SOFT_SELECT: i32 = 1;
/// `SANE_CAP_INACTIVE`: the option is currently not in effect.
pub const CAP_INACTIVE: i32 = 32;

/// `SANE_Value_Type`, an open integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Bool,
    Int,
    /// 16.16 fixed point in a word.
    Fixed,
    String,
    Button,
    Group,
    Other(i32),
}

impl ValueType {
    pub(crate) fn from_code(code: i32) -> ValueType {
        match code {
            0 => ValueType::Bool,
            1 => ValueType::Int,
            2 => ValueType::Fixed,
            3 => ValueType::String,
            4 => ValueType::Button,
            5 => ValueType::Group,
            other => ValueType::Other(other),
        }
    }
}

/// An option's constraint, copied. Range and word-list values are raw words (INT or 16.16 FIXED,
/// as the option's type says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    None,
    Range { min: i32, max: i32, quant: i32 },
    WordList(Vec<i32>),
    StringList(Vec<String>),
}

/// One option descriptor, copied out of libsane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDescriptor {
    /// Its index for `sane_control_option`; valid until the next `RELOAD_OPTIONS`.
    pub index: i32,
    pub name: String,
    pub title: String,
    pub value_type: ValueType,
    pub unit: i32,
    /// Bytes of the value buffer (a 4-byte word per INT/FIXED/BOOL element; strings include the NUL).
    pub size: i32,
    pub cap: i32,
    pub constraint: Constraint,
}

impl OptionDescriptor {
    /// Active and settable by software.
    pub fn is_settable(&self) -> bool {
        self.cap & CAP_SOFT_SELECT != 0 && self.cap & CAP_INACTIVE == 0
    }

    /// The string choices, or empty.
    fn strings(&self) -> &[String] {
        match &self.constraint {
            Constraint::StringList(list) => list,
            _ => &[],
        }
    }
}

/// An option's value. INT and FIXED are arrays when `size > 4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Bool(bool),
    Int(Vec<i32>),
    /// Raw 16.16 words.
    Fixed(Vec<i32>),
    Text(String),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = |f: &mut fmt::Formatter<'_>, words: &[i32], fixed: bool| {
            for (i, word) in words.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                if fixed {
                    write!(f, "{}", fixed_to_f64(*word))?;
                } else {
                    write!(f, "{word}")?;
                }
            }
            Ok(())
        };
        match self {
            OptionValue::Bool(on) => f.write_str(if *on { "yes" } else { "no" }),
            OptionValue::Int(values) => words(f, values, false),
            OptionValue::Fixed(values) => words(f, values, true),
            OptionValue::Text(text) => f.write_str(text),
        }
    }
}

/// `SANE_UNFIX`.
pub fn fixed_to_f64(word: i32) -> f64 {
    f64::from(word) / 65536.0
}

/// `SANE_FIX`, saturating.
pub fn f64_to_fixed(value: f64) -> i32 {
    (value * 65536.0).round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// Parses `text` as a value of the option `descriptor` describes (for profile `extra` options and
/// the test fault-injection script): `yes`/`no` for BOOL, comma-separated numbers for INT/FIXED.
pub fn parse_value(descriptor: &OptionDescriptor, text: &str) -> Result<OptionValue, String> {
    let text = text.trim();
    let numbers = |fixed: bool| -> Result<Vec<i32>, String> {
        text.split(',')
            .map(|part| {
                let part = part.trim();
                if fixed {
                    part.parse::<f64>().map(f64_to_fixed).map_err(|_| format!("`{part}` is not a number"))
                } else {
                    part.parse::<i32>().map_err(|_| format!("`{part}` is not a whole number"))
                }
            })
            .collect()
    };
    match descriptor.value_type {
        ValueType::Bool => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "on" => Ok(OptionValue::Bool(true)),
            "no" | "false" | "0" | "off" => Ok(OptionValue::Bool(false)),
            _ => Err(format!("option `{}` takes yes or no, not `{text}`", descriptor.name)),
        },
        ValueType::Int => numbers(false).map(OptionValue::Int),
        ValueType::Fixed => numbers(true).map(OptionValue::Fixed),
        ValueType::String => Ok(OptionValue::Text(text.to_owned())),
        _ => Err(format!("option `{}` has no value to set", descriptor.name)),
    }
}

/// One option to set, by name (indices change after `RELOAD_OPTIONS`, names do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    pub value: OptionValue,
}

/// Why a request cannot be met on this device, with what it does offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn find<'a>(descriptors: &'a [OptionDescriptor], name: &str) -> Option<&'a OptionDescriptor> {
    descriptors.iter().find(|d| d.name == name && d.is_settable())
}

/// The first of `choices` equal (ignoring case) to a profile name, in the profile's order; else
/// the first that matches `pattern`.
fn pick<'a>(choices: &'a [String], profile: &[String], pattern: impl Fn(&str) -> bool) -> Option<&'a String> {
    profile
        .iter()
        .find_map(|wanted| choices.iter().find(|choice| choice.eq_ignore_ascii_case(wanted)))
        .or_else(|| choices.iter().find(|choice| pattern(&choice.to_ascii_lowercase())))
}

fn is_duplex(value: &str) -> bool {
    value.contains("duplex")
}

fn is_adf(value: &str) -> bool {
    (value.contains("adf") || value.contains("feeder")) && !is_duplex(value) && !value.contains("back")
}

fn is_flatbed(value: &str) -> bool {
    value.contains("flatbed") || value.contains("platen") || value.contains("glass")
}

/// What to set so that paper comes from `source`.
///
/// ADF duplex is, in order: a source value for duplex (`ADF Duplex`); an ADF source plus an
/// `adf-mode`/`adf_mode` value containing "Duplex"; an ADF source plus a `duplex` bool.
pub fn choose_source(
    descriptors: &[OptionDescriptor],
    map: &SaneOptionMap,
    source: ScanSource,
) -> Result<Vec<Setting>, Unsupported> {
    let Some(option) = find(descriptors, &map.source) else {
        // No source option: a flatbed-only (or feeder-only) device that cannot be switched.
        return match source {
            ScanSource::Flatbed => Ok(Vec::new()),
            _ => Err(Unsupported(format!(
                "this scanner has no `{}` option, so it cannot be switched to {} — scan from the flatbed",
                map.source,
                source.as_str()
            ))),
        };
    };
    let choices = option.strings();
    let set = |value: &str| Setting { name: option.name.clone(), value: OptionValue::Text(value.to_owned()) };
    let offered = || Unsupported(format!("this scanner offers sources: {}", choices.join(", ")));
    match source {
        ScanSource::Flatbed => {
            pick(choices, &map.flatbed_values, is_flatbed).map(|value| vec![set(value)]).ok_or_else(offered)
        }
        ScanSource::Adf => {
            let value = pick(choices, &map.adf_values, is_adf).ok_or_else(offered)?;
            let mut settings = vec![set(value)];
            settings.extend(duplex_switch(descriptors, false));
            Ok(settings)
        }
        ScanSource::AdfDuplex => {
            if let Some(value) = pick(choices, &map.adf_duplex_values, |v| is_duplex(v) && !is_flatbed(v)) {
                return Ok(vec![set(value)]);
            }
            let adf = pick(choices, &map.adf_values, is_adf).ok_or_else(offered)?;
            let Some(switch) = duplex_switch(descriptors, true) else {
                return Err(Unsupported(format!(
                    "this scanner cannot scan both sides (no duplex source, `adf-mode` or `duplex` option); \
                     it offers sources: {}",
                    choices.join(", ")
                )));
            };
            Ok(vec![set(adf), switch])
        }
    }
}

/// The `adf-mode`/`adf_mode` value or `duplex` bool for simplex (`duplex = false`) or duplex.
fn duplex_switch(descriptors: &[OptionDescriptor], duplex: bool) -> Option<Setting> {
    for name in ["adf-mode", "adf_mode"] {
        if let Some(option) = find(descriptors, name) {
            let wanted = option.strings().iter().find(|v| is_duplex(&v.to_ascii_lowercase()) == duplex);
            if let Some(value) = wanted {
                return Some(Setting { name: option.name.clone(), value: OptionValue::Text(value.clone()) });
            }
        }
    }
    find(descriptors, "duplex")
        .filter(|option| option.value_type == ValueType::Bool)
        .map(|option| Setting { name: option.name.clone(), value: OptionValue::Bool(duplex) })
}

/// What to set for `color`. `Auto` scans in colour (the pipeline decides per page); `Bw` falls
/// back to gray when the device has no lineart mode (the pipeline thresholds it).
pub fn choose_mode(
    descriptors: &[OptionDescriptor],
    map: &SaneOptionMap,
    color: ColorMode,
) -> Result<Vec<Setting>, Unsupported> {
    let Some(option) = find(descriptors, &map.mode) else {
        return Ok(Vec::new());
    };
    let choices = option.strings();
    let color_value = || pick(choices, &map.color_values, |v| v.contains("color") || v.contains("colour"));
    let gray_value = || pick(choices, &map.gray_values, |v| v.contains("gray") || v.contains("grey"));
    let lineart_value =
        || pick(choices, &map.lineart_values, |v| v.contains("lineart") || v.contains("binary") || v.contains("black"));
    let value = match color {
        ColorMode::Auto | ColorMode::Color => color_value(),
        ColorMode::Gray => gray_value(),
        ColorMode::Bw => lineart_value().or_else(gray_value),
    };
    let value = value.ok_or_else(|| {
        Unsupported(format!(
            "colour mode `{}` is not offered; this scanner offers: {}",
            color.as_str(),
            choices.join(", ")
        ))
    })?;
    Ok(vec![Setting { name: option.name.clone(), value: OptionValue::Text(value.clone()) }])
}

/// The resolution option to set for `dpi` (INT or FIXED; range with quant or word list), the
/// nearest value the device offers. A dpi outside what it offers is refused with the offer.
/// Falls back to `x-resolution` (+ `y-resolution`) when the named option is missing.
pub fn choose_resolution(
    descriptors: &[OptionDescriptor],
    map: &SaneOptionMap,
    dpi: u32,
) -> Result<Vec<Setting>, Unsupported> {
    let mut names = vec![map.resolution.as_str()];
    if find(descriptors, &map.resolution).is_none() {
        names = vec!["x-resolution", "y-resolution"];
    }
    let mut settings = Vec::new();
    for name in names {
        let Some(option) = find(descriptors, name) else { continue };
        let fixed = option.value_type == ValueType::Fixed;
        let to_dpi = |word: i32| if fixed { fixed_to_f64(word) } else { f64::from(word) };
        let from_dpi = |dpi: f64| if fixed { f64_to_fixed(dpi) } else { dpi.round() as i32 };
        let wanted = f64::from(dpi);
        let word = match &option.constraint {
            Constraint::Range { min, max, quant } => {
                let (min, max) = (to_dpi(*min), to_dpi(*max));
                if wanted < min.floor() || wanted > max.ceil() {
                    return Err(Unsupported(format!("{dpi} dpi is not offered; this scanner offers {min}–{max} dpi")));
                }
                let quant = to_dpi(*quant);
                let value = if quant > 0.0 { min + ((wanted - min) / quant).round() * quant } else { wanted };
                from_dpi(value.clamp(min, max))
            }
            Constraint::WordList(list) if !list.is_empty() => {
                let values: Vec<f64> = list.iter().map(|w| to_dpi(*w)).collect();
                let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
                let highest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if wanted < lowest || wanted > highest {
                    let offer: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
                    return Err(Unsupported(format!(
                        "{dpi} dpi is not offered; this scanner offers {} dpi",
                        offer.join(", ")
                    )));
                }
                let nearest = list
                    .iter()
                    .min_by(|a, b| (to_dpi(**a) - wanted).abs().total_cmp(&(to_dpi(**b) - wanted).abs()))
                    .copied();
                nearest.unwrap_or(from_dpi(wanted))
            }
            _ => from_dpi(wanted),
        };
        let value = if fixed { OptionValue::Fixed(vec![word]) } else { OptionValue::Int(vec![word]) };
        settings.push(Setting { name: option.name.clone(), value });
    }
    Ok(settings)
}

/// The dpi a resolution value stands for (as read back after setting it).
pub fn value_dpi(value: &OptionValue) -> Option<u32> {
    match value {
        OptionValue::Int(words) => words.first().and_then(|w| u32::try_from(*w).ok()),
        OptionValue::Fixed(words) => words.first().map(|w| fixed_to_f64(*w).round().max(0.0) as u32),
        _ => None,
    }
}

/// A one-line summary of what the device offers (sources, modes, resolutions), for messages.
pub fn summary(descriptors: &[OptionDescriptor], map: &SaneOptionMap) -> String {
    let mut parts = Vec::new();
    for (label, name) in [("sources", &map.source), ("modes", &map.mode)] {
        if let Some(option) = descriptors.iter().find(|d| &d.name == name) {
            parts.push(format!("{label}: {}", option.strings().join(", ")));
        }
    }
    if let Some(option) = descriptors.iter().find(|d| d.name == map.resolution) {
        let fixed = option.value_type == ValueType::Fixed;
        let to_dpi = |word: i32| if fixed { fixed_to_f64(word) } else { f64::from(word) };
        let offer = match &option.constraint {
            Constraint::Range { min, max, .. } => format!("{}–{}", to_dpi(*min), to_dpi(*max)),
            Constraint::WordList(list) => list.iter().map(|w| format!("{}", to_dpi(*w))).collect::<Vec<_>>().join(", "),
            _ => "any".to_owned(),
        };
        parts.push(format!("dpi: {offer}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests;
