//! The named checks behind [`super::parse`]: each reads one field of a JSON object, cleans it and
//! records a message naming the field path when it is wrong.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use super::{LocalDateTime, TemplateError, MAX_URL_BYTES};
use crate::print::render::a4::font;

/// Longest piece of a client's value quoted back in a message.
const QUOTE_CHARS: usize = 40;

/// The problems found so far, in field order.
#[derive(Debug, Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn push(&mut self, message: String) {
        self.0.push(message);
    }

    pub(super) fn into_error(self) -> TemplateError {
        TemplateError::Invalid(self.0)
    }

    /// The value when nothing was wrong, else every problem.
    pub(super) fn into_result<T>(self, value: T) -> Result<T, TemplateError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.into_error())
        }
    }
}

/// One JSON object being read, field by field; `prefix` is its path (`documents[1]`), empty at the top.
pub(super) struct Fields<'a> {
    prefix: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// The object at `path`, or a problem when `value` is not one.
    pub(super) fn of(problems: &mut Problems, path: &str, value: &'a Value) -> Option<Fields<'a>> {
        match value {
            Value::Object(map) => Some(Fields { prefix: path.to_owned(), map }),
            other if path.is_empty() => {
                problems.push(format!("template data must be a JSON object, got {}", quote_json(other)));
                None
            }
            other => {
                problems.push(format!("`{path}` must be an object, got {}", quote_json(other)));
                None
            }
        }
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// The field's value; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// A required field, or a "missing" problem.
    fn required(&self, problems: &mut Problems, key: &str) -> Option<&'a Value> {
        let value = self.get(key);
        if value.is_none() {
            problems.push(format!("`{}` is missing", self.path(key)));
        }
        value
    }

    /// Required text of at most `max_chars` characters, cleaned (see [`clean_text`]).
    pub(super) fn text(&self, problems: &mut Problems, key: &str, max_chars: usize) -> Option<String> {
        let value = self.required(problems, key)?;
        text_value(problems, &self.path(key), value, max_chars)
    }

    /// Optional text: absent, `null` or blank is none.
    pub(super) fn optional_text(&self, problems: &mut Problems, key: &str, max_chars: usize) -> Option<String> {
        let value = self.get(key)?;
        if value.as_str().is_some_and(|text| text.trim().is_empty()) {
            return None;
        }
        text_value(problems, &self.path(key), value, max_chars)
    }

    /// A required whole number within `range`.
    pub(super) fn number(&self, problems: &mut Problems, key: &str, range: RangeInclusive<u32>) -> Option<u32> {
        let value = self.required(problems, key)?;
        number_value(problems, &self.path(key), value, range)
    }

    /// An optional whole number within `range`.
    pub(super) fn optional_number(
        &self,
        problems: &mut Problems,
        key: &str,
        range: RangeInclusive<u32>,
    ) -> Option<u32> {
        let value = self.get(key)?;
        number_value(problems, &self.path(key), value, range)
    }

    /// A required list whose length is within `range`.
    pub(super) fn list(
        &self,
        problems: &mut Problems,
        key: &str,
        range: RangeInclusive<usize>,
    ) -> Option<&'a Vec<Value>> {
        let value = self.required(problems, key)?;
        list_value(problems, &self.path(key), value, range)
    }

    /// An optional list whose length is within `range`.
    pub(super) fn optional_list(
        &self,
        problems: &mut Problems,
        key: &str,
        range: RangeInclusive<usize>,
    ) -> Option<&'a Vec<Value>> {
        let value = self.get(key)?;
        list_value(problems, &self.path(key), value, range)
    }

    /// One of the `choices` (wire name, value).
    pub(super) fn choice<T: Copy>(&self, problems: &mut Problems, key: &str, choices: &[(&str, T)]) -> Option<T> {
        let value = self.required(problems, key)?;
        let found = value.as_str().and_then(|name| choices.iter().find(|(wire, _)| *wire == name.trim()));
        if found.is_none() {
            let names: Vec<String> = choices.iter().map(|(wire, _)| format!("\"{wire}\"")).collect();
            problems.push(format!(
                "`{}` must be one of {}, got {}",
                self.path(key),
                names.join(", "),
                quote_json(value)
            ));
        }
        found.map(|(_, choice)| *choice)
    }

    /// The dossier code of Circular 01/2018/TT-VPCP art. 19: `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX`.
    pub(super) fn dossier_code(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let code = self.text(problems, key, 40)?;
        let path = self.path(key);
        if !is_dossier_code_shape(&code) {
            problems.push(format!(
                "`{path}` `{}` is not in the form V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX (e.g. 000.00.31.H26-261204-0001)",
                shorten(&code)
            ));
            return None;
        }
        let yymmdd = &code[14..20];
        let date = format!("20{}-{}-{}", &yymmdd[0..2], &yymmdd[2..4], &yymmdd[4..6]);
        if LocalDateTime::parse(&date).is_none() {
            problems.push(format!("`{path}` `{code}` has no real date in its YYMMDD part ({yymmdd})"));
            return None;
        }
        Some(code)
    }

    /// A local date and time, `YYYY-MM-DDTHH:MM`, or also a date alone when `date_alone` is allowed.
    pub(super) fn date_time(
        &self,
        problems: &mut Problems,
        key: &str,
        date_alone: bool,
    ) -> Option<(LocalDateTime, String)> {
        let text = self.text(problems, key, 40)?;
        let parsed = LocalDateTime::parse(&text).filter(|parsed| date_alone || parsed.time.is_some());
        if parsed.is_none() {
            let form = if date_alone {
                "YYYY-MM-DD or YYYY-MM-DDTHH:MM (e.g. 2026-12-11 or 2026-12-11T14:00)"
            } else {
                "YYYY-MM-DDTHH:MM (e.g. 2026-12-04T08:15)"
            };
            problems.push(format!(
                "`{}` `{}` is not a real date and time in the form {form}",
                self.path(key),
                shorten(&text)
            ));
        }
        parsed.map(|parsed| (parsed, text))
    }

    /// A required `https://` URL (see [`super::parse`]).
    pub(super) fn url(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let value = self.required(problems, key)?;
        url_value(problems, &self.path(key), value)
    }

    /// An optional `https://` URL: absent, `null` or blank is none.
    pub(super) fn optional_url(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let value = self.get(key)?;
        if value.as_str().is_some_and(|text| text.trim().is_empty()) {
            return None;
        }
        url_value(problems, &self.path(key), value)
    }

    /// An optional phone number: digits, spaces and `+ . - ( )`, with 3 to 15 digits.
    pub(super) fn phone(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let phone = self.optional_text(problems, key, 20)?;
        let allowed = phone.chars().all(|c| c.is_ascii_digit() || " +.-()".contains(c));
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(3..=15).contains(&digits) {
            problems.push(format!(
                "`{}` `{}` is not a phone number (3 to 15 digits; spaces and + . - ( ) allowed)",
                self.path(key),
                shorten(&phone)
            ));
            return None;
        }
        Some(phone)
    }

    /// An optional e-mail address: one `@` with text on both sides and a dot in the domain, no spaces.
    pub(super) fn email(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let email = self.optional_text(problems, key, 254)?;
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.contains(' ')
            }
            None => false,
        };
        if !valid {
            problems.push(format!("`{}` `{}` is not an e-mail address", self.path(key), shorten(&email)));
            return None;
        }
        Some(email)
    }

    /// A queue ticket number: 1 to 10 ASCII letters, digits or `-` (e.g. `A1023`).
    pub(super) fn ticket_number(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let number = self.text(problems, key, 10)?;
        if !number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            problems.push(format!(
                "`{}` `{}` must be ASCII letters, digits or - (e.g. A1023)",
                self.path(key),
                shorten(&number)
            ));
            return None;
        }
        Some(number)
    }

    /// Records every field not in `known`, in name order.
    pub(super) fn refuse_unknown(&self, problems: &mut Problems, known: &[&str]) {
        let mut unknown: Vec<&String> = self.map.keys().filter(|key| !known.contains(&key.as_str())).collect();
        unknown.sort();
        for key in unknown {
            problems.push(format!("`{}` is not a known field", self.path(&shorten(key))));
        }
    }
}

