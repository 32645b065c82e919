//! Validation of an uploaded photo: body size (413), media type (415), and a full decode with
//! pixel and memory limits (422), so a decompression bomb is rejected before it is decoded.

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use http_body_util::LengthLimitError;
use image::{ImageFormat, ImageReader, Limits};

use super::errors::ApiError;
use super::resize::decode_oriented;
use crate::engine::MAX_PHOTO_BYTES;

/// Largest upload accepted: the same cap a sync run applies to photos from the identity
/// source, so a manual photo can always be stored and served like a synced one.
pub const MAX_UPLOAD_BYTES: usize = MAX_PHOTO_BYTES;

/// Most pixels an upload may have. A 4096 x 4096 image is larger than any profile photo needs
/// (the largest avatar size is 648) and bounds one decode to 128 MiB even at 16 bits per RGBA
/// channel. A small file that declares more pixels is treated as a decompression bomb.
pub const MAX_UPLOAD_PIXELS: u64 = 4096 * 4096;

/// Maximum side length of an upload, so a 1 x 16-million-pixel strip is rejected too.
pub const MAX_UPLOAD_SIDE: u32 = 8192;

/// Bytes per pixel of the widest decoded format (16-bit RGBA).
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Media types a client may declare for an upload. `application/octet-stream` is accepted
/// because some HTTP clients send it for any file; the bytes decide the format either way.
const ACCEPTED_CONTENT_TYPES: [&str; 4] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "application/octet-stream",
];

/// A validated upload's format and pixel size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidPhoto {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Decoder limits for uploads and for rendering variants of stored photos.
pub fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_UPLOAD_SIDE);
    limits.max_image_height = Some(MAX_UPLOAD_SIDE);
    limits.max_alloc = Some(MAX_UPLOAD_PIXELS * MAX_BYTES_PER_PIXEL);
    limits
}

/// Checks the declared `Content-Type`, before the body is read.
pub fn check_declared_type(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(None);
    };
    let declared = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !ACCEPTED_CONTENT_TYPES.contains(&declared.as_str()) {
        return Err(unsupported(format!(
            "Content-Type '{declared}' is not accepted; upload a JPEG, PNG or GIF file as image/jpeg, image/png or image/gif"
        )));
    }
    Ok(Some(declared))
}

/// Reads the request body, rejecting it with 413 as soon as it passes [`MAX_UPLOAD_BYTES`].
pub async fn read_body(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > MAX_UPLOAD_BYTES as u64) {
        return Err(too_large(declared_length));
    }
    match axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(error) if is_length_limit(&error) => Err(too_large(None)),
        Err(error) => Err(ApiError::bad_request(
            "invalid_body",
            format!("failed to read the request body: {error}; retry the upload"),
        )),
    }
}

/// Checks that `bytes` are a JPEG, PNG or GIF within the size and pixel limits that decodes
/// completely, and that a declared image type matches the bytes.
pub fn validate_photo(bytes: &[u8], declared: Option<&str>) -> Result<ValidPhoto, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "the request body is empty; send the photo file as the body",
        ));
    }
    let (format, content_type) = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => (ImageFormat::Jpeg, "image/jpeg"),
        Ok(ImageFormat::Png) => (ImageFormat::Png, "image/png"),
        Ok(ImageFormat::Gif) => (ImageFormat::Gif, "image/gif"),
        Ok(other) => {
            return Err(unsupported(format!(
                "the upload is a {other:?} image; only JPEG, PNG and GIF photos are accepted, convert it to one of them"
            )))
        }
        Err(_) => {
            return Err(unsupported(
                "the upload is not a JPEG, PNG or GIF image; send the photo file itself as the body",
            ))
        }
    };
    if let Some(declared) = declared.filter(|declared| declared.starts_with("image/")) {
        if declared != content_type {
            return Err(unsupported(format!(
                "Content-Type is {declared} but the bytes are {content_type}; send the matching Content-Type or application/octet-stream"
            )));
        }
    }

    let (width, height) = ImageReader::with_format(std::io::Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|error| invalid_image(format!("the {content_type} header is invalid: {error}")))?;
    check_pixels(width, height)?;
    // NOTE: the JPEG decoder of image 0.25 (zune-jpeg) fills a truncated scan with grey instead
    // of failing, so a cut-off JPEG passes this check; PNG and GIF truncation is rejected.
    decode_oriented(bytes, format).map_err(|error| match error {
        image::ImageError::Limits(_) => too_many_pixels(width, height),
        other => invalid_image(format!("the {content_type} image does not decode: {other}")),
    })?;
    Ok(ValidPhoto {
        content_type,
        width,
        height,
    })
}

fn check_pixels(width: u32, height: u32) -> Result<(), ApiError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_UPLOAD_PIXELS || width > MAX_UPLOAD_SIDE || height > MAX_UPLOAD_SIDE {
        return Err(too_many_pixels(width, height));
    }
    Ok(())
}

fn too_many_pixels(width: u32, height: u32) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "image_too_large",
        format!(
            "the image declares {width} x {height} pixels, over the maximum of {MAX_UPLOAD_PIXELS} pixels and {MAX_UPLOAD_SIDE} pixels per side; scale it down to at most 4096 x 4096 and upload again"
        ),
    )
}

fn invalid_image(message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_image",
        format!("{message}; upload an intact JPEG, PNG or GIF file"),
    )
}

fn unsupported(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        message,
    )
}

fn too_large(declared_length: Option<u64>) -> ApiError {
    let size = match declared_length {
        Some(length) => format!("the upload is {length} bytes, which is"),
        None => "the upload is".to_string(),
    };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("{size} over the maximum of {MAX_UPLOAD_BYTES} bytes; compress or scale the photo down and upload again"),
    )
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = current {
        if cause.is::<LengthLimitError>() {
            return true;
        }
        current = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::DynamicImage::new_rgb8(width, height);
        let mut bytes = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn small_png_is_valid() {
        let photo = validate_photo(&png(20, 10), Some("image/png")).unwrap();
        assert_eq!((photo.width, photo.height), (20, 10));
    }

    #[test]
    fn text_is_unsupported() {
        let error = validate_photo(b"hello, world", None).unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn mismatched_declared_type_is_unsupported() {
        let error = validate_photo(&png(4, 4), Some("image/jpeg")).unwrap_err();
        assert!(
            error.message.contains("bytes are image/png"),
            "{}",
            error.message
        );
    }

    #[test]
    fn truncated_png_is_unprocessable() {
        let bytes = png(64, 64);
        let error = validate_photo(&bytes[..bytes.len() / 2], None).unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn thin_strip_is_too_large() {
        let error = check_pixels(MAX_UPLOAD_SIDE + 1, 1).unwrap_err();
        assert_eq!(error.code, "image_too_large");
    }

    #[test]
    fn text_content_type_is_unsupported() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        let error = check_declared_type(&headers).unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
