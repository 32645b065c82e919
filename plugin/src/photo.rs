//! Fetching one user's photo: the metadata request whose `@odata.mediaEtag` detects changes,
//! the capped download of `$value`, and the checks on the downloaded bytes.
//!
//! The bytes are checked, not trusted. The Content-Type must be an image type, compared without
//! regard to case. The magic bytes decide the format (JPEG, PNG or GIF). Finally the `image`
//! crate must decode the picture, which also gives its width and height.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, ImageDecoder, ImageFormat, ImageReader, ImageResult, Limits};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use waki::Response;

use crate::graph::{self, Failure, Route};
use crate::origin::Origin;
use crate::photosync::connector::types::{ConnectorError, Photo, PhotoOutcome};
use crate::settings::Settings;
use crate::transport::{self, BodyError};

/// Characters left as they are in a user id path segment: RFC 3986 unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Maximum size of the decoded pixels, about 3300 x 3300 RGB. A photo within the 4 MB upload
/// limit can declare far more pixels than it holds, so this cap turns such a photo into an
/// `invalid-photo` error before it exhausts the plugin's memory.
/// NOTE: the decoder's own buffers come on top. Measured on the x86_64 test build with a counting
/// allocator, the 3000 x 3000 sample JPEG peaked at 28 MiB of heap, and the 504 x 504
/// progressive sample at twice its pixel size. A near-cap progressive photo may therefore still
/// exceed a 64 MiB instance memory limit and trap the plugin.
const MAX_DECODE_BYTES: u64 = 32 * 1024 * 1024;

/// An image format a photo may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhotoFormat {
    Jpeg,
    Png,
    Gif,
}

impl PhotoFormat {
    /// Returns the MIME type reported for the format.
    pub(crate) fn mime_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::Gif => "image/gif",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::Gif => ImageFormat::Gif,
        }
    }
}

/// Format and dimensions of a photo that passed the byte checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckedPhoto {
    pub(crate) format: PhotoFormat,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// Fetches a user's photo, or reports it unchanged or absent.
pub(crate) fn fetch(
    settings: &Settings,
    user_id: &str,
    known_etag: Option<&str>,
) -> Result<PhotoOutcome, ConnectorError> {
    if user_id.is_empty() {
        return Err(ConnectorError::Unavailable(
            "the user has an empty id, so its photo cannot be requested".to_string(),
        ));
    }
    let route = Route::Photo { user_id };
    let metadata_url = metadata_url(&settings.endpoints.graph, user_id);

    let metadata: PhotoMetadata = match graph::get_json(settings, &metadata_url) {
        Ok(metadata) => metadata,
        Err(Failure::Status(status)) if status.is_photo_absent() => {
            return Ok(PhotoOutcome::Absent)
        }
        Err(failure) => return Err(failure.into_error(route)),
    };
    let etag = metadata.media_etag;
    if etag.is_some() && etag.as_deref() == known_etag {
        return Ok(PhotoOutcome::Unchanged);
    }

    let value_url = format!("{metadata_url}/$value");
    let response = match graph::get(settings, &value_url) {
        Ok(response) => response,
        Err(Failure::Status(status)) if status.is_photo_absent() => {
            return Ok(PhotoOutcome::Absent)
        }
        Err(failure) => return Err(failure.into_error(route)),
    };
    let (bytes, checked) = download(&response, settings.max_photo_bytes, user_id)?;

    Ok(PhotoOutcome::Photo(Photo {
        content_type: checked.format.mime_type().to_string(),
        bytes,
        etag,
        width: Some(checked.width),
        height: Some(checked.height),
    }))
}

/// Returns the photo metadata URL of a user, addressed by id.
pub(crate) fn metadata_url(graph: &Origin, user_id: &str) -> String {
    let segment = utf8_percent_encode(user_id, PATH_SEGMENT);
    format!("{graph}/v1.0/users/{segment}/photo")
}

/// The part of the photo metadata the connector reads.
#[derive(Debug, Deserialize)]
struct PhotoMetadata {
    #[serde(rename = "@odata.mediaEtag")]
    media_etag: Option<String>,
}

