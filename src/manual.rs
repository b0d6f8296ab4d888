//! Shell completions and man pages, generated from the command line's own definition (clap's
//! `Command`) so that they can never drift from the flags the binary really takes.
//!
//! Both are rendered into memory first and written in one piece: the completion generators
//! panic on a failed write, and a closed pipe (`fivehundred man | head`) must stay an
//! ordinary error.

use std::io;
use std::path::Path;

use clap::Command;
use clap_complete::Shell;

/// The completion script for `shell`, for a binary called `name`.
pub fn completions(mut cmd: Command, shell: Shell, name: &str) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    script
}

/// The main man page (section 1, roff), which lists the subcommands' own pages.
pub fn man_page(cmd: Command) -> io::Result<String> {
    let mut cmd = man_command(cmd);
    cmd.build();
    let source = source(&cmd);
    render(cmd, &source)
}

/// Writes the main man page and one per subcommand (`fivehundred-diagnose.1`…) into `dir`,
/// creating it if needed: the layout `man` finds them in under `man1/`.
pub fn write_man_pages(cmd: Command, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = man_command(cmd);
    // Building names each subcommand's page after its parent (`fivehundred-seo`).
    cmd.build();
    let source = source(&cmd);
    let subcommands = cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned();
    for page in std::iter::once(cmd.clone()).chain(subcommands) {
        let name = page
            .get_display_name()
            .unwrap_or(page.get_name())
            .to_owned();
        std::fs::write(dir.join(format!("{name}.1")), render(page, &source)?)?;
    }
    Ok(())
}

/// The command as its pages describe it: `help` is clap's, not a command to document.
fn man_command(cmd: Command) -> Command {
    cmd.disable_help_subcommand(true)
}

/// What every page's footer names as its source: the program and its version (subcommands
/// carry no version of their own).
fn source(cmd: &Command) -> String {
    format!(
        "{} {}",
        cmd.get_name(),
        cmd.get_version().unwrap_or_default()
    )
}

/// One page. clap_mangen puts the `after_help` text under a heading of its own, EXTRA; ours is
/// the command's examples, which man pages keep under EXAMPLES.
fn render(cmd: Command, source: &str) -> io::Result<String> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(source)
        .render(&mut page)?;
    let page = String::from_utf8_lossy(&page);
    Ok(page.replacen(".SH EXTRA\nExamples:\n", ".SH EXAMPLES\n", 1))
}
