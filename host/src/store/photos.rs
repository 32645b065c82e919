//! Photo rows: which blob is each user's current photo, where it came from, and its etag.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};

use super::{now_rfc3339, BlobRef, Store};

/// The origin of a stored photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoSource {
    /// Written by a sync run from the identity source.
    Synced,
    /// Uploaded through the platform while sync was off.
    Manual,
}

impl PhotoSource {
    fn as_str(self) -> &'static str {
        match self {
            PhotoSource::Synced => "synced",
            PhotoSource::Manual => "manual",
        }
    }

    fn parse(text: &str) -> PhotoSource {
        if text == "manual" {
            PhotoSource::Manual
        } else {
            PhotoSource::Synced
        }
    }
}

/// The part of a stored photo that is passed to the connector's policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPhoto {
    pub source: PhotoSource,
    pub etag: Option<String>,
    pub sha256: String,
}

/// A user's stored photo with everything needed to serve it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredPhoto {
    pub user_id: String,
    pub source: PhotoSource,
    pub sha256: String,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub etag: Option<String>,
    pub updated_at: String,
}

/// One change a run commits.
#[derive(Clone, Debug)]
pub enum PhotoChange {
    /// Point the user's photo at a blob that is already written.
    Store {
        user_id: String,
        blob: BlobRef,
        content_type: String,
        etag: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
    },
    /// Drop the user's synced photo.
    Remove { user_id: String },
}