fn download(
    response: &Response,
    cap: u64,
    user_id: &str,
) -> Result<(Vec<u8>, CheckedPhoto), ConnectorError> {
    let invalid = |reason: String| {
        ConnectorError::InvalidPhoto(format!("the photo of user {user_id} {reason}"))
    };

    let status = response.status_code();
    if status != 200 {
        return Err(invalid(format!("came with HTTP {status} instead of 200")));
    }
    let declared =
        transport::header(response, "content-length").and_then(|value| value.parse::<u64>().ok());
    if let Some(length) = declared.filter(|length| *length > cap) {
        return Err(invalid(format!(
            "has {length} bytes, more than max_photo_bytes ({cap} bytes); upload a smaller \
             photo in Microsoft 365 or raise max_photo_bytes"
        )));
    }
    let content_type = transport::header(response, "content-type");
    check_content_type(content_type).map_err(invalid)?;

    let bytes = transport::read_body(response, cap).map_err(|error| match error {
        BodyError::TooLarge { cap } => invalid(format!(
            "has more than max_photo_bytes ({cap} bytes), so the download was stopped; upload \
             a smaller photo in Microsoft 365 or raise max_photo_bytes"
        )),
        BodyError::Read(reason) => ConnectorError::Transient(format!(
            "reading the photo of user {user_id} failed: {reason}"
        )),
    })?;
    let checked = check_bytes(&bytes).map_err(invalid)?;
    Ok((bytes, checked))
}

/// Accepts a Content-Type of any `image/*` type, ignoring case and parameters.
pub(crate) fn check_content_type(content_type: Option<&str>) -> Result<(), String> {
    let Some(content_type) = content_type else {
        return Err("came without a Content-Type header".to_string());
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let is_image = essence
        .get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("image/"))
        && essence.len() > 6;
    if is_image {
        Ok(())
    } else {
        Err(format!(
            "has Content-Type {content_type:?}, which is not an image type"
        ))
    }
}

/// Decides the format from the magic bytes.
pub(crate) fn detect_format(bytes: &[u8]) -> Option<PhotoFormat> {
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.starts_with(JPEG) {
        Some(PhotoFormat::Jpeg)
    } else if bytes.starts_with(PNG) {
        Some(PhotoFormat::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(PhotoFormat::Gif)
    } else {
        None
    }
}

/// Checks that the bytes are a complete, decodable JPEG, PNG or GIF. The error gives the reason.
pub(crate) fn check_bytes(bytes: &[u8]) -> Result<CheckedPhoto, String> {
    if bytes.is_empty() {
        return Err("is empty".to_string());
    }
    let Some(format) = detect_format(bytes) else {
        let start: Vec<String> = bytes
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02X}"))
            .collect();
        return Err(format!(
            "is not a JPEG, PNG or GIF (it starts with {})",
            start.join(" ")
        ));
    };
    // The JPEG decoder fills missing scan data with gray instead of failing, so a truncated
    // JPEG would decode; requiring the end-of-image marker rejects it.
    if format == PhotoFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(
            "is a truncated JPEG (no end-of-image marker after the image data)".to_string(),
        );
    }

    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let decoded = match format {
        PhotoFormat::Gif => decode_gif(bytes, limits),
        PhotoFormat::Jpeg | PhotoFormat::Png => decode_still(bytes, format, limits),
    };
    let (width, height) = decoded
        .map_err(|error| format!("could not be decoded as {}: {error}", format.mime_type()))?;
    Ok(CheckedPhoto {
        format,
        width,
        height,
    })
}

/// Decodes a JPEG or PNG and returns its dimensions.
fn decode_still(bytes: &[u8], format: PhotoFormat, limits: Limits) -> ImageResult<(u32, u32)> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits);
    let image = reader.decode()?;
    Ok((image.width(), image.height()))
}

/// Decodes every frame of a GIF and returns the canvas dimensions. Decoding only the first
/// frame, as `ImageReader` does, would accept a GIF truncated after it.
fn decode_gif(bytes: &[u8], limits: Limits) -> ImageResult<(u32, u32)> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes))?;
    decoder.set_limits(limits)?;
    let dimensions = decoder.dimensions();
    for frame in decoder.into_frames() {
        frame?;
    }
    Ok(dimensions)
}

