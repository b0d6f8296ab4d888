//! A Go `net/http` server (Debian's `golang-go`, the standard library and lib/pq from Debian's
//! `golang-github-lib-pq-dev`, found in `/usr/share/gocode`): the app in `tests/lab/app_go/`,
//! built by `go build` with its caches under the target dir (no network),
//! run on a free 127.0.0.1 port with its stderr (where the standard `log` package and the
//! runtime's panics write) sent to `log/go-app.log`, as a unit file or a shell redirect would,
//! under an address-space limit (`ulimit -v`) so that a route that keeps what it allocates
//! runs the runtime out of memory.

use super::{Daemon, Lab, NamedLog, free_port};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The app's source file.
pub fn source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/app_go/main.go")
}

/// The app's binary, built once per test process.
fn binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build("app", &source(), &[]))
}

/// `go build` of `src` (a file, or a package's directory) with the build `tags` into
/// `<target tmp>/go-lab/NAME`, offline: Debian's sources only, caches under the target dir.
/// Gives the binary.
pub fn build(name: &str, src: &Path, tags: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-lab");
    let bin = dir.join(name);
    // GOPATH mode builds a directory outside GOPATH only as `.`, from inside it.
    let (cwd, what) = if src.is_dir() {
        (src, Path::new("."))
    } else {
        (Path::new(env!("CARGO_MANIFEST_DIR")), src)
    };
    let out = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&bin)
        .arg(format!("-tags={}", tags.join(",")))
        .arg(what)
        .current_dir(cwd)
        .env("GOCACHE", dir.join("cache"))
        .env(
            "GOPATH",
            format!("{}:{DEBIAN_GOCODE}", dir.join("gopath").display()),
        )
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Where Debian's `golang-*-dev` packages put their sources (a GOPATH).
const DEBIAN_GOCODE: &str = "/usr/share/gocode";

/// The app's address-space limit (`ulimit -v`, KiB): room to serve, none to keep what
/// `/report` builds.
const ADDRESS_SPACE_KIB: u32 = 1_000_000;

/// A running Go app.
pub struct GoApp {
    pub port: u16,
    pub log: PathBuf,
    pub daemon: Daemon,
}

impl GoApp {
    /// Starts the app with `database_url` (its `/orders`' database) and waits until its port
    /// accepts.
    pub fn start(lab: &Lab, database_url: &str) -> GoApp {
        let port = free_port();
        let log = lab.mkdir("log").join("go-app.log");
        // Where `/export` writes: a 64 KiB tmpfs, too small for what it writes.
        let export_dir = lab
            .mount_tmpfs("export", "64k")
            .expect("a tmpfs for the export");
        let daemon = spawn(port, &log, database_url, &export_dir);
        GoApp { port, log, daemon }
    }

    pub fn logs(&self) -> Vec<NamedLog> {
        vec![(self.log.clone(), "go-app.log")]
    }
}

/// The app on `port`, its stderr appended to `log`, and waits until its port accepts. The
/// shell only limits its address space and sends stderr to the log; `exec` keeps the pid the
/// app's.
fn spawn(port: u16, log: &Path, database_url: &str, export_dir: &Path) -> Daemon {
    let mut daemon = Daemon::spawn(
        "go-app",
        Command::new("sh")
            .env("DATABASE_URL", database_url)
            .env("EXPORT_DIR", export_dir)
            .args([
                "-c",
                "ulimit -v \"$4\"; exec \"$1\" \"$2\" 2>> \"$3\"",
                "sh",
                &binary().to_string_lossy(),
                &format!("127.0.0.1:{port}"),
                &log.to_string_lossy(),
                &ADDRESS_SPACE_KIB.to_string(),
            ]),
    );
    daemon.wait_until("go app port", || super::port_open(port));
    daemon
}
