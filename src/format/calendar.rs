//! Dates of the proleptic Gregorian calendar, UTC: day numbers (days since 1970-01-01) to and
//! from (year, month, day). The one copy the JSON timestamps, dataset partitions, GeoIP
//! database dates and the time arguments (`--since`, `--eni-inventory-time`) share.

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to an era starting on 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds from `1700000000`, `2023-11-14`, `2023-11-14T22:13` or `2023-11-14T22:13:20Z`
/// (UTC; a space may stand for the `T`).
pub fn parse_time(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a time: give Unix seconds or YYYY-MM-DD[THH:MM[:SS]] (UTC)");
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let t = t.strip_suffix('Z').unwrap_or(t);
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        return Err(bad());
    };
    let y: i64 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y.to_string().len() != 4 {
        return Err(bad());
    }
    let mut secs = 0i64;
    if let Some(tm) = time {
        let parts: Vec<&str> = tm.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let limits = [24, 60, 60];
        for (i, p) in parts.iter().enumerate() {
            let v: i64 = p.parse().map_err(|_| bad())?;
            if !(0..limits[i]).contains(&v) {
                return Err(bad());
            }
            secs += v * [3600, 60, 1][i];
        }
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(days * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_agree_with_a_day_by_day_walk() {
        // Walk the calendar naively from 1900-01-01 and compare every day up to 2200.
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mut days = -25_567; // 1900-01-01
        for y in 1900..2200 {
            for mo in 1..=12u32 {
                let len = match mo {
                    2 if leap(y) => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for d in 1..=len {
                    assert_eq!(civil_from_days(days), (y, mo, d));
                    days += 1;
                }
            }
        }
    }

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
