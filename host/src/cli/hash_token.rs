//! `photosync hash-token`: prints the sha256 of an API token for `[[tenant.api_tokens]]`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::api::hash_token;

/// Shortest token accepted: 16 random bytes, base64- or hex-encoded, are at least 22 characters,
/// and a shorter one is likely typed by hand and guessable.
const MIN_TOKEN_LENGTH: usize = 22;

/// Reads one token from standard input (so it stays out of the shell history and the process
/// list) and prints its sha256 in hex.
pub fn run() -> Result<ExitCode> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("paste the token and press Enter:");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("failed to read the token from standard input")?;
    let token = line.trim();
    if token.len() < MIN_TOKEN_LENGTH {
        bail!(
            "the token has {} characters, fewer than {MIN_TOKEN_LENGTH}; generate one with `openssl rand -base64 32`",
            token.len()
        );
    }
    println!("{}", hash_token(token));
    Ok(ExitCode::SUCCESS)
}
