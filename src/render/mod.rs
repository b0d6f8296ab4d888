//! Reports for people: text for the terminal, one self-contained HTML page. (JSON is the
//! report structs serialised as they are.)

pub mod doctor;
pub mod html;
pub mod screen;
pub mod seo;
pub mod summary;
pub mod text;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::scan::InputReport;

/// ANSI styles, or nothing.
pub(crate) struct Style {
    pub on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("1;32", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Names the usual places, when they were read because no path was given.
pub(crate) fn write_defaults(
    out: &mut impl Write,
    defaults: Option<&[PathBuf]>,
    st: &Style,
) -> io::Result<()> {
    if let Some(places) = defaults {
        let names: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
        let line = format!("Read the usual places: {}", names.join(", "));
        writeln!(out, "{}", st.dim(&line))?;
    }
    Ok(())
}

/// One line per input that needs a word: skipped as unknown, or with unparsed lines.
pub(crate) fn write_inputs(
    out: &mut impl Write,
    inputs: &[InputReport],
    st: &Style,
) -> io::Result<()> {
    for input in inputs {
        if let Some(why) = input.reason() {
            writeln!(out, "{}", st.dim(&format!("skipped {}: {why}", input.path)))?;
        } else if let Some(e) = &input.error {
            let line = format!(
                "{}: reading stopped early ({e}); the {} lines before it were read",
                input.path, input.lines
            );
            writeln!(out, "{}", st.dim(&line))?;
        } else if input.unparsed > 0 {
            writeln!(
                out,
                "{}",
                st.dim(&format!(
                    "{}: {} of {} lines could not be parsed and were skipped",
                    input.path, input.unparsed, input.lines
                ))
            )?;
        }
    }
    Ok(())
}
