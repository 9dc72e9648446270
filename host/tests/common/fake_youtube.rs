//! A fake of the YouTube Data API v3.
//!
//! It checks `Authorization: Bearer …`, keeps a channel with videos,
//! implements `channels.list`, `playlistItems.list`, `videos.list`,
//! `videos.update` (replacing the part it names, as the real API does),
//! `videos.delete`, and the resumable upload: the POST opens a session whose
//! `Location` is an upload URL on this same server, PUTs with
//! `Content-Range` append bytes and are answered `308` with `Range` until
//! the last one creates the video.

use super::recorder::Hit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The OAuth token the host injects (a canary).
pub const TOKEN: &str = "ya29.canary-4b7e1c9d2f6a8e3b57";
/// The channel of the token.
pub const CHANNEL: &str = "UCfakeChannel0000000001";
/// Its uploads playlist.
pub const UPLOADS: &str = "UUfakeChannel0000000001";
/// A video the channel has.
pub const VIDEO: &str = "abcDEF12345";
/// A video of another channel.
pub const FOREIGN: &str = "zzzOTHER999";

/// A forced failure.
#[derive(Clone)]
pub struct Fail {
    /// Only requests with this method fail (`None`: all).
    pub method: Option<&'static str>,
    /// HTTP status.
    pub status: u16,
    /// Google error reason.
    pub reason: &'static str,
    /// `Retry-After`, when set.
    pub retry_after: Option<&'static str>,
}

struct Session {
    total: u64,
    content_type: String,
    metadata: Value,
    bytes: Vec<u8>,
}

/// The fake's state.
#[derive(Default)]
pub struct Tube {
    /// `http://127.0.0.1:PORT`, set once listening.
    pub origin: OnceLock<String>,
    videos: Mutex<BTreeMap<String, Value>>,
    sessions: Mutex<BTreeMap<String, Session>>,
    /// `(video id, bytes)` of every finished upload.
    pub uploaded: Mutex<Vec<(String, Vec<u8>)>>,
    /// Forced failure.
    pub fail: Mutex<Option<Fail>>,
    /// The first upload PUT keeps only 100 000 bytes (as after a cut connection).
    pub short_ack_once: AtomicBool,
    /// The upload session URL points at another origin.
    pub foreign_location: AtomicBool,
    seq: AtomicUsize,
}

fn video(id: &str, channel: &str, title: &str, privacy: &str) -> Value {
    json!({
        "kind": "youtube#video",
        "etag": format!("etag-{id}"),
        "id": id,
        "snippet": {
            "publishedAt": "2026-05-01T10:00:00Z",
            "channelId": channel,
            "title": title,
            "description": "Original description",
            "tags": ["original"],
            "categoryId": "27",
            "defaultLanguage": "en",
            "channelTitle": "Fake Channel"
        },
        "status": {
            "uploadStatus": "processed",
            "privacyStatus": privacy,
            "license": "creativeCommon",
            "embeddable": false,
            "publicStatsViewable": true,
            "selfDeclaredMadeForKids": false,
            "madeForKids": false
        }
    })
}

impl Tube {
    /// A channel with one video of its own ([`VIDEO`]) and one of another channel ([`FOREIGN`]).
    pub fn new() -> Tube {
        let t = Tube::default();
        {
            let mut v = t.videos.lock().expect("videos");
            v.insert(
                VIDEO.into(),
                video(VIDEO, CHANNEL, "First video", "private"),
            );
            v.insert(
                FOREIGN.into(),
                video(FOREIGN, "UCsomeoneElse0000000009", "Not ours", "public"),
            );
        }
        t
    }

    /// A video as the fake holds it now.
    pub fn video(&self, id: &str) -> Option<Value> {
        self.videos.lock().expect("videos").get(id).cloned()
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).expect("status"),
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// Google's error shape.
fn error(status: u16, reason: &str, message: &str) -> Response {
    reply(
        status,
        json!({"error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "youtube.api", "reason": reason}],
        }}),
    )
}

