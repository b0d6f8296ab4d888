//! Tomcat 10 from Debian (`tomcat10`, `default-jdk-headless`): the package's own
//! `catalina.sh run` (CATALINA_HOME `/usr/share/tomcat10`) with a CATALINA_BASE in the lab, one
//! HTTP connector on a free 127.0.0.1 port, and Tomcat's default `logging.properties` (the
//! `OneLineFormatter` files `catalina.DATE.log` and `localhost.DATE.log`, and the console,
//! which goes to `logs/catalina.out` as `catalina.sh start` would send it). The app is the
//! servlet in `tests/lab/app_java/`, compiled by `javac` against Debian's servlet API jar.

use super::{Daemon, Lab, NamedLog, free_port, wait_for};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian package's CATALINA_HOME.
const CATALINA_HOME: &str = "/usr/share/tomcat10";
/// The servlet API the app compiles against.
const SERVLET_API: &str = "/usr/share/java/tomcat10-servlet-api.jar";

/// Tomcat's default `conf/logging.properties` (as shipped upstream), its console handler
/// writing the same one-line format as its files.
const LOGGING: &str = "\
handlers = 1catalina.org.apache.juli.AsyncFileHandler, 2localhost.org.apache.juli.AsyncFileHandler, java.util.logging.ConsoleHandler
.handlers = 1catalina.org.apache.juli.AsyncFileHandler, java.util.logging.ConsoleHandler
1catalina.org.apache.juli.AsyncFileHandler.level = FINE
1catalina.org.apache.juli.AsyncFileHandler.directory = ${catalina.base}/logs
1catalina.org.apache.juli.AsyncFileHandler.prefix = catalina.
2localhost.org.apache.juli.AsyncFileHandler.level = FINE
2localhost.org.apache.juli.AsyncFileHandler.directory = ${catalina.base}/logs
2localhost.org.apache.juli.AsyncFileHandler.prefix = localhost.
java.util.logging.ConsoleHandler.level = FINE
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
org.apache.catalina.core.ContainerBase.[Catalina].[localhost].level = INFO
org.apache.catalina.core.ContainerBase.[Catalina].[localhost].handlers = 2localhost.org.apache.juli.AsyncFileHandler
";

/// The access valve of Debian's `server.xml` (`localhost_access_log.DATE.txt`, the common
/// format), writing each line as the request ends (unbuffered: the test reads it at once).
const ACCESS_VALVE: &str = "<Valve className=\"org.apache.catalina.valves.AccessLogValve\" \
     directory=\"logs\" prefix=\"localhost_access_log\" suffix=\".txt\" buffered=\"false\" \
     pattern=\"%h %l %u %t &quot;%r&quot; %s %b\"/>";

/// How Tomcat is set up, builder style: `TomcatOptions::new().heap("48m").start(&lab)`.
#[derive(Debug, Clone)]
pub struct TomcatOptions {
    /// `-Xmx`.
    pub heap: String,
    /// A shared `<Executor>` of this many threads and this queue length instead of the
    /// connector's own pool (whose queue has no bound).
    pub pool: Option<(u32, u32)>,
    /// `-Dname=value` system properties the app reads (`lab.export.dir`, `lab.slow.ms`).
    pub props: Vec<(String, String)>,
    /// Jars the app ships in `WEB-INF/lib` (a JDBC driver), copied from Debian's.
    pub libs: Vec<String>,
    /// The Host's `ErrorReportValve` with `showReport` and `showServerInfo` set so; `None`
    /// keeps Tomcat's default (both on: the exception, its stack and Tomcat's version).
    pub error_report: Option<bool>,
}

impl Default for TomcatOptions {
    fn default() -> Self {
        TomcatOptions {
            heap: "96m".into(),
            pool: None,
            props: Vec::new(),
            libs: Vec::new(),
            error_report: None,
        }
    }
}

