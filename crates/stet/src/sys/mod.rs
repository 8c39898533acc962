//! Platform differences, in one place: every function here has the same signature on every platform.
//! Unsupported platforms return `io::ErrorKind::Unsupported`; they never panic.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
mod other;
#[cfg(not(unix))]
pub(crate) use other::*;

/// The UTC date of `time`, `YYYY-MM-DD` (days to civil date, after H. Hinnant).
pub(crate) fn utc_date(time: std::time::SystemTime) -> String {
    let seconds = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let days = (seconds / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(super::utc_date(UNIX_EPOCH), "1970-01-01");
        assert_eq!(super::utc_date(UNIX_EPOCH + Duration::from_secs(1_772_323_200)), "2026-03-01");
        assert_eq!(super::utc_date(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29");
    }
}
