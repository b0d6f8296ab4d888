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

impl Trace {
    /// A trace from what a byte-scanning reader found: the first app frame's file and line,
    /// and the exception's class.
    pub fn from_bytes(frame: Option<(&[u8], u32)>, exception: Option<&[u8]>) -> Trace {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Trace {
            file: frame.map(|(file, _)| text(file)),
            line: frame.map(|(_, line)| u64::from(line)),
            exception: exception.map(text),
        }
    }

    /// A trace from what a text reader found: the first app frame (file, line) and the
    /// exception's class.
    pub fn from_text(frame: Option<(String, u32)>, exception: Option<&str>) -> Trace {
        Trace {
            line: frame.as_ref().map(|&(_, line)| u64::from(line)),
            file: frame.map(|(file, _)| file),
            exception: exception.map(str::to_owned),
        }
    }
}

/// Reads the stack trace in a record's text, in the way its language writes them. Languages
/// whose dialects are not read yet give an empty [`Trace`].
pub fn read(language: Language, text: &str) -> Trace {
    match language {
        Language::Python => super::python::trace(text),
        Language::Ruby => super::ruby::trace(text),
        Language::Javascript => super::node::trace(text),
        Language::Java => super::java::trace(text),
        Language::Go => super::go::trace(text),
        Language::Csharp => super::dotnet::trace(text),
        Language::Php => Trace::default(),
    }
}
