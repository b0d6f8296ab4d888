//! Apache's `AllowOverride`: which directive groups an `.htaccess` in a directory may use.

use std::collections::BTreeSet;

/// The directive groups `AllowOverride` names (Apache's "Override" classes).
pub const CLASSES: [&str; 5] = ["AuthConfig", "FileInfo", "Indexes", "Limit", "Options"];

/// What `AllowOverride` lets an `.htaccess` use. Apache's default (since 2.3.9) is `None`:
/// the `.htaccess` is not even read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AllowOverride {
    #[default]
    None,
    All,
    /// Some classes, spelled as in [`CLASSES`] (`Options=Indexes,...` counts as `Options`).
    Classes(BTreeSet<&'static str>),
}

impl AllowOverride {
    /// Parses the arguments of an `AllowOverride` line (`All`, `None`, `AuthConfig FileInfo`,
    /// `Options=Indexes,MultiViews`). Names are matched without regard to case, as Apache does;
    /// unknown words are ignored (Apache itself refuses to start on them).
    pub fn parse(args: &str) -> AllowOverride {
        let mut classes = BTreeSet::new();
        for word in args.split_whitespace() {
            let name = word.split('=').next().unwrap_or(word);
            if name.eq_ignore_ascii_case("all") {
                return AllowOverride::All;
            }
            if name.eq_ignore_ascii_case("none") {
                return AllowOverride::None;
            }
            if let Some(c) = CLASSES.iter().find(|c| c.eq_ignore_ascii_case(name)) {
                classes.insert(*c);
            }
        }
        if classes.is_empty() {
            AllowOverride::None
        } else {
            AllowOverride::Classes(classes)
        }
    }

    /// Whether an `.htaccess` here is read at all.
    pub fn reads_htaccess(&self) -> bool {
        *self != AllowOverride::None
    }

    /// Whether a directive of `class` (one of [`CLASSES`]) is allowed here.
    pub fn allows(&self, class: &str) -> bool {
        match self {
            AllowOverride::None => false,
            AllowOverride::All => true,
            AllowOverride::Classes(set) => set.iter().any(|c| c.eq_ignore_ascii_case(class)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_apache_spellings() {
        assert_eq!(AllowOverride::parse("All"), AllowOverride::All);
        assert_eq!(AllowOverride::parse("none"), AllowOverride::None);
        let some = AllowOverride::parse("authconfig Options=Indexes,MultiViews");
        assert!(some.allows("AuthConfig") && some.allows("Options"));
        assert!(!some.allows("FileInfo"));
        assert!(some.reads_htaccess());
        assert!(!AllowOverride::None.reads_htaccess());
    }
}
