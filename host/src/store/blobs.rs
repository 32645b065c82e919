//! Content-addressed photo files: `blobs/<tenant>/sha256/<first two hex digits>/<sha256>`.
//!
//! Each tenant has its own tree, so removing one tenant's unreferenced file can never take away a
//! file that another tenant's concurrent run is about to reference.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::Store;

/// A photo file in the blob tree, named by the sha256 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    /// Lowercase hex sha256 of the bytes.
    pub sha256: String,
    /// Length of the file in bytes.
    pub size: u64,
}

impl Store {
    /// Writes `bytes` as a blob of `tenant` and returns its reference.
    ///
    /// The bytes go to a temporary file that is fsynced and then renamed into place, and the
    /// directory is fsynced after the rename, so the final path only ever contains complete bytes.
    /// Writing a blob that already exists is a no-op.
    pub fn write_blob(&self, tenant: &str, bytes: &[u8]) -> Result<BlobRef> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let blob = BlobRef {
            sha256,
            size: bytes.len() as u64,
        };
        let path = self.blob_path(tenant, &blob.sha256);
        if path.exists() {
            return Ok(blob);
        }
        let directory = path.parent().expect("blob paths have a parent");
        fs::create_dir_all(directory)
            .with_context(|| format!("failed to create {}", directory.display()))?;

        let temporary_directory = self.tenant_blob_root(tenant).join("tmp");
        fs::create_dir_all(&temporary_directory)?;
        let mut temporary =
            tempfile::NamedTempFile::new_in(&temporary_directory).with_context(|| {
                format!(
                    "failed to create a file in {}",
                    temporary_directory.display()
                )
            })?;
        temporary.write_all(bytes)?;
        temporary.as_file().sync_all()?;
        temporary
            .persist(&path)
            .with_context(|| format!("failed to move a photo into {}", path.display()))?;
        sync_directory(directory)?;
        Ok(blob)
    }

    /// Reads a blob of `tenant` and checks that its bytes still match the name.
    pub fn read_blob(&self, tenant: &str, sha256: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(tenant, sha256);
        let bytes =
            fs::read(&path).with_context(|| format!("failed to read photo {}", path.display()))?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            anyhow::bail!(
                "photo file {} is corrupt: its sha256 is {actual}; restore it from backup or run a sync",
                path.display()
            );
        }
        Ok(bytes)
    }

    /// Deletes those `candidates` of `tenant` that no photo row references any more.
    ///
    /// Call it after the transaction that dropped the references has committed. Returns how many
    /// files were deleted.
    pub fn remove_unreferenced_blobs(&self, tenant: &str, candidates: &[String]) -> Result<usize> {
        let mut removed = 0;
        for sha256 in candidates {
            if self.blob_is_referenced(tenant, sha256)? {
                continue;
            }
            let path = self.blob_path(tenant, sha256);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(tenant, path = %path.display(), %error, "failed to delete an unreferenced photo file");
                }
            }
        }
        Ok(removed)
    }

    /// Returns the path of a blob; the file exists only once `write_blob` has returned.
    pub fn blob_path(&self, tenant: &str, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.tenant_blob_root(tenant)
            .join("sha256")
            .join(prefix)
            .join(sha256)
    }

    fn tenant_blob_root(&self, tenant: &str) -> PathBuf {
        self.root.join("blobs").join(tenant)
    }
}

fn sync_directory(directory: &Path) -> Result<()> {
    File::open(directory)
        .and_then(|handle| handle.sync_all())
        .with_context(|| format!("failed to fsync directory {}", directory.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_blob_is_content_addressed() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let first = store.write_blob("contoso", b"photo bytes").unwrap();
        let second = store.write_blob("contoso", b"photo bytes").unwrap();
        assert_eq!(first, second);
        assert_eq!(
            store.read_blob("contoso", &first.sha256).unwrap(),
            b"photo bytes"
        );
    }

    #[test]
    fn blobs_are_separate_per_tenant() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let blob = store.write_blob("contoso", b"photo bytes").unwrap();
        assert!(store.read_blob("fabrikam", &blob.sha256).is_err());
    }

    #[test]
    fn corrupt_blob_is_reported() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let blob = store.write_blob("contoso", b"photo bytes").unwrap();
        fs::write(store.blob_path("contoso", &blob.sha256), b"other").unwrap();
        let error = store.read_blob("contoso", &blob.sha256).unwrap_err();
        assert!(format!("{error:#}").contains("corrupt"));
    }

    #[test]
    fn unreferenced_blob_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let blob = store.write_blob("contoso", b"photo bytes").unwrap();
        let removed = store
            .remove_unreferenced_blobs("contoso", &[blob.sha256.clone()])
            .unwrap();
        assert_eq!(removed, 1);
        assert!(!store.blob_path("contoso", &blob.sha256).exists());
    }
}
