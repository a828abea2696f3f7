"""The savepoint workloads of benches/vs_flink.sh: savepoint time and size against state size, and
restore time at the same and at a changed parallelism, on both engines with the same state.

Both sides (benches/flink/savepoint_job.rs, SavepointJob.java) fill `keys` keys of the keyed count
(`fill-per-key` records each), take a savepoint through the engine's client, restore it at 2 and
at `changed_parallelism` and run a verification job over every key; the header of
savepoint_job.rs defines every figure. Their own result line; judged here, reported in
benches/results/vs_flink_savepoint.md.

Part of the runner (benches/flink/vs_flink.py); Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse

from vsf_measure import Proc, Side, parse_results
from vsf_workloads import U64, Workload

MAIN_CLASS = "weir.bench.flink.SavepointJob"
TIMES = ("savepoint_ms", "start_empty_ms", "restore_same_ms", "restore_changed_ms")


def key_label(keys: int) -> str:
    """1e4 for 10 000, else the number."""
    e = len(str(keys)) - 1
    return f"1e{e}" if keys == 10 ** e else str(keys)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options that size the savepoint workloads."""
    ap.add_argument("--savepoint-fill-per-key", type=int, default=1,
                    help="savepoint_*: records per key in the fill job (default 1)")
    ap.add_argument("--savepoint-changed-parallelism", type=int, default=3,
                    help="savepoint_*: parallelism of the second restore (default 3; the "
                         "savepoint is taken at 2)")


def workloads(a: argparse.Namespace) -> list[Workload]:
    """savepoint_<backend>_<1e4…1e7>: both backends, 10^4 to 10^7 keys."""
    out = []
    for backend in ("hashmap", "rocksdb"):
        for e in range(4, 8):
            keys = 10 ** e
            w = Workload(f"savepoint_{backend}_1e{e}", f"savepoint, {backend}, 1e{e} keys",
                         "savepoint", MAIN_CLASS, keys=keys, backend=backend,
                         weir_records=keys, flink_records=keys)
            w.extra_args = ["--fill-per-key", str(a.savepoint_fill_per_key),
                            "--changed-parallelism", str(a.savepoint_changed_parallelism)]
            out.append(w)
    return out


