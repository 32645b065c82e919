//! photosync: syncs profile photos from an identity source into a workplace platform.
//!
//! Each tenant's connector plugin (a WASI component implementing `photosync:connector@0.1.0`)
//! runs sandboxed in [`runtime`]; [`engine`] drives one tenant's run and commits its decisions
//! to [`store`]. Data flows one way: `cli` -> `engine` -> `runtime` -> `store`.

pub mod api;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod engine;
pub mod outbound;
pub mod runtime;
pub mod schedule;
pub mod store;
