//! Reading a spanned TOML document while collecting every problem.
//!
//! Serde stops at the first error, so configuration files are read from the parser's spanned
//! tree instead ([`toml::de::DeTable`]). A [`Sink`] collects diagnostics for one file; a
//! [`Fields`] is a view of one table that has already reported its unknown keys and hands out
//! typed values, reporting type errors at the value and skipping them. Callers go on with
//! whatever was readable, so one pass finds every problem.
//!
//! This module knows TOML shapes only; what a value means is decided by `config` and `profile`.

use std::cell::RefCell;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{line_column, Diagnostic, Severity};

/// A spanned TOML value borrowed from the parsed document.
pub(crate) type Value<'a> = Spanned<DeValue<'a>>;

/// Diagnostics for one file.
///
/// Interior mutability lets the many [`Fields`] views of one document report through a shared
/// reference; it is used from one thread only.
pub(crate) struct Sink<'a> {
    file: String,
    text: &'a str,
    found: RefCell<Vec<Diagnostic>>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(file: impl Into<String>, text: &'a str) -> Sink<'a> {
        Sink { file: file.into(), text, found: RefCell::new(Vec::new()) }
    }

    pub(crate) fn report(&self, severity: Severity, span: Range<usize>, message: String, hint: Option<String>) {
        let (line, column) = line_column(self.text, span.start);
        let diagnostic = Diagnostic { severity, file: self.file.clone(), line, column, message, hint };
        self.found.borrow_mut().push(diagnostic);
    }

    pub(crate) fn error(&self, span: Range<usize>, message: String, hint: Option<String>) {
        self.report(Severity::Error, span, message, hint);
    }

    pub(crate) fn warning(&self, span: Range<usize>, message: String, hint: Option<String>) {
        self.report(Severity::Warning, span, message, hint);
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line a span starts on, for hints such as "the first is on line 12".
    pub(crate) fn line(&self, span: &Range<usize>) -> u32 {
        line_column(self.text, span.start).0
    }

    /// The 1-based line and character column a span starts at, as diagnostics show them.
    pub(crate) fn position(&self, span: &Range<usize>) -> (u32, u32) {
        line_column(self.text, span.start)
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.found.borrow().iter().any(Diagnostic::is_error)
    }

    /// Every diagnostic, sorted by position (stable, so one place keeps its report order).
    pub(crate) fn finish(self) -> Vec<Diagnostic> {
        let mut found = self.found.into_inner();
        found.sort_by_key(|d| (d.line, d.column));
        found
    }

    /// Parses the document, reporting syntax errors at the parser's position: the first one of
    /// each line, as the parser's later complaints on that line follow from the first.
    ///
    /// Returns `None` when the syntax is broken: the recovered tree may hold half-read values,
    /// and checking it would report problems that are not there.
    pub(crate) fn parse(&self) -> Option<DeTable<'a>> {
        let (document, errors) = DeTable::parse_recoverable(self.text);
        let mut last_line = None;
        for error in &errors {
            let span = error.span().unwrap_or(0..0);
            let line = self.line(&span);
            if last_line == Some(line) {
                continue;
            }
            last_line = Some(line);
            let hint = syntax_hint(error.message());
            self.error(span, format!("invalid TOML: {}", error.message()), hint);
        }
        errors.is_empty().then(|| document.into_inner())
    }
}

fn syntax_hint(message: &str) -> Option<String> {
    let hint = if message.starts_with("duplicate key") {
        "each key and each [table] may appear only once; [[device]] repeats with double brackets"
    } else if message.starts_with("missing comma between array elements") {
        "separate the items of an array with `,` and close it with `]`"
    } else if message.starts_with("invalid boolean") {
        "write true or false, or put text in double quotes"
    } else if message.contains("must be quoted") {
        "put text values in double quotes, e.g. name = \"Quầy 1\""
    } else if message.contains("string") {
        "close the text with the same quote it starts with"
    } else {
        return None;
    };
    Some(hint.to_string())
}

/// One table of the document, with its known keys already checked.
#[derive(Clone)]
pub(crate) struct Fields<'a> {
    sink: &'a Sink<'a>,
    table: &'a DeTable<'a>,
    span: Range<usize>,
    /// How messages name the table, e.g. `[server]`; empty for the document's top level.
    name: &'static str,
}

