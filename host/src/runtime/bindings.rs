//! Host-side bindings generated from `wit/connector.wit` (world `plugin`).
//!
//! Exports are called with the `_async` functions because wasi:http runs on tokio; the two host
//! imports (`setting`, `log`) are plain synchronous functions.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    exports: { default: async },
});

pub use self::photosync::connector::types::{
    Action, ConnectorError, ConnectorInfo, Decision, LocalPhoto, LogLevel, Photo, PhotoOutcome,
    PhotoSource, Scope, SettingInfo, User, UserKind, UserPage,
};
