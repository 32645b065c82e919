//! The directory snapshot of the last complete listing: who is in scope and who is locked.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::Store;

/// A user as the last complete run listed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectoryUser {
    pub user_id: String,
    pub principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub enabled: bool,
    /// `member` or `guest`.
    pub kind: String,
    /// The reason the connector's scope left the user out; none when in scope.
    pub excluded_reason: Option<String>,
    /// The message shown while manual photo edits are locked; none when unlocked.
    pub lock_message: Option<String>,
}

impl Store {
    /// Replaces the directory snapshot of `tenant` with `users`, in one transaction.
    pub fn replace_directory(
        &self,
        tenant: &str,
        run_id: i64,
        users: &[DirectoryUser],
    ) -> Result<()> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        {
            let mut upsert = transaction.prepare(
                "INSERT INTO users (tenant, user_id, principal_name, display_name, mail, enabled, kind,
                                    excluded_reason, lock_message, last_run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (tenant, user_id) DO UPDATE SET
                     principal_name = excluded.principal_name, display_name = excluded.display_name,
                     mail = excluded.mail, enabled = excluded.enabled, kind = excluded.kind,
                     excluded_reason = excluded.excluded_reason, lock_message = excluded.lock_message,
                     last_run_id = excluded.last_run_id",
            )?;
            for user in users {
                upsert.execute(params![
                    tenant,
                    user.user_id,
                    user.principal_name,
                    user.display_name,
                    user.mail,
                    user.enabled,
                    user.kind,
                    user.excluded_reason,
                    user.lock_message,
                    run_id
                ])?;
            }
        }
        transaction.execute(
            "DELETE FROM users WHERE tenant = ?1 AND last_run_id <> ?2",
            params![tenant, run_id],
        )?;
        transaction.commit()?;
        Ok(())
    }

    /// Finds a user of `tenant` by directory id or, ignoring case, by principal name.
    pub fn directory_user(
        &self,
        tenant: &str,
        id_or_principal_name: &str,
    ) -> Result<Option<DirectoryUser>> {
        let connection = self.connection();
        let user = connection
            .query_row(
                "SELECT user_id, principal_name, display_name, mail, enabled, kind, excluded_reason, lock_message
                 FROM users WHERE tenant = ?1 AND (user_id = ?2 OR lower(principal_name) = lower(?2))",
                params![tenant, id_or_principal_name],
                |row| {
                    Ok(DirectoryUser {
                        user_id: row.get(0)?,
                        principal_name: row.get(1)?,
                        display_name: row.get(2)?,
                        mail: row.get(3)?,
                        enabled: row.get(4)?,
                        kind: row.get(5)?,
                        excluded_reason: row.get(6)?,
                        lock_message: row.get(7)?,
                    })
                },
            )
            .optional()?;
        Ok(user)
    }
}
