package weir.bench.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Workloads (b), (c), (d), keyed count: {@code fromSequence(0, N-1) → keyBy(x % keys) →
 * KeyedProcessFunction counting in ValueState<Long>, emitting (key, count) → discard},
 * parallelism 2, with the state backend and checkpoint interval given.
 *
 * <p>Checksum: records reaching the sink, the sum of the emitted counts (Σ c(c+1)/2 over keys,
 * which only comes out right if every key's count went 1, 2, …, c) and the sum of emitted keys.
 *
 * <p>{@code java -cp ... weir.bench.flink.KeyedCountJob --workload keyed_hashmap --records
 * 20000000 --keys 10000 --backend hashmap --checkpoint-ms 1000 --runs 1}
 */
public final class KeyedCountJob {
    static final class Modulo implements KeySelector<Long, Long> {
        private final long keys;

        Modulo(long keys) {
            this.keys = keys;
        }

        @Override
        public Long getKey(Long x) {
            return x % keys;
        }
    }

    static final class Count extends KeyedProcessFunction<Long, Long, Tuple2<Long, Long>>
            implements CheckpointListener {
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Tuple2<Long, Long>> out)
                throws Exception {
            Long previous = count.value();
            long n = previous == null ? 1 : previous + 1;
            count.update(n);
            out.collect(Tuple2.of(ctx.getCurrentKey(), n));
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            Totals.lastCheckpoint.accumulateAndGet(checkpointId, Math::max);
        }
    }

    static final class PairFields implements CountingDiscardSink.Fields<Tuple2<Long, Long>> {
        @Override
        public long a(Tuple2<Long, Long> r) {
            return r.f1;
        }

        @Override
        public long b(Tuple2<Long, Long> r) {
            return r.f0;
        }
    }

    public static void main(String[] argv) throws Exception {
        Bench bench = new Bench(argv);
        long n = bench.longArg("records", 20_000_000L);
        long keys = bench.longArg("keys", 10_000);
        int runs = (int) bench.longArg("runs", 1);
        String backend = bench.stringArg("backend", "hashmap");
        long checkpointMs = bench.longArg("checkpoint-ms", 1000);
        String workload = bench.stringArg("workload", "keyed_" + backend);
        bench.run(workload, n, runs, backend, checkpointMs, env -> env.fromSequence(0, n - 1)
                .keyBy(new Modulo(keys))
                .process(new Count())
                .sinkTo(new CountingDiscardSink<>(new PairFields())));
    }

    private KeyedCountJob() {}
}
