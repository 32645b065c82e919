//! The daily schedule: when each tenant's next run is due, in UTC.

use time::OffsetDateTime;

use crate::config::ScheduleTime;

/// Returns the first time of day `schedule` (UTC) strictly after `now`.
pub fn next_daily_run(schedule: ScheduleTime, now: OffsetDateTime) -> OffsetDateTime {
    let now = now.to_offset(time::UtcOffset::UTC);
    let time_of_day =
        time::Time::from_hms(schedule.hour, schedule.minute, 0).expect("validated schedule");
    let today = now.replace_time(time_of_day);
    if today > now {
        today
    } else {
        today + time::Duration::days(1)
    }
}

/// Formats a time as RFC 3339 (ISO 8601) in UTC, the format of every time photosync prints.
pub fn format_utc(moment: OffsetDateTime) -> String {
    moment
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const TWO_AM: ScheduleTime = ScheduleTime { hour: 2, minute: 0 };

    #[test]
    fn before_schedule_runs_today() {
        let next = next_daily_run(TWO_AM, datetime!(2026-03-10 01:59 UTC));
        assert_eq!(next, datetime!(2026-03-10 02:00 UTC));
    }

    #[test]
    fn after_schedule_runs_tomorrow() {
        let next = next_daily_run(TWO_AM, datetime!(2026-03-10 02:00 UTC));
        assert_eq!(next, datetime!(2026-03-11 02:00 UTC));
    }

    #[test]
    fn local_offset_does_not_move_schedule() {
        // 02:30 +01:00 is 01:30 UTC, so the run is still due today.
        let next = next_daily_run(TWO_AM, datetime!(2026-03-10 02:30 +01:00));
        assert_eq!(next, datetime!(2026-03-10 02:00 UTC));
    }
}
