//! A deterministic Nexmark event generator, written from the Nexmark specification (the auction
//! site of Tucker et al., as Apache Beam's and Flink's Nexmark suites model it) for
//! `benches/vs_flink.sh`. Flink's side, `benches/flink/src/weir/bench/flink/NexmarkGen.java`,
//! implements the same rules, so both engines see exactly the same events.
//!
//! # The rules (both sides)
//!
//! Event `n` (0, 1, 2, …) is a function of `n` alone, so any split of `0..N` between source
//! subtasks gives the same events. Every 50 events form an epoch: offset `n % 50` 0 is a person,
//! 1–3 are auctions, 4–49 are bids (Nexmark's proportions Person : Auction : Bid = 1 : 3 : 46).
//! The random draws come from SplitMix64 seeded with `n`, in the order listed, each `r(b)` being
//! `(next() >>> 1) % b`.
//!
//! - `epoch = n / 50`, `last_person = epoch` (base-0 id of the newest person),
//!   `last_auction = 3 * epoch + 2` for bids, `date_time = 1_700_000_000_000 + n / 10` (ms;
//!   Nexmark's default 10 000 events/s).
//! - Person: `id = 1000 + epoch`, `name = FIRST[r(11)] + " " + LAST[r(9)]`,
//!   `city = CITIES[r(10)]`, `state = STATES[r(6)]`.
//! - Auction: `id = 1000 + 3 * epoch + offset - 1`; `seller = 1000 + (if r(4) > 0 then
//!   (last_person / 100) * 100 (a hot seller) else next_person)`; `category = 10 + r(5)`;
//!   `initial_bid = price`, `reserve = initial_bid + price`, `expires = date_time + 1000 * (1 +
//!   r(10))`.
//! - Bid: `auction = 1000 + (if r(2) > 0 then (last_auction / 100) * 100 (a hot auction) else
//!   next_auction)`; `bidder = 1000 + (if r(4) > 0 then (last_person / 100) * 100 + 1 else
//!   next_person)`; `price`.
//! - `next_person`: `people = last_person + 1`, `active = min(people, 1000)`,
//!   `people - active + r(active + 10)` (Nexmark lets ids lead the newest person by 10).
//! - `next_auction`: `low = max(last_auction - 100, 0)`, `low + r(last_auction - low + 1 + 10)`.
//! - `price` (cents): `(100 + r(900)) * 10^r(6)` — log-spread from 1 to 999 000 dollars like
//!   Nexmark's `10^(6u) * 100`, but in integers so that both engines agree to the cent.
//!
//! Events carry the fields the queries q0–q3 read (Nexmark's email, credit card, item name,
//! description, channel, url and `extra` padding are left out, on both sides).

/// First names a person's name is drawn from.
pub const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
/// Last names a person's name is drawn from.
pub const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
/// Cities a person lives in.
pub const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
/// States a person lives in.
pub const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];

const EPOCH: u64 = 50;
const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const BASE_TIME_MS: u64 = 1_700_000_000_000;

/// A new user of the auction site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Person id (from 1000).
    pub id: u64,
    /// "First Last".
    pub name: String,
    /// City.
    pub city: &'static str,
    /// US state.
    pub state: &'static str,
    /// Event time, ms.
    pub date_time: u64,
}

/// A new auction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auction {
    /// Auction id (from 1000).
    pub id: u64,
    /// The selling person's id.
    pub seller: u64,
    /// Category (10 to 14).
    pub category: u64,
    /// Opening price, cents.
    pub initial_bid: u64,
    /// Reserve price, cents.
    pub reserve: u64,
    /// Event time, ms.
    pub date_time: u64,
    /// When the auction closes, ms.
    pub expires: u64,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bid {
    /// The auction's id.
    pub auction: u64,
    /// The bidding person's id.
    pub bidder: u64,
    /// Price, cents.
    pub price: u64,
    /// Event time, ms.
    pub date_time: u64,
}

/// One Nexmark event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new person.
    Person(Person),
    /// A new auction.
    Auction(Auction),
    /// A bid.
    Bid(Bid),
}

/// SplitMix64 (Steele, Lea and Flood), as `java.util.SplittableRandom` mixes.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        (self.next() >> 1) % bound
    }

    fn price(&mut self) -> u64 {
        let mantissa = 100 + self.below(900);
        mantissa * 10u64.pow(self.below(6) as u32)
    }

    fn next_person(&mut self, last_person: u64) -> u64 {
        let people = last_person + 1;
        let active = people.min(1000);
        people - active + self.below(active + 10)
    }

    fn next_auction(&mut self, last_auction: u64) -> u64 {
        let low = last_auction.saturating_sub(100);
        low + self.below(last_auction - low + 1 + 10)
    }
}

/// Event number `n`.
pub fn event(n: u64) -> Event {
    let mut rng = SplitMix64(n);
    let epoch = n / EPOCH;
    let offset = n % EPOCH;
    let last_person = epoch;
    let date_time = BASE_TIME_MS + n / 10;
    match offset {
        0 => {
            let first = FIRST_NAMES[rng.below(11) as usize];
            let last = LAST_NAMES[rng.below(9) as usize];
            let city = CITIES[rng.below(10) as usize];
            let state = STATES[rng.below(6) as usize];
            Event::Person(Person {
                id: FIRST_PERSON_ID + epoch,
                name: format!("{first} {last}"),
                city,
                state,
                date_time,
            })
        }
        1..=3 => {
            let seller = if rng.below(4) > 0 {
                (last_person / 100) * 100
            } else {
                rng.next_person(last_person)
            };
            let category = FIRST_CATEGORY_ID + rng.below(5);
            let initial_bid = rng.price();
            let reserve = initial_bid + rng.price();
            let expires = date_time + 1000 * (1 + rng.below(10));
            Event::Auction(Auction {
                id: FIRST_AUCTION_ID + 3 * epoch + offset - 1,
                seller: FIRST_PERSON_ID + seller,
                category,
                initial_bid,
                reserve,
                date_time,
                expires,
            })
        }
        _ => {
            let last_auction = 3 * epoch + 2;
            let auction = if rng.below(2) > 0 {
                (last_auction / 100) * 100
            } else {
                rng.next_auction(last_auction)
            };
            let bidder = if rng.below(4) > 0 {
                (last_person / 100) * 100 + 1
            } else {
                rng.next_person(last_person)
            };
            Event::Bid(Bid {
                auction: FIRST_AUCTION_ID + auction,
                bidder: FIRST_PERSON_ID + bidder,
                price: rng.price(),
                date_time,
            })
        }
    }
}

/// Java's `String.hashCode` recurrence (`h * 31 + c`) over 64 bits, for the checksums; the
/// generator's strings are ASCII, so bytes and Java chars agree.
pub fn str_hash(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(u64::from(c)))
}

/// The checksum of a person's name, city and state (q0's and q3's second field).
pub fn place_hash(name: &str, city: &str, state: &str) -> u64 {
    str_hash(name)
        .wrapping_add(str_hash(city).wrapping_mul(3))
        .wrapping_add(str_hash(state).wrapping_mul(7))
}
