//! UTC day and month buckets of a [`Timestamp`], the periods of the daily and monthly caps.

use autopack_governance::Timestamp;

/// `(year, month, day)` of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// The UTC day of `t`, `YYYY-MM-DD`.
pub fn day_bucket(t: Timestamp) -> String {
    let (y, m, d) = civil_from_days(t.0.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC month of `t`, `YYYY-MM`.
pub fn month_bucket(t: Timestamp) -> String {
    let (y, m, _) = civil_from_days(t.0.div_euclid(86_400));
    format!("{y:04}-{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_agree_with_governance_calendar() {
        for (y, mo, d, h) in [
            (1970, 1, 1, 0),
            (2000, 2, 29, 23),
            (2024, 12, 31, 23),
            (2026, 1, 5, 15),
            (2100, 3, 1, 0),
        ] {
            let t = Timestamp::from_utc(y, mo, d, h, 59, 59);
            assert!(t.is_some());
            let t = t.unwrap_or(Timestamp(0));
            assert_eq!(day_bucket(t), format!("{y:04}-{mo:02}-{d:02}"));
            assert_eq!(month_bucket(t), format!("{y:04}-{mo:02}"));
        }
        assert_eq!(day_bucket(Timestamp(-1)), "1969-12-31");
    }
}
