package weir.bench.flink;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.source.legacy.RichParallelSourceFunction;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.util.Collector;

/**
 * Savepoint time and size, and restore time, Flink's side of {@code benches/flink/savepoint.rs}
 * (whose header defines every figure the same way for both engines).
 *
 * <p>One MiniCluster (1 TaskManager, 4 slots) lives through the whole run; jobs are submitted to
 * it and the savepoint is taken through it ({@link MiniCluster#triggerSavepoint}, what the
 * ClusterClient of {@code flink savepoint} calls on a JobManager; canonical format, the default).
 *
 * <ol>
 *   <li>Fill: a source emitting {@code keys × fill-per-key} numbers over its subtasks, then idling
 *       (sleeping 1 ms at a time, never finishing) → keyBy(x % keys) → count in
 *       {@code ValueState<Long>} (uid {@code count}) → discard, parallelism 2. Once the count has
 *       processed every number: savepoint (timed from the trigger to the returned path), its size
 *       on disk, then the job is cancelled.
 *   <li>Start without state: the verification job below without a savepoint, cancelled at its
 *       first record; the submission-to-first-record time it takes is job start alone.
 *   <li>Restore at 2, then at {@code --changed-parallelism}: {@code fromSequence(0, keys-1)} (a new
 *       source uid; the fill source's state is left unclaimed, {@code allowNonRestoredState}) →
 *       the same count → counting sink; restore time = submission of the job to the first record
 *       the restored count processed; the job then runs to its end, and the sink's checksum
 *       (records, Σ counts, Σ keys) shows every key's count came back.
 * </ol>
 *
 * <p>{@code java -cp ... weir.bench.flink.SavepointJob --workload savepoint_hashmap_1e6 --keys
 * 1000000 --backend hashmap --runs 1}
 */
public final class SavepointJob {
    /** Records the count functions processed (all jobs of the run). */
    static final LongAdder processed = new LongAdder();
    /** System.nanoTime() of the first record a count function processed in the current job. */
    static final AtomicLong firstNanos = new AtomicLong();

    /** Emits its share of 0..total-1, then idles until cancelled; no state. */
    static final class FillSource extends RichParallelSourceFunction<Long> {
        private final long total;
        private volatile boolean running = true;

        FillSource(long total) {
            this.total = total;
        }

        @Override
        public void run(SourceContext<Long> ctx) throws Exception {
            int index = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            long from = total * index / parallelism;
            long to = total * (index + 1) / parallelism;
            for (long x = from; x < to && running; ) {
                synchronized (ctx.getCheckpointLock()) {
                    for (long end = Math.min(to, x + 1024); x < end; x++) {
                        ctx.collect(x);
                    }
                }
            }
            while (running) {
                Thread.sleep(1);
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }

    /** The keyed count of {@link KeyedCountJob.Count}, noting its first record and its total. */
    static final class TimedCount extends KeyedProcessFunction<Long, Long, Tuple2<Long, Long>> {
        private transient ValueState<Long> count;
        private transient boolean noted;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Tuple2<Long, Long>> out)
                throws Exception {
            if (!noted) {
                noted = true;
                firstNanos.compareAndSet(0, System.nanoTime());
            }
            Long previous = count.value();
            long n = previous == null ? 1 : previous + 1;
            count.update(n);
            processed.increment();
            out.collect(Tuple2.of(ctx.getCurrentKey(), n));
        }
    }

    /** What one restored (or fresh) job measured. */
    record Restored(double firstMs, double jobMs, long records, long sumA, long sumB, long sinks) {}

    private final MiniCluster cluster;
    private final Configuration conf;
    private final long keys;

    private SavepointJob(MiniCluster cluster, Configuration conf, long keys) {
        this.cluster = cluster;
        this.conf = conf;
        this.keys = keys;
    }

    private JobID submit(StreamExecutionEnvironment env, SavepointRestoreSettings restore)
            throws Exception {
        StreamGraph graph = env.getStreamGraph();
        graph.setSavepointRestoreSettings(restore);
        JobGraph job = graph.getJobGraph();
        cluster.submitJob(job).get();
        return job.getJobID();
    }

    private StreamExecutionEnvironment env(int parallelism) {
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        return env;
    }

    /** Fills the state and returns {fill ms, savepoint ms, savepoint path}. */
    private Object[] fillAndSavepoint(long fillPerKey, Path dir) throws Exception {
        StreamExecutionEnvironment env = env(2);
        env.addSource(new FillSource(keys * fillPerKey), "Source: Fill").uid("fill")
                .keyBy(new KeyedCountJob.Modulo(keys))
                .process(new TimedCount()).uid("count")
                .sinkTo(new CountingDiscardSink<>(new KeyedCountJob.PairFields())).uid("out");
        long base = processed.sum();
        long target = base + keys * fillPerKey;
        long started = System.nanoTime();
        JobID id = submit(env, SavepointRestoreSettings.none());
        while (processed.sum() < target) {
            Thread.sleep(1);
        }
        double fillMs = (System.nanoTime() - started) / 1e6;
        long t0 = System.nanoTime();
        String path = cluster.triggerSavepoint(
                id, dir.toUri().toString(), false, SavepointFormatType.CANONICAL).get();
        double savepointMs = (System.nanoTime() - t0) / 1e6;
        cluster.cancelJob(id).get();
        try {
            cluster.requestJobResult(id).get();
        } catch (Exception cancelled) {
            // The job ends cancelled: expected.
        }
        return new Object[] {fillMs, savepointMs, path};
    }

