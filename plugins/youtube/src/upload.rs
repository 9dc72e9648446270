//! The resumable upload of `videos.insert`.
//!
//! 1. `POST {base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`
//!    with the video resource as JSON and `X-Upload-Content-Length` /
//!    `X-Upload-Content-Type`; the answer's `Location` is the session URL.
//! 2. `PUT {session}` the bytes in chunks with `Content-Range: bytes a-b/total`;
//!    `308 Resume Incomplete` (with `Range: bytes=0-N`, what the server holds)
//!    asks for the next chunk, `200`/`201` carries the new video resource.
//!
//! The file comes from the operator's read-only input dir, seen by the guest
//! at `/input/media/<file>`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use autopack_sdk::http::Request;
use autopack_sdk::invalid;
use autopack_sdk::types::{ProviderError, ProviderFailure};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::api::{self, ReasonFields};

/// Where the input dir named `media` appears inside the sandbox.
pub const MEDIA_DIR: &str = "/input/media";

/// Chunks must be multiples of 256 KiB (except the last).
pub const CHUNK_QUANTUM: u64 = 256 * 1024;

/// Reasons that name a param of `upload_video`.
pub const FIELDS: ReasonFields = &[
    ("invalidTitle", "/title"),
    ("invalidDescription", "/description"),
    ("invalidTags", "/tags"),
    ("invalidCategoryId", "/category_id"),
    ("mediaBodyRequired", "/file"),
    ("invalidFilename", "/file"),
];

/// The file to upload, as found in the input dir.
pub struct Media {
    /// Path inside the sandbox.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type from the extension.
    pub content_type: &'static str,
}

/// The MIME type YouTube gets for a file name.
pub fn content_type(file: &str) -> &'static str {
    let ext = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "mpg" | "mpeg" => "video/mpeg",
        "3gp" => "video/3gpp",
        "flv" => "video/x-flv",
        "wmv" => "video/x-ms-wmv",
        _ => "application/octet-stream",
    }
}

/// Finds the file and, when the params pin one, checks its SHA-256.
pub fn open(file: &str, sha256: Option<&str>) -> Result<Media, ProviderError> {
    let path = format!("{MEDIA_DIR}/{file}");
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::metadata(MEDIA_DIR).is_err() {
                return Err(ProviderError::Denied(
                    "no input dir `media`: the operator must grant one (`input_dirs.media`) \
                     holding the videos to upload"
                        .into(),
                ));
            }
            return Err(invalid(
                "/file",
                format!("`{file}` is not in the input dir `media`"),
            ));
        }
        Err(e) => return Err(invalid("/file", format!("`{file}` cannot be read: {e}"))),
    };
    if !meta.is_file() {
        return Err(invalid("/file", format!("`{file}` is not a regular file")));
    }
    if meta.len() == 0 {
        return Err(invalid("/file", format!("`{file}` is empty")));
    }
    if let Some(want) = sha256 {
        let got = sha256_of(&path)?;
        if got != want {
            return Err(invalid(
                "/sha256",
                format!("`{file}` has SHA-256 {got}, not the approved {want}: the file changed"),
            ));
        }
    }
    Ok(Media {
        path,
        size: meta.len(),
        content_type: content_type(file),
    })
}

fn io_err(e: std::io::Error) -> ProviderError {
    ProviderError::Internal(format!("reading the video file: {e}"))
}

fn sha256_of(path: &str) -> Result<String, ProviderError> {
    let mut f = File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The `Content-Range` values of an upload of `size` bytes in `chunk`-byte pieces.
pub fn ranges(size: u64, chunk: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + chunk).min(size) - 1;
        out.push(format!("bytes {start}-{end}/{size}"));
        start = end + 1;
    }
    out
}

/// Step 1: opens the session; returns its URL, checked to be on `origin`.
pub fn start(
    init_url: &str,
    origin: &str,
    metadata: &Value,
    media: &Media,
) -> Result<String, ProviderError> {
    let resp = Request::post(init_url)
        .header("content-type", "application/json; charset=UTF-8")
        .header("x-upload-content-length", &media.size.to_string())
        .header("x-upload-content-type", media.content_type)
        .body(metadata.to_string().into_bytes())
        .send()
        // Nothing is uploaded until the bytes are: a lost answer here is safe to retry.
        .map_err(|e| api::transport(e, false))?;
    api::check(&resp, FIELDS)?;
    let location = resp.header("location").ok_or_else(|| {
        ProviderError::Provider(ProviderFailure {
            code: "no_upload_session".into(),
            message: format!("HTTP {}: the answer had no Location header", resp.status),
            retryable: true,
        })
    })?;
    if !location.starts_with(&format!("{origin}/")) {
        return Err(ProviderError::Provider(ProviderFailure {
            code: "unexpected_upload_url".into(),
            message: format!(
                "the upload session URL is not on {origin}; refusing to send the video elsewhere"
            ),
            retryable: false,
        }));
    }
    Ok(location.to_string())
}

/// Step 2: sends the bytes; returns the video resource.
pub fn send(session: &str, media: &Media, chunk: u64) -> Result<Value, ProviderError> {
    let mut file = File::open(&media.path).map_err(io_err)?;
    let total = media.size;
    let mut offset: u64 = 0;
    // Each round either advances or fails; a server that never advances is cut off.
    let max_rounds = total.div_ceil(chunk) * 2 + 2;
    for _ in 0..max_rounds {
        let end = (offset + chunk).min(total);
        let mut buf = vec![0u8; (end - offset) as usize];
        file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
        file.read_exact(&mut buf).map_err(io_err)?;
        let last = end == total;
        let resp = Request::new("PUT", session)
            .header("content-type", media.content_type)
            .header(
                "content-range",
                &format!("bytes {offset}-{}/{total}", end - 1),
            )
            .body(buf)
            .send()
            // A lost answer to the last chunk may mean the video exists.
            .map_err(|e| api::transport(e, last))?;
        match resp.status {
            200 | 201 => return api::check(&resp, FIELDS),
            308 => {
                // `Range: bytes=0-N` is what the server holds; none means nothing.
                let held = resp
                    .header("range")
                    .and_then(|r| r.trim().strip_prefix("bytes=0-"))
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .map_or(0, |n| n + 1);
                if held > total {
                    break;
                }
                offset = held;
            }
            _ => {
                api::check(&resp, FIELDS)?;
                break;
            }
        }
    }
    Err(ProviderError::Provider(ProviderFailure {
        code: "upload_incomplete".into(),
        message: format!("the upload did not finish: the server holds {offset} of {total} bytes"),
        retryable: false,
    }))
}
