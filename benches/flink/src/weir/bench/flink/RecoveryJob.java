package weir.bench.flink;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

/**
 * Recovery time, Flink's side of {@code benches/flink/recovery.rs} (whose header describes the
 * measurement): {@code fromSequence(0, N-1) → keyBy(x % keys) → Count (ValueState) → Probe →
 * check → sink}, parallelism 2, hashmap state, checkpoints every {@code --checkpoint-ms}, and a
 * fixed-delay restart strategy with delay 0.
 *
 * <p>The probe of subtask 0 in attempt 0 throws at its next record once a checkpoint taken after
 * {@code keys} of its records is complete; in later attempts every probe notes the time of its
 * first record (attempt number from {@code getRuntimeContext().getTaskInfo()}). The result line
 * adds {@code recovery_ms}, first record after the restore minus the failure, and
 * {@code restarts}, the highest attempt number seen.
 *
 * <p>{@code java -cp ... weir.bench.flink.RecoveryJob --records 20000000 --keys 1000000}
 */
public final class RecoveryJob {
    /** System.nanoTime() of the injected failure, 0 until it happens. */
    static final AtomicLong failedAt = new AtomicLong();
    /** System.nanoTime() of the first record any probe saw after the restore, 0 until then. */
    static final AtomicLong firstAfterRestore = new AtomicLong();
    /** The highest attempt number a probe was opened in: the restarts of the run. */
    static final AtomicLong maxAttempt = new AtomicLong();

    static final class Probe extends RichMapFunction<Tuple2<Long, Long>, Tuple2<Long, Long>>
            implements CheckpointedFunction, CheckpointListener {
        private final long threshold;
        private transient int attempt;
        private transient boolean fails;
        private transient boolean armed;
        private transient boolean firstNoted;
        private transient long seen;
        private transient Map<Long, Long> seenAtCheckpoint;

        Probe(long threshold) {
            this.threshold = threshold;
        }

        @Override
        public void open(OpenContext context) {
            attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
            fails = attempt == 0 && getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0;
            seenAtCheckpoint = new HashMap<>();
            maxAttempt.accumulateAndGet(attempt, Math::max);
        }

        @Override
        public Tuple2<Long, Long> map(Tuple2<Long, Long> r) {
            if (attempt > 0 && !firstNoted) {
                firstNoted = true;
                long now = System.nanoTime();
                firstAfterRestore.accumulateAndGet(now, (a, b) -> a == 0 ? b : Math.min(a, b));
            }
            if (armed) {
                armed = false;
                failedAt.set(System.nanoTime());
                throw new RuntimeException(
                        "recovery benchmark: failure injected after a complete checkpoint");
            }
            seen++;
            return r;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            seenAtCheckpoint.put(context.getCheckpointId(), seen);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            Totals.lastCheckpoint.accumulateAndGet(checkpointId, Math::max);
            Long at = seenAtCheckpoint.get(checkpointId);
            if (fails && at != null && at >= threshold) {
                fails = false;
                armed = true;
            }
        }
    }

    /**
     * (key, count) → (1 if count is the key's exact total, 1 if it exceeds it): summed by the
     * sink, every key must reach its total once and none may pass it.
     */
    static final class Check implements MapFunction<Tuple2<Long, Long>, Tuple2<Long, Long>> {
        private final long keys;
        private final long records;

        Check(long keys, long records) {
            this.keys = keys;
            this.records = records;
        }

        @Override
        public Tuple2<Long, Long> map(Tuple2<Long, Long> r) {
            long key = r.f0;
            long total = records / keys + (key < records % keys ? 1 : 0);
            return Tuple2.of(r.f1 == total ? 1L : 0L, r.f1 > total ? 1L : 0L);
        }
    }

    public static void main(String[] argv) throws Exception {
        Bench bench = new Bench(argv);
        long n = bench.longArg("records", 20_000_000L);
        long keys = bench.longArg("keys", 1_000_000);
        int runs = (int) bench.longArg("runs", 1);
        long checkpointMs = bench.longArg("checkpoint-ms", 1000);
        String workload = bench.stringArg("workload", "recovery");
        bench.extraConf.put("restart-strategy.type", "fixed-delay");
        bench.extraConf.put("restart-strategy.fixed-delay.attempts", "3");
        bench.extraConf.put("restart-strategy.fixed-delay.delay", "0 ms");
        bench.extraResult = () -> {
            long failed = failedAt.getAndSet(0);
            long first = firstAfterRestore.getAndSet(0);
            long restarts = maxAttempt.getAndSet(0);
            if (failed == 0 || first == 0) {
                return " recovery_ms=none restarts=" + restarts;
            }
            return String.format(" recovery_ms=%.3f restarts=%d", (first - failed) / 1e6, restarts);
        };
        bench.run(workload, n, runs, "hashmap", checkpointMs, env -> env.fromSequence(0, n - 1)
                .keyBy(new KeyedCountJob.Modulo(keys))
                .process(new KeyedCountJob.Count())
                .map(new Probe(keys))
                .map(new Check(keys, n))
                .sinkTo(new CountingDiscardSink<>(new KeyedCountJob.PairFields())));
    }

    private RecoveryJob() {}
}
