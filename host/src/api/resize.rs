//! Avatar size variants: the stored photo cropped to a square and resized, with EXIF
//! orientation applied, plus a small in-memory LRU cache of the encoded results.
//!
//! A variant is keyed by the sha256 of the stored photo and the size, so a new photo never
//! serves an old variant and two users with the same photo share one entry.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, ImageResult};

use super::errors::ApiError;
use super::upload::decode_limits;

/// Square sizes a client may request with `?size=`: the sizes Microsoft Graph serves for
/// profile photos, so clients can ask for what they already use with Graph.
pub const AVATAR_SIZES: [u32; 9] = [48, 64, 96, 120, 240, 360, 432, 504, 648];

/// Encoded bytes the variant cache may hold. A 648-pixel JPEG is about 50 to 100 KB, so this
/// keeps a few hundred variants; the working set of one tenant's directory page fits.
pub const VARIANT_CACHE_BYTES: usize = 32 << 20;

/// JPEG quality of resized variants: visually lossless for faces at avatar sizes.
const VARIANT_JPEG_QUALITY: u8 = 85;

/// One encoded variant.
#[derive(Debug)]
pub struct Variant {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Parses `?size=`; only the values in [`AVATAR_SIZES`] are valid.
pub fn parse_size(text: &str) -> Result<u32, ApiError> {
    let sizes = AVATAR_SIZES.map(|size| size.to_string()).join(", ");
    let size: u32 = text.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_size",
            format!("size '{text}' is not a number; use one of {sizes}"),
        )
    })?;
    if !AVATAR_SIZES.contains(&size) {
        return Err(ApiError::bad_request(
            "invalid_size",
            format!("size {size} is not served; use one of {sizes}"),
        ));
    }
    Ok(size)
}

/// Decodes an image within the upload limits and turns it upright by its EXIF orientation.
pub fn decode_oriented(bytes: &[u8], format: ImageFormat) -> ImageResult<DynamicImage> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decode_limits());
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Renders a `size` x `size` variant of a stored photo: centre-cropped to a square, resized
/// (smaller photos are scaled up, so clients always get the size they asked for), and encoded
/// as PNG when the photo has transparency, JPEG otherwise.
pub fn render_variant(bytes: &[u8], size: u32) -> Result<Variant> {
    let format = image::guess_format(bytes).context("the stored photo has no known format")?;
    let image = decode_oriented(bytes, format).context("failed to decode the stored photo")?;
    let square = image.resize_to_fill(size, size, FilterType::CatmullRom);
    let mut encoded = Vec::new();
    if square.color().has_alpha() {
        square
            .to_rgba8()
            .write_to(&mut Cursor::new(&mut encoded), ImageFormat::Png)
            .context("failed to encode a PNG variant")?;
        return Ok(Variant {
            bytes: encoded,
            content_type: "image/png",
        });
    }
    let encoder = JpegEncoder::new_with_quality(&mut encoded, VARIANT_JPEG_QUALITY);
    square
        .to_rgb8()
        .write_with_encoder(encoder)
        .context("failed to encode a JPEG variant")?;
    Ok(Variant {
        bytes: encoded,
        content_type: "image/jpeg",
    })
}

/// A least-recently-used cache of variants, bounded by the total bytes it holds.
pub struct VariantCache {
    capacity_bytes: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<(String, u32), (Arc<Variant>, u64)>,
    /// Increases on every access; an entry's stamp is its last access.
    clock: u64,
    total_bytes: usize,
}

impl VariantCache {
    /// Creates an empty cache holding at most `capacity_bytes` of encoded variants.
    pub fn new(capacity_bytes: usize) -> VariantCache {
        VariantCache {
            capacity_bytes,
            inner: Mutex::default(),
        }
    }

    /// Returns the cached variant of photo `sha256` at `size`, marking it as recently used.
    pub fn get(&self, sha256: &str, size: u32) -> Option<Arc<Variant>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let (variant, stamp) = inner.entries.get_mut(&(sha256.to_string(), size))?;
        *stamp = clock;
        Some(variant.clone())
    }

    /// Stores a variant, evicting the least recently used ones beyond the capacity. A variant
    /// larger than the whole capacity is not stored.
    pub fn insert(&self, sha256: &str, size: u32, variant: Arc<Variant>) {
        let length = variant.bytes.len();
        if length > self.capacity_bytes {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        if let Some((old, _)) = inner
            .entries
            .insert((sha256.to_string(), size), (variant, clock))
        {
            inner.total_bytes -= old.bytes.len();
        }
        inner.total_bytes += length;
        while inner.total_bytes > self.capacity_bytes {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, (_, stamp))| *stamp)
                .map(|(key, _)| key.clone());
            let Some(key) = oldest else { break };
            if let Some((evicted, _)) = inner.entries.remove(&key) {
                inner.total_bytes -= evicted.bytes.len();
            }
        }
    }

    /// Returns how many variants the cache contains.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Returns whether the cache contains no variant.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // The cache holds no invariant a panic could break halfway, so a poisoned lock is usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(length: usize) -> Arc<Variant> {
        Arc::new(Variant {
            bytes: vec![0; length],
            content_type: "image/jpeg",
        })
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = DynamicImage::new_rgb8(width, height);
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn size_outside_list_rejected() {
        let error = parse_size("50").unwrap_err();
        assert!(error.message.contains("48, 64, 96"), "{}", error.message);
    }

    #[test]
    fn wide_photo_becomes_square() {
        let rendered = render_variant(&png(300, 100), 96).unwrap();
        let decoded = image::load_from_memory(&rendered.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (96, 96));
    }

    #[test]
    fn opaque_photo_renders_jpeg() {
        let rendered = render_variant(&png(100, 100), 48).unwrap();
        assert_eq!(rendered.content_type, "image/jpeg");
    }

    #[test]
    fn cache_evicts_least_recently_used() {
        let cache = VariantCache::new(100);
        cache.insert("a", 48, variant(40));
        cache.insert("b", 48, variant(40));
        cache.get("a", 48);
        cache.insert("c", 48, variant(40));
        assert!(cache.get("a", 48).is_some());
        assert!(cache.get("b", 48).is_none());
        assert!(cache.get("c", 48).is_some());
    }

    #[test]
    fn cache_skips_oversized_variant() {
        let cache = VariantCache::new(10);
        cache.insert("a", 48, variant(11));
        assert!(cache.is_empty());
    }
}
