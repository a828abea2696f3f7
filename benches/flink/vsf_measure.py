"""Running one engine's process with its peak RSS, and judging what it reported.

Part of the runner (benches/flink/vs_flink.py); Python 3.11 standard library only.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from vsf_workloads import Workload, expected

TIME = "/usr/bin/time"



@dataclass
class Proc:
    argv: list[str]
    returncode: int
    stdout: str
    seconds: float
    peak_rss_kib: int | None
    log: Path
    others_cpu_s: float = 0.0  # CPU time other processes used meanwhile


def busy_cpu_seconds() -> float:
    """CPU time every process of the machine has used since boot (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_measured(argv: list[str], log: Path, cwd: Path, timeout: float, env=None) -> Proc:
    """Runs argv, stderr to `log`, and returns its stdout and peak RSS (KiB).

    Peak RSS comes from `/usr/bin/time -v` when present, else from the kernel's rusage of the
    child (os.wait4: ru_maxrss, the same figure time(1) prints).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    use_time = os.access(TIME, os.X_OK)
    rss_file = log.with_suffix(".time")
    full = [TIME, "-v", "-o", str(rss_file)] + argv if use_time else argv
    started = time.monotonic()
    busy_before = busy_cpu_seconds()
    self_before = sum(os.times()[:2])
    with open(log, "w") as err, tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(full, stdout=out, stderr=err, cwd=cwd, env=env)
        deadline = started + timeout
        status = rusage = None
        while True:
            pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                p.kill()  # only the process this function started
                pid, status, rusage = os.wait4(p.pid, 0)
                err.write(f"\nvs_flink: killed after {timeout:.0f} s\n")
                break
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        # The machine's busy time, less the child's (time(1) and what it waited for) and this
        # script's own: what other processes used while the engine ran.
        child_cpu = rusage.ru_utime + rusage.ru_stime if rusage is not None else 0.0
        others = (busy_cpu_seconds() - busy_before) - child_cpu - (sum(os.times()[:2]) - self_before)
        out.seek(0)
        stdout = out.read()
    peak = None
    if use_time and rss_file.exists():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", rss_file.read_text())
        peak = int(m.group(1)) if m else None
        # time(1) exits with the command's status; "Command exited with non-zero status" is noise.
    elif rusage is not None:
        peak = rusage.ru_maxrss  # KiB on Linux
    return Proc(argv, p.returncode, stdout, seconds, peak, log, max(others, 0.0))


def parse_results(stdout: str) -> list[dict[str, str]]:
    rows = []
    for line in stdout.splitlines():
        if line.startswith("RESULT ") or line.startswith("UNAVAILABLE "):
            kind, _, rest = line.partition(" ")
            row = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
            row["kind"] = kind
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------
# Outcome of one engine on one workload
# ----------------------------------------------------------------------------------------------


@dataclass
class Side:
    engine: str
    status: str  # "ok" | "unavailable" | "failed" | "mismatch" | "unchecked"
    records: int = 0
    rate: float | None = None  # best records/s over the runs
    rates: list[float] = field(default_factory=list)
    peak_rss_kib: int | None = None
    checksum: dict[str, int] | None = None
    note: str = ""
    last_checkpoint: int = 0
    seconds: float = 0.0
    log: str = ""
    others_cpu_s: float = 0.0
    recovery_ms: list[float] = field(default_factory=list)  # recovery workload, per run
    restarts: list[int] = field(default_factory=list)
    downtime_ms: list[float] = field(default_factory=list)  # weir's JobClient::downtime, per run
    savepoint: list[dict[str, float]] = field(default_factory=list)  # savepoint_*: per run

    def checked(self) -> bool:
        return self.status == "ok"

    def recovery_median(self) -> float | None:
        return statistics.median(self.recovery_ms) if self.recovery_ms else None


def judge(engine: str, w: Workload, n: int, proc: Proc, runs: int) -> Side:
    rows = parse_results(proc.stdout)
    side = Side(engine, "failed", records=n, peak_rss_kib=proc.peak_rss_kib,
                seconds=proc.seconds, log=str(proc.log), others_cpu_s=proc.others_cpu_s)
    if any(r["kind"] == "UNAVAILABLE" for r in rows):
        side.status = "unavailable"
        side.note = next(r.get("reason", "") for r in rows if r["kind"] == "UNAVAILABLE")
        return side
    results = [r for r in rows if r["kind"] == "RESULT"]
    if proc.returncode != 0 or len(results) != runs:
        side.note = f"exit {proc.returncode}, {len(results)}/{runs} results; see {proc.log}"
        return side
    want = expected(w, n)
    side.rates = [float(r["records_per_s"]) for r in results]
    side.rate = max(side.rates)
    side.last_checkpoint = max(int(r.get("last_checkpoint", 0)) for r in results)
    bad = []
    for r in results:
        got = {k: int(r[k]) for k in want}
        if w.is_recovery:
            try:
                side.recovery_ms.append(float(r.get("recovery_ms", "none")))
            except ValueError:
                bad.append(f"run {r['run']}: no failure and restore happened")
            side.restarts.append(int(r.get("restarts", "0")))
            if "downtime_ms" in r:
                side.downtime_ms.append(float(r["downtime_ms"]))
        if int(r["records"]) != n:
            bad.append(f"run {r['run']}: records {r['records']} != {n}")
        if int(r.get("finished_sinks", 0)) != 2:
            bad.append(f"run {r['run']}: {r.get('finished_sinks')} of 2 sink subtasks finished")
        for k, v in want.items():
            if got[k] != v:
                bad.append(f"run {r['run']}: {k} {got[k]} != expected {v}")
        side.checksum = got
    if bad:
        side.status = "mismatch"
        side.note = "; ".join(bad)
    else:
        side.status = "ok"
    return side