impl Store {
    /// Returns every stored photo of `tenant`, keyed by user id.
    pub fn local_photos(&self, tenant: &str) -> Result<HashMap<String, LocalPhoto>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare("SELECT user_id, source, etag, sha256 FROM photos WHERE tenant = ?1")?;
        let rows = statement.query_map([tenant], |row| {
            Ok((
                row.get::<_, String>(0)?,
                LocalPhoto {
                    source: PhotoSource::parse(&row.get::<_, String>(1)?),
                    etag: row.get(2)?,
                    sha256: row.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Returns the stored photo of one user, if any.
    pub fn photo(&self, tenant: &str, user_id: &str) -> Result<Option<StoredPhoto>> {
        let connection = self.connection();
        let photo = connection
            .query_row(
                "SELECT user_id, source, sha256, content_type, size, width, height, etag, updated_at
                 FROM photos WHERE tenant = ?1 AND user_id = ?2",
                params![tenant, user_id],
                read_stored_photo,
            )
            .optional()?;
        Ok(photo)
    }

    /// Applies a run's changes to `tenant` in one transaction.
    ///
    /// Every `Store` change must point at a blob already written with `write_blob`. Returns the
    /// sha256 of the blobs that lost a reference, for `remove_unreferenced_blobs` to check.
    pub fn commit_changes(
        &self,
        tenant: &str,
        run_id: i64,
        changes: &[PhotoChange],
    ) -> Result<Vec<String>> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        let mut dereferenced = Vec::new();
        let now = now_rfc3339();
        for change in changes {
            let user_id = match change {
                PhotoChange::Store { user_id, .. } | PhotoChange::Remove { user_id } => user_id,
            };
            let previous = current_sha256(&transaction, tenant, user_id)?;
            match change {
                PhotoChange::Store {
                    user_id,
                    blob,
                    content_type,
                    etag,
                    width,
                    height,
                } => {
                    transaction.execute(
                        "INSERT INTO photos (tenant, user_id, source, sha256, content_type, size, width, height, etag, updated_at, run_id)
                         VALUES (?1, ?2, 'synced', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         ON CONFLICT (tenant, user_id) DO UPDATE SET
                             source = 'synced', sha256 = excluded.sha256, content_type = excluded.content_type,
                             size = excluded.size, width = excluded.width, height = excluded.height,
                             etag = excluded.etag, updated_at = excluded.updated_at, run_id = excluded.run_id",
                        params![tenant, user_id, blob.sha256, content_type, blob.size as i64, width, height, etag, now, run_id],
                    )?;
                    if previous
                        .as_deref()
                        .is_some_and(|sha256| sha256 != blob.sha256)
                    {
                        dereferenced.extend(previous);
                    }
                }
                PhotoChange::Remove { user_id } => {
                    transaction.execute(
                        "DELETE FROM photos WHERE tenant = ?1 AND user_id = ?2 AND source = 'synced'",
                        params![tenant, user_id],
                    )?;
                    dereferenced.extend(previous);
                }
            }
        }
        transaction.commit()?;
        Ok(dereferenced)
    }

    /// Stores a manual upload as the user's photo, replacing any stored one.
    pub fn put_manual_photo(
        &self,
        tenant: &str,
        user_id: &str,
        blob: &BlobRef,
        content_type: &str,
        dimensions: (u32, u32),
    ) -> Result<Option<String>> {
        let connection = self.connection();
        let previous = current_sha256(&connection, tenant, user_id)?;
        connection.execute(
            "INSERT INTO photos (tenant, user_id, source, sha256, content_type, size, width, height, etag, updated_at, run_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, NULL)
             ON CONFLICT (tenant, user_id) DO UPDATE SET
                 source = excluded.source, sha256 = excluded.sha256, content_type = excluded.content_type,
                 size = excluded.size, width = excluded.width, height = excluded.height,
                 etag = NULL, updated_at = excluded.updated_at, run_id = NULL",
            params![
                tenant,
                user_id,
                PhotoSource::Manual.as_str(),
                blob.sha256,
                content_type,
                blob.size as i64,
                dimensions.0,
                dimensions.1,
                now_rfc3339()
            ],
        )?;
        Ok(previous.filter(|sha256| *sha256 != blob.sha256))
    }

    /// Deletes a user's photo whatever its source; returns the sha256 it pointed at.
    pub fn delete_photo(&self, tenant: &str, user_id: &str) -> Result<Option<String>> {
        let connection = self.connection();
        let previous: Option<String> = connection
            .query_row(
                "DELETE FROM photos WHERE tenant = ?1 AND user_id = ?2 RETURNING sha256",
                params![tenant, user_id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(previous)
    }

    pub(super) fn blob_is_referenced(&self, tenant: &str, sha256: &str) -> Result<bool> {
        let connection = self.connection();
        let count: i64 = connection.query_row(
            "SELECT COUNT(*) FROM photos WHERE tenant = ?1 AND sha256 = ?2",
            params![tenant, sha256],
            |row| row.get(0),
        )?;
        Ok(count > 0)
    }
}

/// Returns the sha256 of the user's stored photo, if any.
fn current_sha256(
    connection: &rusqlite::Connection,
    tenant: &str,
    user_id: &str,
) -> rusqlite::Result<Option<String>> {
    connection
        .query_row(
            "SELECT sha256 FROM photos WHERE tenant = ?1 AND user_id = ?2",
            params![tenant, user_id],
            |row| row.get(0),
        )
        .optional()
}

fn read_stored_photo(row: &Row<'_>) -> rusqlite::Result<StoredPhoto> {
    Ok(StoredPhoto {
        user_id: row.get(0)?,
        source: PhotoSource::parse(&row.get::<_, String>(1)?),
        sha256: row.get(2)?,
        content_type: row.get(3)?,
        size: row.get::<_, i64>(4)? as u64,
        width: row.get(5)?,
        height: row.get(6)?,
        etag: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_change(store: &Store, user_id: &str, bytes: &[u8]) -> PhotoChange {
        PhotoChange::Store {
            user_id: user_id.to_string(),
            blob: store.write_blob("contoso", bytes).unwrap(),
            content_type: "image/jpeg".to_string(),
            etag: Some("\"E1\"".to_string()),
            width: Some(96),
            height: Some(96),
        }
    }

    #[test]
    fn committed_photo_is_listed() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let change = store_change(&store, "u1", b"first");
        store.commit_changes("contoso", 1, &[change]).unwrap();
        let photos = store.local_photos("contoso").unwrap();
        assert_eq!(photos["u1"].source, PhotoSource::Synced);
        assert_eq!(photos["u1"].etag.as_deref(), Some("\"E1\""));
    }

    #[test]
    fn replaced_photo_is_dereferenced() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let first = store_change(&store, "u1", b"first");
        store.commit_changes("contoso", 1, &[first]).unwrap();
        let second = store_change(&store, "u1", b"second");
        let dereferenced = store.commit_changes("contoso", 2, &[second]).unwrap();
        assert_eq!(dereferenced.len(), 1);
    }

    #[test]
    fn remove_keeps_manual_photo() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let blob = store.write_blob("contoso", b"manual").unwrap();
        store
            .put_manual_photo("contoso", "u1", &blob, "image/png", (10, 10))
            .unwrap();
        let remove = PhotoChange::Remove {
            user_id: "u1".to_string(),
        };
        store.commit_changes("contoso", 1, &[remove]).unwrap();
        assert!(store.photo("contoso", "u1").unwrap().is_some());
    }

    #[test]
    fn photos_are_separate_per_tenant() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let change = store_change(&store, "u1", b"first");
        store.commit_changes("contoso", 1, &[change]).unwrap();
        assert!(store.photo("fabrikam", "u1").unwrap().is_none());
    }
}
