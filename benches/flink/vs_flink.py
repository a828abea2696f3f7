#!/usr/bin/env python3
"""weir vs Apache Flink, side by side in one run: the logic behind benches/vs_flink.sh.

Run it through benches/vs_flink.sh (which installs Flink's jars first and passes --flink-lib).

For every workload it runs weir's job (benches/flink/weir_side.rs) and Flink's (the Java programs
in benches/flink/src, on a local MiniCluster), each in a process of its own under
`/usr/bin/time -v` for its peak RSS, parses their RESULT lines, checks each engine's checksums
against the closed-form values for its record count (so both computed the same thing), and only
then prints the ratio weir/Flink. A mismatch prints MISMATCH and no ratio. It writes a markdown
table and an SVG bar chart (hand-written SVG, no plotting library).

Modules (this directory): vsf_workloads (workloads, exact checksums), vsf_measure (running a
process with its peak RSS, judging its result lines), vsf_build (javac, cargo), vsf_report
(tables, markdown, SVG). Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vsf_report as report  # noqa: E402
import vsf_savepoint  # noqa: E402
from vsf_build import build_weir_side, compile_java, weir_from_benches  # noqa: E402
from vsf_measure import Side, judge, run_measured  # noqa: E402
from vsf_workloads import Workload, add_arguments, all_workloads, nexmark_references  # noqa: E402

# Flink's own distribution starts its JVMs with these on Java 17 (the module system otherwise
# refuses some of the reflection Flink and its serializers do); written out here, not copied.
FLINK_JAVA17_OPENS = [
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in (
        "java.lang",
        "java.lang.reflect",
        "java.io",
        "java.net",
        "java.nio",
        "java.text",
        "java.time",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.util.concurrent.locks",
        "sun.nio.ch",
    )
] + [
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
]


DEFAULT_WORKLOADS = ("stateless,keyed_hashmap,keyed_rocksdb,ckpt_off_1m,ckpt_on_1m,"
                     "nexmark_q0,nexmark_q1,nexmark_q2,nexmark_q3,recovery")
# Not in the default set (they take their own table): `--workloads savepoint` means all of them.
SAVEPOINT_WORKLOADS = ",".join(f"savepoint_{b}_1e{e}" for b in ("hashmap", "rocksdb")
                               for e in range(4, 8))


@dataclass
class Run:
    """One invocation of the runner: what was asked, what came out, for the report."""
    root: Path
    lib: Path
    args: argparse.Namespace
    workloads: list[Workload]
    command: str
    now: dt.datetime
    facts: list[str] = field(default_factory=list)  # machine, commits, versions: read first
    weir_how: str = ""
    results: dict[str, tuple[Side, Side]] = field(default_factory=dict)
    table: list[list[str]] = field(default_factory=list)
    extra: list[tuple[str, str, str, str]] = field(default_factory=list)
    recovery: list[list[str]] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="benches/vs_flink.sh",
        description="weir vs Apache Flink (local MiniCluster), side by side in one run.")
    add_arguments(ap)
    vsf_savepoint.add_arguments(ap)
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per workload and engine, in one process; the best counts "
                         "(recovery: the median) (default 3)")
    ap.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                    help=f"comma-separated subset (default: all: {DEFAULT_WORKLOADS}); "
                         f"also savepoint_<hashmap|rocksdb>_<1e4…1e7>, or `savepoint` for all "
                         f"eight, written to vs_flink_savepoint.md")
    ap.add_argument("--weir-from", choices=("side", "benches"), default="side",
                    help="side: weir_side.rs, same jobs and checksums as Flink's (default); "
                         "benches: parse `cargo bench --bench throughput/checkpointing` "
                         "(no checksums, so no ratios)")
    ap.add_argument("--out", default="benches/results", help="where vs_flink.md/.svg go")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]), help=argparse.SUPPRESS)
    ap.add_argument("--flink-lib", required=False, help=argparse.SUPPRESS)
    ap.add_argument("--command-line", default=None, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> int:
    a = parse_args()
    root = Path(a.root).resolve()
    if not a.flink_lib:
        sys.exit("vs_flink: run it as benches/vs_flink.sh (it installs Flink and passes --flink-lib)")
    lib = Path(a.flink_lib)
    cache = Path(os.environ.get("WEIR_VS_FLINK_CACHE", Path.home() / ".cache/weir/vs_flink"))
    cache.mkdir(parents=True, exist_ok=True)
    logs = cache / "logs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")

    known = all_workloads(a)
    known.update({w.name: w for w in vsf_savepoint.workloads(a)})
    chosen = [w.strip() for w in a.workloads.split(",") if w.strip()]
    chosen = [x for w in chosen for x in (SAVEPOINT_WORKLOADS.split(",") if w == "savepoint"
                                          else [w])]
    unknown = [w for w in chosen if w not in known]
    if unknown:
        sys.exit(f"vs_flink: unknown workloads {unknown}; known: {', '.join(known)}")
    workloads = [known[w] for w in chosen]
    command = a.command_line or "benches/vs_flink.sh"
    if os.environ.get("CARGO_TARGET_DIR"):
        command = f"CARGO_TARGET_DIR={os.environ['CARGO_TARGET_DIR']} {command}"
    r = Run(root, lib, a, workloads, command, dt.datetime.now(dt.timezone.utc))
    # Before anything is written: the results files are tracked, so a later `git status` would
    # call the tree dirty.
    r.facts = report.machine_facts(root, lib)

    classes = compile_java(root, lib, cache)
    java_cp = f"{classes}:{lib}/*"
    java_opts = FLINK_JAVA17_OPENS + [
        f"-Dlog4j.configurationFile={root / 'benches/flink/log4j2.properties'}"]
    java_opts += os.environ.get("WEIR_FLINK_JAVA_OPTS", "").split()

    weir_exe = None
    needs_side = a.weir_from == "side" or any(w.job == "nexmark" for w in workloads)
    if needs_side:
        print("vs_flink: building weir's side (cargo; waits if another build holds the lock)…",
              flush=True)
        weir_exe, r.weir_how = build_weir_side(root, cache)
        print(f"vs_flink: weir side: {weir_exe}")
        nexmark_references(weir_exe, workloads, root)

    bench_sides = {}
    if a.weir_from == "benches":
        print("vs_flink: running weir's existing benches…", flush=True)
        bench_sides = weir_from_benches(root, workloads, a.records, logs, a.timeout)
        r.weir_how = "cargo bench --bench throughput / --bench checkpointing"

    for w in workloads:
        if a.weir_from == "side":
            print(f"vs_flink: {w.name}: weir, {report.fmt_n(w.weir_records)} records × {a.runs} "
                  "runs…", flush=True)
            p = run_measured([str(weir_exe), w.job, "--records", str(w.weir_records),
                              "--runs", str(a.runs)] + w.args(),
                             logs / f"weir-{w.name}.log", root, a.timeout)
            weir = (vsf_savepoint.judge("weir", w, p, a.runs) if w.job == "savepoint"
                    else judge("weir", w, w.weir_records, p, a.runs))
        else:
            weir = bench_sides[w.name]
        print(f"vs_flink: {w.name}: Flink, {report.fmt_n(w.flink_records)} records × {a.runs} "
              "runs…", flush=True)
        p = run_measured(["java"] + java_opts + ["-cp", java_cp, w.main_class,
                          "--records", str(w.flink_records), "--runs", str(a.runs)] + w.args(),
                         logs / f"flink-{w.name}.log", root, a.timeout)
        flink = (vsf_savepoint.judge("flink", w, p, a.runs) if w.job == "savepoint"
                 else judge("flink", w, w.flink_records, p, a.runs))
        r.results[w.name] = (weir, flink)
        for s in (weir, flink):
            if s.status in ("mismatch", "failed"):
                print(f"vs_flink: {w.name} {s.engine}: {s.status.upper()}: {s.note}", file=sys.stderr)

    r.table, chart_rows = report.throughput_rows(workloads, r.results, a.weir_from)
    r.extra = report.overhead_rows(r.results)
    r.recovery = report.recovery_rows(workloads, r.results)
    print()
    if r.table:
        report.print_table(report.THROUGHPUT_HEADER, r.table)
    for label, cw, cf, goal in r.extra:
        print(f"{label}: weir {cw}, Flink {cf}; goal: {goal}")
    if r.recovery:
        print()
        report.print_table(report.RECOVERY_HEADER, r.recovery)
    savepoints = vsf_savepoint.rows(workloads, r.results)
    if savepoints:
        print()
        report.print_table(vsf_savepoint.header(workloads), savepoints)
    sides = [s for pair in r.results.values() for s in pair if s.seconds > 0]
    others = sum(s.others_cpu_s for s in sides)
    engine_s = sum(s.seconds for s in sides)
    print(f"other processes' CPU while the engines ran: {others:.1f} s over {engine_s:.0f} s "
          f"({others / max(engine_s, 1e-9) * 100:.0f} % of one core)")

    out_dir = (root / a.out) if not Path(a.out).is_absolute() else Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"weir vs Flink 2.3 MiniCluster, parallelism 2 ({r.now:%Y-%m-%d})"
    note = report.recovery_note(workloads, r.results)
    written = []
    if any(w.job != "savepoint" for w in workloads):
        (out_dir / "vs_flink.svg").write_text(report.svg_chart(chart_rows, title, note))
        (out_dir / "vs_flink.md").write_text(report.markdown(r))
        written += [out_dir / "vs_flink.md", out_dir / "vs_flink.svg"]
    if savepoints:
        (out_dir / "vs_flink_savepoint.md").write_text(vsf_savepoint.markdown(r, report.md_table))
        written.append(out_dir / "vs_flink_savepoint.md")
    print(f"\nvs_flink: wrote {', '.join(str(p) for p in written)}; logs in {logs}")
    bad = any(s.status in ("mismatch", "failed") for pair in r.results.values() for s in pair)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
