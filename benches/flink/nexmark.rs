//! Nexmark q0–q3 on weir, over the events of [`crate::nexmark_gen`]; Flink's side is
//! `benches/flink/src/weir/bench/flink/NexmarkJob.java`. Every query reads
//! `generate_sequence(0, N-1) → map(event)` at parallelism 2 and ends in the counting sink, whose
//! two checksum fields per query are given below; [`reference`] computes the same totals with a
//! plain loop, so the runner can check both engines against it.
//!
//! - q0, pass-through: every event. Checksum a: person id / auction id / bid's auction;
//!   b: person `place_hash(name, city, state) + date_time`, auction `31 * seller + category +
//!   initial_bid + reserve + expires`, bid `31 * bidder + price + date_time`.
//! - q1, currency conversion: every bid as `(auction, bidder, price * 908 / 1000, date_time)`
//!   (Nexmark's dollar-to-euro rate 0.908, in integer cents, truncated). a: the converted price;
//!   b: auction.
//! - q2, selection: the bids with `auction % 123 == 0`, as `(auction, price)`. a: price;
//!   b: auction.
//! - q3, local item suggestion: persons in OR, ID or CA joined with auctions of category 10 on
//!   `seller == person id`, emitting `(name, city, state, auction id)`. Both inputs are one event
//!   stream, filtered and keyed by person id (the seller for auctions); the keyed function keeps
//!   the person in `ValueState` and, for a seller not seen yet, the auction ids in `ListState`
//!   (sources run in parallel, so an auction can arrive before its seller). a: auction id;
//!   b: `place_hash(name, city, state)`.

use crate::nexmark_gen::{event, place_hash, Event};
use crate::{counting_sink, Fields, Totals};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use weir::{
    BoxError, KeyedContext, KeyedProcessFunction, ListState, RuntimeContext, StreamEnvironment,
    ValueState,
};

/// One q3 result: the seller's name, city and state, and the auction's id.
pub type Q3Row = (String, String, String, u64);

impl Fields for Event {
    fn a(&self) -> u64 {
        match self {
            Event::Person(p) => p.id,
            Event::Auction(a) => a.id,
            Event::Bid(b) => b.auction,
        }
    }

    fn b(&self) -> u64 {
        match self {
            Event::Person(p) => place_hash(&p.name, p.city, p.state).wrapping_add(p.date_time),
            Event::Auction(a) => a
                .seller
                .wrapping_mul(31)
                .wrapping_add(a.category)
                .wrapping_add(a.initial_bid)
                .wrapping_add(a.reserve)
                .wrapping_add(a.expires),
            Event::Bid(b) => b
                .bidder
                .wrapping_mul(31)
                .wrapping_add(b.price)
                .wrapping_add(b.date_time),
        }
    }
}

impl Fields for (u64, u64, u64, u64) {
    fn a(&self) -> u64 {
        self.2
    }
    fn b(&self) -> u64 {
        self.0
    }
}

impl Fields for Q3Row {
    fn a(&self) -> u64 {
        self.3
    }
    fn b(&self) -> u64 {
        place_hash(&self.0, &self.1, &self.2)
    }
}

/// q1's conversion of a bid.
fn q1(e: Event) -> Option<(u64, u64, u64, u64)> {
    match e {
        Event::Bid(b) => Some((b.auction, b.bidder, b.price * 908 / 1000, b.date_time)),
        _ => None,
    }
}

/// q2's selection of a bid.
fn q2(e: Event) -> Option<(u64, u64)> {
    match e {
        Event::Bid(b) if b.auction % 123 == 0 => Some((b.auction, b.price)),
        _ => None,
    }
}

/// q3's filter: the persons and auctions that can take part in the join.
fn q3_input(e: &Event) -> bool {
    match e {
        Event::Person(p) => matches!(p.state, "OR" | "ID" | "CA"),
        Event::Auction(a) => a.category == 10,
        Event::Bid(_) => false,
    }
}

