//! `photosync bench` (hidden): measures plugin compile time, cached load time, instantiation
//! time and memory per instance on this machine, and prints them with a machine description.
//! Timings are printed, never asserted; run it on a release build.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::runtime::{component_cache_dir, PoolSizes, Runtime, RuntimeOptions};

/// Instances created per allocation strategy; enough to average out timer noise and make the
/// resident-memory delta per instance readable.
const INSTANCES: usize = 200;

/// Runs the benchmark for the plugin at `plugin` and prints a Markdown table.
pub async fn run(plugin: &Path) -> Result<()> {
    let directory = tempfile::tempdir().context("failed to create a temporary directory")?;
    let config = bench_config(directory.path(), plugin)?;
    let tenant = &config.tenants[0];
    let cache = RuntimeOptions {
        component_cache: Some(component_cache_dir(&config.data_dir)),
        pool: None,
    };

    let compiling = Runtime::with_options(&cache)?;
    let started = Instant::now();
    compiling.load(plugin)?;
    let compile = started.elapsed();

    let restarted = Runtime::with_options(&cache)?;
    let started = Instant::now();
    let loaded = restarted.load(plugin)?;
    let cached_load = started.elapsed();

    let on_demand = instantiate_many(&loaded, tenant).await?;
    let pooled_runtime = Runtime::with_options(&RuntimeOptions {
        component_cache: cache.component_cache.clone(),
        pool: Some(PoolSizes {
            instances: INSTANCES as u32 + 1,
            max_memory_bytes: tenant.limits.memory_bytes,
        }),
    })?;
    let pooled_plugin = pooled_runtime.load(plugin)?;
    let pooled = instantiate_many(&pooled_plugin, tenant).await?;

    println!("{}", machine_description());
    println!("| measurement | value |");
    println!("| --- | --- |");
    println!(
        "| compile (`Component::from_binary`) | {} |",
        millis(compile)
    );
    println!(
        "| load from the compiled-component cache | {} |",
        millis(cached_load)
    );
    println!(
        "| new store + instantiate, on demand (mean of {INSTANCES}) | {} |",
        millis(on_demand.mean)
    );
    println!(
        "| new store + instantiate, pooling allocator (mean of {INSTANCES}) | {} |",
        millis(pooled.mean)
    );
    println!(
        "| resident memory per live instance, on demand | {} KiB |",
        on_demand.rss_per_instance_kib
    );
    println!(
        "| resident memory per live instance, pooling allocator | {} KiB |",
        pooled.rss_per_instance_kib
    );
    Ok(())
}

struct InstanceFigures {
    mean: Duration,
    rss_per_instance_kib: i64,
}

/// Creates `INSTANCES` live instances, each after one `describe` call so the guest's start-up
/// allocations are counted, and measures time and resident memory.
async fn instantiate_many(
    plugin: &crate::runtime::LoadedPlugin,
    tenant: &crate::config::TenantConfig,
) -> Result<InstanceFigures> {
    let rss_before = resident_kib()?;
    let mut instances = Vec::with_capacity(INSTANCES);
    let mut total = Duration::ZERO;
    for _ in 0..INSTANCES {
        let started = Instant::now();
        let instance = plugin.instantiate(tenant).await?;
        total += started.elapsed();
        instances.push(instance);
    }
    for instance in &mut instances {
        instance.describe().await?;
    }
    let rss_after = resident_kib()?;
    Ok(InstanceFigures {
        mean: total / INSTANCES as u32,
        rss_per_instance_kib: (rss_after - rss_before) / INSTANCES as i64,
    })
}

fn bench_config(directory: &Path, plugin: &Path) -> Result<Config> {
    let text = format!(
        "data_dir = \"data\"\n[[tenant]]\nid = \"bench\"\nplugin = \"{}\"\n",
        plugin.display()
    );
    Config::parse(&text, directory)
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// Reads `VmRSS` from `/proc/self/status`, in KiB.
fn resident_kib() -> Result<i64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("failed to read /proc/self/status; the benchmark measures memory on Linux only")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("/proc/self/status has no VmRSS line")
}

/// Describes the CPU, core count, memory and build of this machine.
fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |count| count.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .map(|value| value.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!("machine: {model}, {cores} cores, {memory} memory; photosync {profile} build\n")
}
