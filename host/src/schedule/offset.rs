//! Per-tenant start offsets: each tenant starts a stable number of seconds after its schedule
//! time, so tenants sharing a schedule do not all call Microsoft Graph in the same second.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// Returns the start offset of `tenant_id`, in whole seconds from zero up to but excluding
/// `max`. The offset is the first 8 bytes of the sha256 of the tenant id (big-endian) modulo
/// `max` in seconds, so every host and every restart computes the same one. A `max` below
/// one second gives zero.
pub fn tenant_offset(tenant_id: &str, max: Duration) -> Duration {
    let bound = max.as_secs();
    if bound == 0 {
        return Duration::ZERO;
    }
    let digest = Sha256::digest(tenant_id.as_bytes());
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&digest[..8]);
    Duration::from_secs(u64::from_be_bytes(prefix) % bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_MINUTES: Duration = Duration::from_secs(600);

    #[test]
    fn offset_stays_below_bound() {
        for index in 0..1000 {
            let offset = tenant_offset(&format!("tenant-{index}"), TEN_MINUTES);
            assert!(offset < TEN_MINUTES, "tenant-{index}: {offset:?}");
        }
    }

    #[test]
    fn offset_is_stable() {
        // The sha256 of "contoso" starts with 0x11f0b04eda61baeb (`sha256sum`), and that value
        // modulo 600 is 347.
        assert_eq!(
            tenant_offset("contoso", TEN_MINUTES),
            Duration::from_secs(347)
        );
    }

    #[test]
    fn zero_bound_disables_offset() {
        assert_eq!(tenant_offset("contoso", Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn offsets_spread_over_bound() {
        let distinct: std::collections::HashSet<u64> = (0..1000)
            .map(|index| tenant_offset(&format!("tenant-{index}"), TEN_MINUTES).as_secs())
            .collect();
        // 1000 draws from 600 values cover about 490 of them (600 * (1 - e^(-1000/600))).
        assert!(distinct.len() > 400, "{} distinct offsets", distinct.len());
    }
}
