//! One line of a checklist: the check's name, its status, what it found and the next step.

use serde::Serialize;

/// The result of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// Something needs attention but does not stop photos from syncing.
    Warn,
    Fail,
    /// Not run, because an earlier check failed or the check does not apply.
    Skip,
}

impl CheckStatus {
    /// Returns the lowercase name used in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
            CheckStatus::Skip => "skip",
        }
    }
}

/// One checked item, such as `token` or `allowed hosts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    pub name: String,
    pub status: CheckStatus,
    /// The finding of the check, in plain words.
    pub detail: String,
    /// The next step; none when nothing needs doing.
    pub next_step: Option<String>,
}

impl CheckLine {
    /// Creates a passed check.
    pub fn pass(name: &str, detail: impl Into<String>) -> CheckLine {
        CheckLine::new(name, CheckStatus::Pass, detail.into(), None)
    }

    /// Creates a check that needs attention, with the next step.
    pub fn warn(name: &str, detail: impl Into<String>, next_step: impl Into<String>) -> CheckLine {
        CheckLine::new(
            name,
            CheckStatus::Warn,
            detail.into(),
            Some(next_step.into()),
        )
    }

    /// Creates a failed check, with the next step.
    pub fn fail(name: &str, detail: impl Into<String>, next_step: impl Into<String>) -> CheckLine {
        CheckLine::new(
            name,
            CheckStatus::Fail,
            detail.into(),
            Some(next_step.into()),
        )
    }

    /// Creates a check that did not run, with the reason.
    pub fn skip(name: &str, reason: impl Into<String>) -> CheckLine {
        CheckLine::new(name, CheckStatus::Skip, reason.into(), None)
    }

    fn new(
        name: &str,
        status: CheckStatus,
        detail: String,
        next_step: Option<String>,
    ) -> CheckLine {
        CheckLine {
            name: name.to_string(),
            status,
            detail,
            next_step,
        }
    }
}

/// The lines of one `photosync check`, in the order they ran.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Checklist {
    pub tenant: String,
    /// The user asked about with `--user`, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub lines: Vec<CheckLine>,
}

impl Checklist {
    /// Starts an empty checklist for `tenant`.
    pub fn new(tenant: &str, user: Option<&str>) -> Checklist {
        Checklist {
            tenant: tenant.to_string(),
            user: user.map(str::to_string),
            lines: Vec::new(),
        }
    }

    /// Appends a line.
    pub fn push(&mut self, line: CheckLine) {
        self.lines.push(line);
    }

    /// Tells whether any line failed.
    pub fn has_failure(&self) -> bool {
        self.lines
            .iter()
            .any(|line| line.status == CheckStatus::Fail)
    }

    /// Returns the line with this name, if any.
    pub fn line(&self, name: &str) -> Option<&CheckLine> {
        self.lines.iter().find(|line| line.name == name)
    }
}
