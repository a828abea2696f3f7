package weir.bench.flink;

/**
 * One Nexmark event, a POJO (public fields, no-argument constructors) so Flink serializes it with
 * its PojoSerializer: exactly one of {@code person}, {@code auction}, {@code bid} is set, as
 * {@code kind} says. The fields are those queries q0–q3 read (NexmarkGen's header lists them);
 * weir's side is the enum {@code Event} of benches/flink/nexmark_gen.rs.
 */
public class NexmarkEvent {
    /** {@code kind} of a person. */
    public static final int PERSON = 0;
    /** {@code kind} of an auction. */
    public static final int AUCTION = 1;
    /** {@code kind} of a bid. */
    public static final int BID = 2;

    public int kind;
    public Person person;
    public Auction auction;
    public Bid bid;

    public NexmarkEvent() {}

    /** A new user of the auction site. */
    public static class Person {
        public long id;
        public String name;
        public String city;
        public String state;
        public long dateTime;

        public Person() {}
    }

    /** A new auction; prices in cents. */
    public static class Auction {
        public long id;
        public long seller;
        public long category;
        public long initialBid;
        public long reserve;
        public long dateTime;
        public long expires;

        public Auction() {}
    }

    /** A bid on an auction; price in cents. */
    public static class Bid {
        public long auction;
        public long bidder;
        public long price;
        public long dateTime;

        public Bid() {}
    }
}
