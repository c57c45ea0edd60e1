//! UTC timestamps in RFC 3339, without a date-time dependency.
//!
//! A snapshot only needs "when was this seen", in UTC, to the millisecond; pulling in a
//! calendar crate for that is not worth its build time. The day arithmetic is Howard Hinnant's
//! `civil_from_days` (proleptic Gregorian calendar), exact for every `SystemTime`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, millisecond precision).
pub fn format_rfc3339_utc(time: SystemTime) -> String {
    let (seconds, millis) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_millis(),
        ),
        Err(before) => {
            // Before 1970: step back whole seconds, keep milliseconds positive.
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_millis() {
                0 => (-whole, 0),
                millis => (-whole - 1, 1000 - millis),
            }
        }
    };
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Year, month (1-12) and day (1-31) of the day `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (year, month as u32, day as u32)
}

/// An RFC 3339 time in UTC (`2026-11-25T20:00:41.091Z`, or with `+00:00`) as nanoseconds
/// since the Unix epoch. Parsed here, beside the writer, because
/// the format our own clock writes is narrow. Other offsets are not accepted: `None`.
pub fn unix_nanos(time: &str) -> Option<i128> {
    let rest = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix('z'))
        .or_else(|| time.strip_suffix("+00:00"))?;
    let (date, clock) = rest.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = number(date_parts.next()?, 4)?;
    let month: i64 = number(date_parts.next()?, 2)?;
    let day: i64 = number(date_parts.next()?, 2)?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut clock_parts = hms.splitn(3, ':');
    let hour: i64 = number(clock_parts.next()?, 2)?;
    let minute: i64 = number(clock_parts.next()?, 2)?;
    let second: i64 = number(clock_parts.next()?, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            // "091" is 91 ms: pad to nine digits.
            format!("{f:0<9}").parse::<i128>().ok()?
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = i128::from(days * 86_400 + hour * 3_600 + minute * 60 + second);
    Some(secs * 1_000_000_000 + nanos)
}

/// A fixed-width run of ASCII digits.
fn number(s: &str, width: usize) -> Option<i64> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64, millis: u64) -> String {
        format_rfc3339_utc(UNIX_EPOCH + Duration::from_millis(seconds * 1000 + millis))
    }

    #[test]
    fn epoch() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn known_instants() {
        // `date -u -d @1700000000`
        assert_eq!(at(1_700_000_000, 0), "2023-11-14T22:13:20.000Z");
        // Leap day, with milliseconds.
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(at(1_709_164_799, 999), "2024-02-28T23:59:59.999Z");
        assert_eq!(at(1_709_251_199, 0), "2024-02-29T23:59:59.000Z");
        assert_eq!(at(1_709_251_200, 0), "2024-03-01T00:00:00.000Z");
        // Last second of a year, first of the next.
        assert_eq!(at(1_735_689_599, 0), "2024-12-31T23:59:59.000Z");
        assert_eq!(at(1_735_689_600, 0), "2025-01-01T00:00:00.000Z");
        // 2100 is not a leap year.
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn before_epoch() {
        let time = UNIX_EPOCH - Duration::from_millis(1);
        assert_eq!(format_rfc3339_utc(time), "1969-12-31T23:59:59.999Z");
        let time = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(format_rfc3339_utc(time), "1969-12-31T00:00:00.000Z");
    }

    #[test]
    fn every_day_for_four_centuries_is_consecutive() {
        let mut previous = civil_from_days(-1);
        for days in 0..146_097 {
            let (year, month, day) = civil_from_days(days);
            let (prev_year, prev_month, prev_day) = previous;
            let next_day = (year, month, day) == (prev_year, prev_month, prev_day + 1);
            let next_month = day == 1 && ((year, month) == (prev_year, prev_month + 1));
            let next_year = day == 1 && month == 1 && year == prev_year + 1 && prev_month == 12 && prev_day == 31;
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (year, month, day)
            );
            previous = (year, month, day);
        }
    }
}
