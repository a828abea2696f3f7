//! Writing results and errors: stdout for results, one line on stderr for an error.

use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use weir::savepoint::DisposeReport;

/// Prints `text` to stdout; a closed pipe (`weir … | head`) ends quietly instead of panicking.
pub fn emit(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write to stdout: {e}")),
    }
}

/// Prints `value` as pretty JSON, with a final newline.
pub fn emit_json<T: Serialize>(value: &T) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(json) => emit(&(json + "\n")),
        Err(e) => fail(&format!("cannot encode the report as JSON: {e}")),
    }
}

/// Prints `error` as one line on stderr; exit code 1.
pub fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    let line = error.to_string().replace('\n', " ");
    let _ = writeln!(std::io::stderr().lock(), "weir: error: {line}");
    ExitCode::from(1)
}

/// What `weir savepoint dispose --json` prints: the report's fields.
#[derive(Serialize)]
pub struct DisposeJson<'a> {
    dir: &'a Path,
    deleted: &'a [std::path::PathBuf],
    kept: &'a [std::path::PathBuf],
}

/// The JSON form of a [`DisposeReport`].
pub fn dispose_json(report: &DisposeReport) -> DisposeJson<'_> {
    DisposeJson {
        dir: &report.dir,
        deleted: &report.deleted,
        kept: &report.kept,
    }
}

/// `weir savepoint plan`: says why it cannot be done offline and what to use; exit code 2.
pub fn plan(path: &Path, against: &[String]) -> ExitCode {
    let given = if against.is_empty() {
        String::new()
    } else {
        format!(" (--against {} ignored)", against.join(" "))
    };
    let text = format!(
        "weir: savepoint plan cannot run offline{given}: a weir job graph is Rust code, built by \
         the program that runs the job, so there is no file the command line could read it from.\n\
         To see which state of {path} each operator of a job would restore, what would start \
         empty and what would be dropped, call StreamEnvironment::plan_restore(path) in the \
         job's program after building the job and before execute() or spawn().\n\
         To compare two savepoints operator by operator, run: weir savepoint diff A B\n",
        path = path.display()
    );
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    ExitCode::from(2)
}
