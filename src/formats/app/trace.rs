//! Stack traces: which language wrote one, the first frame of the application's own code in
//! it (not the framework's, not the standard library's, not a dependency's), and the exception
//! it tells of. Each language's reader lives in that language's file; [`read`] is the one
//! place that picks it.

/// The language of the application behind a log, as reported in an incident's `language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    Ruby,
    Java,
    Go,
    Javascript,
    Csharp,
    Php,
}

impl Language {
    /// The name reported in an incident's `language`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Ruby => "ruby",
            Self::Java => "java",
            Self::Go => "go",
            Self::Javascript => "javascript",
            Self::Csharp => "csharp",
            Self::Php => "php",
        }
    }
}

impl serde::Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What a stack trace says: where in the application's code it failed, and what it raised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The first frame of the application's own code, nearest to where it failed.
    pub file: Option<String>,
    pub line: Option<u64>,
    /// The exception's class (`KeyError`, `psycopg2.OperationalError`).
    pub exception: Option<String>,
}

/// Reads the stack trace in a record's text, in the way its language writes them. Languages
/// whose dialects are not read yet give an empty [`Trace`].
pub fn read(language: Language, text: &str) -> Trace {
    match language {
        Language::Python => super::python::trace(text),
        Language::Ruby
        | Language::Java
        | Language::Go
        | Language::Javascript
        | Language::Csharp
        | Language::Php => Trace::default(),
    }
}