/// Returns whether a JPEG ends with an end-of-image marker (`FF D9`) after at least one scan.
///
/// Walks the marker segments by their lengths and skips entropy-coded scan data, where `FF`
/// is followed only by a stuffed `00` or a restart marker, so an `FF D9` inside an embedded
/// thumbnail or a table does not count.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut pos = 2;
    let mut in_scan_data = false;
    let mut seen_scan = false;
    while pos + 1 < bytes.len() {
        if bytes[pos] != 0xFF {
            if !in_scan_data {
                return false;
            }
            pos += 1;
            continue;
        }
        match bytes[pos + 1] {
            // Fill byte before a marker.
            0xFF => pos += 1,
            // Stuffed zero or restart marker inside scan data.
            0x00 | 0xD0..=0xD7 if in_scan_data => pos += 2,
            0xD9 => return seen_scan,
            // Markers without a length: TEM and restart markers outside scan data.
            0x01 | 0xD0..=0xD7 => pos += 2,
            0x00 | 0xD8 => return false,
            marker => {
                let Some(length) = bytes.get(pos + 2..pos + 4) else {
                    return false;
                };
                let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
                if length < 2 {
                    return false;
                }
                pos += 2 + length;
                in_scan_data = marker == 0xDA;
                seen_scan |= in_scan_data;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Returns the path of a sample photo in the repository's test fixtures.
    fn photo_path(name: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/photos/"
        ))
        .join(name)
    }

    fn sample(name: &str) -> Vec<u8> {
        let path = photo_path(name);
        std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
    }

    fn first_half(name: &str) -> Vec<u8> {
        let mut bytes = sample(name);
        bytes.truncate(bytes.len() / 2);
        bytes
    }

    #[test]
    fn jpeg_648_accepted() {
        let checked = check_bytes(&sample("astronaut-648.jpg")).unwrap();
        assert_eq!(
            checked,
            CheckedPhoto {
                format: PhotoFormat::Jpeg,
                width: 648,
                height: 648
            }
        );
    }

    #[test]
    fn small_jpeg_accepted() {
        assert_eq!(check_bytes(&sample("astronaut-96.jpg")).unwrap().width, 96);
    }

    #[test]
    fn gray_jpeg_accepted() {
        assert_eq!(
            check_bytes(&sample("camera-360-gray.jpg")).unwrap().height,
            360
        );
    }

    #[test]
    fn progressive_jpeg_accepted() {
        let checked = check_bytes(&sample("rocket-504-progressive.jpg")).unwrap();
        assert_eq!(checked.format, PhotoFormat::Jpeg);
        assert!(checked.width > 0);
    }

    #[test]
    fn large_jpeg_accepted() {
        let checked = check_bytes(&sample("coffee-3000-large.jpg")).unwrap();
        assert_eq!(checked.format, PhotoFormat::Jpeg);
        assert!(
            checked.width >= 3000 || checked.height >= 3000,
            "{checked:?}"
        );
    }

    #[test]
    fn png_accepted() {
        let checked = check_bytes(&sample("coffee-240.png")).unwrap();
        assert_eq!(
            checked,
            CheckedPhoto {
                format: PhotoFormat::Png,
                width: 240,
                height: 240
            }
        );
    }

    #[test]
    fn animated_gif_accepted() {
        let checked = check_bytes(&sample("tiny-animated.gif")).unwrap();
        assert_eq!(
            checked,
            CheckedPhoto {
                format: PhotoFormat::Gif,
                width: 14,
                height: 25
            }
        );
    }

    /// Builds a GIF with one 1 x 1 frame on a canvas of `width` x `height`.
    fn one_pixel_gif(width: u16, height: u16) -> Vec<u8> {
        let mut bytes = b"GIF89a".to_vec();
        bytes.extend_from_slice(&width.to_le_bytes());
        bytes.extend_from_slice(&height.to_le_bytes());
        // Global color table of two entries, white and black.
        bytes.extend_from_slice(&[0x80, 0, 0, 0xFF, 0xFF, 0xFF, 0, 0, 0]);
        // Image descriptor at (0, 0), 1 x 1, then LZW data for one pixel of color 0.
        bytes.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
        bytes.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00, 0x3B]);
        bytes
    }

    #[test]
    fn small_canvas_within_decode_cap() {
        let checked = check_bytes(&one_pixel_gif(2, 2)).unwrap();
        assert_eq!((checked.width, checked.height), (2, 2));
    }

    #[test]
    fn huge_canvas_exceeds_decode_cap() {
        let error = check_bytes(&one_pixel_gif(u16::MAX, u16::MAX)).unwrap_err();
        assert!(error.contains("Memory limit exceeded"), "{error}");
    }

    #[test]
    fn empty_photo_rejected() {
        assert_eq!(
            check_bytes(&sample("broken-empty.jpg")),
            Err("is empty".to_string())
        );
    }

    #[test]
    fn truncated_jpeg_rejected() {
        let error = check_bytes(&sample("broken-truncated.jpg")).unwrap_err();
        assert!(error.contains("truncated"), "{error}");
    }

    #[test]
    fn truncated_progressive_jpeg_rejected() {
        assert!(check_bytes(&first_half("rocket-504-progressive.jpg")).is_err());
    }

    #[test]
    fn truncated_png_rejected() {
        assert!(check_bytes(&first_half("coffee-240.png")).is_err());
    }

    #[test]
    fn truncated_gif_rejected() {
        assert!(check_bytes(&first_half("tiny-animated.gif")).is_err());
    }

    #[test]
    fn jpeg_header_only_rejected() {
        assert!(check_bytes(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err());
    }

    #[test]
    fn corrupt_jpeg_scan_rejected() {
        // A JPEG whose headers end right before the scan: complete markers, no image data.
        let mut bytes = sample("astronaut-96.jpg");
        let scan = bytes
            .windows(2)
            .position(|pair| pair == [0xFF, 0xDA])
            .unwrap();
        bytes.truncate(scan);
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        assert!(check_bytes(&bytes).is_err());
    }

    #[test]
    fn html_rejected_with_start() {
        let error = check_bytes(b"<html>login</html>").unwrap_err();
        assert!(error.contains("3C 68 74 6D"), "{error}");
    }

    #[test]
    fn magic_bytes_decide_format() {
        assert_eq!(
            detect_format(&sample("coffee-240.png")),
            Some(PhotoFormat::Png)
        );
        assert_eq!(
            detect_format(&sample("tiny-animated.gif")),
            Some(PhotoFormat::Gif)
        );
        assert_eq!(
            detect_format(&sample("chelsea-648.jpg")),
            Some(PhotoFormat::Jpeg)
        );
        assert_eq!(detect_format(b"GIF88a"), None);
    }

    #[test]
    fn complete_jpegs_pass_marker_walk() {
        for name in [
            "astronaut-648.jpg",
            "chelsea-648.jpg",
            "rocket-504-progressive.jpg",
            "camera-360-gray.jpg",
        ] {
            assert!(jpeg_is_complete(&sample(name)), "{name}");
        }
    }

    #[test]
    fn trailing_bytes_after_eoi_allowed() {
        let mut bytes = sample("astronaut-96.jpg");
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        assert!(check_bytes(&bytes).is_ok());
    }

    #[test]
    fn mixed_case_content_type_accepted() {
        assert_eq!(check_content_type(Some("image/Jpeg")), Ok(()));
    }

    #[test]
    fn upper_case_content_type_accepted() {
        assert_eq!(
            check_content_type(Some("IMAGE/PNG; charset=binary")),
            Ok(())
        );
    }

    #[test]
    fn json_content_type_rejected() {
        assert!(check_content_type(Some("application/json")).is_err());
    }

    #[test]
    fn bare_image_prefix_rejected() {
        assert!(check_content_type(Some("image/")).is_err());
    }

    #[test]
    fn missing_content_type_rejected() {
        assert!(check_content_type(None).is_err());
    }

    #[test]
    fn user_id_percent_encoded() {
        let graph = Origin::parse("https://graph.microsoft.com").unwrap();
        assert_eq!(
            metadata_url(&graph, "a/b?c#d e"),
            "https://graph.microsoft.com/v1.0/users/a%2Fb%3Fc%23d%20e/photo"
        );
    }

    #[test]
    fn guid_user_id_unchanged() {
        let graph = Origin::parse("https://graph.microsoft.com").unwrap();
        assert_eq!(
            metadata_url(&graph, "6e7b768e-07e2-4810-8459-485f84f8f204"),
            "https://graph.microsoft.com/v1.0/users/6e7b768e-07e2-4810-8459-485f84f8f204/photo"
        );
    }

    #[test]
    fn media_etag_parsed() {
        let body =
            br#"{"@odata.mediaEtag":"\"BA09D118\"","id":"648X648","height":648,"width":648}"#;
        let metadata: PhotoMetadata = graph::parse_json(body, "photo").unwrap();
        assert_eq!(metadata.media_etag.as_deref(), Some("\"BA09D118\""));
    }

    #[test]
    fn missing_media_etag_tolerated() {
        let metadata: PhotoMetadata = graph::parse_json(br#"{"id":"default"}"#, "photo").unwrap();
        assert_eq!(metadata.media_etag, None);
    }
}
