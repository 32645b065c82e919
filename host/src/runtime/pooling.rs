//! Sizes of wasmtime's pooling instance allocator, derived from the tenants' limits.
//!
//! The pooling allocator reserves memory and table slots once, at engine creation, and reuses
//! them for every instance instead of mapping fresh memory each time. Measured with wasmtime 48
//! on a 2-core machine, a new store plus instantiation of the connector took 0.04-0.07 ms
//! on demand and 0.016-0.024 ms pooled. A run creates one instance per parallel fetch worker,
//! and a host serves many tenants a night, so the saving adds up once many tenants share the
//! process. The `photosync` binary always uses the pool. The slots reserve address space, not
//! resident memory.

use wasmtime::PoolingAllocationConfig;

use crate::config::Config;

/// Core wasm instances and tables a connector component may create when instantiated. A Rust
/// component built with wit-bindgen uses about ten instances and a few tables.
const PER_COMPONENT_SLOTS: u32 = 20;
/// Linear memories per component. A Rust component has one, and each pooled memory slot
/// reserves address space for the largest memory, so this stays small.
const PER_COMPONENT_MEMORIES: u32 = 4;

/// Pool sizes: how many plugin instances may be live at once, and the largest linear memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSizes {
    /// Component instances live at the same time across all tenants.
    pub instances: u32,
    /// The largest `limits.memory_mib` of any tenant, in bytes.
    pub max_memory_bytes: usize,
}

impl PoolSizes {
    /// Builds wasmtime's pooling configuration for these sizes.
    pub fn config(&self) -> PoolingAllocationConfig {
        let slots = self.instances.saturating_mul(PER_COMPONENT_SLOTS);
        let mut config = PoolingAllocationConfig::default();
        config
            .total_component_instances(self.instances)
            .total_core_instances(slots)
            .total_memories(self.instances.saturating_mul(PER_COMPONENT_MEMORIES))
            .total_tables(slots)
            .max_core_instances_per_component(PER_COMPONENT_SLOTS)
            .max_memories_per_component(PER_COMPONENT_MEMORIES)
            .max_tables_per_component(PER_COMPONENT_SLOTS)
            .max_memory_size(self.max_memory_bytes);
        config
    }
}

impl PoolSizes {
    /// Sizes a pool for every tenant of `config` running at once, each with its parallel fetch
    /// workers plus the instance that lists users.
    pub fn for_config(config: &Config) -> PoolSizes {
        let instances = config
            .tenants
            .iter()
            .map(|tenant| tenant.limits.parallel as u32 + 1)
            .sum();
        let max_memory_bytes = config
            .tenants
            .iter()
            .map(|tenant| tenant.limits.memory_bytes)
            .max()
            .unwrap_or(0);
        PoolSizes {
            instances,
            max_memory_bytes,
        }
    }
}