/// Text at `path`: a JSON string, cleaned, non-empty, at most `max_chars` characters.
pub(super) fn text_value(problems: &mut Problems, path: &str, value: &Value, max_chars: usize) -> Option<String> {
    let Some(raw) = value.as_str() else {
        problems.push(format!("`{path}` must be text, got {}", quote_json(value)));
        return None;
    };
    match clean_text(raw, max_chars) {
        Ok(text) => Some(text),
        Err(problem) => {
            problems.push(format!("`{path}` {problem}"));
            None
        }
    }
}

/// Trims, collapses inner runs of spaces, normalises to NFC and checks what printing needs: not empty,
/// at most `max_chars` characters, no control characters, every character drawable by the bundled font.
/// The error completes a sentence that starts with the field's path.
pub(super) fn clean_text(raw: &str, max_chars: usize) -> Result<String, String> {
    if let Some(control) = raw.chars().find(|&c| is_control(c)) {
        return Err(format!("contains a control character ({})", code_point(control)));
    }
    let text: String = raw.split(' ').filter(|word| !word.is_empty()).collect::<Vec<_>>().join(" ");
    let text: String = text.trim().nfc().collect();
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    let n_chars = text.chars().count();
    if n_chars > max_chars {
        return Err(format!("is too long: {n_chars} characters, at most {max_chars}"));
    }
    if let Some(missing) = text.chars().find(|&c| !font::can_draw(c)) {
        return Err(format!(
            "contains a character the printer font cannot draw: '{missing}' ({})",
            code_point(missing)
        ));
    }
    Ok(text)
}

