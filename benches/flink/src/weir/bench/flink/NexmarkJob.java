package weir.bench.flink;

import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Nexmark q0–q3 over {@code fromSequence(0, N-1) → map(NexmarkGen)}, parallelism 2, the same
 * queries and checksums as weir's {@code benches/flink/nexmark.rs} (whose header defines them):
 * q0 pass-through, q1 bids with price * 908 / 1000 (integer cents), q2 bids with
 * {@code auction % 123 == 0}, q3 persons of OR/ID/CA joined with category-10 auctions on seller
 * in a KeyedProcessFunction (person in ValueState, early auctions in ListState).
 *
 * <p>{@code java -cp ... weir.bench.flink.NexmarkJob --query q3 --records 20000000 --runs 1}
 */
public final class NexmarkJob {
    /** q0's checksum fields over whole events. */
    static final class EventFields implements CountingDiscardSink.Fields<NexmarkEvent> {
        @Override
        public long a(NexmarkEvent e) {
            switch (e.kind) {
                case NexmarkEvent.PERSON:
                    return e.person.id;
                case NexmarkEvent.AUCTION:
                    return e.auction.id;
                default:
                    return e.bid.auction;
            }
        }

        @Override
        public long b(NexmarkEvent e) {
            switch (e.kind) {
                case NexmarkEvent.PERSON:
                    NexmarkEvent.Person p = e.person;
                    return NexmarkGen.placeHash(p.name, p.city, p.state) + p.dateTime;
                case NexmarkEvent.AUCTION:
                    NexmarkEvent.Auction a = e.auction;
                    return a.seller * 31 + a.category + a.initialBid + a.reserve + a.expires;
                default:
                    NexmarkEvent.Bid b = e.bid;
                    return b.bidder * 31 + b.price + b.dateTime;
            }
        }
    }

    /** q1: (auction, bidder, price in euro cents, dateTime) for every bid. */
    static final class Q1 implements FlatMapFunction<NexmarkEvent, Tuple4<Long, Long, Long, Long>> {
        @Override
        public void flatMap(NexmarkEvent e, Collector<Tuple4<Long, Long, Long, Long>> out) {
            if (e.kind == NexmarkEvent.BID) {
                NexmarkEvent.Bid b = e.bid;
                out.collect(Tuple4.of(b.auction, b.bidder, b.price * 908 / 1000, b.dateTime));
            }
        }
    }

    static final class Q1Fields implements CountingDiscardSink.Fields<Tuple4<Long, Long, Long, Long>> {
        @Override
        public long a(Tuple4<Long, Long, Long, Long> r) {
            return r.f2;
        }

        @Override
        public long b(Tuple4<Long, Long, Long, Long> r) {
            return r.f0;
        }
    }

    /** q2: (auction, price) of the bids with auction % 123 == 0. */
    static final class Q2 implements FlatMapFunction<NexmarkEvent, Tuple2<Long, Long>> {
        @Override
        public void flatMap(NexmarkEvent e, Collector<Tuple2<Long, Long>> out) {
            if (e.kind == NexmarkEvent.BID && e.bid.auction % 123 == 0) {
                out.collect(Tuple2.of(e.bid.auction, e.bid.price));
            }
        }
    }

    /** q3's filter: persons of OR, ID, CA and auctions of category 10. */
    static final class Q3Input implements FilterFunction<NexmarkEvent> {
        @Override
        public boolean filter(NexmarkEvent e) {
            switch (e.kind) {
                case NexmarkEvent.PERSON:
                    String s = e.person.state;
                    return s.equals("OR") || s.equals("ID") || s.equals("CA");
                case NexmarkEvent.AUCTION:
                    return e.auction.category == 10;
                default:
                    return false;
            }
        }
    }

    /** q3's join key: the person's id, or the auction's seller. */
    static final class Q3Key implements KeySelector<NexmarkEvent, Long> {
        @Override
        public Long getKey(NexmarkEvent e) {
            return e.kind == NexmarkEvent.PERSON ? e.person.id : e.auction.seller;
        }
    }

    /** q3's keyed join: (name, city, state, auction id). */
    static final class Q3Join
            extends KeyedProcessFunction<Long, NexmarkEvent, Tuple4<String, String, String, Long>> {
        private transient ValueState<Tuple3<String, String, String>> person;
        private transient ListState<Long> pending;

        @Override
        public void open(OpenContext context) {
            person = getRuntimeContext().getState(new ValueStateDescriptor<>("person",
                    Types.TUPLE(Types.STRING, Types.STRING, Types.STRING)));
            pending = getRuntimeContext().getListState(
                    new ListStateDescriptor<>("pending_auctions", Types.LONG));
        }

        @Override
        public void processElement(NexmarkEvent e, Context ctx,
                Collector<Tuple4<String, String, String, Long>> out) throws Exception {
            if (e.kind == NexmarkEvent.PERSON) {
                NexmarkEvent.Person p = e.person;
                Iterable<Long> ids = pending.get();
                if (ids != null) {
                    for (Long id : ids) {
                        out.collect(Tuple4.of(p.name, p.city, p.state, id));
                    }
                }
                pending.clear();
                person.update(Tuple3.of(p.name, p.city, p.state));
            } else if (e.kind == NexmarkEvent.AUCTION) {
                Tuple3<String, String, String> p = person.value();
                if (p != null) {
                    out.collect(Tuple4.of(p.f0, p.f1, p.f2, e.auction.id));
                } else {
                    pending.add(e.auction.id);
                }
            }
        }
    }

    static final class Q3Fields
            implements CountingDiscardSink.Fields<Tuple4<String, String, String, Long>> {
        @Override
        public long a(Tuple4<String, String, String, Long> r) {
            return r.f3;
        }

        @Override
        public long b(Tuple4<String, String, String, Long> r) {
            return NexmarkGen.placeHash(r.f0, r.f1, r.f2);
        }
    }

    static void build(StreamExecutionEnvironment env, String query, long n) {
        DataStream<NexmarkEvent> events = env.fromSequence(0, n - 1).map(NexmarkGen.function());
        switch (query) {
            case "q0":
                events.sinkTo(new CountingDiscardSink<>(new EventFields()));
                break;
            case "q1":
                events.flatMap(new Q1()).sinkTo(new CountingDiscardSink<>(new Q1Fields()));
                break;
            case "q2":
                events.flatMap(new Q2())
                        .sinkTo(new CountingDiscardSink<>(new KeyedCountJob.PairFields()));
                break;
            case "q3":
                events.filter(new Q3Input())
                        .keyBy(new Q3Key())
                        .process(new Q3Join())
                        .sinkTo(new CountingDiscardSink<>(new Q3Fields()));
                break;
            default:
                throw new IllegalArgumentException("unknown Nexmark query " + query);
        }
    }

    public static void main(String[] argv) throws Exception {
        Bench bench = new Bench(argv);
        long n = bench.longArg("records", 20_000_000L);
        int runs = (int) bench.longArg("runs", 1);
        String query = bench.stringArg("query", "q0");
        long checkpointMs = bench.longArg("checkpoint-ms", 0);
        String workload = bench.stringArg("workload", "nexmark_" + query);
        bench.run(workload, n, runs, "hashmap", checkpointMs, env -> build(env, query, n));
    }

    private NexmarkJob() {}
}