impl<'a> Fields<'a> {
    /// A view of `table`; every key not in `known` is reported as unknown, at the key.
    pub(crate) fn new(
        sink: &'a Sink<'a>,
        table: &'a DeTable<'a>,
        span: Range<usize>,
        name: &'static str,
        known: &[&str],
    ) -> Fields<'a> {
        for key in table.keys() {
            if known.contains(&key.get_ref().as_ref()) {
                continue;
            }
            let hint = match closest(key.get_ref(), known.iter().copied()) {
                Some(candidate) => format!("did you mean `{candidate}`?"),
                None => format!("{} accepts {}", if name.is_empty() { "the file" } else { name }, list(known)),
            };
            let place = if name.is_empty() { String::new() } else { format!(" in {name}") };
            sink.error(key.span(), format!("unknown key `{}`{place}", key.get_ref()), Some(hint));
        }
        Fields { sink, table, span, name }
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub(crate) fn sink(&self) -> &'a Sink<'a> {
        self.sink
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value<'a>> {
        self.table.get(key)
    }

    /// Whether the key holds `[]` (not an array whose items were all refused).
    pub(crate) fn is_empty_array(&self, key: &str) -> bool {
        self.get(key).and_then(|value| value.get_ref().as_array()).is_some_and(|items| items.is_empty())
    }

    /// The span of a key as written (not its value), for problems with the key itself.
    pub(crate) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get_key_value(key).map(|(key, _)| key.span())
    }

    /// Reports a missing required key at the table's header.
    pub(crate) fn missing(&self, key: &str, example: &str) {
        let place = if self.name.is_empty() { String::new() } else { format!(" in {}", self.name) };
        self.sink.error(self.span(), format!("missing key `{key}`{place}"), Some(format!("add {example}")));
    }

    fn required<T>(&self, key: &str, example: &str, read: impl FnOnce(&Self) -> Option<T>) -> Option<T> {
        if self.get(key).is_none() {
            self.missing(key, example);
            return None;
        }
        read(self)
    }

    pub(crate) fn string(&self, key: &str) -> Option<Spanned<&'a str>> {
        self.get(key).and_then(|value| self.sink.string(value, &format!("`{key}`"), key))
    }

    pub(crate) fn required_string(&self, key: &str, example: &str) -> Option<Spanned<&'a str>> {
        self.required(key, example, |fields| fields.string(key))
    }

    pub(crate) fn boolean(&self, key: &str) -> Option<Spanned<bool>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(Spanned::new(value.span(), *flag)),
            other => {
                let hint = match other {
                    DeValue::String(text) if text == "true" || text == "false" => {
                        Some(format!("remove the quotes: {key} = {text}"))
                    }
                    _ => Some(format!("write {key} = true or {key} = false")),
                };
                self.sink.type_error(value, &format!("`{key}`"), "a boolean", hint);
                None
            }
        }
    }

    pub(crate) fn required_boolean(&self, key: &str, example: &str) -> Option<Spanned<bool>> {
        self.required(key, example, |fields| fields.boolean(key))
    }

    /// A whole number within `min..=max`, converted to `u32`.
    pub(crate) fn number(&self, key: &str, min: u32, max: u32) -> Option<Spanned<u32>> {
        let value = self.get(key)?;
        self.sink.number(value, &format!("`{key}`"), key, min, max)
    }

    pub(crate) fn required_number(&self, key: &str, min: u32, max: u32, example: &str) -> Option<Spanned<u32>> {
        self.required(key, example, |fields| fields.number(key, min, max))
    }

    /// The items of an array; `None` (after a type error) when the value is not an array.
    pub(crate) fn array(&self, key: &str) -> Option<&'a [Value<'a>]> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => {
                self.sink.type_error(value, &format!("`{key}`"), "an array", Some(format!("write {key} = [ … ]")));
                None
            }
        }
    }

    /// An array of strings; items of another type are reported and left out.
    pub(crate) fn strings(&self, key: &str) -> Option<Vec<Spanned<&'a str>>> {
        let items = self.array(key)?;
        let what = format!("each item of `{key}`");
        Some(items.iter().filter_map(|item| self.sink.string(item, &what, key)).collect())
    }

    pub(crate) fn required_strings(&self, key: &str, example: &str) -> Option<Vec<Spanned<&'a str>>> {
        self.required(key, example, |fields| fields.strings(key))
    }

    /// A sub-table, as `[name]` or inline; `None` when absent or of another type.
    pub(crate) fn table(&self, key: &str, name: &'static str, known: &[&str]) -> Option<Fields<'a>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Table(table) => Some(Fields::new(self.sink, table, value.span(), name, known)),
            _ => {
                let hint = format!("write it as a table: {name} on its own line, then its keys");
                self.sink.type_error(value, &format!("`{key}`"), "a table", Some(hint));
                None
            }
        }
    }

    /// Each table of an array of tables (`[[name]]` or `[{…}, {…}]`); other items are reported.
    pub(crate) fn tables(&self, key: &str, name: &'static str, known: &[&str]) -> Vec<Fields<'a>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            let hint = format!("repeat `{name}` with double brackets, once per entry");
            self.sink.type_error(value, &format!("`{key}`"), "an array of tables", Some(hint));
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| match item.get_ref() {
                DeValue::Table(table) => Some(Fields::new(self.sink, table, item.span(), name, known)),
                _ => {
                    let what = format!("each item of `{key}`");
                    self.sink.type_error(item, &what, "a table", Some("write { key = value, … }".to_string()));
                    None
                }
            })
            .collect()
    }
}

