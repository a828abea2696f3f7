//! The reports as text: aligned tables for people (the JSON is for programs).

use crate::time::utc;
use std::fmt::Write;
use weir::checkpoint::inspect::{
    BackendOrigin, CheckpointListing, KeyGroupRange, OperatorSubtask, SnapshotDiff, SnapshotKind,
    SnapshotReport, StateFormat, StateIdentity,
};
use weir::savepoint::DisposeReport;

/// Rows under a header, each column as wide as its widest cell, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

fn groups(range: KeyGroupRange) -> String {
    format!("{}-{}", range.first, range.last)
}

fn backend(origin: Option<BackendOrigin>) -> &'static str {
    match origin {
        None => "-",
        Some(BackendOrigin::Heap) => "heap",
        Some(BackendOrigin::RocksdbFull) => "rocksdb full",
        Some(BackendOrigin::RocksdbIncremental) => "rocksdb incremental",
        Some(BackendOrigin::Rocksdb) => "rocksdb",
        Some(_) => "other",
    }
}

fn format_of(subtask: &OperatorSubtask) -> String {
    match subtask.format {
        StateFormat::None => "none".into(),
        StateFormat::Keyed => "keyed".into(),
        StateFormat::KeyedCanonical => "keyed (canonical)".into(),
        StateFormat::Operator => "operator".into(),
        StateFormat::Opaque => format!("opaque ({} bytes)", subtask.state_bytes),
        _ => "other".into(),
    }
}

fn rocksdb_files(subtask: &OperatorSubtask) -> String {
    match &subtask.rocksdb {
        None => "-".into(),
        Some(f) if f.shared_files == 0 => format!("{} ({} bytes)", f.own_files, f.own_bytes),
        Some(f) => format!(
            "{} ({} bytes) + {} shared ({} bytes)",
            f.own_files, f.own_bytes, f.shared_files, f.shared_bytes
        ),
    }
}

fn source_of(subtask: &OperatorSubtask) -> String {
    match &subtask.source {
        None => "-".into(),
        Some(p) => match &p.splits {
            Some(splits) => format!("{} splits, {} bytes", splits.len(), p.bytes),
            None => format!("position, {} bytes (opaque)", p.bytes),
        },
    }
}

/// `weir savepoint inspect` / `weir checkpoint inspect`.
pub fn report(r: &SnapshotReport) -> String {
    let kind = match r.kind {
        SnapshotKind::Savepoint => "savepoint",
        _ => "checkpoint",
    };
    let mut out = format!(
        "{kind} {}\njob id           {}\ncheckpoint       {}\ntime             {}\nmax parallelism  {}\nstate bytes      {} (full state {})\n\n",
        r.path.display(),
        r.job_id,
        r.checkpoint_id,
        utc(r.timestamp_ms),
        r.max_parallelism,
        r.state_bytes,
        r.full_state_bytes
    );
    let vertices: Vec<Vec<String>> = r
        .vertices
        .iter()
        .map(|v| {
            let bytes: u64 = v.subtasks.iter().map(|s| s.state_bytes).sum();
            vec![
                v.uid.clone(),
                v.parallelism.to_string(),
                bytes.to_string(),
                v.operator_uids.join(", "),
            ]
        })
        .collect();
    out += &table(&["VERTEX", "PARALLELISM", "BYTES", "OPERATORS"], &vertices);
    let mut subtasks = Vec::new();
    for op in &r.operators {
        if op.subtasks_with_state.is_empty() {
            let dash = || "-".to_string();
            let (uid, all) = (op.uid.clone(), "all".to_string());
            subtasks.push(vec![
                uid,
                all,
                dash(),
                "none".into(),
                dash(),
                dash(),
                dash(),
                dash(),
            ]);
            continue;
        }
        for s in &op.subtasks {
            subtasks.push(vec![
                op.uid.clone(),
                s.index.to_string(),
                groups(s.key_groups),
                format_of(s),
                backend(s.backend).to_string(),
                s.state_bytes.to_string(),
                rocksdb_files(s),
                source_of(s),
            ]);
        }
    }
    out += "\n";
    let header = [
        "OPERATOR",
        "SUBTASK",
        "KEY GROUPS",
        "STATE",
        "BACKEND",
        "BYTES",
        "ROCKSDB FILES",
        "SOURCE",
    ];
    out += &table(&header, &subtasks);
    let mut states = Vec::new();
    for op in &r.operators {
        for s in &op.states {
            let subtasks: Vec<String> = s.subtasks.iter().map(u32::to_string).collect();
            states.push(vec![
                op.uid.clone(),
                s.name.clone(),
                s.kind.clone(),
                s.storage.clone(),
                s.bytes.map_or("in files".into(), |b| b.to_string()),
                subtasks.join(","),
                s.type_name.clone(),
            ]);
        }
    }
    out += "\n";
    if states.is_empty() {
        out += "no named state\n";
    } else {
        let header = [
            "OPERATOR", "STATE", "KIND", "STORAGE", "BYTES", "SUBTASKS", "TYPE",
        ];
        out += &table(&header, &states);
    }
    out
}

