#!/usr/bin/env python3
"""weir vs Apache Flink, side by side in one run: the logic behind benches/vs_flink.sh.

Run it through benches/vs_flink.sh (which installs Flink's jars first and passes --flink-lib).

For every workload it runs weir's job (benches/flink/weir_side.rs) and Flink's (the Java programs
in benches/flink/src, on a local MiniCluster), each in a process of its own under
`/usr/bin/time -v` for its peak RSS, parses their RESULT lines, checks each engine's checksums
against the closed-form values for its record count (so both computed the same thing), and only
then prints the ratio weir/Flink. A mismatch prints MISMATCH and no ratio. It writes a markdown
table and an SVG bar chart (hand-written SVG, no plotting library).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

U64 = 1 << 64
TIME = "/usr/bin/time"

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


# ----------------------------------------------------------------------------------------------
# Workloads and their closed-form checksums
# ----------------------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    title: str
    job: str  # "stateless" | "keyed"
    keys: int = 0
    backend: str = "hashmap"
    checkpoint_ms: int = 0
    weir_records: int = 0
    flink_records: int = 0
    goal: str = ""
    goal_ratio: float | None = None  # weir/Flink at least this


def expected(w: Workload, n: int) -> dict[str, int]:
    """What the sink must see for `w` over the sequence 0..n-1 (sums wrap at 2^64)."""
    if w.job == "stateless":
        # map(x*3) then filter(y % 7 != 0): 3x is a multiple of 7 exactly when x is.
        multiples = (n + 6) // 7  # 0, 7, ..., below n
        records = n - multiples
        sum_x = n * (n - 1) // 2 - 7 * multiples * (multiples - 1) // 2
        cycles, rem = divmod(n, 7)
        sum_mod = cycles * sum((3 * r) % 7 for r in range(1, 7)) + sum(
            (3 * r) % 7 for r in range(1, rem)
        )
        return {"sink_records": records, "sum_a": (3 * sum_x) % U64, "sum_b": sum_mod % U64}
    k = w.keys
    q, r = divmod(n, k)
    # Key j gets q or q+1 records; it emits counts 1..c, so the sink sees sum c(c+1)/2 per key.
    sum_counts = (k - r) * q * (q + 1) // 2 + r * (q + 1) * (q + 2) // 2
    sum_keys = q * k * (k - 1) // 2 + r * (r - 1) // 2
    return {"sink_records": n, "sum_a": sum_counts % U64, "sum_b": sum_keys % U64}


# ----------------------------------------------------------------------------------------------
# Running a process with its peak RSS
# ----------------------------------------------------------------------------------------------


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

    def checked(self) -> bool:
        return self.status == "ok"


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


# ----------------------------------------------------------------------------------------------
# Building both sides
# ----------------------------------------------------------------------------------------------


def sha256_of(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        h.update(str(p).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def compile_java(root: Path, lib: Path, cache: Path) -> Path:
    """javac the job programs into a cache directory named by the sources' and jars' hash."""
    sources = sorted((root / "benches/flink/src").rglob("*.java"))
    jars = sorted(p.name for p in lib.glob("*.jar"))
    javac_version = subprocess.run(["javac", "-version"], capture_output=True, text=True)
    key = sha256_of(sources, "\n".join(jars) + javac_version.stdout + javac_version.stderr)[:16]
    classes = cache / f"classes-{key}"
    if (classes / "COMPILED").exists():
        print(f"vs_flink: Java job programs already compiled in {classes}")
        return classes
    tmp = Path(tempfile.mkdtemp(prefix="classes-", dir=cache))
    cmd = ["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(tmp), "-cp", f"{lib}/*"]
    cmd += [str(s) for s in sources]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(f"vs_flink: javac failed:\n{r.stdout}{r.stderr}")
    (tmp / "COMPILED").write_text(" ".join(cmd) + "\n")
    shutil.rmtree(classes, ignore_errors=True)
    tmp.rename(classes)
    print(f"vs_flink: compiled {len(sources)} Java sources into {classes}")
    return classes


def cargo_executable(cmd: list[str], cwd: Path, target_name: str, env) -> Path:
    """Runs a cargo build with JSON messages and returns the executable of `target_name`."""
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    exe = None
    for line in r.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                and msg.get("target", {}).get("name") == target_name):
            exe = Path(msg["executable"])
    if r.returncode != 0 or exe is None:
        sys.exit(f"vs_flink: `{' '.join(cmd)}` failed (exit {r.returncode})")
    return exe


def bench_declared(root: Path, name: str) -> bool:
    text = (root / "Cargo.toml").read_text()
    return re.search(r'\[\[bench\]\][^\[]*name\s*=\s*"' + re.escape(name) + '"', text) is not None


def build_weir_side(root: Path, cache: Path) -> tuple[Path, str]:
    """Builds benches/flink/weir_side.rs and returns (executable, how it was built).

    With a `[[bench]] name = "weir_side"` in Cargo.toml: `cargo bench --bench weir_side --no-run`.
    Without one: a throwaway crate in the cache directory (its own [workspace], weir as a path
    dependency, the workspace's Cargo.lock copied in, the same release profile) whose one binary is
    benches/flink/weir_side.rs; with the same CARGO_TARGET_DIR it reuses the workspace's compiled
    dependencies. Nothing in the repository is written.
    """
    env = dict(os.environ)
    msg = ["--message-format=json-render-diagnostics"]
    if bench_declared(root, "weir_side"):
        cmd = ["cargo", "bench", "--bench", "weir_side", "--no-run"] + msg
        return cargo_executable(cmd, root, "weir_side", env), "cargo bench --bench weir_side"
    crate = cache / "weir-side-crate"
    crate.mkdir(parents=True, exist_ok=True)
    manifest = f"""# Generated by benches/flink/vs_flink.py; safe to delete.
[package]
name = "weir-vs-flink-side"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
weir = {{ path = {json.dumps(str(root))} }}

[[bin]]
name = "weir_side"
path = {json.dumps(str(root / "benches/flink/weir_side.rs"))}

[profile.release]
debug = "line-tables-only"
"""
    (crate / "Cargo.toml").write_text(manifest)
    if (root / "Cargo.lock").exists():
        shutil.copyfile(root / "Cargo.lock", crate / "Cargo.lock")
    env.setdefault("CARGO_TARGET_DIR", str(root / "target"))
    cmd = ["cargo", "build", "--release", "--manifest-path", str(crate / "Cargo.toml")] + msg
    return (cargo_executable(cmd, crate, "weir_side", env),
            "cargo build --release of a generated crate (weir by path, bin benches/flink/weir_side.rs)")


# ----------------------------------------------------------------------------------------------
# weir from the existing benches (--weir-from benches): figures only, no checksums
# ----------------------------------------------------------------------------------------------


def weir_from_benches(root: Path, workloads: list[Workload], n: int, logs: Path,
                      timeout: float) -> dict[str, Side]:
    env = dict(os.environ)
    msg = ["--message-format=json-render-diagnostics"]
    out: dict[str, Side] = {}
    names = {w.name for w in workloads}
    if names & {"stateless", "keyed_hashmap"}:
        exe = cargo_executable(["cargo", "bench", "--bench", "throughput", "--no-run"] + msg,
                               root, "throughput", env)
        env_n = dict(env, WEIR_BENCH_RECORDS=str(n))
        p = run_measured([str(exe), "--bench"], logs / "weir-throughput.log", root, timeout, env_n)
        for name, pat in (("stateless", r"\(a\) stateless.*?([\d.]+) M records/s"),
                          ("keyed_hashmap", r"\(b\) keyed count.*?([\d.]+) M records/s")):
            m = re.search(pat, p.stdout)
            out[name] = Side("weir", "unchecked" if m else "failed", records=n,
                             rate=float(m.group(1)) * 1e6 if m else None,
                             peak_rss_kib=p.peak_rss_kib, seconds=p.seconds, log=str(p.log),
                             others_cpu_s=p.others_cpu_s,
                             note="cargo bench --bench throughput (no checkpoints, no checksum; "
                                  "one process for (a), (b) and (c))")
    if names & {"ckpt_off_1m", "ckpt_on_1m"}:
        exe = cargo_executable(["cargo", "bench", "--bench", "checkpointing", "--no-run"] + msg,
                               root, "checkpointing", env)
        p = run_measured([str(exe), "--bench"], logs / "weir-checkpointing.log", root, timeout)
        for name, pat in (("ckpt_off_1m", r"checkpointing off:\s*([\d.]+) M"),
                          ("ckpt_on_1m", r"1 s checkpoints:\s*([\d.]+) M")):
            m = re.search(pat, p.stdout)
            out[name] = Side("weir", "unchecked" if m else "failed", records=0,
                             rate=float(m.group(1)) * 1e6 if m else None,
                             peak_rss_kib=p.peak_rss_kib, seconds=p.seconds, log=str(p.log),
                             others_cpu_s=p.others_cpu_s,
                             note="cargo bench --bench checkpointing (8 s timed, no checksum)")
    for w in workloads:
        out.setdefault(w.name, Side("weir", "unavailable", note="no existing bench runs this"))
    return out


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------


def fmt_rate(x: float | None) -> str:
    """Three significant figures: 457 M/s, 38.1 M/s, 1.37 M/s, 344 k/s."""
    if x is None:
        return "–"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if x >= scale or scale == 1:
            v = x / scale
            digits = 0 if v >= 100 else 1 if v >= 10 else 2
            return f"{v:.{digits}f} {unit}/s"
    return "–"


def fmt_tick(x: float) -> str:
    for scale, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k"), (1, "")):
        if x >= scale:
            return f"{x / scale:g}{unit}"
    return f"{x:g}"


def fmt_rss(kib: int | None) -> str:
    if kib is None:
        return "–"
    return f"{kib / 1024:.0f} MiB" if kib < 10 * 1024 * 1024 else f"{kib / 1024 / 1024:.1f} GiB"


def fmt_n(n: int) -> str:
    if n and n % 1_000_000 == 0:
        return f"{n // 1_000_000} M"
    return f"{n:,}".replace(",", " ")


def side_cell(s: Side) -> str:
    if s.status == "unavailable":
        return "not available yet"
    if s.status == "failed":
        return "FAILED"
    if s.status == "mismatch":
        return f"{fmt_rate(s.rate)} MISMATCH"
    if s.status == "unchecked":
        return f"{fmt_rate(s.rate)} (unchecked)"
    return fmt_rate(s.rate)


def ratio_cell(w: Workload, weir: Side, flink: Side) -> tuple[str, float | None]:
    if weir.status == "unavailable" or flink.status == "unavailable":
        return "not available yet", None
    if "mismatch" in (weir.status, flink.status):
        return "MISMATCH", None
    if "failed" in (weir.status, flink.status):
        return "FAILED", None
    if weir.status == "unchecked" or flink.status == "unchecked":
        return "no ratio (checksum not reported)", None
    r = weir.rate / flink.rate
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×", r


def overhead_rows(results) -> list[tuple[str, str, str, str]]:
    """Per engine: throughput with 1 s checkpoints over without (1 M keys)."""
    if "ckpt_off_1m" not in results or "ckpt_on_1m" not in results:
        return []
    cells = []
    for e in (0, 1):
        off, on = results["ckpt_off_1m"][e], results["ckpt_on_1m"][e]
        if off.rate and on.rate and off.status in ("ok", "unchecked") and on.status in ("ok", "unchecked"):
            ratio = on.rate / off.rate
            cost = (1 - ratio) * 100
            cells.append(f"{ratio:.3f} ({cost:.1f} % slower)" if cost >= 0
                         else f"{ratio:.3f} ({-cost:.1f} % faster: noise)")
        else:
            cells.append("–")
    return [("checkpoint overhead: on/off throughput, 1 M keys", cells[0], cells[1],
             "weir on/off ≥ 0.95 (overhead ≤ 5 %)")]


def svg_chart(rows: list[tuple[str, Side, Side, str]], title: str) -> str:
    """Grouped bars, weir and Flink per workload, records/s on a log scale."""
    rates = [s.rate for _, a, b, _ in rows for s in (a, b) if s.rate]
    lo = 10 ** math.floor(math.log10(min(rates))) if rates else 1e5
    hi = 10 ** math.ceil(math.log10(max(rates) * 2.5)) if rates else 1e9  # room for labels
    if hi <= lo:
        hi = lo * 10
    W, H = 900, 460
    left, right, top, bottom = 70, 20, 60, 95
    plot_w, plot_h = W - left - right, H - top - bottom
    group_w = plot_w / max(len(rows), 1)
    bar_w = min(60.0, group_w * 0.32)
    colors = {"weir": "#d9480f", "flink": "#1c7ed6"}

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="16">{esc(title)}</text>',
           f'<text x="{W / 2}" y="42" text-anchor="middle" fill="#555">records/s, log scale; '
           f'label above each pair: weir/Flink</text>']
    decade = lo
    while decade <= hi * 1.0001:
        y = y_of(decade)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{W - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_tick(decade)}</text>')
        decade *= 10
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{W - right}" y2="{top + plot_h}" stroke="#333"/>')
    for i, (label, weir, flink, ratio) in enumerate(rows):
        cx = left + group_w * (i + 0.5)
        tops = []
        for j, (s, key) in enumerate(((weir, "weir"), (flink, "flink"))):
            x = cx - bar_w - 2 if j == 0 else cx + 2
            if s.rate and s.status in ("ok", "unchecked", "mismatch"):
                y = y_of(s.rate)
                tops.append(y)
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                           f'height="{top + plot_h - y:.1f}" fill="{colors[key]}"/>')
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                           f'font-size="10">{esc(fmt_rate(s.rate).replace("/s", ""))}</text>')
            else:
                text = "not available yet" if s.status == "unavailable" else s.status.upper()
                yb = top + plot_h - 6
                out.append(f'<text transform="translate({x + bar_w / 2 + 4:.1f},{yb:.1f}) rotate(-90)" '
                           f'font-size="11" fill="#555">{esc(text)}</text>')
        if tops and ratio != "not available yet":
            out.append(f'<text x="{cx:.1f}" y="{min(tops) - 18:.1f}" text-anchor="middle" '
                       f'font-weight="bold">{esc(ratio)}</text>')
        for k, part in enumerate(label.split("\n")):
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 18 + 14 * k:.1f}" '
                       f'text-anchor="middle">{esc(part)}</text>')
    lx = left + 10
    for k, (name, key) in enumerate((("weir", "weir"), ("Flink 2.3 MiniCluster", "flink"))):
        out.append(f'<rect x="{lx + 200 * k}" y="{H - 28}" width="14" height="14" fill="{colors[key]}"/>')
        out.append(f'<text x="{lx + 200 * k + 20}" y="{H - 17}">{esc(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def machine_facts(root: Path, flink_lib: Path) -> list[str]:
    def sh(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    commit = sh(["git", "rev-parse", "--short=12", "HEAD"])
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=root).stdout.strip()
    installed = (flink_lib.parent / "INSTALLED").read_text().splitlines() if (
        flink_lib.parent / "INSTALLED").exists() else ["?"]
    return [
        f"machine: {os.cpu_count()} cores, {mem}, {platform.system()} {platform.release()}",
        f"weir: commit {commit}{' with uncommitted changes' if dirty else ''}; {sh(['rustc', '-V'])}",
        f"Flink: {installed[0]} (pyflink/lib jars), {sh(['java', '-version'])}",
    ]


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        prog="benches/vs_flink.sh",
        description="weir vs Apache Flink (local MiniCluster), side by side in one run.")
    ap.add_argument("--records", type=int, default=20_000_000,
                    help="records per run for stateless and keyed count (default 20 M)")
    ap.add_argument("--rocksdb-records", type=int, default=None,
                    help="records per run for keyed count on RocksDB (default: --records)")
    ap.add_argument("--ckpt-keys", type=int, default=1_000_000,
                    help="keys of the checkpoint-overhead workload (default 1 M)")
    ap.add_argument("--ckpt-flink-records", type=int, default=None,
                    help="Flink's records per run for checkpoint overhead (default: --records)")
    ap.add_argument("--ckpt-weir-records", type=int, default=None,
                    help="weir's records per run for checkpoint overhead (default: 10 × --records,"
                         " so that weir's run also lasts seconds and takes several checkpoints)")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per workload and engine, in one process; the best counts (default 3)")
    ap.add_argument("--workloads", default="stateless,keyed_hashmap,keyed_rocksdb,ckpt_off_1m,ckpt_on_1m",
                    help="comma-separated subset (default: all)")
    ap.add_argument("--weir-from", choices=("side", "benches"), default="side",
                    help="side: weir_side.rs, same jobs and checksums as Flink's (default); "
                         "benches: parse `cargo bench --bench throughput/checkpointing` "
                         "(no checksums, so no ratios)")
    ap.add_argument("--out", default="benches/results", help="where vs_flink.md/.svg go")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]), help=argparse.SUPPRESS)
    ap.add_argument("--flink-lib", required=False, help=argparse.SUPPRESS)
    ap.add_argument("--command-line", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()

    root = Path(a.root).resolve()
    if not a.flink_lib:
        sys.exit("vs_flink: run it as benches/vs_flink.sh (it installs Flink and passes --flink-lib)")
    lib = Path(a.flink_lib)
    n = a.records
    cache = Path(os.environ.get("WEIR_VS_FLINK_CACHE", Path.home() / ".cache/weir/vs_flink"))
    cache.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = cache / "logs" / stamp

    all_workloads = {
        "stateless": Workload("stateless", "stateless map/filter", "stateless",
                              weir_records=n, flink_records=n),
        "keyed_hashmap": Workload("keyed_hashmap", "keyed count, hashmap", "keyed", keys=10_000,
                                  checkpoint_ms=1000, weir_records=n, flink_records=n,
                                  goal="≥ 20×", goal_ratio=20),
        "keyed_rocksdb": Workload("keyed_rocksdb", "keyed count, RocksDB", "keyed", keys=10_000,
                                  backend="rocksdb", checkpoint_ms=1000,
                                  weir_records=a.rocksdb_records or n,
                                  flink_records=a.rocksdb_records or n, goal="≥ 5×", goal_ratio=5),
        "ckpt_off_1m": Workload("ckpt_off_1m", "1 M keys, no checkpoints", "keyed",
                                keys=a.ckpt_keys, checkpoint_ms=0,
                                weir_records=a.ckpt_weir_records or 10 * n,
                                flink_records=a.ckpt_flink_records or n),
        "ckpt_on_1m": Workload("ckpt_on_1m", "1 M keys, 1 s checkpoints", "keyed",
                               keys=a.ckpt_keys, checkpoint_ms=1000,
                               weir_records=a.ckpt_weir_records or 10 * n,
                               flink_records=a.ckpt_flink_records or n),
    }
    chosen = [w.strip() for w in a.workloads.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in all_workloads]
    if unknown:
        sys.exit(f"vs_flink: unknown workloads {unknown}; known: {', '.join(all_workloads)}")
    workloads = [all_workloads[w] for w in chosen]

    classes = compile_java(root, lib, cache)
    java_cp = f"{classes}:{lib}/*"
    java_opts = FLINK_JAVA17_OPENS + [
        f"-Dlog4j.configurationFile={root / 'benches/flink/log4j2.properties'}"]
    java_opts += os.environ.get("WEIR_FLINK_JAVA_OPTS", "").split()

    weir_exe, weir_how = (None, "")
    if a.weir_from == "side":
        print("vs_flink: building weir's side (cargo; waits if another build holds the lock)…",
              flush=True)
        weir_exe, weir_how = build_weir_side(root, cache)
        print(f"vs_flink: weir side: {weir_exe}")

    bench_sides = {}
    if a.weir_from == "benches":
        print("vs_flink: running weir's existing benches…", flush=True)
        bench_sides = weir_from_benches(root, workloads, n, logs, a.timeout)
        weir_how = "cargo bench --bench throughput / --bench checkpointing"

    results: dict[str, tuple[Side, Side]] = {}
    for w in workloads:
        common = ["--workload", w.name, "--runs", str(a.runs)]
        if w.job == "keyed":
            common += ["--keys", str(w.keys), "--backend", w.backend,
                       "--checkpoint-ms", str(w.checkpoint_ms)]
        if a.weir_from == "side":
            print(f"vs_flink: {w.name}: weir, {fmt_n(w.weir_records)} records × {a.runs} runs…",
                  flush=True)
            p = run_measured([str(weir_exe), w.job, "--records", str(w.weir_records)] + common,
                             logs / f"weir-{w.name}.log", root, a.timeout)
            weir = judge("weir", w, w.weir_records, p, a.runs)
        else:
            weir = bench_sides[w.name]
        print(f"vs_flink: {w.name}: Flink, {fmt_n(w.flink_records)} records × {a.runs} runs…",
              flush=True)
        main_class = "weir.bench.flink.StatelessJob" if w.job == "stateless" else "weir.bench.flink.KeyedCountJob"
        p = run_measured(["java"] + java_opts + ["-cp", java_cp, main_class,
                          "--records", str(w.flink_records)] + common,
                         logs / f"flink-{w.name}.log", root, a.timeout)
        flink = judge("flink", w, w.flink_records, p, a.runs)
        results[w.name] = (weir, flink)
        for s in (weir, flink):
            if s.status in ("mismatch", "failed"):
                print(f"vs_flink: {w.name} {s.engine}: {s.status.upper()}: {s.note}", file=sys.stderr)

    # ---- table ----
    header = ["workload", "records/run weir · Flink", "weir", "Flink", "weir/Flink", "goal",
              "peak RSS weir", "peak RSS Flink", "checksums"]
    table = []
    chart_rows = []
    for w in workloads:
        weir, flink = results[w.name]
        ratio, r = ratio_cell(w, weir, flink)
        met = ""
        if w.goal_ratio is not None and r is not None:
            met = " (met)" if r >= w.goal_ratio else " (not met)"
        if weir.checked() and flink.checked():
            check = "agree" if w.weir_records == w.flink_records else "both exact for their N"
        elif "mismatch" in (weir.status, flink.status):
            check = "MISMATCH"
        elif weir.status == "unavailable":
            check = "Flink exact" if flink.checked() else "–"
        else:
            check = "–"
        weir_n = w.weir_records if a.weir_from == "side" or weir.status == "unavailable" \
            else weir.records
        if weir_n == w.flink_records:
            recs = fmt_n(weir_n)
        else:
            recs = f"{fmt_n(weir_n) if weir_n else 'timed'} · {fmt_n(w.flink_records)}"
        table.append([w.title, recs, side_cell(weir), side_cell(flink), ratio,
                      (w.goal + met) if w.goal else "", fmt_rss(weir.peak_rss_kib) if weir.status != "unavailable" else "–",
                      fmt_rss(flink.peak_rss_kib), check])
        chart_rows.append((w.title.replace(", ", "\n"), weir, flink, ratio))
    extra = overhead_rows(results)

    widths = [max(len(str(row[i])) for row in [header] + table) for i in range(len(header))]
    print()
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)))
    print("  ".join("-" * widths[i] for i in range(len(header))))
    for row in table:
        print("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)))
    for label, cw, cf, goal in extra:
        print(f"{label}: weir {cw}, Flink {cf}; goal: {goal}")

    sides = [s for pair in results.values() for s in pair if s.seconds > 0]
    others_total = sum(s.others_cpu_s for s in sides)
    engine_seconds = sum(s.seconds for s in sides)

    def pct(s: Side) -> str:
        if s.seconds <= 0:
            return "–"
        return f"{s.others_cpu_s:.2f} s in {s.seconds:.1f} s ({s.others_cpu_s / s.seconds * 100:.0f} %)"

    print(f"other processes' CPU while the engines ran: {others_total:.1f} s over "
          f"{engine_seconds:.0f} s ({others_total / max(engine_seconds, 1e-9) * 100:.0f} % of one core)")

    # ---- files ----
    out_dir = (root / a.out) if not Path(a.out).is_absolute() else Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    command = a.command_line or "benches/vs_flink.sh"
    if os.environ.get("CARGO_TARGET_DIR"):
        command = f"CARGO_TARGET_DIR={os.environ['CARGO_TARGET_DIR']} {command}"
    title = f"weir vs Flink 2.3 MiniCluster, parallelism 2 ({now:%Y-%m-%d})"
    (out_dir / "vs_flink.svg").write_text(svg_chart(chart_rows, title))
    md = [
        "# weir vs Apache Flink, side by side",
        "",
        f"Measured {now:%Y-%m-%d %H:%M} UTC with:",
        "",
        "```",
        command,
        "```",
        "",
        *[f"- {f}" for f in machine_facts(root, lib)],
        f"- other processes' CPU time while the engines ran: {others_total:.1f} s over "
        f"{engine_seconds:.0f} s of runs ({others_total / max(engine_seconds, 1e-9) * 100:.0f} % of "
        "one core; from /proc/stat less the runs' own rusage; per run below)",
        f"- weir side: {weir_how}",
        f"- Flink JVM: `java <Flink's Java 17 --add-opens/--add-exports> -cp <classes>:<pyflink/lib>/* "
        f"weir.bench.flink.…`{' ' + os.environ['WEIR_FLINK_JAVA_OPTS'] if os.environ.get('WEIR_FLINK_JAVA_OPTS') else ''} "
        "(default heap, so its peak RSS is mostly the JVM's heap sizing, not what the job needs; "
        "a local MiniCluster in the JVM)",
        f"- best of {a.runs} runs per engine and workload, all runs in one process per engine "
        "and workload (so the JVM's later runs are JIT-warm); peak RSS is that process's, "
        f"from {'`/usr/bin/time -v`' if os.access(TIME, os.X_OK) else 'the kernel rusage (ru_maxrss)'}",
        "- Flink's records/s use the job's net runtime (JobExecutionResult#getNetRuntime: "
        "deployment to finish, without the MiniCluster's start and stop); weir's use its "
        "`execute()` call (job start to finish)",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *["| " + " | ".join(str(c) for c in row) + " |" for row in table],
        "",
    ]
    if extra:
        md += ["| figure | weir | Flink | goal |", "| --- | --- | --- | --- |"]
        md += [f"| {label} | {cw} | {cf} | {goal} |" for label, cw, cf, goal in extra]
        md += [""]
    md += [
        "![weir vs Flink, records/s per workload](vs_flink.svg)",
        "",
        "Workloads (parallelism 2 on both engines; sources `fromSequence(0, N-1)` / "
        "`generate_sequence(0, N-1)`):",
        "",
        "- stateless map/filter: `map(x * 3) → filter(x % 7 != 0) → sink`;",
        "- keyed count: `keyBy(x % 10 000) → KeyedProcessFunction` counting in `ValueState`, "
        "emitting (key, count) → sink; 1 s checkpoints into a local directory (Flink: "
        "`state.backend.type` hashmap or rocksdb, `execution.checkpointing.dir`);",
        f"- checkpoint overhead: the keyed count over {fmt_n(a.ckpt_keys)} keys (hashmap) with and "
        "without 1 s checkpoints. weir runs more records than Flink here so that its run, too, "
        "lasts seconds and takes several checkpoints; each engine's checksums are checked against "
        "the exact values for its own record count.",
        "",
        "Checksums: the sink of both engines counts the records reaching it and two wrapping "
        "sums (stateless: value and value mod 7; keyed: emitted count, which sums to "
        "Σ c(c+1)/2 over keys only if every key counted 1, 2, …, c, and key). The runner "
        "compares them with closed-form values before it prints any ratio; a difference prints "
        "MISMATCH and no ratio.",
        "",
        "Checkpoints completed (highest checkpoint id seen): " + ", ".join(
            f"{w.name} weir {results[w.name][0].last_checkpoint} / Flink {results[w.name][1].last_checkpoint}"
            for w in workloads if w.checkpoint_ms) + ".",
        "",
        "All runs (records/s): " + "; ".join(
            f"{w.name}: weir {', '.join(fmt_rate(x) for x in results[w.name][0].rates) or '–'} · "
            f"Flink {', '.join(fmt_rate(x) for x in results[w.name][1].rates) or '–'}"
            for w in workloads) + ".",
        "",
    ]
    md += ["Other processes' CPU time during each engine's process (share of one core; the "
           "kernel counts in 10 ms ticks, so sub-second processes read coarse): " + "; ".join(
               f"{w.name}: weir {pct(results[w.name][0])} · Flink {pct(results[w.name][1])}"
               for w in workloads) + ".", ""]
    notes = [f"- {w.name} {s.engine}: {s.status}: {s.note}" for w in workloads
             for s in results[w.name] if s.note]
    if notes:
        md += ["Notes:", ""] + notes + [""]
    (out_dir / "vs_flink.md").write_text("\n".join(md))
    print(f"\nvs_flink: wrote {out_dir / 'vs_flink.md'} and {out_dir / 'vs_flink.svg'}; "
          f"logs in {logs}")
    bad = any(s.status in ("mismatch", "failed") for pair in results.values() for s in pair)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
