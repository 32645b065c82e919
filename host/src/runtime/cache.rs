//! Compiled components cached on disk, so a restarted host loads its plugins without compiling.
//!
//! A file is named `<wasm sha256>-<engine hash>.cwasm`. The engine hash covers the wasmtime
//! version and every engine setting that affects compiled code
//! (`Engine::precompile_compatibility_hash`), so a host with another wasmtime or other settings
//! never loads a file it cannot run: it compiles and writes its own.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wasmtime::component::Component;
use wasmtime::Engine;

/// A directory of compiled components for one engine configuration.
pub struct ComponentCache {
    directory: PathBuf,
    engine_hash: String,
}

impl ComponentCache {
    /// Uses `directory` (created when missing) for components compiled by `engine`.
    pub fn open(directory: &Path, engine: &Engine) -> Result<ComponentCache> {
        std::fs::create_dir_all(directory).with_context(|| {
            format!(
                "failed to create the compiled-component cache directory {}",
                directory.display()
            )
        })?;
        // DefaultHasher::new() uses fixed keys, so the value is the same in every process of
        // this build. Another Rust release may hash differently, which only costs a recompile.
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(ComponentCache {
            directory: directory.to_path_buf(),
            engine_hash: format!("{:016x}", hasher.finish()),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.directory
            .join(format!("{sha256}-{}.cwasm", self.engine_hash))
    }

    /// Loads the compiled component for the wasm with this sha256, or none when it is not
    /// cached or the cached file is unusable (it is then removed and recompiled).
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.is_file() {
            return None;
        }
        // SAFETY: `deserialize_file` trusts the file to be code that wasmtime compiled. The
        // host reads only files it wrote itself into its own data directory, named by the
        // sha256 of the source wasm and the engine hash, and writes each one completely before
        // renaming it into place. Wasmtime also checks the file's header against the engine's
        // version and settings and rejects a mismatch with an error.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), "removing an unusable compiled component from the cache: {error:#}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Writes a compiled component under a temporary name, then renames it into place, so a
    /// reader never sees a partly written file.
    pub fn store(&self, sha256: &str, component: &Component) -> Result<()> {
        let bytes = component
            .serialize()
            .map_err(|error| anyhow::anyhow!("failed to serialize the component: {error:#}"))?;
        let path = self.path(sha256);
        let temporary = tempfile::NamedTempFile::new_in(&self.directory).with_context(|| {
            format!(
                "failed to create a temporary file in {}",
                self.directory.display()
            )
        })?;
        std::fs::write(temporary.path(), &bytes)
            .with_context(|| format!("failed to write {}", temporary.path().display()))?;
        temporary.persist(&path).with_context(|| {
            format!(
                "failed to move the compiled component to {}",
                path.display()
            )
        })?;
        Ok(())
    }
}
