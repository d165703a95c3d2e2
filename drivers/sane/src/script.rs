//! Fault injection for tests: a script of option changes the scan worker applies at set points.
//!
//! **For tests only.** When the environment variable [`SCRIPT_ENV`] names a file, the worker reads
//! it at start-up. Each line is `<when> set <option>=<value>`, `#` starts a comment:
//!
//! ```text
//! open set hand-scanner=yes                        # right after sane_open
//! page 3 set read-return-value=SANE_STATUS_IO_ERROR # before the first sane_start of page 3
//! continue set read-return-value=Default          # when the daemon says "continue"
//! ```
//!
//! Each line fires once. This is how the tests make SANE's `test` backend jam, lose its cover or
//! run dry mid-batch (its options can be changed between pages). A production station never sets
//! the variable; the worker ignores a missing variable entirely.

use std::path::Path;

/// The environment variable naming the script file.
pub const SCRIPT_ENV: &str = "COUNTER_AGENT_SANE_SCRIPT";

/// When a line fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Open,
    /// Before the first `sane_start` of this 1-based page of a batch.
    Page(u32),
    Continue,
}

/// One line of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub trigger: Trigger,
    pub option: String,
    pub value: String,
    fired: bool,
}

/// A parsed script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    actions: Vec<Action>,
}

impl Script {
    /// The script named by [`SCRIPT_ENV`], or an empty one when the variable is unset.
    pub fn from_env() -> Result<Script, String> {
        match std::env::var_os(SCRIPT_ENV) {
            None => Ok(Script::default()),
            Some(path) => Script::load(Path::new(&path)),
        }
    }

    pub fn load(path: &Path) -> Result<Script, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the {SCRIPT_ENV} file {}: {error}", path.display()))?;
        Script::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Script, String> {
        let mut actions = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad =
                || format!("{SCRIPT_ENV} line {}: `{line}` is not `<open|page N|continue> set NAME=VALUE`", number + 1);
            let (when, assignment) = line.split_once(" set ").ok_or_else(bad)?;
            let trigger = match when.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["open"] => Trigger::Open,
                ["continue"] => Trigger::Continue,
                ["page", n] => Trigger::Page(n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?),
                _ => return Err(bad()),
            };
            let (option, value) = assignment.split_once('=').ok_or_else(bad)?;
            if option.trim().is_empty() {
                return Err(bad());
            }
            actions.push(Action {
                trigger,
                option: option.trim().to_owned(),
                value: value.trim().to_owned(),
                fired: false,
            });
        }
        Ok(Script { actions })
    }

    /// The not yet fired `(option, value)` pairs for `trigger`, marked fired.
    pub fn fire(&mut self, trigger: Trigger) -> Vec<(String, String)> {
        let mut due = Vec::new();
        for action in self.actions.iter_mut().filter(|action| action.trigger == trigger && !action.fired) {
            action.fired = true;
            due.push((action.option.clone(), action.value.clone()));
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fire_once_at_their_trigger() {
        let mut script = Script::parse(
            "# jam on page 4\n\nopen set depth=16\npage 4 set read-return-value=SANE_STATUS_JAMMED # jam\n\
             continue set read-return-value=Default\n",
        )
        .expect("a valid script");
        assert_eq!(script.fire(Trigger::Open), [("depth".to_owned(), "16".to_owned())]);
        assert!(script.fire(Trigger::Open).is_empty());
        assert!(script.fire(Trigger::Page(3)).is_empty());
        assert_eq!(script.fire(Trigger::Page(4)), [("read-return-value".to_owned(), "SANE_STATUS_JAMMED".to_owned())]);
        assert!(script.fire(Trigger::Page(4)).is_empty(), "a retried page does not jam again");
        assert_eq!(script.fire(Trigger::Continue).len(), 1);
    }

    #[test]
    fn malformed_lines_name_their_line_number() {
        for bad in
            ["page x set a=b", "page 0 set a=b", "later set a=b", "open depth=16", "open set =5", "open set depth"]
        {
            let error = Script::parse(&format!("open set a=b\n{bad}\n")).expect_err(bad);
            assert!(error.contains("line 2"), "{bad}: {error}");
        }
    }
}