def expected(w: Workload, fill_per_key: int) -> dict[str, int]:
    """What each verification job's sink must see: every key once, with its count + 1."""
    k = w.keys
    return {"sink_records": k, "sum_a": (k * (fill_per_key + 1)) % U64,
            "sum_b": (k * (k - 1) // 2) % U64}


def judge(engine: str, w: Workload, proc: Proc, runs: int) -> Side:
    """The side's outcome: its runs' figures in `side.savepoint`, checksums checked."""
    rows = [r for r in parse_results(proc.stdout) if r["kind"] == "RESULT"]
    side = Side(engine, "failed", records=w.keys, peak_rss_kib=proc.peak_rss_kib,
                seconds=proc.seconds, log=str(proc.log), others_cpu_s=proc.others_cpu_s)
    if proc.returncode != 0 or len(rows) != runs:
        side.note = f"exit {proc.returncode}, {len(rows)}/{runs} results; see {proc.log}"
        return side
    bad = []
    for r in rows:
        want = expected(w, int(r["fill_per_key"]))
        for which, parallelism in (("same", r["same_parallelism"]),
                                   ("changed", r["changed_parallelism"])):
            p = f"restore_{which}"
            got = {k: int(r[f"{p}_{k}"]) for k in want}
            if got != want:
                bad.append(f"run {r['run']} restore at {parallelism}: {got} != expected {want}")
            if int(r[f"{p}_finished_sinks"]) != int(parallelism):
                bad.append(f"run {r['run']} restore at {parallelism}: "
                           f"{r[f'{p}_finished_sinks']} sink subtasks finished")
            side.checksum = got
        side.savepoint.append({k: float(v) for k, v in r.items()
                               if k.endswith("_ms") or k.endswith("_bytes")
                               or k.endswith("parallelism")})
    side.status = "mismatch" if bad else "ok"
    side.note = "; ".join(bad)
    return side


def best(s: Side, figure: str) -> float | None:
    """The smallest of the runs (times), or the last run's (sizes)."""
    values = [run[figure] for run in s.savepoint if figure in run]
    if not values:
        return None
    return values[-1] if figure.endswith("_bytes") else min(values)


def fmt_ms(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f} ms" if x >= 100 else f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def fmt_bytes(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x / 1e6:,.1f} MB" if x >= 1e6 else f"{x / 1e3:.0f} kB"


def ratio(weir: Side, flink: Side, figure: str) -> str:
    if not (weir.checked() and flink.checked()):
        return "MISMATCH" if "mismatch" in (weir.status, flink.status) else "–"
    w, f = best(weir, figure), best(flink, figure)
    if w is None or not f:
        return "–"
    r = w / f
    return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×"


HEADER = ["backend", "keys", "savepoint weir · Flink", "weir/Flink", "size weir · Flink",
          "weir/Flink", "restore at 2 weir · Flink", "weir/Flink", "restore at {p} weir · Flink",
          "weir/Flink", "start, no state, weir · Flink", "checksums"]


def header(workloads: list[Workload]) -> list[str]:
    p = next((w.extra_args[-1] for w in workloads if w.job == "savepoint"), "3")
    return [h.replace("{p}", p) for h in HEADER]


def rows(workloads: list[Workload], results) -> list[list[str]]:
    """One row per savepoint workload: each figure on both engines and weir/Flink."""
    out = []
    for w in workloads:
        if w.job != "savepoint":
            continue
        weir, flink = results[w.name]
        row = [w.backend, key_label(w.keys)]
        for figure, fmt in (("savepoint_ms", fmt_ms), ("savepoint_bytes", fmt_bytes),
                            ("restore_same_ms", fmt_ms), ("restore_changed_ms", fmt_ms)):
            row += [f"{fmt(best(weir, figure))} · {fmt(best(flink, figure))}",
                    ratio(weir, flink, figure)]
        row.append(f"{fmt_ms(best(weir, 'start_empty_ms'))} · "
                   f"{fmt_ms(best(flink, 'start_empty_ms'))}")
        if weir.checked() and flink.checked():
            row.append("agree (every key restored, at both parallelisms)")
        else:
            row.append(" / ".join(f"{s.engine} {s.status.upper()}" for s in (weir, flink)
                                  if not s.checked()))
        out.append(row)
    return out


def markdown(r, md_table) -> str:
    """benches/results/vs_flink_savepoint.md for the finished run `r` (a vs_flink.Run)."""
    ws = [w for w in r.workloads if w.job == "savepoint"]
    md = ["# Savepoints: weir vs Apache Flink, side by side", "",
          f"Measured {r.now:%Y-%m-%d %H:%M} UTC with:", "", "```", r.command, "```", "",
          *[f"- {f}" for f in r.facts],
          f"- weir side: {r.weir_how}",
          f"- best of {r.args.runs} runs per engine and workload (times: the smallest; sizes: "
          "the last run's); every run of an engine and workload in one process (the JVM's later "
          "runs are JIT-warm; within a run the order is fill, savepoint, start without state, "
          "restore at 2, restore at the changed parallelism)", "",
          *md_table(header(ws), rows(ws, r.results)), "",
          "What is measured (benches/flink/savepoint_job.rs and SavepointJob.java, the same on "
          "both engines): a keyed count (`ValueState` of a 64-bit count, uid `count`) at "
          "parallelism 2 fills `keys` keys, then its source idles; **savepoint** = from the "
          "trigger through the engine's client (weir `JobClient::trigger_savepoint`; Flink "
          "`MiniCluster#triggerSavepoint`, what `flink savepoint` reaches through its "
          "ClusterClient, canonical format) to the returned path; **size** = bytes of every "
          "file under the savepoint directory; **restore** = from the restore call (weir "
          "`env.restore_from_savepoint` + `spawn`; Flink: job submission to the running "
          "MiniCluster with the savepoint path) to the first record the restored count "
          "processed, once its state is loaded; **start, no state** = the same verification "
          "job without a savepoint, to its first record (job start alone; subtract it from a "
          "restore for the state's part). Each restored job then counts every key once more; "
          "its sink's records, Σ counts and Σ keys are checked against exact values on both "
          "engines.", "",
          "Every run's figures (ms, bytes): " + "; ".join(
              f"{w.name}: weir {r.results[w.name][0].savepoint or '–'} · Flink "
              f"{r.results[w.name][1].savepoint or '–'}" for w in ws), ""]
    notes = [f"- {w.name} {s.engine}: {s.status}: {s.note}" for w in ws
             for s in r.results[w.name] if s.note]
    if notes:
        md += ["Notes:", "", *notes, ""]
    return "\n".join(md) + "\n"
