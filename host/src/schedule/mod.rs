//! The daily schedule: when each tenant's next run is due, in UTC, and the scheduler that
//! starts the runs.
//!
//! Each tenant runs once a day at its `schedule` time of day in UTC plus its offset (see
//! [`tenant_offset`]). That instant is the tenant's *scheduled moment* for the day. Local time
//! zones and their daylight-saving changes never enter the computation.
//!
//! A scheduled moment counts as *attempted* once a scheduled, non-dry run that serves that
//! moment or a later one has ended `succeeded`, `partial` or `failed`. Manual runs, dry runs,
//! runs still going and runs ended `interrupted` do not count. At start-up and after each run,
//! a tenant's task takes the latest scheduled moment at or before now. If that moment is not
//! attempted, the tenant *catches up* and runs now, once however many nights were missed.
//! Otherwise it sleeps until the next moment. A failed run counts as attempted, so a failing tenant runs
//! again the next night instead of in a loop. A tenant with no scheduled run yet catches up
//! at the first start.
//!
//! At most `max_concurrent_tenants` runs go on at once; the others wait in the order they
//! became due. The engine's run lease keeps two runs of one tenant apart, also across host
//! processes, and the engine checks the run history for the scheduled moment while it holds
//! the lease, so a second host does not repeat a run that the first one finished.

mod clock;
mod offset;
mod plan;
mod scheduler;

use time::OffsetDateTime;

pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use offset::tenant_offset;
pub use plan::{latest_moment, next_daily_run, plan_next, plan_tenant, Plan};
pub use scheduler::{Scheduler, SchedulerHandle, START_RETRY_INTERVAL};

/// Formats a time as RFC 3339 (ISO 8601) in UTC to whole seconds, the format of every time
/// photosync prints.
pub fn format_utc(moment: OffsetDateTime) -> String {
    moment
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(moment)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
