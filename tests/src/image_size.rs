//! Image format and dimensions read from JPEG, PNG and GIF headers.
//!
//! Only headers are parsed and pixel data is never decoded, so a truncated file still reports
//! its size when its header survived. Graph's photo metadata needs nothing more.

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_START: &[u8] = &[0xFF, 0xD8];

/// Returns the MIME type that the magic bytes indicate, or none for other formats.
pub(crate) fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(JPEG_START) {
        Some("image/jpeg")
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// Returns `(width, height)` from the image header, or none when the header is missing or
/// not one of JPEG, PNG or GIF.
pub(crate) fn image_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    match sniff_content_type(bytes)? {
        "image/jpeg" => jpeg_dimensions(bytes),
        "image/png" => png_dimensions(bytes),
        _ => gif_dimensions(bytes),
    }
}

/// Reads the IHDR chunk, which the PNG specification requires to come first.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((read_u32_be(bytes, 16)?, read_u32_be(bytes, 20)?))
}

/// Reads the logical screen size that follows the six-byte GIF signature.
fn gif_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let width = u16::from_le_bytes(bytes.get(6..8)?.try_into().ok()?);
    let height = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
    Some((u32::from(width), u32::from(height)))
}

/// Walks the marker segments up to the first start-of-frame (SOF0 to SOF15, baseline or
/// progressive), whose payload is precision, height and width.
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut position = JPEG_START.len();
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if *bytes.get(position)? != 0xFF {
            return None;
        }
        while *bytes.get(position)? == 0xFF {
            position += 1;
        }
        let marker = *bytes.get(position)?;
        position += 1;

        match marker {
            // TEM and RST0..RST7 stand alone, without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan: no frame header came first.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes(
            bytes.get(position..position + 2)?.try_into().ok()?,
        ));
        // 0xC4 (DHT), 0xC8 (JPG extension) and 0xCC (DAC) share the SOF range but are not frames.
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let height =
                u16::from_be_bytes(bytes.get(position + 3..position + 5)?.try_into().ok()?);
            let width = u16::from_be_bytes(bytes.get(position + 5..position + 7)?.try_into().ok()?);
            return Some((u32::from(width), u32::from(height)));
        }
        if length < 2 {
            return None;
        }
        position += length;
    }
}

fn read_u32_be(bytes: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        bytes.get(offset..offset + 4)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::sample_photo;

    fn fixture_file(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/photos/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    #[test]
    fn sample_photo_dimensions() {
        let cases = [
            ("astronaut-648.jpg", (648, 648)),
            ("astronaut-96.jpg", (96, 96)),
            ("chelsea-648.jpg", (648, 648)),
            ("coffee-240.png", (240, 240)),
            ("camera-360-gray.jpg", (360, 360)),
            ("rocket-504-progressive.jpg", (504, 504)),
            ("tiny-animated.gif", (14, 25)),
        ];
        for (name, expected) in cases {
            assert_eq!(
                image_dimensions(sample_photo(name)),
                Some(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn truncated_jpeg_keeps_header_size() {
        let bytes = fixture_file("broken-truncated.jpg");
        assert_eq!(image_dimensions(&bytes), Some((648, 648)));
    }

    #[test]
    fn empty_file_has_no_size() {
        assert_eq!(image_dimensions(&fixture_file("broken-empty.jpg")), None);
        assert_eq!(sniff_content_type(&[]), None);
    }

    #[test]
    fn jpeg_without_frame_has_no_size() {
        // SOI, then a start of scan before any frame header.
        let bytes = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
        assert_eq!(image_dimensions(&bytes), None);
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(sniff_content_type(b"hello"), None);
        assert_eq!(image_dimensions(b"hello"), None);
    }
}