    /** Runs the verification job at `parallelism`, from `savepoint` (null: without state). */
    private Restored restore(int parallelism, String savepoint) throws Exception {
        StreamExecutionEnvironment env = env(parallelism);
        env.fromSequence(0, keys - 1).uid("verify-numbers")
                .keyBy(new KeyedCountJob.Modulo(keys))
                .process(new TimedCount()).uid("count")
                .sinkTo(new CountingDiscardSink<>(new KeyedCountJob.PairFields())).uid("out");
        Totals.reset();
        firstNanos.set(0);
        SavepointRestoreSettings settings = savepoint == null
                ? SavepointRestoreSettings.none()
                : SavepointRestoreSettings.forPath(savepoint, true);
        long t0 = System.nanoTime();
        JobID id = submit(env, settings);
        if (savepoint == null) {
            while (firstNanos.get() == 0) {
                Thread.sleep(0, 100_000);
            }
            double first = (firstNanos.get() - t0) / 1e6;
            cluster.cancelJob(id).get();
            try {
                cluster.requestJobResult(id).get();
            } catch (Exception cancelled) {
                // The job ends cancelled: expected.
            }
            return new Restored(first, 0, 0, 0, 0, 0);
        }
        var result = cluster.requestJobResult(id).get();
        double jobMs = (System.nanoTime() - t0) / 1e6;
        if (!result.isSuccess()) {
            throw new IllegalStateException("restored job failed: " + result.getSerializedThrowable());
        }
        return new Restored((firstNanos.get() - t0) / 1e6, jobMs, Totals.sinkRecords.sum(),
                Totals.sumA.sum(), Totals.sumB.sum(), Totals.finishedSinks.sum());
    }

    static long bytesUnder(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            return paths.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    static String fields(String prefix, Restored r) {
        return String.format(" %s_ms=%.3f %s_job_ms=%.1f %s_sink_records=%d %s_sum_a=%s"
                        + " %s_sum_b=%s %s_finished_sinks=%d",
                prefix, r.firstMs, prefix, r.jobMs, prefix, r.records, prefix,
                Long.toUnsignedString(r.sumA), prefix, Long.toUnsignedString(r.sumB), prefix,
                r.sinks);
    }

    public static void main(String[] argv) throws Exception {
        Bench bench = new Bench(argv);
        long keys = bench.longArg("keys", 1_000_000);
        int runs = (int) bench.longArg("runs", 1);
        String backend = bench.stringArg("backend", "hashmap");
        int changed = (int) bench.longArg("changed-parallelism", 3);
        long fillPerKey = bench.longArg("fill-per-key", 1);
        String workload = bench.stringArg("workload", "savepoint_" + backend);
        Path base = Files.createTempDirectory("weir-vs-flink-savepoint-");
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", backend);
        conf.setString("execution.checkpointing.interval", "1 h");
        conf.setString("execution.checkpointing.dir", base.resolve("checkpoints").toUri().toString());
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf).setNumTaskManagers(1).setNumSlotsPerTaskManager(4).build());
        cluster.start();
        try {
            SavepointJob job = new SavepointJob(cluster, conf, keys);
            for (int run = 1; run <= runs; run++) {
                Path dir = base.resolve("run-" + run);
                Object[] taken = job.fillAndSavepoint(fillPerKey, dir.resolve("savepoints"));
                String path = (String) taken[2];
                long bytes = bytesUnder(Paths.get(URI.create(path.startsWith("file:") ? path
                        : "file:" + path)));
                Restored empty = job.restore(2, null);
                Restored same = job.restore(2, path);
                Restored other = job.restore(changed, path);
                System.out.printf("RESULT engine=flink workload=%s run=%d records=%d keys=%d"
                                + " backend=%s fill_per_key=%d fill_ms=%.1f savepoint_ms=%.3f"
                                + " savepoint_bytes=%d same_parallelism=2 changed_parallelism=%d"
                                + " start_empty_ms=%.3f%s%s%n",
                        workload, run, keys, keys, backend, fillPerKey, (double) taken[0],
                        (double) taken[1], bytes, changed, empty.firstMs,
                        fields("restore_same", same), fields("restore_changed", other));
                System.out.flush();
                deleteTree(dir);
            }
        } finally {
            cluster.close();
            deleteTree(base);
        }
    }
}
