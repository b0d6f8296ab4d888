//! `watch --journal UNIT…`: journald's entries for those units, read through `journalctl -f
//! -o json` as they are written. The cursor of the last entry handed to the pipeline is kept
//! in the checkpoint, stored with what those entries did in one transaction, like a file's
//! offset: a restart starts `journalctl --after-cursor` it, so no entry is lost or counted
//! twice. The entries are lines in the `journal_json` envelope, unwrapped by the pipeline as
//! any enveloped file's are.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, TryRecvError};

/// Which entries to read.
#[derive(Clone, Debug)]
pub struct JournalConfig {
    /// Units (`nginx.service`), as `journalctl -u` takes them.
    pub units: Vec<String>,
    /// A directory of journal files instead of the system journal (`journalctl -D`).
    pub directory: Option<PathBuf>,
}

/// Most bytes of entries handed over in one poll, so files and the journal take turns.
const BUDGET: usize = 4 << 20;
/// Entries read ahead of the pipeline at most.
const AHEAD: usize = 8192;

/// A running `journalctl -f` and the entries it wrote that were not taken yet.
pub struct Journal {
    child: Child,
    entries: Receiver<Vec<u8>>,
    cursor: Option<String>,
    /// An entry taken out that did not fit in the last poll's budget.
    held: Option<Vec<u8>>,
    ended: bool,
}

/// Why the journal cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("journalctl: {0}")]
pub struct JournalError(#[from] std::io::Error);

impl Journal {
    /// Starts `journalctl` after `cursor` (the checkpoint's), else at the start of the
    /// journal, or at its end with `from_end`.
    pub fn start(
        config: &JournalConfig,
        cursor: Option<&str>,
        from_end: bool,
    ) -> Result<Journal, JournalError> {
        let mut cmd = Command::new("journalctl");
        // `--all`: without it, fields over 4 KiB are written as null.
        cmd.args([
            "--follow",
            "--output=json",
            "--all",
            "--quiet",
            "--no-pager",
        ]);
        for unit in &config.units {
            cmd.arg(format!("--unit={unit}"));
        }
        if let Some(dir) = &config.directory {
            cmd.arg("--directory").arg(dir);
        }
        match cursor {
            Some(c) => cmd.arg(format!("--after-cursor={c}")).arg("--no-tail"),
            None if from_end => cmd.arg("--lines=0"),
            None => cmd.arg("--no-tail"),
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (send, entries) = mpsc::sync_channel(AHEAD);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Journal {
            child,
            entries,
            cursor: cursor.map(str::to_owned),
            held: None,
            ended: false,
        })
    }

    /// Appends the entries written since the last poll to `out`, a line each, up to a
    /// budget; whether more are waiting.
    pub fn poll(&mut self, out: &mut Vec<u8>) -> bool {
        let mut last = None;
        let more = loop {
            let entry = match self.held.take().map_or_else(|| self.entries.try_recv(), Ok) {
                Ok(entry) => entry,
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => {
                    self.note_end();
                    break false;
                }
            };
            if !out.is_empty() && out.len() + entry.len() > BUDGET {
                self.held = Some(entry);
                break true;
            }
            out.extend_from_slice(&entry);
            out.push(b'\n');
            last = Some(entry);
        };
        if let Some(cursor) = last.and_then(|e| crate::formats::envelope::journal_cursor(&e)) {
            self.cursor = Some(cursor);
        }
        more
    }

    /// The cursor of the last entry handed out (or the one it started after).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Says once that `journalctl` ended (its own message on stderr says why).
    fn note_end(&mut self) {
        if !self.ended {
            self.ended = true;
            let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
            eprintln!(
                "fivehundred: warning: journalctl ended ({status}); the journal is no longer followed"
            );
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
