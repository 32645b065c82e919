//! Next-run computation: from a tenant's schedule, its offset, the run history and the time
//! now, the moment its next scheduled run serves and when that run starts.

use std::time::Duration;

use anyhow::Result;
use time::OffsetDateTime;

use super::offset::tenant_offset;
use crate::config::{ScheduleTime, TenantConfig};
use crate::store::Store;

/// A tenant's next scheduled run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The scheduled moment (schedule time plus offset) that the run serves.
    pub moment: OffsetDateTime,
    /// When the run starts: `moment`, or the time of planning for a catch-up.
    pub start_at: OffsetDateTime,
    /// True when `moment` passed without an attempted run, so the run starts now.
    pub catch_up: bool,
}

/// Returns the first time of day `schedule` (UTC) strictly after `now`.
pub fn next_daily_run(schedule: ScheduleTime, now: OffsetDateTime) -> OffsetDateTime {
    latest_moment(schedule, Duration::ZERO, now) + time::Duration::days(1)
}

/// Returns the latest scheduled moment (schedule time plus `offset`, in UTC) at or before `now`.
pub fn latest_moment(
    schedule: ScheduleTime,
    offset: Duration,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let now = now.to_offset(time::UtcOffset::UTC);
    let time_of_day = time::Time::from_hms(schedule.hour, schedule.minute, schedule.second)
        .expect("validated schedule");
    let offset = time::Duration::try_from(offset).expect("offsets are at most half a day");
    // Moments are exactly one day apart in UTC, which has no daylight-saving changes, so
    // stepping whole days from today's moment finds the latest one.
    let mut moment = now.replace_time(time_of_day) + offset;
    while moment > now {
        moment -= time::Duration::days(1);
    }
    while moment + time::Duration::days(1) <= now {
        moment += time::Duration::days(1);
    }
    moment
}

/// Plans the next run from the latest moment a scheduled run attempted (see
/// `Store::last_attempted_moment`).
///
/// When the latest moment at or before `now` has no attempted run at or after it, the run
/// catches up: it serves that moment and starts now. Otherwise it waits for the next moment.
pub fn plan_next(
    schedule: ScheduleTime,
    offset: Duration,
    now: OffsetDateTime,
    last_attempted: Option<OffsetDateTime>,
) -> Plan {
    let latest = latest_moment(schedule, offset, now);
    if last_attempted.is_none_or(|attempted| attempted < latest) {
        return Plan {
            moment: latest,
            start_at: now,
            catch_up: true,
        };
    }
    let next = latest + time::Duration::days(1);
    Plan {
        moment: next,
        start_at: next,
        catch_up: false,
    }
}

/// Plans `tenant`'s next run from its run history in `store`.
pub fn plan_tenant(
    store: &Store,
    tenant: &TenantConfig,
    max_offset: Duration,
    now: OffsetDateTime,
) -> Result<Plan> {
    let offset = tenant_offset(&tenant.id, max_offset);
    let last_attempted = store.last_attempted_moment(&tenant.id)?;
    Ok(plan_next(tenant.schedule, offset, now, last_attempted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const TWO_AM: ScheduleTime = ScheduleTime {
        hour: 2,
        minute: 0,
        second: 0,
    };

    const HALF_PAST_FIVE: ScheduleTime = ScheduleTime {
        hour: 5,
        minute: 30,
        second: 0,
    };

    /// A history whose last attempted run served this morning's 02:00.
    const RAN_TODAY: Option<OffsetDateTime> = Some(datetime!(2026-03-10 02:00 UTC));

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

    #[test]
    fn daylight_saving_change_keeps_utc_time() {
        // Central Europe moves from +01:00 to +02:00 on 2026-03-29. The same UTC schedule
        // gives 03:00 local before the change and 04:00 local after it.
        let before = next_daily_run(TWO_AM, datetime!(2026-03-28 12:00 +01:00));
        let after = next_daily_run(TWO_AM, datetime!(2026-03-29 12:00 +02:00));
        assert_eq!(before, datetime!(2026-03-29 02:00 UTC));
        assert_eq!(after, datetime!(2026-03-30 02:00 UTC));
        assert_eq!(after - before, time::Duration::days(1));
    }

    #[test]
    fn plan_before_schedule_waits_for_today() {
        let last = Some(datetime!(2026-03-09 02:00 UTC));
        let plan = plan_next(
            TWO_AM,
            Duration::ZERO,
            datetime!(2026-03-10 01:59 UTC),
            last,
        );
        assert_eq!(plan.start_at, datetime!(2026-03-10 02:00 UTC));
        assert!(!plan.catch_up);
    }

    #[test]
    fn plan_after_run_waits_for_tomorrow() {
        let plan = plan_next(
            TWO_AM,
            Duration::ZERO,
            datetime!(2026-03-10 02:00:01 UTC),
            RAN_TODAY,
        );
        assert_eq!(plan.start_at, datetime!(2026-03-11 02:00 UTC));
    }

    #[test]
    fn missed_moment_catches_up_now() {
        let now = datetime!(2026-03-10 09:15 UTC);
        let last = Some(datetime!(2026-03-09 02:00 UTC));
        let plan = plan_next(TWO_AM, Duration::ZERO, now, last);
        assert_eq!(
            plan,
            Plan {
                moment: datetime!(2026-03-10 02:00 UTC),
                start_at: now,
                catch_up: true,
            }
        );
    }

    #[test]
    fn new_tenant_catches_up_now() {
        let plan = plan_next(
            TWO_AM,
            Duration::ZERO,
            datetime!(2026-03-10 09:15 UTC),
            None,
        );
        assert!(plan.catch_up);
    }

    #[test]
    fn several_missed_nights_catch_up_once() {
        let last = Some(datetime!(2026-03-01 02:00 UTC));
        let plan = plan_next(
            TWO_AM,
            Duration::ZERO,
            datetime!(2026-03-10 09:15 UTC),
            last,
        );
        assert_eq!(plan.moment, datetime!(2026-03-10 02:00 UTC));
    }

    #[test]
    fn custom_schedule_runs_at_own_time() {
        let plan = plan_next(
            HALF_PAST_FIVE,
            Duration::ZERO,
            datetime!(2026-03-10 03:00 UTC),
            Some(datetime!(2026-03-09 05:30 UTC)),
        );
        assert_eq!(plan.start_at, datetime!(2026-03-10 05:30 UTC));
    }

    #[test]
    fn offset_delays_moment() {
        let plan = plan_next(
            TWO_AM,
            Duration::from_secs(347),
            datetime!(2026-03-10 02:03 UTC),
            Some(datetime!(2026-03-09 02:05:47 UTC)),
        );
        assert_eq!(plan.start_at, datetime!(2026-03-10 02:05:47 UTC));
    }

    #[test]
    fn offset_past_midnight_wraps() {
        let late = ScheduleTime {
            hour: 23,
            minute: 55,
            second: 0,
        };
        let moment = latest_moment(
            late,
            Duration::from_secs(600),
            datetime!(2026-03-10 00:02 UTC),
        );
        assert_eq!(moment, datetime!(2026-03-09 00:05 UTC));
    }
}
