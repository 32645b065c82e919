//! A test connector whose behaviour is chosen by the tenant setting `behaviour`. The sandbox
//! tests run it next to a well-behaved tenant to show that each limit of the host stops only
//! the tenant that breaks it, and that a plugin staying under a limit is not stopped.
//!
//! | `behaviour`           | what the plugin does                                                |
//! | --------------------- | ------------------------------------------------------------------- |
//! | `spin-in-list-users`  | loops forever in `list-users`                                       |
//! | `spin`                | spins `spin_ms` milliseconds in `list-users`, then lists no users   |
//! | `allocate`            | allocates and touches `allocate_mib` MiB in `list-users`            |
//! | `call-denied-host`    | sends `GET url` in `list-users`, where `url` is off the allow-list |
//! | `big-body`            | sends `GET url` in `list-users` and reads the whole body            |
//! | `slow-http`           | same as `big-body`, against a test server that delays the response        |
//! | `trap-in-fetch-photo` | lists one user, then panics in `fetch-photo`                        |
//! | `print`               | writes the `message` setting to stdout and stderr in `list-users`   |
//! | `fail-with-message`   | lists one user, then fails its `fetch-photo` quoting `message`      |
//!
//! Every behaviour except the two that list one user lists no users when it completes, so a run
//! that stays under the limits succeeds with nothing to store.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "plugin",
});

use std::io::Write;
use std::time::{Duration, Instant};

use exports::photosync::connector::connector::Guest;
use photosync::connector::host;
use photosync::connector::types::{
    Action, ConnectorError, ConnectorInfo, Decision, LocalPhoto, PhotoOutcome, Scope, SettingInfo,
    User, UserKind, UserPage,
};

/// Bytes per wasm page; touching one byte per page commits the whole allocation.
const WASM_PAGE_BYTES: usize = 64 * 1024;
/// Bytes requested per body read.
const READ_CHUNK_BYTES: u64 = 64 * 1024;

struct MisbehavingConnector;

fn setting(name: &str) -> Result<String, ConnectorError> {
    host::setting(name)
        .ok_or_else(|| ConnectorError::InvalidConfig(format!("settings.{name} is missing")))
}

fn number_setting(name: &str) -> Result<u64, ConnectorError> {
    let text = setting(name)?;
    text.parse().map_err(|_| {
        ConnectorError::InvalidConfig(format!("settings.{name} = '{text}' is not a number"))
    })
}

fn empty_page() -> UserPage {
    UserPage {
        users: Vec::new(),
        next_cursor: None,
    }
}

/// Sends `GET url` and reads the whole body, returning its length.
fn download(url: &str) -> Result<usize, ConnectorError> {
    let response = waki::Client::new()
        .get(url)
        .send()
        .map_err(|error| ConnectorError::Transient(format!("GET {url} failed: {error}")))?;
    let mut length = 0;
    loop {
        match response.chunk(READ_CHUNK_BYTES) {
            Ok(Some(chunk)) => length += chunk.len(),
            Ok(None) => return Ok(length),
            Err(error) => {
                return Err(ConnectorError::Transient(format!(
                    "reading the body of {url} failed: {error}"
                )))
            }
        }
    }
}

fn spin(duration: Duration) {
    let started = Instant::now();
    let mut counter = 0u64;
    while started.elapsed() < duration {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn allocate(mib: u64) -> usize {
    let mut block = vec![0u8; (mib as usize) << 20];
    for index in (0..block.len()).step_by(WASM_PAGE_BYTES) {
        block[index] = 1;
    }
    std::hint::black_box(&block).len()
}

impl Guest for MisbehavingConnector {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            name: "misbehave".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            settings: vec![SettingInfo {
                name: "behaviour".to_string(),
                description: "which limit to break or approach".to_string(),
                secret: false,
                required: true,
                default_value: None,
            }],
            hosts: Vec::new(),
        }
    }

    fn check() -> Result<(), ConnectorError> {
        Ok(())
    }

    fn list_users(_cursor: Option<String>) -> Result<UserPage, ConnectorError> {
        match setting("behaviour")?.as_str() {
            "spin-in-list-users" => loop {
                spin(Duration::from_secs(1));
            },
            "spin" => spin(Duration::from_millis(number_setting("spin_ms")?)),
            "allocate" => {
                allocate(number_setting("allocate_mib")?);
            }
            "call-denied-host" | "big-body" | "slow-http" => {
                download(&setting("url")?)?;
            }
            "trap-in-fetch-photo" | "fail-with-message" => {
                return Ok(UserPage {
                    users: vec![one_user()],
                    next_cursor: None,
                })
            }
            "print" => {
                let message = setting("message")?;
                let _ = writeln!(std::io::stdout(), "stdout: {message}");
                let _ = writeln!(std::io::stderr(), "stderr: {message}");
            }
            other => {
                return Err(ConnectorError::InvalidConfig(format!(
                    "settings.behaviour = '{other}' is not a known behaviour"
                )))
            }
        }
        Ok(empty_page())
    }

    fn fetch_photo(
        user: User,
        _known_etag: Option<String>,
    ) -> Result<PhotoOutcome, ConnectorError> {
        if setting("behaviour")? == "fail-with-message" {
            return Err(ConnectorError::Unavailable(format!(
                "no photo for user {}: {}",
                user.id,
                setting("message")?
            )));
        }
        panic!("fetch-photo of user {} traps on purpose", user.id);
    }

    fn apply_policy(
        _user: User,
        _outcome: Option<Result<PhotoOutcome, ConnectorError>>,
        _local: LocalPhoto,
    ) -> Decision {
        Decision {
            action: Action::Keep,
            lock: None,
        }
    }
}

fn one_user() -> User {
    User {
        id: "00000001-1111-4222-8333-444455556666".to_string(),
        principal_name: "user1@contoso.com".to_string(),
        mail: None,
        display_name: "User 1".to_string(),
        enabled: true,
        kind: UserKind::Member,
        scope: Scope::Included,
    }
}

export!(MisbehavingConnector);
