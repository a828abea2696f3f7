package weir.bench.flink;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the sinks and functions of one run report, read by the job's main after execute().
 *
 * <p>A local MiniCluster runs the tasks in this JVM, and with no user jars their classes come from
 * the application class loader, so these statics are the ones the tasks write to.
 */
final class Totals {
    /** Records that reached the sink, over every sink subtask. */
    static final LongAdder sinkRecords = new LongAdder();
    /** Wrapping sum of the first checksum field over every record reaching the sink. */
    static final LongAdder sumA = new LongAdder();
    /** Wrapping sum of the second checksum field. */
    static final LongAdder sumB = new LongAdder();
    /** Sink subtasks that finished (flush at end of input). */
    static final LongAdder finishedSinks = new LongAdder();
    /** Highest checkpoint id any subtask was told completed. */
    static final AtomicLong lastCheckpoint = new AtomicLong();

    static void reset() {
        sinkRecords.reset();
        sumA.reset();
        sumB.reset();
        finishedSinks.reset();
        lastCheckpoint.set(0);
    }

    private Totals() {}
}
