//! ASP.NET Core's default console logger (`Microsoft.Extensions.Logging.Console`, the
//! `simple` formatter): a record starts with a four-letter level and the category with its
//! event id, and its message, scopes and exception follow on lines indented by six spaces.
//! There is no time unless the app sets `TimestampFormat`, which then comes first
//! (`2026-12-07 12:00:00 fail: …`).
//!
//! ```text
//! fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]
//!       An unhandled exception has occurred while executing the request.
//!       System.InvalidOperationException: Sample exception.
//!          at WebApp.Pages.IndexModel.OnGet() in /src/Pages/Index.cshtml.cs:line 17
//! ```
//!
//! With `IncludeScopes`, the request's scope names its path: `=> RequestId:… RequestPath:/`.
//! No .NET runtime can be installed here, so these are read from Microsoft's documentation
//! only (see the tests), never from a running server.

use jiff::tz::TimeZone;

use super::super::time::parse_python;
use super::super::{ErrorEvent, EventBuilder, Kind};
use super::{Language, trace::Trace};

/// The simple formatter's level names.
const LEVELS: [&[u8]; 6] = [b"trce", b"dbug", b"info", b"warn", b"fail", b"crit"];

/// Frames of these namespaces are the framework's or the runtime's.
const FOREIGN: [&str; 3] = ["Microsoft.", "System.", "lambda_method"];

/// The time (where a `TimestampFormat` with the date put one first), the level and the
/// category (without its `[event id]`) of a header line.
fn parts(record: &[u8]) -> Option<(Option<super::super::time::Civil>, &[u8], &[u8])> {
    let line = &record[..memchr::memchr(b'\n', record).unwrap_or(record.len())];
    let (civil, rest) = match parse_python(line) {
        Some((c, rest)) => (Some(c), rest.strip_prefix(b" ")?),
        None => (None, line),
    };
    let level = rest.get(..4)?;
    let category = rest.get(4..)?.strip_prefix(b": ")?;
    let open = memchr::memchr(b'[', category)?;
    let ok = LEVELS.contains(&level)
        && open > 0
        && !category[..open].contains(&b' ')
        && category[open..].trim_ascii_end().ends_with(b"]");
    ok.then_some((civil, level, &category[..open]))
}

/// Whether a line starts a console logger record.
pub fn is_header(line: &[u8]) -> bool {
    parts(line).is_some()
}

/// Whether a line is the console logger's: a header, or a frame with its source
/// (`   at Ns.T.M() in /src/T.cs:line 12`), most of the lines of a log with an exception.
pub fn sniff(line: &[u8]) -> bool {
    let frame = || {
        let rest = line.trim_ascii_start();
        rest.starts_with(b"at ")
            && memchr::memmem::find(rest, b" in ").is_some()
            && memchr::memmem::find(rest, b":line ").is_some()
    };
    is_header(line) || frame()
}

/// The level a record's header names (`fail`).
pub fn level(record: &[u8]) -> Option<&[u8]> {
    parts(record).map(|(_, level, _)| level)
}

/// Parses a record: level, category as module, the indented lines as the message, and the
/// request path of a `RequestPath:` scope.
pub fn parse(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let (civil, level, category) = parts(record)?;
    let mut event = EventBuilder::new(record, civil.and_then(|c| c.in_zone(tz)), Kind::App);
    event.event.language = Some(Language::Csharp);
    event.level(level);
    event.module(category);
    let body = memchr::memchr(b'\n', record).map_or(&b""[..], |at| &record[at + 1..]);
    event.message(body.trim_ascii_start());
    if let Some(path) = request_path(body) {
        event.request(path);
    }
    Some(event.finish())
}

/// The value of the hosting scope's `RequestPath:` (up to the next space).
fn request_path(body: &[u8]) -> Option<&[u8]> {
    let at = memchr::memmem::find(body, b"RequestPath:")? + 12;
    let rest = &body[at..];
    let end = memchr::memchr3(b' ', b'\n', b'\r', rest).unwrap_or(rest.len());
    (end > 0 && rest[0] == b'/').then_some(&rest[..end])
}

/// Reads a .NET stack trace: its exception and the application's first frame.
pub fn trace(text: &str) -> Trace {
    Trace::from_text(app_frame(text), exception(text))
}

