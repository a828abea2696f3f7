package weir.bench.flink;

import org.apache.flink.api.common.functions.MapFunction;

/**
 * The deterministic Nexmark event generator of {@code benches/flink/nexmark_gen.rs}, rule for
 * rule (its module documentation states the rules), so both engines see the same events: event
 * {@code n} is a function of {@code n} alone (SplitMix64 seeded with {@code n}); per 50 events,
 * 1 person, 3 auctions, 46 bids; ids from 1000; categories 10–14; integer prices in cents.
 */
final class NexmarkGen implements MapFunction<Long, NexmarkEvent> {
    static final String[] FIRST_NAMES = {
        "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter",
        "Walter"
    };
    static final String[] LAST_NAMES = {
        "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"
    };
    static final String[] CITIES = {
        "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond",
        "Seattle", "Kent", "Cheyenne"
    };
    static final String[] STATES = {"AZ", "CA", "ID", "OR", "WA", "WY"};

    private static final long EPOCH = 50;
    private static final long FIRST_PERSON_ID = 1000;
    private static final long FIRST_AUCTION_ID = 1000;
    private static final long FIRST_CATEGORY_ID = 10;
    private static final long BASE_TIME_MS = 1_700_000_000_000L;

    @Override
    public NexmarkEvent map(Long n) {
        return event(n);
    }

    /** SplitMix64, the same mixing as java.util.SplittableRandom. */
    private static final class Rng {
        private long state;

        Rng(long seed) {
            state = seed;
        }

        long next() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        long below(long bound) {
            return (next() >>> 1) % bound;
        }

        long price() {
            long mantissa = 100 + below(900);
            long exponent = below(6);
            long p = mantissa;
            for (long i = 0; i < exponent; i++) {
                p *= 10;
            }
            return p;
        }

        long nextPerson(long lastPerson) {
            long people = lastPerson + 1;
            long active = Math.min(people, 1000);
            return people - active + below(active + 10);
        }

        long nextAuction(long lastAuction) {
            long low = Math.max(lastAuction - 100, 0);
            return low + below(lastAuction - low + 1 + 10);
        }
    }

    /** Event number {@code n}. */
    static NexmarkEvent event(long n) {
        Rng rng = new Rng(n);
        long epoch = n / EPOCH;
        long offset = n % EPOCH;
        long lastPerson = epoch;
        long dateTime = BASE_TIME_MS + n / 10;
        NexmarkEvent e = new NexmarkEvent();
        if (offset == 0) {
            NexmarkEvent.Person p = new NexmarkEvent.Person();
            String first = FIRST_NAMES[(int) rng.below(11)];
            String last = LAST_NAMES[(int) rng.below(9)];
            p.id = FIRST_PERSON_ID + epoch;
            p.name = first + " " + last;
            p.city = CITIES[(int) rng.below(10)];
            p.state = STATES[(int) rng.below(6)];
            p.dateTime = dateTime;
            e.kind = NexmarkEvent.PERSON;
            e.person = p;
        } else if (offset <= 3) {
            NexmarkEvent.Auction a = new NexmarkEvent.Auction();
            long seller = rng.below(4) > 0 ? (lastPerson / 100) * 100 : rng.nextPerson(lastPerson);
            a.id = FIRST_AUCTION_ID + 3 * epoch + offset - 1;
            a.seller = FIRST_PERSON_ID + seller;
            a.category = FIRST_CATEGORY_ID + rng.below(5);
            a.initialBid = rng.price();
            a.reserve = a.initialBid + rng.price();
            a.dateTime = dateTime;
            a.expires = dateTime + 1000 * (1 + rng.below(10));
            e.kind = NexmarkEvent.AUCTION;
            e.auction = a;
        } else {
            NexmarkEvent.Bid b = new NexmarkEvent.Bid();
            long lastAuction = 3 * epoch + 2;
            long auction = rng.below(2) > 0 ? (lastAuction / 100) * 100 : rng.nextAuction(lastAuction);
            long bidder = rng.below(4) > 0 ? (lastPerson / 100) * 100 + 1 : rng.nextPerson(lastPerson);
            b.auction = FIRST_AUCTION_ID + auction;
            b.bidder = FIRST_PERSON_ID + bidder;
            b.price = rng.price();
            b.dateTime = dateTime;
            e.kind = NexmarkEvent.BID;
            e.bid = b;
        }
        return e;
    }

    /** {@code h * 31 + c} over the string's chars, in 64 bits (the checksums' string hash). */
    static long strHash(String s) {
        long h = 0;
        for (int i = 0; i < s.length(); i++) {
            h = h * 31 + s.charAt(i);
        }
        return h;
    }

    /** The checksum of a person's name, city and state. */
    static long placeHash(String name, String city, String state) {
        return strHash(name) + strHash(city) * 3 + strHash(state) * 7;
    }

    private NexmarkGen() {}

    /** The generator as a map function over the event numbers. */
    static NexmarkGen function() {
        return new NexmarkGen();
    }
}