/// Control characters, line and paragraph separators and bidirectional overrides: none of them belongs
/// on a printed line, and the bidi ones can make a name read differently from what it is.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

fn number_value(problems: &mut Problems, path: &str, value: &Value, range: RangeInclusive<u32>) -> Option<u32> {
    let number = value.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| range.contains(n));
    if number.is_none() {
        problems.push(format!(
            "`{path}` must be a whole number from {} to {}, got {}",
            range.start(),
            range.end(),
            quote_json(value)
        ));
    }
    number
}

fn list_value<'a>(
    problems: &mut Problems,
    path: &str,
    value: &'a Value,
    range: RangeInclusive<usize>,
) -> Option<&'a Vec<Value>> {
    let Some(entries) = value.as_array() else {
        problems.push(format!("`{path}` must be a list, got {}", quote_json(value)));
        return None;
    };
    if !range.contains(&entries.len()) {
        problems.push(format!(
            "`{path}` must have {} to {} entries, got {}",
            range.start(),
            range.end(),
            entries.len()
        ));
        return None;
    }
    Some(entries)
}

fn url_value(problems: &mut Problems, path: &str, value: &Value) -> Option<String> {
    let Some(raw) = value.as_str() else {
        problems.push(format!("`{path}` must be text, got {}", quote_json(value)));
        return None;
    };
    let url = raw.trim();
    // The authority (host and port) runs from after the scheme to the first `/`, `?` or `#`.
    let authority = url.get(8..).and_then(|rest| rest.split(['/', '?', '#']).next()).unwrap_or_default();
    let problem = if url.len() > MAX_URL_BYTES {
        Some(format!("is too long: {} bytes, at most {MAX_URL_BYTES}", url.len()))
    } else if !url.bytes().all(|b| b.is_ascii_graphic()) {
        Some("must be printable ASCII without spaces (percent-encode other characters)".to_owned())
    } else if !url.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://")) {
        Some(format!("must start with https://, got `{}`", shorten(url)))
    } else if authority.contains('@') {
        Some("must not carry a user name or password".to_owned())
    } else if authority.is_empty() || authority.starts_with(':') {
        Some(format!("`{}` has no host", shorten(url)))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            problems.push(format!("`{path}` {problem}"));
            None
        }
        None => Some(url.to_owned()),
    }
}

/// `DDD.DD.DD.LDD-DDDDDD-DDDD` with ASCII digits `D` and an upper-case letter `L`.
fn is_dossier_code_shape(code: &str) -> bool {
    const SHAPE: &[u8] = b"999.99.99.A99-999999-9999";
    code.len() == SHAPE.len()
        && code.bytes().zip(SHAPE).all(|(byte, &shape)| match shape {
            b'9' => byte.is_ascii_digit(),
            b'A' => byte.is_ascii_uppercase(),
            literal => byte == literal,
        })
}

/// See [`LocalDateTime::parse`].
pub(super) fn parse_local_date_time(text: &str) -> Option<LocalDateTime> {
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let date = date.as_bytes();
    if date.len() != 10 || date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let year = digits(&date[0..4])?;
    let month = digits(&date[5..7])?;
    let day = digits(&date[8..10])?;
    if !(2000..=2099).contains(&year) || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let time = match time {
        None => None,
        Some(time) => {
            let time = time.as_bytes();
            if time.len() != 5 || time[2] != b':' {
                return None;
            }
            let (hour, minute) = (digits(&time[0..2])?, digits(&time[3..5])?);
            if hour > 23 || minute > 59 {
                return None;
            }
            Some((hour as u8, minute as u8))
        }
    };
    Some(LocalDateTime { year: year as u16, month: month as u8, day: day as u8, time })
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A client's value as JSON, shortened for a message.
fn quote_json(value: &Value) -> String {
    shorten(&value.to_string())
}

/// At most [`QUOTE_CHARS`] characters of `text`, with an ellipsis when cut.
pub(super) fn shorten(text: &str) -> String {
    if text.chars().count() <= QUOTE_CHARS {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(QUOTE_CHARS - 1).collect();
        short.push('…');
        short
    }
}