/// The exception of a record: the innermost (` ---> Inner: …`), else the first line that
/// names one (`System.InvalidOperationException: …`).
fn exception(text: &str) -> Option<&str> {
    let inner = text
        .lines()
        .rev()
        .find_map(|l| l.split_once(" ---> ").map(|(_, r)| r));
    inner
        .or_else(|| text.lines().skip(1).find(|l| type_name(l).is_some()))
        .and_then(type_name)
}

/// The type name a line starts with: a qualified name ending in `Exception`, followed by
/// `:`, ` (0x…)` or the line's end.
fn type_name(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let end = line.find([':', ' ']).unwrap_or(line.len());
    let name = &line[..end];
    let ident = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_');
    (name.contains('.') && name.ends_with("Exception") && name.chars().all(ident)).then_some(name)
}

/// The first frame of the application's code (`at Ns.Type.Method() in /src/File.cs:line 12`),
/// as its file and line; frames without a file (no symbols) say nothing.
fn app_frame(text: &str) -> Option<(String, u32)> {
    text.lines().find_map(|l| {
        let at = l.trim_start().strip_prefix("at ")?;
        if FOREIGN.iter().any(|p| at.starts_with(p)) {
            return None;
        }
        let (_, location) = at.rsplit_once(" in ")?;
        let (file, line) = location.rsplit_once(":line ")?;
        Some((file.to_string(), line.trim_end().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of Microsoft's "Handle errors in ASP.NET Core" and "Console log formatting"
    /// pages (learn.microsoft.com/aspnet/core/fundamentals/error-handling,
    /// learn.microsoft.com/dotnet/core/extensions/console-log-formatter): the middleware's
    /// category and event id, its message, the exception and its frames.
    const UNHANDLED: &str = "fail: Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware[1]
      An unhandled exception has occurred while executing the request.
      System.Exception: Sample exception.
         at WebApplication1.Pages.IndexModel.OnGet() in C:\\Users\\user\\source\\repos\\WebApplication1\\Pages\\Index.cshtml.cs:line 17
         at lambda_method1(Closure , Object , Object[] )
         at Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure.ExecutorFactory.ActionResultHandlerMethod.Execute(Object receiver, Object[] arguments)";

    /// The scope line of the "High-performance logging with LoggerMessage" page
    /// (learn.microsoft.com/aspnet/core/fundamentals/logging/loggermessage), with
    /// `IncludeScopes`, on the production middleware's record and a `TimestampFormat` of
    /// `yyyy-MM-dd HH:mm:ss `.
    const SCOPED: &str = "2026-12-07 12:00:00 fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]
      => RequestId:0HL90M6E7PHK4:00000001 RequestPath:/orders/42 => Shop.Controllers.OrdersController.Get (Shop)
      An unhandled exception has occurred while executing the request.
      System.InvalidOperationException: Order 42 has no lines
       ---> System.Data.SqlClient.SqlException (0x80131904): Login failed for user 'shop'.
         at System.Data.SqlClient.SqlInternalConnectionTds..ctor()
         --- End of inner exception stack trace ---
         at Shop.Data.Orders.Load(Int32 id) in /src/Shop/Data/Orders.cs:line 31
         at Shop.Controllers.OrdersController.Get(Int32 id) in /src/Shop/Controllers/OrdersController.cs:line 18";

    #[test]
    fn headers_with_and_without_a_time() {
        let mut lines = UNHANDLED.lines();
        assert!(is_header(lines.next().unwrap().as_bytes()));
        assert!(lines.all(|l| !is_header(l.as_bytes())));
        assert!(is_header(SCOPED.lines().next().unwrap().as_bytes()));
        assert!(is_header(b"info: Microsoft.Hosting.Lifetime[14]"));
        assert!(!is_header(b"fail: something went wrong [1]"));
        assert!(!is_header(b"info: [1]"));
    }

    #[test]
    fn an_unhandled_exception_names_the_apps_frame() {
        let e = parse(UNHANDLED.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!((e.level(), e.time), ("fail", None));
        assert_eq!(e.language, Some(Language::Csharp));
        assert_eq!(
            e.module(),
            "Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware"
        );
        assert!(
            e.message()
                .starts_with("An unhandled exception has occurred")
        );
        assert_eq!(exception(e.text()), Some("System.Exception"));
        assert_eq!(
            app_frame(e.text()),
            Some((
                "C:\\Users\\user\\source\\repos\\WebApplication1\\Pages\\Index.cshtml.cs".into(),
                17
            ))
        );
    }

    #[test]
    fn a_scope_names_the_request_path_and_the_inner_exception_wins() {
        let e = parse(SCOPED.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T12:00:00+00:00");
        assert_eq!(e.request(), Some("/orders/42"));
        assert_eq!(
            exception(e.text()),
            Some("System.Data.SqlClient.SqlException")
        );
        assert_eq!(
            app_frame(e.text()),
            Some(("/src/Shop/Data/Orders.cs".into(), 31))
        );
    }

    /// Kestrel's record of an exception no middleware handled (event id 13), in the shape
    /// quoted from real consoles in dotnet/aspnetcore#19476 and aspnet/KestrelHttpServer#1367,
    /// for each failure the ASP.NET column of docs/stacks.md proves on documented lines: the
    /// default message of `OutOfMemoryException` (learn.microsoft.com/dotnet/api/
    /// system.outofmemoryexception), SQL Server's error 18456 (learn.microsoft.com/sql/
    /// relational-databases/errors-events/mssqlserver-18456-database-engine-error) and its
    /// "network-related or instance-specific error" (learn.microsoft.com/troubleshoot/sql/
    /// database-engine/connect/network-related-or-instance-specific-error-occurred), Npgsql's
    /// `28P01` (PostgreSQL's own words), and `IOException` on a full disk (Linux's ENOSPC).
    fn kestrel(exception: &str) -> String {
        format!(
            "fail: Microsoft.AspNetCore.Server.Kestrel[13]
      Connection id \"0HNH30RGF5AKT\", Request id \"0HNH30RGF5AKT:00000001\": An unhandled exception was thrown by the application.
      {exception}
         at Shop.Data.Orders.Load(Int32 id) in /src/Shop/Data/Orders.cs:line 31
         at Shop.Controllers.OrdersController.Get(Int32 id) in /src/Shop/Controllers/OrdersController.cs:line 18
         at Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpProtocol.ProcessRequests[TContext](IHttpApplication`1 application)"
        )
    }

    #[test]
    fn kestrels_unhandled_exceptions_name_their_cause_and_the_apps_frame() {
        let rules = crate::diagnose::rules::Rules::builtin();
        for (exception, cause, class) in [
            (
                "System.InvalidOperationException: Order 42 has no lines",
                "app_exception",
                "System.InvalidOperationException",
            ),
            (
                "System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown.",
                "out_of_memory",
                "System.OutOfMemoryException",
            ),
            (
                "Microsoft.Data.SqlClient.SqlException (0x80131904): Login failed for user 'shop'.",
                "db_auth",
                "Microsoft.Data.SqlClient.SqlException",
            ),
            (
                "Npgsql.PostgresException (0x80004005): 28P01: password authentication failed for user \"shop\"",
                "db_auth",
                "Npgsql.PostgresException",
            ),
            (
                "Microsoft.Data.SqlClient.SqlException (0x80131904): A network-related or instance-specific error occurred while establishing a connection to SQL Server. The server was not found or was not accessible.",
                "db_unreachable",
                "Microsoft.Data.SqlClient.SqlException",
            ),
            (
                "System.IO.IOException: No space left on device : '/var/exports/orders.csv'",
                "disk_full",
                "System.IO.IOException",
            ),
        ] {
            let record = kestrel(exception);
            let e = parse(record.as_bytes(), &TimeZone::UTC).unwrap();
            let v = rules.classify(&e).unwrap_or_else(|| panic!("{record}"));
            assert_eq!(v.cause, cause, "{record}");
            assert_eq!(v.language, Some(Language::Csharp));
            assert_eq!(v.exception.as_deref(), Some(class), "{record}");
            assert_eq!(
                (v.file.as_deref(), v.line),
                (Some("/src/Shop/Data/Orders.cs"), Some(31)),
                "{record}"
            );
        }
    }

    #[test]
    fn hostile_records_do_not_panic() {
        for bad in [
            &b"fail: "[..],
            b"fail: x[",
            b"2026-12-07 12:00:00 ",
            b"\xff\xfe: [",
            b"fail: A[1]\n RequestPath:",
        ] {
            let _ = parse(bad, &TimeZone::UTC);
        }
        assert_eq!(app_frame("   at X.Y() in :line "), None);
    }
}
