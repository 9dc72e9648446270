//! Instants as Unix seconds, passed in by the caller: this crate never reads a clock.
//!
//! Only UTC is understood (trading hours in policies are written in UTC), which keeps the
//! crate free of time-zone data.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// Day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// All days, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// Three-letter lowercase name, as written in policies (`mon` … `sun`).
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }

    /// Parses `mon` … `sun`.
    pub fn parse(s: &str) -> Option<Weekday> {
        Weekday::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (the usual era-based formula).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl Timestamp {
    /// The instant of a UTC calendar date and time, or `None` if the fields are out of range.
    pub fn from_utc(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<Timestamp> {
        let valid = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60
            && second < 60
            && (-100_000..=100_000).contains(&year);
        if !valid {
            return None;
        }
        let secs = days_from_civil(year, month, day) * DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second);
        Some(Timestamp(secs))
    }

    /// Minutes since midnight UTC (0..1440).
    pub fn minute_of_day(self) -> u32 {
        // rem_euclid keeps it in 0..DAY for instants before 1970 too.
        u32::try_from(self.0.rem_euclid(DAY) / 60).unwrap_or(0)
    }

    /// Day of the week in UTC.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let idx = (self.0.div_euclid(DAY) + 3).rem_euclid(7);
        match idx {
            0 => Weekday::Mon,
            1 => Weekday::Tue,
            2 => Weekday::Wed,
            3 => Weekday::Thu,
            4 => Weekday::Fri,
            5 => Weekday::Sat,
            _ => Weekday::Sun,
        }
    }

    /// `self + seconds`, saturating.
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(Timestamp::from_utc(1970, 1, 1, 0, 0, 0), Some(Timestamp(0)));
        assert_eq!(
            Timestamp::from_utc(2000, 3, 1, 0, 0, 0),
            Some(Timestamp(951_868_800))
        );
        assert_eq!(
            Timestamp::from_utc(2026, 1, 5, 15, 0, 0),
            Some(Timestamp(1_767_625_200))
        );
        assert_eq!(
            Timestamp::from_utc(2024, 2, 29, 0, 0, 0).map(|t| t.0),
            Some(1_709_164_800)
        );
        assert_eq!(Timestamp::from_utc(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(Timestamp::from_utc(2023, 1, 1, 24, 0, 0), None);
    }

    #[test]
    fn weekdays_and_minutes() {
        assert_eq!(Timestamp(0).weekday(), Weekday::Thu);
        let monday = Timestamp::from_utc(2026, 1, 5, 13, 30, 59).unwrap();
        assert_eq!(monday.weekday(), Weekday::Mon);
        assert_eq!(monday.minute_of_day(), 13 * 60 + 30);
        assert_eq!(Timestamp(-1).weekday(), Weekday::Wed);
        assert_eq!(Timestamp(-1).minute_of_day(), 1439);
    }
}
