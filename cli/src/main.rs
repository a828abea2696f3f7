//! `weir`: savepoints and checkpoints from the command line, without a running job.
//!
//! Every command only parses its arguments, calls `weir::checkpoint::inspect` or
//! `weir::savepoint`, and prints the result: a table, or with `--json` a JSON document (the
//! library's report structs, serialized). An error is one line on stderr naming the file, and
//! exit code 1; `savepoint plan`, which cannot work offline, says why and exits with 2.

mod output;
mod text;
mod time;

use clap::{Parser, Subcommand};
use output::{emit, emit_json, fail};
use std::path::PathBuf;
use std::process::ExitCode;
use weir::checkpoint::inspect;

/// Inspect, list, compare and dispose weir savepoints and checkpoints.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Savepoints: `savepoint-<job>-<n>` directories.
    #[command(subcommand)]
    Savepoint(SavepointCommand),
    /// Checkpoints of a job's checkpoint directory.
    #[command(subcommand)]
    Checkpoint(CheckpointCommand),
}

#[derive(Debug, Subcommand)]
enum SavepointCommand {
    /// Job, operators by uid, parallelism, key groups, states, sizes and backend of a savepoint.
    Inspect {
        /// A savepoint directory or its `_metadata` (or the `chk-<n>` of an earlier layout).
        path: PathBuf,
        /// Print a JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a savepoint: only the files its `_metadata` accounts for.
    Dispose {
        /// A savepoint directory or its `_metadata` (or the `chk-<n>` of an earlier layout).
        path: PathBuf,
        /// Print a JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What differs between two savepoints (or checkpoints), by operator uid.
    Diff {
        /// The first (older) savepoint.
        a: PathBuf,
        /// The second (newer) savepoint.
        b: PathBuf,
        /// Print a JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Which state a job would restore: not possible offline (says why and exits with 2).
    Plan {
        /// A savepoint directory.
        path: PathBuf,
        /// The job to plan against (a job graph is Rust code: it cannot be given here).
        #[arg(long, num_args = 0.., value_name = "JOB")]
        against: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum CheckpointCommand {
    /// The same as `savepoint inspect`, for a `chk-<n>` directory of a job's checkpoint dir.
    Inspect {
        /// A `chk-<n>` directory or its `_metadata`.
        path: PathBuf,
        /// Print a JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Every `chk-<n>`: complete or not (and why), sizes, times. Modifies nothing.
    List {
        /// A job directory (`<checkpoint dir>/<job id>`) or the checkpoint dir holding them.
        dir: PathBuf,
        /// Print a JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Savepoint(command) => savepoint(command),
        Command::Checkpoint(command) => checkpoint(command),
    }
}

fn savepoint(command: SavepointCommand) -> ExitCode {
    match command {
        SavepointCommand::Inspect { path, json } => show_inspect(&path, json),
        SavepointCommand::Dispose { path, json } => match weir::savepoint::dispose(&path) {
            Ok(report) if json => emit_json(&output::dispose_json(&report)),
            Ok(report) => emit(&text::dispose(&report)),
            Err(e) => fail(&e),
        },
        SavepointCommand::Diff { a, b, json } => {
            let reports = inspect::inspect(&a).and_then(|ra| Ok((ra, inspect::inspect(&b)?)));
            match reports {
                Ok((ra, rb)) => {
                    let diff = inspect::diff(&ra, &rb);
                    if json {
                        emit_json(&diff)
                    } else {
                        emit(&text::diff(&diff))
                    }
                }
                Err(e) => fail(&e),
            }
        }
        SavepointCommand::Plan { path, against } => output::plan(&path, &against),
    }
}

fn checkpoint(command: CheckpointCommand) -> ExitCode {
    match command {
        CheckpointCommand::Inspect { path, json } => show_inspect(&path, json),
        CheckpointCommand::List { dir, json } => match inspect::list_checkpoints(&dir) {
            Ok(listing) if json => emit_json(&listing),
            Ok(listing) => emit(&text::listing(&listing)),
            Err(e) => fail(&e),
        },
    }
}

fn show_inspect(path: &std::path::Path, json: bool) -> ExitCode {
    match inspect::inspect(path) {
        Ok(report) if json => emit_json(&report),
        Ok(report) => emit(&text::report(&report)),
        Err(e) => fail(&e),
    }
}
