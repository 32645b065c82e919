//! The configuration file as written, before validation. Unknown keys are rejected by serde.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub data_dir: Option<PathBuf>,
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<RawTenant>,
    #[serde(default)]
    pub serve: super::serve::RawServe,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTenant {
    pub id: String,
    pub plugin: PathBuf,
    pub schedule: Option<String>,
    pub sync_enabled: Option<bool>,
    pub sync_message: Option<String>,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    pub tls_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub settings: BTreeMap<String, RawSetting>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub api_tokens: Vec<super::tokens::RawApiToken>,
}

/// A setting value: plain, or a reference to a secret kept outside the file.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawSetting {
    Text(String),
    Boolean(bool),
    Integer(i64),
    Environment { env: String },
    File { file: PathBuf },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub memory_mib: Option<u64>,
    pub call_cpu_seconds: Option<u64>,
    pub call_wall_seconds: Option<u64>,
    pub run_seconds: Option<u64>,
    pub parallel: Option<usize>,
    pub retries: Option<u32>,
    pub throttle_budget_seconds: Option<u64>,
    pub max_response_mib: Option<u64>,
    pub connect_timeout_seconds: Option<u64>,
    pub first_byte_timeout_seconds: Option<u64>,
    pub between_bytes_timeout_seconds: Option<u64>,
    pub max_instances: Option<usize>,
    pub max_tables: Option<usize>,
}
