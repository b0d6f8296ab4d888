//! Running the servers' own read-only commands (`nginx -T`, `php-fpm -tt`, …).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where administrators' tools live even when they are not on a non-root user's PATH
/// (Debian leaves /usr/sbin out of it).
const SBIN: [&str; 4] = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/bin"];

/// The first executable called `name` on PATH or in the sbin directories.
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SBIN.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// The first executable whose name starts with `prefix` and is followed only by a version
/// (`php-fpm8.2`), newest version first, when there is no plain `prefix` binary.
pub fn find_versioned(prefix: &str) -> Option<PathBuf> {
    find(prefix).or_else(|| {
        let mut found: Vec<PathBuf> = SBIN
            .iter()
            .chain(["/usr/bin"].iter())
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(OsStr::to_str)
                    .and_then(|n| n.strip_prefix(prefix))
                    .is_some_and(|v| {
                        !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    })
            })
            .filter(|p| is_executable(p))
            .collect();
        found.sort_by_key(|p| version_key(p));
        found.pop()
    })
}

fn version_key(p: &Path) -> Vec<u32> {
    let name = p.file_name().and_then(OsStr::to_str).unwrap_or("");
    name.trim_start_matches(|c: char| !c.is_ascii_digit())
        .split('.')
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The binary to run for a server: Ok(None) when it is not installed and no flag named its
/// config (nothing to check), Err when a flag named one but there is no binary.
pub fn required(
    found: Option<PathBuf>,
    flag: &str,
    conf: Option<&Path>,
) -> Result<Option<PathBuf>, String> {
    match (found, conf) {
        (Some(bin), _) => Ok(Some(bin)),
        (None, Some(_)) => Err(format!(
            "{flag} was given but the server's binary was not found"
        )),
        (None, None) => Ok(None),
    }
}

/// `[test_flag]`, plus `[conf_flag, conf]` when a config was named.
pub fn test_args<'a>(
    test_flag: &'a str,
    conf_flag: &'a str,
    conf: Option<&'a Path>,
) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec![test_flag.as_ref()];
    if let Some(c) = conf {
        args.extend([conf_flag.as_ref(), c.as_os_str()]);
    }
    args
}

/// What a command said: its exit status and both streams, lossily decoded.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args…` with stdin closed; Err is a one-line reason it could not start.
pub fn run(program: &Path, args: &[&OsStr]) -> Result<Output, String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(cmd)
}

/// Runs a command built by the caller (for an environment of its own), with stdin closed.
pub fn run_command(mut cmd: Command) -> Result<Output, String> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", Path::new(cmd.get_program()).display()))?;
    Ok(Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The lines of a command's complaint that say what is wrong (`[emerg]`, `AH…`, `ERROR:`),
/// or its last line, for a finding's detail.
pub fn complaint(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let key: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.contains("[emerg]")
                || l.contains("ERROR:")
                || l.contains("Syntax error")
                || l.contains("AH0")
                || l.contains("failed")
        })
        .take(3)
        .collect();
    let chosen = if key.is_empty() {
        lines.last().copied().into_iter().collect()
    } else {
        key
    };
    crate::formats::clean_text(chosen.join(" / ").as_bytes())
}
