//! The sync policy: what happens to a user's stored photo given the fetched outcome and where
//! the stored photo came from, and whether manual photo changes are locked.
//!
//! | scope, outcome | action |
//! | --- | --- |
//! | excluded | `skip(reason)`, no lock |
//! | photo | `store` |
//! | unchanged | `keep` |
//! | absent, stored photo synced, `remove_when_absent` | `remove` |
//! | absent, otherwise | `keep`: a manual photo stays until Microsoft 365 has one |
//! | error | `keep` |
//!
//! Every user in scope gets the lock with the configured message.

use crate::photosync::connector::types::{
    Action, ConnectorError, Decision, LocalPhoto, PhotoOutcome, PhotoSource, Scope, User,
};
use crate::settings::PolicySettings;

/// Decides the action and the lock for one user.
pub(crate) fn decide(
    user: &User,
    outcome: Option<&Result<PhotoOutcome, ConnectorError>>,
    local: &LocalPhoto,
    policy: &PolicySettings,
) -> Decision {
    if let Scope::Excluded(reason) = &user.scope {
        return Decision {
            action: Action::Skip(reason.clone()),
            lock: None,
        };
    }

    let action = match outcome {
        Some(Ok(PhotoOutcome::Photo(_))) => Action::Store,
        Some(Ok(PhotoOutcome::Absent))
            if local.source == PhotoSource::Synced && policy.remove_when_absent =>
        {
            Action::Remove
        }
        // The host passes no outcome only for excluded users; for a user in scope, leaving the
        // stored photo alone is the safe reading.
        Some(Ok(PhotoOutcome::Unchanged | PhotoOutcome::Absent)) | Some(Err(_)) | None => {
            Action::Keep
        }
    };
    Decision {
        action,
        lock: Some(policy.lock_message.clone()),
    }
}

/// Returns the decision for invalid policy settings: nothing changes and nothing is locked. The run has failed already, because every other call validates the same settings.
pub(crate) fn keep_on_invalid_settings() -> Decision {
    Decision {
        action: Action::Keep,
        lock: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photosync::connector::types::{Photo, UserKind};

    const LOCK: &str = "Managed by Microsoft 365";

    fn user(scope: Scope) -> User {
        User {
            id: "u1".to_string(),
            principal_name: "adele@contoso.com".to_string(),
            mail: None,
            display_name: "Adele Vance".to_string(),
            enabled: true,
            kind: UserKind::Member,
            scope,
        }
    }

    fn local(source: PhotoSource) -> LocalPhoto {
        LocalPhoto {
            source,
            etag: None,
            sha256: None,
        }
    }

    fn policy(remove_when_absent: bool) -> PolicySettings {
        PolicySettings {
            remove_when_absent,
            lock_message: LOCK.to_string(),
        }
    }

    fn photo() -> PhotoOutcome {
        PhotoOutcome::Photo(Photo {
            content_type: "image/jpeg".to_string(),
            bytes: vec![0xFF, 0xD8, 0xFF],
            etag: Some("\"1\"".to_string()),
            width: Some(1),
            height: Some(1),
        })
    }

    fn action(
        outcome: Option<Result<PhotoOutcome, ConnectorError>>,
        source: PhotoSource,
        remove: bool,
    ) -> Action {
        decide(
            &user(Scope::Included),
            outcome.as_ref(),
            &local(source),
            &policy(remove),
        )
        .action
    }

    #[test]
    fn excluded_user_skipped() {
        let excluded = user(Scope::Excluded("guest account".to_string()));
        let decision = decide(&excluded, None, &local(PhotoSource::None), &policy(true));
        assert_eq!(decision.action, Action::Skip("guest account".to_string()));
        assert_eq!(decision.lock, None);
    }

    #[test]
    fn new_photo_stored() {
        assert_eq!(
            action(Some(Ok(photo())), PhotoSource::Manual, true),
            Action::Store
        );
    }

    #[test]
    fn unchanged_photo_kept() {
        assert_eq!(
            action(Some(Ok(PhotoOutcome::Unchanged)), PhotoSource::Synced, true),
            Action::Keep
        );
    }

    #[test]
    fn photo_absent_removes_synced_copy() {
        assert_eq!(
            action(Some(Ok(PhotoOutcome::Absent)), PhotoSource::Synced, true),
            Action::Remove
        );
    }

    #[test]
    fn photo_absent_keeps_manual_copy() {
        assert_eq!(
            action(Some(Ok(PhotoOutcome::Absent)), PhotoSource::Manual, true),
            Action::Keep
        );
    }

    #[test]
    fn photo_absent_removal_disabled() {
        assert_eq!(
            action(Some(Ok(PhotoOutcome::Absent)), PhotoSource::Synced, false),
            Action::Keep
        );
    }

    #[test]
    fn fetch_error_keeps_photo() {
        let failed = Err(ConnectorError::Unavailable("no mailbox".to_string()));
        assert_eq!(
            action(Some(failed), PhotoSource::Synced, true),
            Action::Keep
        );
    }

    #[test]
    fn in_scope_user_locked() {
        let decision = decide(
            &user(Scope::Included),
            Some(&Ok(PhotoOutcome::Unchanged)),
            &local(PhotoSource::Synced),
            &policy(true),
        );
        assert_eq!(decision.lock.as_deref(), Some(LOCK));
    }

    #[test]
    fn failed_user_still_locked() {
        let failed = Err(ConnectorError::Transient("timeout".to_string()));
        let decision = decide(
            &user(Scope::Included),
            Some(&failed),
            &local(PhotoSource::Synced),
            &policy(true),
        );
        assert_eq!(decision.lock.as_deref(), Some(LOCK));
    }

    #[test]
    fn in_scope_without_outcome_kept() {
        assert_eq!(action(None, PhotoSource::Synced, true), Action::Keep);
    }
}