/// q3's join key: the person's id, or the auction's seller.
fn q3_key(e: &Event) -> u64 {
    match e {
        Event::Person(p) => p.id,
        Event::Auction(a) => a.seller,
        Event::Bid(b) => b.bidder,
    }
}

/// q3's keyed join of persons (kept) with their auctions.
#[derive(Clone, Default)]
pub struct Q3Join {
    person: ValueState<(String, String, String)>,
    pending: ListState<u64>,
}

impl KeyedProcessFunction<u64, Event, Q3Row> for Q3Join {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.person = ctx.value_state("person")?;
        self.pending = ctx.list_state("pending_auctions")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: Event,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<Q3Row>,
    ) -> Result<(), BoxError> {
        match value {
            Event::Person(p) => {
                let (city, state) = (p.city.to_string(), p.state.to_string());
                for &id in self.pending.get(ctx) {
                    out.push((p.name.clone(), city.clone(), state.clone(), id));
                }
                self.pending.clear(ctx);
                self.person.update(ctx, (p.name, city, state));
            }
            Event::Auction(a) => match self.person.value(ctx) {
                Some((name, city, state)) => out.push((name, city, state, a.id)),
                None => self.pending.add(ctx, a.id),
            },
            Event::Bid(_) => {}
        }
        Ok(())
    }
}

/// Adds query `query` over events `0..n` to `env`, ending in the counting sink.
pub fn build(
    env: &StreamEnvironment,
    query: &str,
    n: u64,
    totals: &Arc<Mutex<Totals>>,
) -> Result<(), String> {
    let events = env.generate_sequence(0, n - 1).map(event);
    let sink = "Sink: Counting discard";
    match query {
        "q0" => {
            events.add_sink(sink, counting_sink(totals));
        }
        "q1" => {
            events.flat_map(q1).add_sink(sink, counting_sink(totals));
        }
        "q2" => {
            events.flat_map(q2).add_sink(sink, counting_sink(totals));
        }
        "q3" => {
            events
                .filter(q3_input)
                .key_by(q3_key)
                .process(Q3Join::default())
                .add_sink(sink, counting_sink(totals));
        }
        other => return Err(format!("unknown Nexmark query {other} (q0, q1, q2, q3)")),
    }
    Ok(())
}

fn add<T: Fields>(t: &mut Totals, r: &T) {
    t.records += 1;
    t.sum_a = t.sum_a.wrapping_add(r.a());
    t.sum_b = t.sum_b.wrapping_add(r.b());
}

/// What the sink of `query` must total over events `0..n`, by a plain single-threaded loop.
pub fn reference(query: &str, n: u64) -> Result<Totals, String> {
    let mut t = Totals::default();
    let mut persons: HashMap<u64, (String, String, String)> = HashMap::new();
    let mut pending: HashMap<u64, Vec<u64>> = HashMap::new();
    for i in 0..n {
        let e = event(i);
        match query {
            "q0" => add(&mut t, &e),
            "q1" => q1(e).iter().for_each(|r| add(&mut t, r)),
            "q2" => q2(e).iter().for_each(|r| add(&mut t, r)),
            "q3" if q3_input(&e) => match e {
                Event::Person(p) => {
                    let row = (p.name, p.city.to_string(), p.state.to_string());
                    for id in pending.remove(&p.id).unwrap_or_default() {
                        add(&mut t, &(row.0.clone(), row.1.clone(), row.2.clone(), id));
                    }
                    persons.insert(p.id, row);
                }
                Event::Auction(a) => match persons.get(&a.seller) {
                    Some((name, city, state)) => {
                        add(&mut t, &(name.clone(), city.clone(), state.clone(), a.id))
                    }
                    None => pending.entry(a.seller).or_default().push(a.id),
                },
                Event::Bid(_) => {}
            },
            "q3" => {}
            other => return Err(format!("unknown Nexmark query {other}")),
        }
    }
    t.finished = 2;
    Ok(t)
}
