//! Diagnostics: one problem in one configuration file, with its position and what to do about it.
//!
//! Every loader in `config` and `profile` reports through these types and keeps going, so a
//! technician sees every problem of a station file and its profiles in one run.

use std::fmt;

/// Whether a problem stops the agent from starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem at one place.
///
/// `line` and `column` are 1-based; the column counts characters, not bytes. A problem with the
/// file as a whole (missing, unreadable, not UTF-8) has line 0 and column 0 and displays without
/// them: `file: error: message — hint`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The path as given by the caller, `<built-in>/NAME.toml` for embedded profiles, or
    /// `<command line>` for flags.
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem with a whole file (or a flag), not a place inside it.
    pub fn file_level(severity: Severity, file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity, file: file.into(), line: 0, column: 0, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}: {}", self.file, self.severity, self.message)?;
        } else {
            write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.severity, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " — {hint}")?;
        }
        Ok(())
    }
}

/// All problems found in one pass, in report order: each file's problems sorted by position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn n_errors(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn n_warnings(&self) -> usize {
        self.0.len() - self.n_errors()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(items: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics(items)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One diagnostic per line, no trailing newline.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// Lets `main` return the diagnostics of a failed load as an error.
impl std::error::Error for Diagnostics {}

/// The 1-based line and character column of a byte offset in `text`.
///
/// An offset past the end or inside a multi-byte character is clamped to the character that
/// contains it.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (saturate(line), saturate(column))
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_position_and_hint() {
        let check = |diagnostic: Diagnostic, expected: &str| assert_eq!(diagnostic.to_string(), expected);
        let at = |line, column| Diagnostic {
            severity: Severity::Error,
            file: "station.toml".into(),
            line,
            column,
            message: "unknown key `listne` in [server]".into(),
            hint: None,
        };
        check(at(5, 1), "station.toml:5:1: error: unknown key `listne` in [server]");
        check(
            at(5, 1).with_hint("did you mean `listen`?"),
            "station.toml:5:1: error: unknown key `listne` in [server] — did you mean `listen`?",
        );
        check(Diagnostic::file_level(Severity::Warning, "p.toml", "odd"), "p.toml: warning: odd");
        let both = Diagnostics(vec![at(1, 2), Diagnostic::file_level(Severity::Warning, "a", "b")]);
        assert_eq!(both.to_string(), "station.toml:1:2: error: unknown key `listne` in [server]\na: warning: b");
        assert!(both.has_errors());
        assert_eq!((both.n_errors(), both.n_warnings()), (1, 1));
        assert!(!Diagnostics(vec![Diagnostic::file_level(Severity::Warning, "a", "b")]).has_errors());
    }

    #[test]
    fn line_column_counts_characters() {
        let check = |text: &str, offset: usize, expected: (u32, u32)| {
            assert_eq!(line_column(text, offset), expected, "{text:?} at {offset}");
        };
        check("", 0, (1, 1));
        check("abc", 2, (1, 3));
        check("a\nbc", 2, (2, 1));
        check("a\r\nbc", 4, (2, 2));
        // "tên = 1": `=` is byte 5 but character 5 (column 5).
        check("tên = 1", 5, (1, 5));
        check("x = \"Quầy\"\ny", 13, (2, 1));
        // Inside a multi-byte character: the character's own column.
        check("ê", 1, (1, 1));
        check("ab", 99, (1, 3));
    }
}
