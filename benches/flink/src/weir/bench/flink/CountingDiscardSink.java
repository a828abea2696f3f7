package weir.bench.flink;

import java.io.Serializable;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * A discarding sink (Sink V2, like Flink's own {@code DiscardingSink}) that also counts what
 * reaches it: the number of records and two wrapping sums of per-record fields, kept in plain
 * fields of each writer and published once, at end of input (never by a writer of a failed
 * attempt). The same counting is done by weir's
 * side, so the runner can check that both engines computed the same thing.
 */
final class CountingDiscardSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;

    /** The two checksum fields of a record. */
    interface Fields<T> extends Serializable {
        long a(T record);

        long b(T record);
    }

    private final Fields<T> fields;

    CountingDiscardSink(Fields<T> fields) {
        this.fields = fields;
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        return new Writer<>(fields);
    }

    private static final class Writer<T> implements SinkWriter<T> {
        private final Fields<T> fields;
        private long records;
        private long sumA;
        private long sumB;
        private boolean published;

        Writer(Fields<T> fields) {
            this.fields = fields;
        }

        @Override
        public void write(T element, Context context) {
            records++;
            sumA += fields.a(element);
            sumB += fields.b(element);
        }

        @Override
        public void flush(boolean endOfInput) {
            if (endOfInput) {
                publish();
            }
        }

        /**
         * Publishes nothing: a writer closed without reaching end of input belongs to a failed
         * or cancelled attempt, whose partial totals must not count.
         */
        @Override
        public void close() {}

        private void publish() {
            if (published) {
                return;
            }
            published = true;
            Totals.sinkRecords.add(records);
            Totals.sumA.add(sumA);
            Totals.sumB.add(sumB);
            Totals.finishedSinks.increment();
        }
    }
}
