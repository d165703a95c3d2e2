//! Device ids that are not valid, and what to write instead: the id cleaned up to
//! `[a-z0-9][a-z0-9_-]*` (see [`super::is_valid_id`]), never anything path-like.

/// What to write instead of an id that is not valid: the id cleaned up (never anything path-like),
/// and for a Vietnamese name, where that name belongs.
pub(super) fn invalid_id_hint(value: &str) -> String {
    let cleaned = clean_id(value);
    let example = if cleaned.is_empty() { "receipt" } else { cleaned.as_str() };
    let plain_name = !value.trim().is_empty()
        && !value.trim_start().starts_with('.')
        && !value.chars().any(|c| matches!(c, '/' | '\\' | '"') || c.is_control());
    if !value.is_ascii() && plain_name {
        format!("ids are plain ASCII, e.g. id = \"{example}\"; put the Vietnamese name in name = \"{}\"", value.trim())
    } else {
        format!("e.g. id = \"{example}\"")
    }
}

/// `Máy in 2` → `may-in-2`, `../etc` → `etc`: Vietnamese letters without their marks, every run of
/// other characters one `-`, nothing but a letter or digit first or last. Empty when nothing is left.
pub(super) fn clean_id(value: &str) -> String {
    let mut id = String::new();
    for c in value.chars().flat_map(char::to_lowercase).map(fold_vietnamese) {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            // A combining mark of decomposed text (`a` + `\u{301}`): the letter is already there.
            continue;
        }
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with(['-', '_']) {
            id.push(if c == '_' { '_' } else { '-' });
        }
    }
    id.trim_end_matches(['-', '_']).to_string()
}

/// A lowercase Vietnamese letter without its marks (`ầ` → `a`, `đ` → `d`); other characters as they are.
fn fold_vietnamese(c: char) -> char {
    const FOLDS: [(char, &str); 7] = [
        ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
        ('e', "èéẻẽẹêềếểễệ"),
        ('i', "ìíỉĩị"),
        ('o', "òóỏõọôồốổỗộơờớởỡợ"),
        ('u', "ùúủũụưừứửữự"),
        ('y', "ỳýỷỹỵ"),
        ('d', "đ"),
    ];
    FOLDS.iter().find(|(_, marked)| marked.contains(c)).map_or(c, |(plain, _)| *plain)
}
