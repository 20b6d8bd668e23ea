//! The flow table: a slab of flows, an index by address pair, and a lazy
//! idle order for eviction.
//!
//! The idle order is a min-heap of `(packet time, slot, flow id)` entries.
//! Packets do not touch it (a flow's `last_ts` changes on every packet);
//! instead every flow has one entry no newer than its real last packet, and
//! [`FlowTable::idlest`] pops entries until one matches its flow exactly,
//! pushing stale ones back with the flow's current time. A stale entry is
//! re-pushed at most once per packet of its flow, so eviction costs O(log n)
//! amortised, and the result is exactly the flow with the least `last_ts`
//! (lowest slot on ties). Entries of removed flows are dropped when popped,
//! and the heap is rebuilt when they outnumber the live flows.

use super::Flow;
use crate::time::Timestamp;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

type Key = (SocketAddr, SocketAddr);

/// Flows by address pair.
#[derive(Default)]
pub struct FlowTable {
    index: FxHashMap<Key, usize>,
    slab: Vec<Option<Flow>>,
    free: Vec<usize>,
    idle: BinaryHeap<Reverse<(Timestamp, usize, u64)>>,
}

impl FlowTable {
    /// The index key of the connection between `a` and `b` (either order).
    pub fn key(a: SocketAddr, b: SocketAddr) -> Key {
        if a <= b { (a, b) } else { (b, a) }
    }

    /// Flows in the table (tombstones included).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The slot of the flow between `a` and `b`.
    pub fn find(&self, a: SocketAddr, b: SocketAddr) -> Option<usize> {
        self.index.get(&Self::key(a, b)).copied()
    }

    /// Adds `flow`; returns its slot.
    pub fn insert(&mut self, flow: Flow) -> usize {
        let key = Self::key(flow.ends[0], flow.ends[1]);
        let entry = (flow.last_ts, flow.id);
        let slot = if let Some(i) = self.free.pop() {
            self.slab[i] = Some(flow);
            i
        } else {
            self.slab.push(Some(flow));
            self.slab.len() - 1
        };
        self.index.insert(key, slot);
        self.idle.push(Reverse((entry.0, slot, entry.1)));
        if self.idle.len() > 2 * self.index.len() + 64 {
            self.rebuild_idle();
        }
        slot
    }

    /// Puts `flow` back into `slot` (it must hold the same flow, taken out
    /// with [`FlowTable::take`]): used to replace a flow by its tombstone.
    pub fn put_back(&mut self, slot: usize, flow: Flow) {
        let reclaimed = self.free.pop();
        debug_assert_eq!(reclaimed, Some(slot));
        self.index.insert(Self::key(flow.ends[0], flow.ends[1]), slot);
        self.idle.push(Reverse((flow.last_ts, slot, flow.id)));
        self.slab[slot] = Some(flow);
    }

    /// Removes the flow in `slot`.
    pub fn take(&mut self, slot: usize) -> Option<Flow> {
        let flow = self.slab.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.index.remove(&Self::key(flow.ends[0], flow.ends[1]));
        Some(flow)
    }

    /// The flow in `slot`.
    pub fn get(&self, slot: usize) -> Option<&Flow> {
        self.slab.get(slot)?.as_ref()
    }

    /// The flow in `slot`, mutably.
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut Flow> {
        self.slab.get_mut(slot)?.as_mut()
    }

    /// Slots that may hold a flow, in order (for sweeps).
    pub fn slots(&self) -> std::ops::Range<usize> {
        0..self.slab.len()
    }

    /// The flows, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.slab.iter().flatten()
    }

    /// The slot of the flow with the least recent packet (lowest slot on ties).
    pub fn idlest(&mut self) -> Option<usize> {
        while let Some(Reverse((ts, slot, id))) = self.idle.pop() {
            let Some(f) = self.slab.get(slot).and_then(Option::as_ref) else { continue };
            if f.id != id {
                continue; // the slot was reused
            }
            if f.last_ts == ts {
                // it stays in the order until the caller removes it
                self.idle.push(Reverse((ts, slot, id)));
                return Some(slot);
            }
            self.idle.push(Reverse((f.last_ts, slot, id)));
        }
        None
    }

    fn rebuild_idle(&mut self) {
        self.idle = self.slab.iter().enumerate().filter_map(|(i, f)| f.as_ref().map(|f| Reverse((f.last_ts, i, f.id)))).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::FlowKind;

    fn flow(id: u64, port: u16, ts: i64) -> Flow {
        let a: SocketAddr = "10.0.0.1:3306".parse().unwrap();
        let b = SocketAddr::from(([10, 0, 0, 2], port));
        Flow::new(id, [b, a], FlowKind::Unknown(0), Timestamp(ts))
    }

    /// The lazy order against the obvious scan over every flow.
    #[test]
    fn idlest_matches_a_full_scan() {
        let mut t = FlowTable::default();
        let mut next = 0u64;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for step in 0..20_000i64 {
            match rnd(4) {
                0 | 1 => {
                    t.insert(flow(next, 1000 + (next % 50_000) as u16, step));
                    next += 1;
                }
                2 => {
                    let slots: Vec<usize> = t.slots().filter(|&s| t.get(s).is_some()).collect();
                    if !slots.is_empty() {
                        let s = slots[rnd(slots.len() as u64) as usize];
                        t.get_mut(s).unwrap().last_ts = Timestamp(step);
                    }
                }
                _ => {
                    let scan = t.slots().filter_map(|s| t.get(s).map(|f| (s, f.last_ts))).min_by_key(|(_, ts)| *ts).map(|(s, _)| s);
                    assert_eq!(t.idlest(), scan, "step {step}");
                    if let Some(s) = scan {
                        t.take(s);
                    }
                }
            }
        }
        assert!(t.idle.len() <= 2 * t.len() + 65);
    }
}
