#!/usr/bin/env bash
# weir side by side with Apache Flink's local MiniCluster, in one run on this machine.
#
#   benches/vs_flink.sh                     # every workload, 20 M records, best of 3 runs
#   benches/vs_flink.sh --records 5000000 --runs 1 --workloads stateless,keyed_hashmap
#   benches/vs_flink.sh --workloads nexmark_q0,nexmark_q1,nexmark_q2,nexmark_q3,recovery
#   benches/vs_flink.sh --workloads savepoint --runs 1     # savepoint time, size, restore
#   benches/vs_flink.sh --help
#
# Workloads: stateless, keyed_hashmap, keyed_rocksdb, ckpt_off_1m, ckpt_on_1m,
# nexmark_q0..nexmark_q3, recovery; and, not by default, savepoint_<hashmap|rocksdb>_<1e4..1e7>
# (`--workloads savepoint`: all eight; their table goes to benches/results/vs_flink_savepoint.md).
# Each engine's run is a process of its own, with its peak RSS.
#
# It installs Flink's jars on first use (benches/flink/install.sh, from the PyPI package
# apache-flink-libraries, into ${WEIR_FLINK_HOME:-$HOME/.cache/weir/flink}), compiles the Java job
# programs of benches/flink/src with javac, builds weir's side (benches/flink/weir_side.rs) with
# cargo (set CARGO_TARGET_DIR to share a build cache), runs every workload on both engines, checks
# that both computed the same checksums, and prints the table. It writes benches/results/vs_flink.md
# and benches/results/vs_flink.svg. The logic is in benches/flink/vs_flink.py and its vsf_*.py
# modules (Python 3 stdlib).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

for a in "$@"; do
    if [[ "$a" == "-h" || "$a" == "--help" ]]; then
        exec "$python" "$root/benches/flink/vs_flink.py" --help
    fi
done

# install.sh says what it did, then prints the lib directory on its last line.
install_out="$("$root/benches/flink/install.sh")"
lib="$(tail -n1 <<<"$install_out")"
head -n -1 <<<"$install_out"

command_line="benches/vs_flink.sh"
for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_.,/=:+-]+$ ]]; then
        command_line+=" $a"
    else
        command_line+=" $(printf '%q' "$a")"
    fi
done

exec "$python" "$root/benches/flink/vs_flink.py" --root "$root" --flink-lib "$lib" \
    --command-line "$command_line" "$@"
