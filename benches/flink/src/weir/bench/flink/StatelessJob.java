package weir.bench.flink;

import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Workload (a), stateless: {@code fromSequence(0, N-1) → map(x * 3) → filter(x % 7 != 0) →
 * discard}, parallelism 2. Checksum: records reaching the sink, the sum of their values, and the
 * sum of their values mod 7 (a second, independent field).
 *
 * <p>{@code java -cp ... weir.bench.flink.StatelessJob --records 20000000 --runs 1}
 */
public final class StatelessJob {
    static final class TimesThree implements MapFunction<Long, Long> {
        @Override
        public Long map(Long x) {
            return x * 3;
        }
    }

    static final class NotMultipleOfSeven implements FilterFunction<Long> {
        @Override
        public boolean filter(Long x) {
            return x % 7 != 0;
        }
    }

    static final class ValueFields implements CountingDiscardSink.Fields<Long> {
        @Override
        public long a(Long x) {
            return x;
        }

        @Override
        public long b(Long x) {
            return x % 7;
        }
    }

    public static void main(String[] argv) throws Exception {
        Bench bench = new Bench(argv);
        long n = bench.longArg("records", 20_000_000L);
        int runs = (int) bench.longArg("runs", 1);
        bench.run("stateless", n, runs, "hashmap", 0, env -> env.fromSequence(0, n - 1)
                .map(new TimesThree())
                .filter(new NotMultipleOfSeven())
                .sinkTo(new CountingDiscardSink<>(new ValueFields())));
    }

    private StatelessJob() {}
}
