//! A Microsoft Graph v1.0 and identity platform simulator for photosync's tests, demo and
//! benchmark.
//!
//! [`GraphSim`] serves, on a loopback address, the subset of Graph that the Entra ID
//! connector uses: the client-credentials token endpoint, `/v1.0/users` with paging, and
//! user photos with their metadata. It serves a [`Fixture`] from memory, counts requests
//! ([`Counters`]), injects failures on demand ([`Faults`]) and lets tests change the directory
//! while it runs. It does not implement other Graph resources, `$filter` or delta queries.
//!
//! The `graph-sim` binary runs the same server as a process, driven through the `/_sim`
//! control routes.

mod auth;
mod control;
mod counters;
mod faults;
mod fixture;
mod graph_error;
mod image_size;
mod photos;
pub mod sample;
mod server;
mod state;
mod token;
mod users;

#[cfg(test)]
mod test_support;

pub use counters::Counters;
pub use faults::{Faults, InvalidFaults, ServerErrors, Throttle, DEFAULT_TOKEN_LIFETIME_SECS};
pub use fixture::{Fixture, FixtureUser, PhotoError, UserType, DEFAULT_PAGE_SIZE, USERS_FILE};
pub use server::{check_loopback, write_addr_file, GraphSim};