/// The fake Data API.
pub fn youtube(t: &Tube, hit: &Hit) -> Response {
    if hit.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return error(
            401,
            "authError",
            "Request had invalid authentication credentials.",
        );
    }
    if let Some(f) = t.fail.lock().expect("fail").clone()
        && f.method.is_none_or(|m| m == hit.method)
    {
        let mut r = error(
            f.status,
            f.reason,
            &format!("forced {} {}", f.status, f.reason),
        );
        if let Some(s) = f.retry_after {
            r.headers_mut()
                .insert("retry-after", s.parse().expect("header"));
        }
        return r;
    }
    let part = hit.param("part").unwrap_or_default();
    match (hit.method.as_str(), hit.path.as_str()) {
        ("GET", "/youtube/v3/channels") => {
            if !part.split(',').any(|p| p == "contentDetails") {
                return error(400, "invalidPart", "part must include contentDetails");
            }
            let mine = hit.param("mine").as_deref() == Some("true");
            let by_id = hit.param("id").as_deref() == Some(CHANNEL);
            let items = if mine || by_id {
                json!([{"kind": "youtube#channel", "id": CHANNEL,
                        "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": UPLOADS}}}])
            } else {
                json!([])
            };
            reply(
                200,
                json!({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": items.as_array().map_or(0, Vec::len), "resultsPerPage": 5}, "items": items}),
            )
        }
        ("GET", "/youtube/v3/playlistItems") => {
            if part.is_empty() || hit.param("playlistId").as_deref() != Some(UPLOADS) {
                return error(
                    404,
                    "playlistNotFound",
                    "The playlist identified with the request's playlistId parameter cannot be found.",
                );
            }
            let max: usize = hit
                .param("maxResults")
                .and_then(|m| m.parse().ok())
                .unwrap_or(5);
            if !(1..=50).contains(&max) {
                return error(400, "invalidValue", "maxResults out of range");
            }
            let videos = t.videos.lock().expect("videos");
            let ours: Vec<&Value> = videos
                .values()
                .filter(|v| v["snippet"]["channelId"] == CHANNEL)
                .collect();
            let items: Vec<Value> = ours.iter().take(max).map(|v| json!({
                "kind": "youtube#playlistItem",
                "id": format!("pli-{}", v["id"].as_str().unwrap_or("")),
                "snippet": {"publishedAt": v["snippet"]["publishedAt"], "channelId": CHANNEL, "title": v["snippet"]["title"],
                            "playlistId": UPLOADS, "resourceId": {"kind": "youtube#video", "videoId": v["id"]}},
                "contentDetails": {"videoId": v["id"], "videoPublishedAt": v["snippet"]["publishedAt"]},
                "status": {"privacyStatus": v["status"]["privacyStatus"]},
            })).collect();
            let mut body = json!({"kind": "youtube#playlistItemListResponse",
                "pageInfo": {"totalResults": ours.len(), "resultsPerPage": max}, "items": items});
            if ours.len() > max {
                body["nextPageToken"] = json!("EAAaBlBUOkNBRQ");
            }
            reply(200, body)
        }
        ("GET", "/youtube/v3/videos") => {
            if part.is_empty() {
                return error(400, "required", "Required parameter: part");
            }
            let id = hit.param("id").unwrap_or_default();
            let items: Vec<Value> = t.video(&id).into_iter().collect();
            reply(
                200,
                json!({"kind": "youtube#videoListResponse", "pageInfo": {"totalResults": items.len(), "resultsPerPage": items.len()}, "items": items}),
            )
        }
        ("PUT", "/youtube/v3/videos") => {
            let body = hit.json();
            let Some(id) = body["id"].as_str() else {
                return error(
                    400,
                    "invalidVideoMetadata",
                    "The request metadata is invalid: no id",
                );
            };
            if !hit
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
            {
                return error(400, "badContent", "content-type must be JSON");
            }
            let mut videos = t.videos.lock().expect("videos");
            let Some(v) = videos.get_mut(id) else {
                return error(
                    404,
                    "videoNotFound",
                    "The video that you are trying to update cannot be found.",
                );
            };
            match part.as_str() {
                "status" => {
                    if !body["status"]["privacyStatus"].is_string() {
                        return error(400, "invalidPrivacyStatus", "privacyStatus is required");
                    }
                    // The part is replaced whole; read-only fields stay.
                    let mut s = body["status"].clone();
                    s["uploadStatus"] = v["status"]["uploadStatus"].clone();
                    v["status"] = s;
                }
                "snippet" => {
                    if body["snippet"]["title"].as_str().is_none_or(str::is_empty) {
                        return error(
                            400,
                            "invalidTitle",
                            "The request metadata specifies an invalid or empty video title.",
                        );
                    }
                    if !body["snippet"]["categoryId"].is_string() {
                        return error(
                            400,
                            "invalidCategoryId",
                            "The snippet.categoryId property specifies an invalid category ID.",
                        );
                    }
                    let mut s = body["snippet"].clone();
                    s["channelId"] = v["snippet"]["channelId"].clone();
                    s["publishedAt"] = v["snippet"]["publishedAt"].clone();
                    v["snippet"] = s;
                }
                _ => return error(400, "unexpectedPart", "part must be status or snippet"),
            }
            reply(200, v.clone())
        }
        ("DELETE", "/youtube/v3/videos") => {
            let id = hit.param("id").unwrap_or_default();
            if t.videos.lock().expect("videos").remove(&id).is_none() {
                return error(
                    404,
                    "videoNotFound",
                    "The video that you are trying to delete cannot be found.",
                );
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", "/upload/youtube/v3/videos") => {
            if hit.param("uploadType").as_deref() != Some("resumable") || part != "snippet,status" {
                return error(
                    400,
                    "invalidParameter",
                    "uploadType=resumable and part=snippet,status expected",
                );
            }
            let Some(total) = hit
                .header("x-upload-content-length")
                .and_then(|l| l.parse::<u64>().ok())
            else {
                return error(400, "invalidHeader", "X-Upload-Content-Length missing");
            };
            let Some(ct) = hit.header("x-upload-content-type") else {
                return error(400, "invalidHeader", "X-Upload-Content-Type missing");
            };
            let meta = hit.json();
            if !meta["snippet"]["title"].is_string() || !meta["status"]["privacyStatus"].is_string()
            {
                return error(
                    400,
                    "invalidVideoMetadata",
                    "snippet.title and status.privacyStatus expected",
                );
            }
            let n = t.seq.fetch_add(1, Ordering::SeqCst);
            let upload_id = format!("AEnB2U{n:04}");
            t.sessions.lock().expect("sessions").insert(
                upload_id.clone(),
                Session {
                    total,
                    content_type: ct.to_string(),
                    metadata: meta,
                    bytes: Vec::new(),
                },
            );
            let origin = if t.foreign_location.load(Ordering::SeqCst) {
                "http://127.0.0.2:9".to_string()
            } else {
                t.origin.get().cloned().unwrap_or_default()
            };
            let location = format!(
                "{origin}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status&upload_id={upload_id}"
            );
            (StatusCode::OK, [(header::LOCATION, location)]).into_response()
        }
        ("PUT", "/upload/youtube/v3/videos") => {
            let Some(upload_id) = hit.param("upload_id") else {
                return error(400, "invalidParameter", "upload_id missing");
            };
            let mut sessions = t.sessions.lock().expect("sessions");
            let Some(s) = sessions.get_mut(&upload_id) else {
                return error(404, "notFound", "upload session not found");
            };
            if hit.header("content-type") != Some(s.content_type.as_str()) {
                return error(
                    400,
                    "badContent",
                    "content-type differs from X-Upload-Content-Type",
                );
            }
            // `bytes a-b/total`
            let range = hit.header("content-range").unwrap_or("");
            let parsed = range.strip_prefix("bytes ").and_then(|r| {
                let (ab, total) = r.split_once('/')?;
                let (a, b) = ab.split_once('-')?;
                Some((
                    a.parse::<u64>().ok()?,
                    b.parse::<u64>().ok()?,
                    total.parse::<u64>().ok()?,
                ))
            });
            let Some((a, b, total)) = parsed else {
                return error(400, "badContentRange", "Content-Range expected");
            };
            if total != s.total || a != s.bytes.len() as u64 || b + 1 - a != hit.body.len() as u64 {
                return error(
                    400,
                    "badContentRange",
                    &format!("range {range} does not follow {} bytes", s.bytes.len()),
                );
            }
            s.bytes.extend_from_slice(&hit.body);
            if t.short_ack_once.swap(false, Ordering::SeqCst) {
                s.bytes.truncate(100_000);
            }
            if (s.bytes.len() as u64) < s.total {
                let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
                if !s.bytes.is_empty() {
                    r.headers_mut().insert(
                        "range",
                        format!("bytes=0-{}", s.bytes.len() - 1)
                            .parse()
                            .expect("header"),
                    );
                }
                return r;
            }
            let n = t.seq.fetch_add(1, Ordering::SeqCst);
            let id = format!("upl{n:08}");
            let meta = &s.metadata;
            let mut v = video(
                &id,
                CHANNEL,
                meta["snippet"]["title"].as_str().unwrap_or(""),
                "private",
            );
            v["snippet"]["description"] = meta["snippet"]["description"].clone();
            v["snippet"]["tags"] = meta["snippet"]["tags"].clone();
            v["snippet"]["categoryId"] = meta["snippet"]["categoryId"].clone();
            v["status"] = json!({"uploadStatus": "uploaded", "privacyStatus": meta["status"]["privacyStatus"],
                                 "selfDeclaredMadeForKids": meta["status"]["selfDeclaredMadeForKids"]});
            t.videos
                .lock()
                .expect("videos")
                .insert(id.clone(), v.clone());
            t.uploaded
                .lock()
                .expect("uploaded")
                .push((id, std::mem::take(&mut s.bytes)));
            reply(200, v)
        }
        _ => error(404, "notFound", "Not Found"),
    }
}

/// A small file that looks like an MP4 (an `ftyp` box, then patterned bytes).
pub fn test_video(len: usize) -> Vec<u8> {
    let mut v = vec![
        0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm',
    ];
    v.extend((0..len.saturating_sub(12)).map(|i| (i * 31 % 251) as u8));
    v
}
