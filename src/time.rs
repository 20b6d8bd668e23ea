//! Packet time: the only clock in the core (see STYLE.md rule 7).
//!
//! A [`Timestamp`] is nanoseconds since the Unix epoch as read from the capture
//! record header, so two runs over the same file give identical output.

use serde::{Serialize, Serializer};
use std::fmt;

/// Nanoseconds since 1970-01-01T00:00:00Z, taken from a capture record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from seconds and a sub-second count in `units_per_sec`.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let units = units_per_sec.max(1);
        let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(units)) as i64;
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// Microseconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    pub fn micros_since(self, earlier: Timestamp) -> u64 {
        (self.0.saturating_sub(earlier.0).max(0) / 1000) as u64
    }

    /// Seconds elapsed from `earlier` to `self`, as a float for display.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1e9
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-24T09:13:37.433767Z`.
    pub fn rfc3339(self) -> String {
        self.to_string()
    }

    /// `HH:MM:SS.micros` (UTC), for compact timelines.
    pub fn clock(self) -> String {
        let s = self.to_string();
        s.get(11..26).unwrap_or(&s).to_string()
    }
}

/// Days since the epoch to (year, month, day); Howard Hinnant's civil_from_days.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let micros = self.0.rem_euclid(1_000_000_000) / 1000;
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(f, "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, sod / 60 % 60, sod % 60)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc_micros() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        // 2026-11-24T09:13:37.433767Z
        let t = Timestamp::from_parts(1_795_511_617, 433_767, 1_000_000);
        assert_eq!(t.to_string(), "2026-11-24T09:13:37.433767Z");
        assert_eq!(t.clock(), "09:13:37.433767");
        let leap = Timestamp::from_parts(951_782_400, 5, 1_000_000_000); // 2000-02-29
        assert_eq!(leap.to_string(), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn nanosecond_resolution_and_elapsed() {
        let a = Timestamp::from_parts(10, 999_999_999, 1_000_000_000);
        let b = Timestamp::from_parts(11, 1_000, 1_000_000_000);
        assert_eq!(b.micros_since(a), 1); // 1001 ns
        assert_eq!(a.micros_since(b), 0);
        assert_eq!(Timestamp::from_parts(12, 0, 1).micros_since(a), 1_000_000);
    }
}