/// `weir checkpoint list`.
pub fn listing(listing: &CheckpointListing) -> String {
    let mut out = String::new();
    for job in &listing.jobs {
        let _ = writeln!(out, "job directory {}", job.job_dir.display());
        let rows: Vec<Vec<String>> = job
            .checkpoints
            .iter()
            .map(|c| {
                let or_dash = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
                vec![
                    format!("chk-{}", c.id),
                    if c.complete { "complete" } else { "incomplete" }.into(),
                    c.timestamp_ms.map_or("-".into(), utc),
                    or_dash(c.state_bytes),
                    or_dash(c.full_state_bytes),
                    c.disk_bytes.to_string(),
                    c.problem.clone().unwrap_or_default(),
                ]
            })
            .collect();
        if rows.is_empty() {
            out += "no chk-<n> directory\n";
        } else {
            let header = [
                "CHECKPOINT",
                "STATUS",
                "TIME",
                "STATE BYTES",
                "FULL BYTES",
                "ON DISK",
                "PROBLEM",
            ];
            out += &table(&header, &rows);
        }
        out += "\n";
    }
    out
}

fn state_list(states: &[StateIdentity]) -> String {
    let names: Vec<String> = states
        .iter()
        .map(|s| format!("{:?} {} ({})", s.name, s.kind, s.type_name))
        .collect();
    names.join(", ")
}

/// `weir savepoint diff`.
pub fn diff(d: &SnapshotDiff) -> String {
    let mut out = format!("a: {}\nb: {}\n", d.a.display(), d.b.display());
    if d.job_id.changed() {
        let _ = writeln!(out, "job id: {} -> {}", d.job_id.a, d.job_id.b);
    }
    if d.max_parallelism.changed() {
        let (a, b) = (d.max_parallelism.a, d.max_parallelism.b);
        let _ = writeln!(
            out,
            "max parallelism: {a} -> {b} (a restore cannot change it)"
        );
    }
    let _ = writeln!(out, "operators only in a: {}", or_none(&d.only_in_a));
    let _ = writeln!(out, "operators only in b: {}", or_none(&d.only_in_b));
    let mut unchanged = Vec::new();
    for op in &d.in_both {
        if !op.changed {
            unchanged.push(op.uid.clone());
            continue;
        }
        let _ = writeln!(out, "changed {}:", op.uid);
        if op.parallelism.changed() {
            let (a, b) = (op.parallelism.a, op.parallelism.b);
            let _ = writeln!(out, "  parallelism {a} -> {b}");
        }
        if op.vertex_uid.changed() {
            let (a, b) = (&op.vertex_uid.a, &op.vertex_uid.b);
            let _ = writeln!(out, "  chained in vertex {a} -> {b}");
        }
        if op.backend.changed() {
            let (a, b) = (backend(op.backend.a), backend(op.backend.b));
            let _ = writeln!(out, "  backend {a} -> {b}");
        }
        if !op.states_added.is_empty() {
            let _ = writeln!(out, "  states added: {}", state_list(&op.states_added));
        }
        if !op.states_removed.is_empty() {
            let _ = writeln!(out, "  states removed: {}", state_list(&op.states_removed));
        }
        for c in &op.states_changed {
            let _ = writeln!(
                out,
                "  state {:?}: {} ({}) -> {} ({})",
                c.name, c.kind.a, c.type_name.a, c.kind.b, c.type_name.b
            );
        }
        let (a, b) = (op.state_bytes.a, op.state_bytes.b);
        let _ = writeln!(out, "  state bytes {a} -> {b}");
    }
    let _ = writeln!(
        out,
        "unchanged (but for their bytes): {}",
        or_none(&unchanged)
    );
    let (a, b) = (d.state_bytes.a, d.state_bytes.b);
    let _ = writeln!(out, "state bytes: {a} -> {b}");
    out
}

fn or_none(uids: &[String]) -> String {
    if uids.is_empty() {
        "none".into()
    } else {
        uids.join(", ")
    }
}

/// `weir savepoint dispose`.
pub fn dispose(report: &DisposeReport) -> String {
    let mut out = format!(
        "disposed savepoint {}: {} files deleted\n",
        report.dir.display(),
        report.deleted.len()
    );
    if !report.kept.is_empty() {
        let _ = writeln!(
            out,
            "kept {} files weir did not write (with the directories holding them):",
            report.kept.len()
        );
        for file in &report.kept {
            let _ = writeln!(out, "  {}", file.display());
        }
    }
    out
}
