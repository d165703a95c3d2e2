//! Token scopes.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Scan,
    Print,
    QueueIssue,
    QueueCall,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::Scan, Scope::Print, Scope::QueueIssue, Scope::QueueCall, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Scan => "scan",
            Scope::Print => "print",
            Scope::QueueIssue => "queue-issue",
            Scope::QueueCall => "queue-call",
            Scope::Admin => "admin",
        }
    }
}

impl Scope {
    /// What the scope allows, in Vietnamese, for the pairing page.
    pub fn label_vi(self) -> &'static str {
        match self {
            Scope::Scan => "quét tài liệu",
            Scope::Print => "in",
            Scope::QueueIssue => "cấp số thứ tự",
            Scope::QueueCall => "gọi số",
            Scope::Admin => "quản trị",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}` (known: scan, print, queue-issue, queue-call, admin)")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(text: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| UnknownScope(text.to_string()))
    }
}

/// A set of scopes, kept sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(mut scopes: Vec<Scope>) -> Scopes {
        scopes.sort();
        scopes.dedup();
        Scopes(scopes)
    }

    /// Parses names; every unknown one is reported.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Scopes, UnknownScope> {
        let scopes = names.into_iter().map(str::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Scopes::new(scopes))
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Space-separated names, as stored.
    pub fn to_storage(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sorts_and_dedups() {
        let scopes = Scopes::parse(["print", "scan", "print"]).expect("known");
        assert_eq!(scopes.to_storage(), "scan print");
        assert!(scopes.contains(Scope::Print) && !scopes.contains(Scope::Admin));
    }

    #[test]
    fn unknown_scope_is_named() {
        assert_eq!(Scopes::parse(["scan", "root"]), Err(UnknownScope("root".into())));
        assert_eq!(Scopes::parse(["Scan"]), Err(UnknownScope("Scan".into())));
    }
}
