//! The platform API over loopback HTTP: the real router and server, a real store, and runs of
//! the real plugin against the Graph simulator.

mod access;
mod lock;
mod runs;
mod server;
mod serving;
mod switching;
mod uploads;
