//! The report as JUnit XML, which every CI system shows as tests: one test suite per site,
//! one test case per URL probed, a `<failure>` per finding that fails the probe (medium or
//! high), an `<error>` for a URL that could not be fetched; low findings go to the case's
//! `<system-out>`. The XML is written through [`Xml`], which escapes every name's value and
//! text it is given: no string reaches the output unescaped.

use std::io::{self, Write};

use super::group::{sites, target_site};
use super::{Finding, Report, Target};

/// Writes the report.
pub fn write(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let mut xml = Xml { out };
    xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    let all = Counts::of(report.targets.iter());
    xml.open("testsuites", &all.attrs("fivehundred probe"), 0)?;
    for site in sites(&report.targets) {
        let targets: Vec<&Target> = report
            .targets
            .iter()
            .filter(|t| target_site(t) == site)
            .collect();
        let counts = Counts::of(targets.iter().copied());
        xml.open("testsuite", &counts.attrs(&site), 1)?;
        for t in targets {
            write_case(&mut xml, t, &site)?;
        }
        xml.close("testsuite", 1)?;
    }
    xml.close("testsuites", 0)
}

/// Test cases, failures and errors of some targets.
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
}

impl Counts {
    fn of<'a>(targets: impl Iterator<Item = &'a Target>) -> Counts {
        let mut c = Counts {
            tests: 0,
            failures: 0,
            errors: 0,
        };
        for t in targets {
            c.tests += 1;
            c.errors += usize::from(t.error.is_some());
            c.failures += t.findings.iter().filter(|f| f.severity.fails()).count();
        }
        c
    }

    fn attrs(&self, name: &str) -> Vec<(&'static str, String)> {
        vec![
            ("name", name.to_owned()),
            ("tests", self.tests.to_string()),
            ("failures", self.failures.to_string()),
            ("errors", self.errors.to_string()),
        ]
    }
}

fn write_case<W: Write>(xml: &mut Xml<W>, t: &Target, site: &str) -> io::Result<()> {
    let attrs = [
        ("classname", format!("probe.{site}")),
        ("name", t.url.clone()),
    ];
    xml.open("testcase", &attrs, 2)?;
    if let Some(e) = &t.error {
        xml.leaf(
            "error",
            &[("message", format!("could not be fetched: {e}"))],
            None,
            3,
        )?;
    }
    let (failing, low): (Vec<&Finding>, Vec<&Finding>) =
        t.findings.iter().partition(|f| f.severity.fails());
    for f in failing {
        let message = format!(
            "{} {} in {} ({})",
            f.severity.id(),
            f.category.id(),
            f.place,
            f.stack
        );
        let attrs = [("message", message), ("type", f.category.id().to_owned())];
        let text = format!(
            "{}\nrequest: {}, status {}\nfix: {}",
            f.excerpt, f.request, f.status, f.fix
        );
        xml.leaf("failure", &attrs, Some(&text), 3)?;
    }
    if !low.is_empty() {
        let lines: Vec<String> = low
            .iter()
            .map(|f| {
                format!(
                    "{} {} in {}: {} (fix: {})",
                    f.severity.id(),
                    f.category.id(),
                    f.place,
                    f.excerpt,
                    f.fix
                )
            })
            .collect();
        xml.leaf("system-out", &[], Some(&lines.join("\n")), 3)?;
    }
    xml.close("testcase", 2)
}

/// An XML writer that escapes everything it is given (attribute values and text) and drops
/// the characters XML 1.0 cannot carry at all.
struct Xml<W> {
    out: W,
}

impl<W: Write> Xml<W> {
    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    fn start(&mut self, name: &str, attrs: &[(&str, String)], depth: usize) -> io::Result<()> {
        write!(self.out, "{}<{name}", "  ".repeat(depth))?;
        for (k, v) in attrs {
            write!(self.out, " {k}=\"{}\"", escape(v))?;
        }
        Ok(())
    }

    fn open(&mut self, name: &str, attrs: &[(&str, String)], depth: usize) -> io::Result<()> {
        self.start(name, attrs, depth)?;
        self.raw(">\n")
    }

    fn close(&mut self, name: &str, depth: usize) -> io::Result<()> {
        writeln!(self.out, "{}</{name}>", "  ".repeat(depth))
    }

    fn leaf(
        &mut self,
        name: &str,
        attrs: &[(&str, String)],
        text: Option<&str>,
        depth: usize,
    ) -> io::Result<()> {
        self.start(name, attrs, depth)?;
        match text {
            Some(t) => writeln!(self.out, ">{}</{name}>", escape(t)),
            None => self.raw("/>\n"),
        }
    }
}

/// Text or an attribute value as XML: the five special characters escaped, and characters
/// not allowed in XML 1.0 (controls other than tab and line breaks, U+FFFE, U+FFFF) dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_characters_xml_cannot_hold() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1b}[2J\u{0}\u{fffe}\tok\n"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;[2J\tok\n"
        );
    }
}