impl<'a> Sink<'a> {
    /// Reports that `what` (e.g. "`counter`") should be `expected` (e.g. "an integer").
    pub(crate) fn type_error(&self, value: &Value<'_>, what: &str, expected: &str, hint: Option<String>) {
        let message = format!("{what} must be {expected}, found {}", describe(value.get_ref()));
        self.error(value.span(), message, hint);
    }

    /// A string value; `key` is used in the hint.
    pub(crate) fn string(&self, value: &'a Value<'a>, what: &str, key: &str) -> Option<Spanned<&'a str>> {
        match value.get_ref() {
            DeValue::String(text) => Some(Spanned::new(value.span(), text.as_ref())),
            DeValue::Table(_) | DeValue::Array(_) => {
                self.type_error(value, what, "a string", None);
                None
            }
            _ => {
                let written = self.text.get(value.span()).unwrap_or_default();
                let hint = format!("put it in double quotes: {key} = \"{written}\"");
                self.type_error(value, what, "a string", Some(hint));
                None
            }
        }
    }

    /// A whole number within `min..=max`.
    pub(crate) fn number(&self, value: &Value<'_>, what: &str, key: &str, min: u32, max: u32) -> Option<Spanned<u32>> {
        let number = match value.get_ref() {
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix()).ok(),
            DeValue::String(text) => {
                let hint = match text.trim().parse::<i64>() {
                    Ok(n) => format!("remove the quotes: {key} = {n}"),
                    Err(_) => format!("write a whole number, e.g. {key} = {}", min.max(1)),
                };
                self.type_error(value, what, "an integer", Some(hint));
                return None;
            }
            DeValue::Float(_) => {
                self.type_error(
                    value,
                    what,
                    "an integer",
                    Some("write a whole number, without a decimal point".into()),
                );
                return None;
            }
            _ => {
                self.type_error(value, what, "an integer", None);
                return None;
            }
        };
        match number.and_then(|n| u32::try_from(n).ok()).filter(|n| (min..=max).contains(n)) {
            Some(n) => Some(Spanned::new(value.span(), n)),
            None => {
                let range =
                    if max == u32::MAX { format!("at least {min}") } else { format!("between {min} and {max}") };
                self.error(value.span(), format!("{what} must be {range}"), None);
                None
            }
        }
    }
}

impl Sink<'_> {
    /// One of a closed set of words, e.g. `kind = "printer"`; `what` names it in the message
    /// ("unknown kind `printr`").
    pub(crate) fn choice<T: Copy>(&self, value: &Spanned<&str>, what: &str, choices: &[(&str, T)]) -> Option<T> {
        if let Some((_, choice)) = choices.iter().find(|(word, _)| word == value.get_ref()) {
            return Some(*choice);
        }
        let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
        let hint = match closest(value.get_ref(), words.iter().copied()) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None => format!("use {}", list(&words)),
        };
        self.error(value.span(), format!("unknown {what} `{}`", value.get_ref()), Some(hint));
        None
    }
}

/// "a string", "an integer"… for messages.
pub(crate) fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `a`, `b` and `c` — for hints listing the accepted words.
pub(crate) fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|word| format!("`{word}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The candidate within edit distance 2 of `word` (ignoring case), the nearest first.
pub(crate) fn closest<'k>(word: &str, candidates: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&word, &candidate.to_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance < word.chars().count().max(candidate.len()))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_and_closest() {
        let check = |a: &str, b: &str, expected: usize| assert_eq!(edit_distance(a, b), expected, "{a} → {b}");
        check("listne", "listen", 2);
        check("listen", "listen", 0);
        check("", "abc", 3);
        check("queu", "queue", 1);
        check("tên", "ten", 1);

        let keys = ["listen", "allowed_origins"];
        assert_eq!(closest("listne", keys), Some("listen"));
        assert_eq!(closest("LISTEN", keys), Some("listen"));
        assert_eq!(closest("allowed_origin", keys), Some("allowed_origins"));
        assert_eq!(closest("port", keys), None);
        // A one-letter word is not "close" to a two-letter one just by length.
        assert_eq!(closest("x", ["id"]), None);
    }

    #[test]
    fn list_joins_words() {
        assert_eq!(list(&[]), "");
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