impl TomcatOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn heap(mut self, xmx: &str) -> Self {
        self.heap = xmx.into();
        self
    }
    /// At most `threads` request threads and `queue` waiting connections: more are rejected.
    pub fn pool(mut self, threads: u32, queue: u32) -> Self {
        self.pool = Some((threads, queue));
        self
    }
    pub fn prop(mut self, name: &str, value: &str) -> Self {
        self.props.push((name.into(), value.into()));
        self
    }
    /// Error pages with (`true`) or without the report and the server's version.
    pub fn error_report(mut self, show: bool) -> Self {
        self.error_report = Some(show);
        self
    }
    /// Ships the jar at `path` in the app's `WEB-INF/lib`.
    pub fn lib(mut self, path: &str) -> Self {
        self.libs.push(path.into());
        self
    }

    /// Writes CATALINA_BASE under `tomcat/`, compiles the app into its ROOT webapp and runs
    /// Tomcat until its port accepts (the connector starts after the webapp is deployed).
    pub fn start(self, lab: &Lab) -> Tomcat {
        let port = free_port();
        let base = lab.mkdir("tomcat");
        for d in ["logs", "temp", "work", "webapps/ROOT/WEB-INF/classes"] {
            lab.mkdir(&format!("tomcat/{d}"));
        }
        lab.write("tomcat/conf/server.xml", &self.server_xml(port));
        lab.write("tomcat/conf/logging.properties", LOGGING);
        // Tomcat's global web.xml (default and JSP servlets), as the package ships it.
        std::os::unix::fs::symlink("/etc/tomcat10/web.xml", base.join("conf/web.xml"))
            .expect("link conf/web.xml");
        let webapp = base.join("webapps/ROOT");
        fs::copy(
            app_dir().join("WEB-INF/web.xml"),
            webapp.join("WEB-INF/web.xml"),
        )
        .expect("copy web.xml");
        compile(&webapp.join("WEB-INF/classes"));
        lab.mkdir("tomcat/webapps/ROOT/WEB-INF/lib");
        for jar in &self.libs {
            let name = Path::new(jar).file_name().expect("a jar's name");
            // A copy: Tomcat does not follow links out of a webapp (`allowLinking`).
            fs::copy(jar, webapp.join("WEB-INF/lib").join(name)).expect("copy a jar");
        }
        let out = base.join("logs/catalina.out");
        let opts: Vec<String> = std::iter::once(format!("-Xmx{}", self.heap))
            .chain(self.props.iter().map(|(k, v)| format!("-D{k}={v}")))
            .collect();
        // The shell only sends the console to catalina.out; `exec` keeps the pid Tomcat's.
        let mut daemon = Daemon::spawn(
            "tomcat",
            Command::new("sh")
                .args([
                    "-c",
                    "exec \"$1\"/bin/catalina.sh run > \"$2\" 2>&1",
                    "sh",
                    CATALINA_HOME,
                    &out.to_string_lossy(),
                ])
                .env("CATALINA_HOME", CATALINA_HOME)
                .env("CATALINA_BASE", &base)
                .env("CATALINA_TMPDIR", base.join("temp"))
                .env("CATALINA_OPTS", opts.join(" ")),
        );
        daemon.wait_until("tomcat port", || super::port_open(port));
        Tomcat { port, base, daemon }
    }

    fn server_xml(&self, port: u16) -> String {
        let (executor, uses) = match self.pool {
            Some((threads, queue)) => (
                format!(
                    "<Executor name=\"pool\" namePrefix=\"http-exec-\" maxThreads=\"{threads}\" \
                     minSpareThreads=\"{threads}\" maxQueueSize=\"{queue}\"/>"
                ),
                "executor=\"pool\" ",
            ),
            None => (String::new(), ""),
        };
        let error_valve = self.error_report.map_or_else(String::new, |show| {
            format!(
                "<Valve className=\"org.apache.catalina.valves.ErrorReportValve\" \
                 showReport=\"{show}\" showServerInfo=\"{show}\"/>"
            )
        });
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Server port=\"-1\" shutdown=\"SHUTDOWN\">\n  <Service name=\"Catalina\">\n    {executor}\n    \
             <Connector {uses}address=\"127.0.0.1\" port=\"{port}\" protocol=\"HTTP/1.1\" \
             connectionTimeout=\"20000\"/>\n    \
             <Engine name=\"Catalina\" defaultHost=\"localhost\">\n      \
             <Host name=\"localhost\" appBase=\"webapps\" unpackWARs=\"false\" autoDeploy=\"false\">\n        \
             {ACCESS_VALVE}\n        {error_valve}\n      </Host>\n    \
             </Engine>\n  </Service>\n</Server>\n"
        )
    }
}

