//! Plain-text rendering of run reports and run records for the terminal.

use crate::engine::RunReport;
use crate::store::{RunCounts, RunFailure};

/// Failures listed per run in text output; the rest are counted, and `status --json` has all.
const MAX_PRINTED_FAILURES: usize = 20;

pub fn print_report(report: &RunReport) {
    let plugin = report.plugin.as_deref().unwrap_or("plugin not loaded");
    let dry_run = if report.dry_run {
        " (dry run: nothing stored)"
    } else {
        ""
    };
    println!(
        "tenant {}: run {} {} in {:.1} s with {plugin}{dry_run}",
        report.tenant,
        report.run_id,
        report.status.as_str(),
        report.duration.as_secs_f64()
    );
    if let Some(error) = &report.error {
        println!("  error ({}): {}", error.kind, error.message);
        return;
    }
    print_counts(&report.counts);
    print_failures(&report.failures);
}

pub fn print_counts(counts: &RunCounts) {
    println!(
        "  users: {} listed, {} in scope, {} out of scope",
        counts.listed, counts.in_scope, counts.out_of_scope
    );
    println!(
        "  photos: {} unchanged, {} downloaded, {} removed, {} without photo, {} failed ({} retries)",
        counts.unchanged, counts.downloaded, counts.removed, counts.no_photo, counts.failed, counts.retries
    );
}

pub fn print_failures(failures: &[RunFailure]) {
    for failure in failures.iter().take(MAX_PRINTED_FAILURES) {
        let name = failure.principal_name.as_deref().unwrap_or("");
        println!(
            "  failed: {} {name} ({}): {}",
            failure.user_id, failure.kind, failure.message
        );
    }
    if failures.len() > MAX_PRINTED_FAILURES {
        println!(
            "  ... and {} more failures; `photosync status --json` lists them all",
            failures.len() - MAX_PRINTED_FAILURES
        );
    }
}
