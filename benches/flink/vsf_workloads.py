"""The workloads of benches/vs_flink.sh and the exact checksums each engine must report.

Part of the runner (benches/flink/vs_flink.py); Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

U64 = 1 << 64

# Nexmark queries: (title, what they compute), as benches/flink/nexmark.rs defines them.
NEXMARK = {
    "q0": ("Nexmark q0 pass-through", "every event"),
    "q1": ("Nexmark q1 currency", "every bid, price * 908 / 1000"),
    "q2": ("Nexmark q2 selection", "bids with auction % 123 == 0"),
    "q3": ("Nexmark q3 join", "persons of OR/ID/CA ⋈ category-10 auctions on seller"),
}


@dataclass
class Workload:
    name: str
    title: str
    job: str  # weir_side's job: "stateless" | "keyed" | "nexmark" | "recovery" | "savepoint"
    main_class: str  # the Java program
    keys: int = 0
    backend: str = "hashmap"
    checkpoint_ms: int = 0
    query: str = ""
    weir_records: int = 0
    flink_records: int = 0
    goal: str = ""
    goal_ratio: float | None = None  # weir/Flink at least this (throughput)
    # Expected totals for `nexmark` workloads, by record count (from weir_side nexmark-reference).
    reference: dict[int, dict[str, int]] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)  # more of args(), per workload

    @property
    def is_recovery(self) -> bool:
        return self.job == "recovery"

    @property
    def has_rate(self) -> bool:
        """Whether the workload's figure is records/s (recovery and savepoint: times)."""
        return self.job not in ("recovery", "savepoint")

    def args(self) -> list[str]:
        """The arguments both engines' programs take for this workload (besides --records)."""
        out = ["--workload", self.name]
        if self.job in ("keyed", "recovery", "savepoint"):
            out += ["--keys", str(self.keys), "--backend", self.backend]
        if self.job == "nexmark":
            out += ["--query", self.query]
        return out + ["--checkpoint-ms", str(self.checkpoint_ms)] + self.extra_args


def all_workloads(a: argparse.Namespace) -> dict[str, Workload]:
    """Every workload the runner knows, sized from the command line's options."""
    n = a.records
    kc = "weir.bench.flink.KeyedCountJob"
    ws: list[Workload] = [
        Workload("stateless", "stateless map/filter", "stateless", "weir.bench.flink.StatelessJob",
                 weir_records=n, flink_records=n),
        Workload("keyed_hashmap", "keyed count, hashmap", "keyed", kc, keys=10_000,
                 checkpoint_ms=1000, weir_records=n, flink_records=n,
                 goal="≥ 20×", goal_ratio=20),
        Workload("keyed_rocksdb", "keyed count, RocksDB", "keyed", kc, keys=10_000,
                 backend="rocksdb", checkpoint_ms=1000, weir_records=a.rocksdb_records or n,
                 flink_records=a.rocksdb_records or n, goal="≥ 5×", goal_ratio=5),
        Workload("ckpt_off_1m", "1 M keys, no checkpoints", "keyed", kc, keys=a.ckpt_keys,
                 checkpoint_ms=0, weir_records=a.ckpt_weir_records or 10 * n,
                 flink_records=a.ckpt_flink_records or n),
        Workload("ckpt_on_1m", "1 M keys, 1 s checkpoints", "keyed", kc, keys=a.ckpt_keys,
                 checkpoint_ms=1000, weir_records=a.ckpt_weir_records or 10 * n,
                 flink_records=a.ckpt_flink_records or n),
    ]
    events = a.nexmark_events or n
    for q, (title, _) in NEXMARK.items():
        ws.append(Workload(f"nexmark_{q}", title, "nexmark", "weir.bench.flink.NexmarkJob",
                           query=q, weir_records=events, flink_records=events))
    keys = f"{a.ckpt_keys // 1_000_000} M" if a.ckpt_keys % 1_000_000 == 0 else f"{a.ckpt_keys:,}"
    ws.append(Workload("recovery", f"recovery, {keys} keys", "recovery", "weir.bench.flink.RecoveryJob",
                       keys=a.ckpt_keys, checkpoint_ms=1000,
                       weir_records=a.recovery_weir_records,
                       flink_records=a.recovery_flink_records,
                       goal="weir ≤ 0.1× Flink's time"))
    return {w.name: w for w in ws}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options that size the workloads."""
    ap.add_argument("--records", type=int, default=20_000_000,
                    help="records per run for stateless and keyed count (default 20 M)")
    ap.add_argument("--rocksdb-records", type=int, default=None,
                    help="records per run for keyed count on RocksDB (default: --records)")
    ap.add_argument("--ckpt-keys", type=int, default=1_000_000,
                    help="keys of the checkpoint-overhead and recovery workloads (default 1 M)")
    ap.add_argument("--ckpt-flink-records", type=int, default=None,
                    help="Flink's records per run for checkpoint overhead (default: --records)")
    ap.add_argument("--ckpt-weir-records", type=int, default=None,
                    help="weir's records per run for checkpoint overhead (default: 10 × --records,"
                         " so that weir's run also lasts seconds and takes several checkpoints)")
    ap.add_argument("--nexmark-events", type=int, default=None,
                    help="events per run for Nexmark q0–q3 (default: --records)")
    ap.add_argument("--recovery-flink-records", type=int, default=10_000_000,
                    help="Flink's records per recovery run (default 10 M: its run must last past "
                         "the first complete checkpoint holding every key, about 3 s here)")
    ap.add_argument("--recovery-weir-records", type=int, default=60_000_000,
                    help="weir's records per recovery run (default 60 M, for the same reason)")


def expected(w: Workload, n: int) -> dict[str, int]:
    """What the sink must see for `w` over n records (sums wrap at 2^64)."""
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
    if w.job == "nexmark":
        return dict(w.reference[n])
    if w.job == "recovery":
        # The check map turns (key, count) into (count == key's total, count > key's total):
        # every key reaches its total exactly once after the restore, none passes it. The number
        # of records reaching the sink depends on where the restore rewound to: not checked.
        return {"sum_a": 0, "sum_b": w.keys}
    k = w.keys
    q, r = divmod(n, k)
    # Key j gets q or q+1 records; it emits counts 1..c, so the sink sees sum c(c+1)/2 per key.
    sum_counts = (k - r) * q * (q + 1) // 2 + r * (q + 1) * (q + 2) // 2
    sum_keys = q * k * (k - 1) // 2 + r * (r - 1) // 2
    return {"sink_records": n, "sum_a": sum_counts % U64, "sum_b": sum_keys % U64}


def nexmark_references(weir_exe: Path, workloads: list[Workload], cwd: Path) -> None:
    """Fills each Nexmark workload's expected totals from `weir_side nexmark-reference` (a plain
    single-threaded loop over the same generator, outside any engine)."""
    for w in workloads:
        if w.job != "nexmark":
            continue
        for n in {w.weir_records, w.flink_records}:
            r = subprocess.run([str(weir_exe), "nexmark-reference", "--query", w.query,
                                "--records", str(n)], capture_output=True, text=True, cwd=cwd)
            m = re.search(r"sink_records=(\d+) sum_a=(\d+) sum_b=(\d+)", r.stdout)
            if r.returncode != 0 or not m:
                raise SystemExit(f"vs_flink: nexmark-reference {w.query} failed: {r.stderr}")
            w.reference[n] = {"sink_records": int(m.group(1)), "sum_a": int(m.group(2)),
                              "sum_b": int(m.group(3))}
