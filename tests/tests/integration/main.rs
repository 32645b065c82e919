//! Integration tests: the real connector component in the real host, over loopback HTTP to the
//! Graph simulator, with a real SQLite file and real photo files.

mod support;

mod api;
mod auth;
mod check;
mod interrupt;
mod listing;
mod outbound;
mod photos;
mod process;
mod removal;
mod sandbox;
mod schedule;
mod serve;
mod throttling;
