//! The shipped profiles, embedded so the agent works without its `profiles/` folder.

/// `(path under profiles/, contents)` of every shipped profile. A test checks this list against
/// the folder, so a new file cannot be forgotten.
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    ("printer/epson-tm-t82iii.toml", include_str!("../../profiles/printer/epson-tm-t82iii.toml")),
    ("printer/epson-tm-t88vi.toml", include_str!("../../profiles/printer/epson-tm-t88vi.toml")),
    ("printer/escpos-generic-58mm.toml", include_str!("../../profiles/printer/escpos-generic-58mm.toml")),
    ("printer/escpos-generic-80mm.toml", include_str!("../../profiles/printer/escpos-generic-80mm.toml")),
    ("printer/ipp-everywhere-a4.toml", include_str!("../../profiles/printer/ipp-everywhere-a4.toml")),
    ("printer/xprinter-xp-58iih.toml", include_str!("../../profiles/printer/xprinter-xp-58iih.toml")),
    ("printer/xprinter-xp-80c.toml", include_str!("../../profiles/printer/xprinter-xp-80c.toml")),
    ("scanner/brother-ads.toml", include_str!("../../profiles/scanner/brother-ads.toml")),
    ("scanner/canon-dr-c225.toml", include_str!("../../profiles/scanner/canon-dr-c225.toml")),
    ("scanner/epson-ds-530.toml", include_str!("../../profiles/scanner/epson-ds-530.toml")),
    ("scanner/fujitsu-fi-7160.toml", include_str!("../../profiles/scanner/fujitsu-fi-7160.toml")),
    ("scanner/hot-folder.toml", include_str!("../../profiles/scanner/hot-folder.toml")),
    ("scanner/hp-scanjet-pro.toml", include_str!("../../profiles/scanner/hp-scanjet-pro.toml")),
    ("scanner/ricoh-fi-8170.toml", include_str!("../../profiles/scanner/ricoh-fi-8170.toml")),
    ("scanner/sane-generic.toml", include_str!("../../profiles/scanner/sane-generic.toml")),
];
