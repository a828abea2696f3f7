package weir.bench.flink;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * What every job program shares: argument parsing, the environment (a local MiniCluster), the
 * timing, and the one result line the runner parses.
 *
 * <p>Result line (space-separated key=value, unsigned decimal sums):
 * {@code RESULT engine=flink workload=W run=I records=N elapsed_ms=.. wall_ms=.. records_per_s=..
 * sink_records=.. sum_a=.. sum_b=.. last_checkpoint=..}. elapsed_ms is Flink's net runtime of the
 * job (JobExecutionResult#getNetRuntime: deployment to finish, without the MiniCluster's start and
 * stop); wall_ms is the whole execute() call. records_per_s = records / elapsed.
 */
final class Bench {
    final Map<String, String> args = new HashMap<>();
    /** Configuration entries every run adds to its environment's (e.g. a restart strategy). */
    final Map<String, String> extraConf = new HashMap<>();
    /** Extra {@code key=value} fields appended to each result line, read after the run. */
    Supplier<String> extraResult = () -> "";

    Bench(String[] argv) {
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + a);
            }
            args.put(a.substring(2), argv[++i]);
        }
    }

    long longArg(String name, long def) {
        String v = args.get(name);
        return v == null ? def : Long.parseLong(v.replace("_", ""));
    }

    String stringArg(String name, String def) {
        return args.getOrDefault(name, def);
    }

    /**
     * A local environment: {@code getExecutionEnvironment} in a plain {@code java -cp} run creates a
     * MiniCluster in this JVM. {@code checkpointMs > 0} turns on checkpoints at that interval into a
     * fresh directory on the local filesystem (returned through {@code checkpointDir}).
     */
    static StreamExecutionEnvironment environment(
            int parallelism, String backend, long checkpointMs, Path checkpointDir,
            Map<String, String> extraConf) {
        Map<String, String> conf = new HashMap<>(extraConf);
        conf.put("state.backend.type", backend);
        if (checkpointMs > 0) {
            conf.put("execution.checkpointing.interval", checkpointMs + " ms");
            conf.put("execution.checkpointing.dir", checkpointDir.toUri().toString());
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(Configuration.fromMap(conf));
        env.setParallelism(parallelism);
        return env;
    }

    /**
     * Builds and runs the job {@code runs} times (each run a fresh MiniCluster in this JVM) and
     * prints one result line per run.
     */
    void run(String workload, long records, int runs, String backend, long checkpointMs,
            Consumer<StreamExecutionEnvironment> job) throws Exception {
        for (int run = 1; run <= runs; run++) {
            Path dir = Files.createTempDirectory("weir-vs-flink-checkpoints-");
            try {
                StreamExecutionEnvironment env = environment(2, backend, checkpointMs, dir, extraConf);
                job.accept(env);
                Totals.reset();
                long started = System.nanoTime();
                JobExecutionResult result = env.execute(workload);
                long wallNanos = System.nanoTime() - started;
                long elapsedMs = result.getNetRuntime(TimeUnit.MILLISECONDS);
                double perSecond = records / (Math.max(elapsedMs, 1) / 1000.0);
                System.out.printf(
                        "RESULT engine=flink workload=%s run=%d records=%d elapsed_ms=%d wall_ms=%d"
                                + " records_per_s=%.0f sink_records=%d sum_a=%s sum_b=%s"
                                + " finished_sinks=%d last_checkpoint=%d%s%n",
                        workload, run, records, elapsedMs, wallNanos / 1_000_000, perSecond,
                        Totals.sinkRecords.sum(), Long.toUnsignedString(Totals.sumA.sum()),
                        Long.toUnsignedString(Totals.sumB.sum()), Totals.finishedSinks.sum(),
                        Totals.lastCheckpoint.get(), extraResult.get());
                System.out.flush();
            } finally {
                deleteTree(dir);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
