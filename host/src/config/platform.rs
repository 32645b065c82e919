//! Per-tenant text the platform shows: the message while sync locks manual photo edits.

/// The message shown while sync locks manual photo edits, when a tenant sets no `sync_message`.
pub const DEFAULT_SYNC_MESSAGE: &str = "Your profile photo is synchronized from Microsoft 365. To change it, update your photo in Outlook or Teams; the new photo appears here after the next nightly sync.";

/// Resolves a tenant's `sync_message`: the default when unset, an error when blank.
pub(super) fn resolve_sync_message(raw: Option<&str>) -> Result<String, String> {
    match raw {
        Some(text) if text.trim().is_empty() => {
            Err("sync_message is empty; remove it to use the default message".to_string())
        }
        Some(text) => Ok(text.to_string()),
        None => Ok(DEFAULT_SYNC_MESSAGE.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_message_gets_default() {
        assert_eq!(resolve_sync_message(None).unwrap(), DEFAULT_SYNC_MESSAGE);
    }

    #[test]
    fn blank_message_rejected() {
        let error = resolve_sync_message(Some("  ")).unwrap_err();
        assert!(error.contains("sync_message"), "{error}");
    }
}