/// The lab app's sources.
pub fn app_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/app_java")
}

/// `javac` of every source of the app into `classes`.
fn compile(classes: &Path) {
    let sources: Vec<PathBuf> = fs::read_dir(app_dir().join("lab"))
        .expect("app sources")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "java"))
        .collect();
    let out = Command::new("javac")
        .arg("-d")
        .arg(classes)
        .args(["-cp", SERVLET_API])
        .args(&sources)
        .output()
        .expect("run javac");
    assert!(
        out.status.success(),
        "javac failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running Tomcat.
pub struct Tomcat {
    pub port: u16,
    pub base: PathBuf,
    pub daemon: Daemon,
}

impl Tomcat {
    /// The file of `logs/` whose name starts with `prefix` (`catalina.`, `localhost.`: the
    /// date Tomcat puts in the name is its own).
    pub fn log(&self, prefix: &str) -> PathBuf {
        self.logs_file(prefix, ".log")
    }

    /// The file of `logs/` named `prefix…suffix`, or where it would be when not yet written.
    fn logs_file(&self, prefix: &str, suffix: &str) -> PathBuf {
        let dir = self.base.join("logs");
        fs::read_dir(&dir)
            .expect("tomcat logs")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with(prefix) && name.ends_with(suffix)
            })
            .unwrap_or_else(|| dir.join(format!("{prefix}missing{suffix}")))
    }

    pub fn catalina_out(&self) -> PathBuf {
        self.base.join("logs/catalina.out")
    }

    /// Waits until `needle` has been written `n` times to the log `prefix` (the file handlers
    /// write from a thread of their own).
    pub fn wait_logged(&mut self, prefix: &str, needle: &str, n: usize) {
        let what = format!("{n}x {needle:?} in {prefix}*.log");
        let mut path = self.log(prefix);
        wait_for(&what, || {
            path = self.log(prefix);
            super::count_in_file(&path, needle) >= n
        });
    }

    /// The access valve's daily file, `localhost_access_log.DATE.txt`.
    pub fn access_log(&self) -> PathBuf {
        self.logs_file("localhost_access_log.", ".txt")
    }

    /// The daily files (`catalina.DATE.log`, `localhost.DATE.log`, the access valve's)
    /// Tomcat has written, as diagnose takes them (`localhost.` only exists once an
    /// application logged an error).
    pub fn logs(&self) -> Vec<NamedLog> {
        [
            (self.log("catalina."), "catalina.log"),
            (self.log("localhost."), "localhost.log"),
            (self.access_log(), "localhost_access_log.txt"),
        ]
        .into_iter()
        .filter(|(p, _)| p.exists())
        .collect()
    }

    /// nginx in front of this Tomcat (`proxy_pass` of every path), connecting from an address
    /// of its own as a proxy in front of clients does (Tomcat's access log then names nginx,
    /// not the clients), and waiting only a second for `/late`.
    pub fn behind_nginx(&self, lab: &Lab) -> super::nginx::Nginx {
        let pass = format!(
            "proxy_pass http://127.0.0.1:{}; proxy_bind 127.0.0.2;",
            self.port
        );
        super::nginx::NginxOptions::new()
            .default_location(&format!("location / {{ {pass} }}"))
            .server(&format!(
                "location = /late {{ {pass} proxy_read_timeout 1s; }}"
            ))
            .start(lab)
    }

    /// Kills the JVM with SIGKILL, as the kernel's OOM killer does (`catalina.sh run` execs
    /// it: the daemon's pid is the JVM's).
    pub fn kill(&self) {
        let pid = self.daemon.pid().to_string();
        let ok = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -KILL {pid}");
    }
}
