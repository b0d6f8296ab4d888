//! The report as JUnit XML, which every CI system shows as tests: one test suite per site,
//! one test case per URL probed, a `<failure>` per finding that fails the probe (medium or
//! high), an `<error>` for a URL that could not be fetched; low findings go to the case's
//! `<system-out>`. quick-xml writes it, escaping every attribute value and text.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::writer::ElementWriter;

use super::group::{sites, target_site};
use super::{Finding, Report, Target};

/// Writes the report.
pub fn write(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let mut xml = Writer::new_with_indent(out, b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let all = Counts::of(report.targets.iter());
    element(&mut xml, "testsuites", &all.attrs("fivehundred probe")).write_inner_content(
        |xml| {
            for site in sites(&report.targets) {
                let targets: Vec<&Target> = report
                    .targets
                    .iter()
                    .filter(|t| target_site(t) == site)
                    .collect();
                let counts = Counts::of(targets.iter().copied());
                element(xml, "testsuite", &counts.attrs(&site)).write_inner_content(|xml| {
                    targets.iter().try_for_each(|t| write_case(xml, t, &site))
                })?;
            }
            Ok(())
        },
    )?;
    writeln!(xml.get_mut())
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

fn write_case<W: Write>(xml: &mut Writer<W>, t: &Target, site: &str) -> io::Result<()> {
    let attrs = [
        ("classname", format!("probe.{site}")),
        ("name", t.url.clone()),
    ];
    element(xml, "testcase", &attrs).write_inner_content(|xml| {
        if let Some(e) = &t.error {
            let message = format!("could not be fetched: {e}");
            element(xml, "error", &[("message", message)]).write_empty()?;
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
            element(xml, "failure", &attrs)
                .write_text_content(BytesText::new(&xml_chars(&text)))?;
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
            let text = xml_chars(&lines.join("\n"));
            element(xml, "system-out", &[]).write_text_content(BytesText::new(&text))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// An element with these attributes (their values escaped by the writer, and cleared of
/// characters XML cannot hold).
fn element<'w, W: Write>(
    xml: &'w mut Writer<W>,
    name: &'static str,
    attrs: &[(&'static str, String)],
) -> ElementWriter<'w, W> {
    let attrs: Vec<(&str, String)> = attrs.iter().map(|(k, v)| (*k, xml_chars(v))).collect();
    xml.create_element(name)
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))
}

/// The text without the characters XML 1.0 cannot carry at all, escaped or not (controls
/// other than tab and line breaks, U+FFFE, U+FFFF): log and page text may hold any.
fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_hold_are_dropped() {
        assert_eq!(
            xml_chars("<a>'&'</a>\u{1b}[2J\u{0}\u{fffe}\tok\n"),
            "<a>'&'</a>[2J\tok\n"
        );
    }
}
