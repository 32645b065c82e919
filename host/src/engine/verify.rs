//! Host-side check of photo bytes a plugin returns. Plugins may come from third parties, so the
//! host does not store bytes only because a plugin vouched for them.

use image::{ImageFormat, ImageReader};

/// Largest photo the host stores. Microsoft 365 accepts photos up to 4 MB; the margin leaves
/// room for other identity sources.
pub const MAX_PHOTO_BYTES: usize = 8 << 20;

/// A photo's detected format and pixel size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhotoShape {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Checks that `bytes` are a JPEG, PNG or GIF of at most `MAX_PHOTO_BYTES` whose header parses,
/// and that `declared` (compared case-insensitively) names the same format.
pub fn verify_photo(bytes: &[u8], declared: &str) -> Result<PhotoShape, String> {
    if bytes.is_empty() {
        return Err("the photo is empty".to_string());
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(format!(
            "the photo is {} bytes, over the host's maximum of {MAX_PHOTO_BYTES}",
            bytes.len()
        ));
    }
    let format = image::guess_format(bytes)
        .map_err(|_| "the bytes are not a known image format".to_string())?;
    let content_type = match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::Gif => "image/gif",
        other => {
            return Err(format!(
                "{other:?} photos are not supported; use JPEG, PNG or GIF"
            ))
        }
    };
    if !declared.trim().eq_ignore_ascii_case(content_type) {
        return Err(format!(
            "the plugin declared {declared:?} but the bytes are {content_type}"
        ));
    }
    let (width, height) = ImageReader::with_format(std::io::Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|error| format!("the {content_type} header is invalid: {error}"))?;
    Ok(PhotoShape {
        content_type,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn png_header_gives_dimensions() {
        let shape = verify_photo(PNG_1X1, "image/PNG").unwrap();
        assert_eq!((shape.width, shape.height), (1, 1));
    }

    #[test]
    fn mismatched_content_type_is_rejected() {
        let error = verify_photo(PNG_1X1, "image/jpeg").unwrap_err();
        assert!(error.contains("declared"));
    }

    #[test]
    fn empty_photo_is_rejected() {
        assert!(verify_photo(&[], "image/jpeg").is_err());
    }

    #[test]
    fn text_is_rejected() {
        assert!(verify_photo(b"<html>not a photo</html>", "image/jpeg").is_err());
    }
}
