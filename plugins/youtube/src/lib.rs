//! `youtube`: a channel's videos through the YouTube Data API v3.
//!
//! | operation | effect | requests | quota (`YT_QUOTA`) |
//! |---|---|---|---|
//! | `list_my_videos` | read | `channels.list` → uploads playlist, `playlistItems.list` | 2 |
//! | `upload_video` | draft | resumable `videos.insert`, always `private` | 1600 |
//! | `set_privacy` | publish | `videos.list` then `videos.update part=status` | 51 |
//! | `update_metadata` | modify | `videos.list` then `videos.update part=snippet` | 51 |
//! | `delete_video` | delete | `videos.list` then `videos.delete` | 51 |
//!
//! The host injects `Authorization: Bearer …` from secret
//! `YOUTUBE_OAUTH_TOKEN`. In dry-run the reads are made (they are GETs) and
//! every write is returned as a preview — method, URL and body — without
//! being sent. `videos.update` replaces the whole part it names, so the
//! writes read the video first and send its current values back with only
//! the requested change; the preview shows exactly that body.

mod api;
mod upload;

use api::{QUOTA_DELETE, QUOTA_INSERT, QUOTA_LIST, QUOTA_UPDATE, enc, preview};
use autopack_sdk::fields::{Fields, object_schema};
use autopack_sdk::types::{
    Amount, CallContext, Effect, Mode, Operation, Outcome, OutcomeStatus, ProviderError,
    ProviderFailure, ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, host, invalid};
use serde_json::{Value, json};

/// The Data API's documented base URL (uploads live under it too).
pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com";
/// Default size of one upload chunk: 8 MiB.
pub const DEFAULT_CHUNK_BYTES: u64 = 32 * upload::CHUNK_QUANTUM;
/// Quota unit every operation spends.
pub const QUOTA_UNIT: &str = "YT_QUOTA";

struct Youtube;

fn base_url() -> Result<String, ProviderError> {
    let url = host::setting("base_url").unwrap_or_else(|| DEFAULT_BASE_URL.into());
    let url = url.trim_end_matches('/').to_string();
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url)
    } else {
        Err(ProviderError::Denied(format!(
            "setting `base_url` = `{url}` must start with https:// or http://"
        )))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn channel_id() -> Result<Option<String>, ProviderError> {
    match host::setting("channel_id") {
        None => Ok(None),
        Some(c) if id_chars(&c) && (1..=64).contains(&c.len()) => Ok(Some(c)),
        Some(c) => Err(ProviderError::Denied(format!(
            "setting `channel_id` = `{c}` is not a channel id like `UC…`"
        ))),
    }
}

fn chunk_bytes() -> Result<u64, ProviderError> {
    let Some(raw) = host::setting("upload_chunk_bytes") else {
        return Ok(DEFAULT_CHUNK_BYTES);
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 && n % upload::CHUNK_QUANTUM == 0 && n <= 256 * upload::CHUNK_QUANTUM => {
            Ok(n)
        }
        _ => Err(ProviderError::Denied(format!(
            "setting `upload_chunk_bytes` = `{raw}` must be a multiple of 262144 up to 64 MiB"
        ))),
    }
}

fn id_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn quota(units: i64) -> Amount {
    Amount {
        minor_units: units,
        unit: QUOTA_UNIT.into(),
    }
}

// ---- params -------------------------------------------------------------

const VIDEO_ID_PATTERN: &str = "^[A-Za-z0-9_-]{11}$";
const FILE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$";
const NO_ANGLE_BRACKETS: &str = "^[^<>]*$";

fn video_id(f: &Fields) -> Result<String, ProviderError> {
    let id = f.str("video_id", 11, 11)?;
    if !id_chars(&id) {
        return Err(invalid(
            "/video_id",
            "must be 11 characters of A-Z, a-z, 0-9, `-` and `_`",
        ));
    }
    Ok(id)
}

fn title(f: &Fields, required: bool) -> Result<Option<String>, ProviderError> {
    let t = if required {
        Some(f.str("title", 1, 100)?)
    } else {
        f.opt_str("title", 1, 100)?
    };
    match t {
        Some(t) if t.trim().is_empty() => Err(invalid("/title", "must not be blank")),
        Some(t) if t.contains(['<', '>']) => Err(invalid("/title", "must not contain `<` or `>`")),
        t => Ok(t.map(|t| t.trim().to_string())),
    }
}

fn description(f: &Fields) -> Result<Option<String>, ProviderError> {
    let Some(d) = f.opt_str("description", 0, 5000)? else {
        return Ok(None);
    };
    if d.len() > 5000 {
        return Err(invalid(
            "/description",
            "must be at most 5000 bytes of UTF-8",
        ));
    }
    if d.contains(['<', '>']) {
        return Err(invalid("/description", "must not contain `<` or `>`"));
    }
    Ok(Some(d))
}

fn tags(f: &Fields) -> Result<Option<Vec<String>>, ProviderError> {
    let Some(tags) = f.opt_str_list("tags", 500, 100)? else {
        return Ok(None);
    };
    // YouTube counts the tags' characters plus a comma between them (500 at most).
    let total: usize =
        tags.iter().map(|t| t.chars().count()).sum::<usize>() + tags.len().saturating_sub(1);
    if total > 500 {
        return Err(invalid(
            "/tags",
            format!("must total at most 500 characters, got {total}"),
        ));
    }
    if let Some(i) = tags.iter().position(|t| t.contains(['<', '>'])) {
        return Err(invalid(
            &format!("/tags/{i}"),
            "must not contain `<` or `>`",
        ));
    }
    Ok(Some(tags))
}

fn category_id(f: &Fields) -> Result<Option<String>, ProviderError> {
    let Some(c) = f.opt_str("category_id", 1, 3)? else {
        return Ok(None);
    };
    if !c.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "/category_id",
            "must be a numeric category id like `22`",
        ));
    }
    Ok(Some(c))
}

const PRIVACY: &[&str] = &["public", "unlisted", "private"];

/// Checks and normalizes an operation's params (defaults filled in, so the
/// approved payload says exactly what will happen).
fn normalize(operation: &str, params: &str) -> Result<Value, ProviderError> {
    match operation {
        "list_my_videos" => {
            let f = Fields::parse(params, &["max_results", "page_token"])?;
            let mut out = json!({"max_results": f.opt_int("max_results", 1, 50)?.unwrap_or(25)});
            if let Some(t) = f.opt_str("page_token", 1, 200)? {
                if !id_chars(&t) {
                    return Err(invalid(
                        "/page_token",
                        "must be a page token from a previous call",
                    ));
                }
                out["page_token"] = json!(t);
            }
            Ok(out)
        }
        "upload_video" => {
            let f = Fields::parse(
                params,
                &[
                    "file",
                    "title",
                    "description",
                    "tags",
                    "category_id",
                    "made_for_kids",
                    "sha256",
                ],
            )?;
            let file = f.str("file", 1, 255)?;
            let file_ok = file.starts_with(|c: char| c.is_ascii_alphanumeric())
                && file
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
                && !file.contains("..");
            if !file_ok {
                return Err(invalid(
                    "/file",
                    "must be a plain file name in the input dir `media` (letters, digits, `.`, `_`, `-`)",
                ));
            }
            let mut out = json!({
                "file": file,
                "title": title(&f, true)?,
                "description": description(&f)?.unwrap_or_default(),
                "tags": tags(&f)?.unwrap_or_default(),
                "category_id": category_id(&f)?.unwrap_or_else(|| "22".into()),
                "made_for_kids": f.opt_bool("made_for_kids")?.unwrap_or(false),
            });
            if let Some(h) = f.opt_str("sha256", 64, 64)? {
                if !h
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(invalid("/sha256", "must be 64 lowercase hex digits"));
                }
                out["sha256"] = json!(h);
            }
            Ok(out)
        }
        "set_privacy" => {
            let f = Fields::parse(params, &["video_id", "privacy_status"])?;
            let id = video_id(&f)?;
            let privacy = f.str("privacy_status", 1, 16)?;
            if !PRIVACY.contains(&privacy.as_str()) {
                return Err(invalid(
                    "/privacy_status",
                    "must be one of public, unlisted, private",
                ));
            }
            Ok(json!({"video_id": id, "privacy_status": privacy}))
        }
        "update_metadata" => {
            let f = Fields::parse(
                params,
                &["video_id", "title", "description", "tags", "category_id"],
            )?;
            let mut out = json!({"video_id": video_id(&f)?});
            if let Some(t) = title(&f, false)? {
                out["title"] = json!(t);
            }
            if let Some(d) = description(&f)? {
                out["description"] = json!(d);
            }
            if let Some(t) = tags(&f)? {
                out["tags"] = json!(t);
            }
            if let Some(c) = category_id(&f)? {
                out["category_id"] = json!(c);
            }
            if out.as_object().is_some_and(|o| o.len() == 1) {
                return Err(invalid(
                    "",
                    "give at least one of title, description, tags, category_id",
                ));
            }
            Ok(out)
        }
        "delete_video" => {
            let f = Fields::parse(params, &["video_id"])?;
            Ok(json!({"video_id": video_id(&f)?}))
        }
        other => Err(invalid("", format!("unknown operation `{other}`"))),
    }
}

fn schema(operation: &str) -> String {
    let video_id = json!({"type": "string", "pattern": VIDEO_ID_PATTERN});
    let title =
        json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_ANGLE_BRACKETS});
    let description = json!({"type": "string", "maxLength": 5000, "pattern": NO_ANGLE_BRACKETS});
    let tags = json!({"type": "array", "maxItems": 500,
        "items": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_ANGLE_BRACKETS}});
    let category = json!({"type": "string", "pattern": "^[0-9]{1,3}$"});
    match operation {
        "list_my_videos" => object_schema(
            json!({
                "max_results": {"type": "integer", "minimum": 1, "maximum": 50, "default": 25},
                "page_token": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z0-9_-]+$"}
            }),
            &[],
        ),
        "upload_video" => object_schema(
            json!({
                "file": {"type": "string", "pattern": FILE_PATTERN,
                         "description": "A file name in the operator's input dir `media`."},
                "title": title,
                "description": description,
                "tags": tags,
                "category_id": {"type": "string", "pattern": "^[0-9]{1,3}$", "default": "22"},
                "made_for_kids": {"type": "boolean", "default": false},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                           "description": "Pins the upload to these exact bytes."}
            }),
            &["file", "title"],
        ),
        "set_privacy" => object_schema(
            json!({
                "video_id": video_id,
                "privacy_status": {"type": "string", "enum": PRIVACY}
            }),
            &["video_id", "privacy_status"],
        ),
        "update_metadata" => {
            let s = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "video_id": video_id,
                    "title": title,
                    "description": description,
                    "tags": tags,
                    "category_id": category
                },
                "required": ["video_id"],
                "minProperties": 2,
                "additionalProperties": false
            });
            s.to_string()
        }
        "delete_video" => object_schema(json!({"video_id": video_id}), &["video_id"]),
        _ => object_schema(json!({}), &[]),
    }
}

const OPERATIONS: &[(&str, &str, Effect, i64)] = &[
    (
        "list_my_videos",
        "List the channel's uploaded videos, newest first, with privacy status.",
        Effect::Read,
        2 * QUOTA_LIST,
    ),
    (
        "upload_video",
        "Upload a video from the input dir `media` as a private video.",
        Effect::Draft,
        QUOTA_INSERT,
    ),
    (
        "set_privacy",
        "Change a video's privacy status (public, unlisted, private).",
        Effect::Publish,
        QUOTA_LIST + QUOTA_UPDATE,
    ),
    (
        "update_metadata",
        "Change a video's title, description, tags or category.",
        Effect::Modify,
        QUOTA_LIST + QUOTA_UPDATE,
    ),
    (
        "delete_video",
        "Delete a video.",
        Effect::Delete,
        QUOTA_LIST + QUOTA_DELETE,
    ),
];

fn declared(operation: &str) -> Option<i64> {
    OPERATIONS
        .iter()
        .find(|(n, ..)| *n == operation)
        .map(|(.., q)| *q)
}

// ---- operations -----------------------------------------------------------

/// What an execution found and did (or would do).
struct Done {
    summary: String,
    external_ref: Option<String>,
    data: Value,
    /// Quota units spent by the requests actually sent.
    spent: i64,
}

fn not_found(id: &str) -> ProviderError {
    ProviderError::Provider(ProviderFailure {
        code: "videoNotFound".into(),
        message: format!("video {id} does not exist or is not visible to this channel"),
        retryable: false,
    })
}

/// Reads one video (`videos.list`), checking it belongs to the configured channel.
fn read_video(base: &str, id: &str, parts: &str) -> Result<Value, ProviderError> {
    let url = format!(
        "{base}/youtube/v3/videos?part={}&id={}",
        enc(parts),
        enc(id)
    );
    let list = api::get_json(&url)?;
    let video = list["items"]
        .as_array()
        .and_then(|items| items.first())
        .cloned()
        .ok_or_else(|| not_found(id))?;
    if let Some(channel) = channel_id()? {
        let owner = video["snippet"]["channelId"].as_str().unwrap_or("");
        if owner != channel {
            return Err(ProviderError::Denied(format!(
                "video {id} belongs to channel `{owner}`, not the configured channel `{channel}`"
            )));
        }
    }
    Ok(video)
}

fn list_my_videos(base: &str, p: &Value) -> Result<Done, ProviderError> {
    let channel_query = match channel_id()? {
        Some(c) => format!("id={}", enc(&c)),
        None => "mine=true".into(),
    };
    let channels = api::get_json(&format!(
        "{base}/youtube/v3/channels?part=contentDetails&{channel_query}"
    ))?;
    let channel = channels["items"]
        .as_array()
        .and_then(|i| i.first())
        .cloned()
        .ok_or_else(|| {
            ProviderError::Provider(ProviderFailure {
                code: "channelNotFound".into(),
                message: "the token's account has no YouTube channel (or the configured one does not exist)".into(),
                retryable: false,
            })
        })?;
    let uploads = channel["contentDetails"]["relatedPlaylists"]["uploads"]
        .as_str()
        .ok_or_else(|| {
            ProviderError::Provider(ProviderFailure {
                code: "no_uploads_playlist".into(),
                message: "the channel has no uploads playlist".into(),
                retryable: false,
            })
        })?;
    let mut url = format!(
        "{base}/youtube/v3/playlistItems?part={}&playlistId={}&maxResults={}",
        enc("snippet,status,contentDetails"),
        enc(uploads),
        p["max_results"].as_i64().unwrap_or(25)
    );
    if let Some(t) = p["page_token"].as_str() {
        url.push_str(&format!("&pageToken={}", enc(t)));
    }
    let page = api::get_json(&url)?;
    let videos: Vec<Value> = page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|it| {
                    json!({
                        "video_id": it["contentDetails"]["videoId"].as_str()
                            .or_else(|| it["snippet"]["resourceId"]["videoId"].as_str()),
                        "title": it["snippet"]["title"],
                        "published_at": it["contentDetails"]["videoPublishedAt"].as_str()
                            .or_else(|| it["snippet"]["publishedAt"].as_str()),
                        "privacy_status": it["status"]["privacyStatus"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Done {
        summary: format!("{} videos", videos.len()),
        external_ref: channel["id"].as_str().map(str::to_string),
        data: json!({
            "channel_id": channel["id"],
            "uploads_playlist_id": uploads,
            "videos": videos,
            "next_page_token": page["nextPageToken"],
            "total_results": page["pageInfo"]["totalResults"],
        }),
        spent: 2 * QUOTA_LIST,
    })
}

fn upload_video(base: &str, p: &Value, mode: Mode) -> Result<Done, ProviderError> {
    let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
    let media = upload::open(&s("file"), p["sha256"].as_str())?;
    let chunk = chunk_bytes()?;
    let init_url = format!(
        "{base}/upload/youtube/v3/videos?uploadType=resumable&part={}",
        enc("snippet,status")
    );
    let metadata = json!({
        "snippet": {
            "title": p["title"],
            "description": p["description"],
            "tags": p["tags"],
            "categoryId": p["category_id"],
        },
        "status": {
            "privacyStatus": "private",
            "selfDeclaredMadeForKids": p["made_for_kids"],
        },
    });
    if mode == Mode::DryRun {
        let ranges = upload::ranges(media.size, chunk);
        return Ok(Done {
            summary: format!(
                "would upload {} ({} bytes) as private video \"{}\"",
                s("file"),
                media.size,
                s("title")
            ),
            external_ref: None,
            data: json!({
                "file": {"path": media.path, "bytes": media.size, "content_type": media.content_type,
                         "sha256_checked": p["sha256"].is_string()},
                "would_send": [
                    {
                        "method": "POST",
                        "url": init_url,
                        "headers": {
                            "authorization": "(injected by the host: Bearer {YOUTUBE_OAUTH_TOKEN})",
                            "content-type": "application/json; charset=UTF-8",
                            "x-upload-content-length": media.size.to_string(),
                            "x-upload-content-type": media.content_type,
                        },
                        "body": metadata,
                    },
                    {
                        "method": "PUT",
                        "url": "(the upload session URL from the Location header of the POST's answer)",
                        "headers": {"content-type": media.content_type},
                        "chunks": ranges.len(),
                        "chunk_bytes": chunk,
                        "content_range_first": ranges.first(),
                        "content_range_last": ranges.last(),
                        "body": format!("{} bytes of {}", media.size, media.path),
                    },
                ],
            }),
            spent: 0,
        });
    }
    let session = upload::start(&init_url, &origin_of(base), &metadata, &media)?;
    let video = upload::send(&session, &media, chunk)?;
    let id = video["id"].as_str().map(str::to_string);
    Ok(Done {
        summary: format!(
            "uploaded {} ({} bytes) as private video {}",
            s("file"),
            media.size,
            id.as_deref().unwrap_or("(no id)")
        ),
        external_ref: id,
        data: json!({
            "video_id": video["id"],
            "privacy_status": video["status"]["privacyStatus"],
            "upload_status": video["status"]["uploadStatus"],
            "bytes": media.size,
            "video": video,
        }),
        spent: QUOTA_INSERT,
    })
}

/// The mutable `status` fields of a video, copied so an update keeps them.
const STATUS_MUTABLE: &[&str] = &[
    "privacyStatus",
    "embeddable",
    "license",
    "publicStatsViewable",
    "publishAt",
    "selfDeclaredMadeForKids",
    "containsSyntheticMedia",
];

fn set_privacy(base: &str, p: &Value, mode: Mode) -> Result<Done, ProviderError> {
    let id = p["video_id"].as_str().unwrap_or("");
    let want = p["privacy_status"].as_str().unwrap_or("");
    let video = read_video(base, id, "snippet,status")?;
    let current = video["status"]["privacyStatus"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if current == want {
        return Ok(Done {
            summary: format!("video {id} is already {want}; nothing to change"),
            external_ref: Some(id.to_string()),
            data: json!({"video_id": id, "privacy_status": want, "changed": false, "would_send": []}),
            spent: QUOTA_LIST,
        });
    }
    let mut status = json!({});
    for key in STATUS_MUTABLE {
        if let Some(v) = video["status"].get(*key).filter(|v| !v.is_null()) {
            status[*key] = v.clone();
        }
    }
    status["privacyStatus"] = json!(want);
    if want != "private" {
        // A scheduled publish time is only allowed on private videos.
        if let Some(o) = status.as_object_mut() {
            o.remove("publishAt");
        }
    }
    let url = format!("{base}/youtube/v3/videos?part=status");
    let body = json!({"id": id, "status": status});
    if mode == Mode::DryRun {
        return Ok(Done {
            summary: format!("would change video {id} from {current} to {want}"),
            external_ref: Some(id.to_string()),
            data: json!({"video_id": id, "from": current, "to": want, "changed": false,
                         "would_send": [preview("PUT", &url, Some(body))]}),
            spent: QUOTA_LIST,
        });
    }
    let updated = api::send_json(
        "PUT",
        &url,
        &body,
        &[("invalidPrivacyStatus", "/privacy_status")],
    )?;
    Ok(Done {
        summary: format!("video {id} is now {want} (was {current})"),
        external_ref: Some(id.to_string()),
        data: json!({"video_id": id, "from": current, "to": want, "changed": true,
                     "privacy_status": updated["status"]["privacyStatus"]}),
        spent: QUOTA_LIST + QUOTA_UPDATE,
    })
}

fn update_metadata(base: &str, p: &Value, mode: Mode) -> Result<Done, ProviderError> {
    let id = p["video_id"].as_str().unwrap_or("");
    let video = read_video(base, id, "snippet")?;
    let cur = &video["snippet"];
    let pick = |param: &str, field: &str| {
        if p[param].is_null() {
            cur[field].clone()
        } else {
            p[param].clone()
        }
    };
    let mut snippet = json!({
        "title": pick("title", "title"),
        "description": pick("description", "description"),
        "tags": pick("tags", "tags"),
        "categoryId": if p["category_id"].is_null() && cur["categoryId"].is_null() {
            json!("22")
        } else {
            pick("category_id", "categoryId")
        },
    });
    for keep in ["defaultLanguage", "defaultAudioLanguage"] {
        if !cur[keep].is_null() {
            snippet[keep] = cur[keep].clone();
        }
    }
    if let Some(o) = snippet.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    let url = format!("{base}/youtube/v3/videos?part=snippet");
    let body = json!({"id": id, "snippet": snippet});
    let changed: Vec<&str> = ["title", "description", "tags", "category_id"]
        .into_iter()
        .filter(|k| !p[*k].is_null())
        .collect();
    if mode == Mode::DryRun {
        return Ok(Done {
            summary: format!("would update {} of video {id}", changed.join(", ")),
            external_ref: Some(id.to_string()),
            data: json!({"video_id": id, "current": cur, "would_send": [preview("PUT", &url, Some(body))]}),
            spent: QUOTA_LIST,
        });
    }
    let fields: api::ReasonFields = &[
        ("invalidTitle", "/title"),
        ("invalidDescription", "/description"),
        ("invalidTags", "/tags"),
        ("invalidCategoryId", "/category_id"),
    ];
    let updated = api::send_json("PUT", &url, &body, fields)?;
    Ok(Done {
        summary: format!("updated {} of video {id}", changed.join(", ")),
        external_ref: Some(id.to_string()),
        data: json!({"video_id": id, "snippet": updated["snippet"]}),
        spent: QUOTA_LIST + QUOTA_UPDATE,
    })
}

fn delete_video(base: &str, p: &Value, mode: Mode) -> Result<Done, ProviderError> {
    let id = p["video_id"].as_str().unwrap_or("");
    let video = read_video(base, id, "snippet")?;
    let title = video["snippet"]["title"].clone();
    let url = format!("{base}/youtube/v3/videos?id={}", enc(id));
    if mode == Mode::DryRun {
        return Ok(Done {
            summary: format!(
                "would delete video {id} ({})",
                title.as_str().unwrap_or("untitled")
            ),
            external_ref: Some(id.to_string()),
            data: json!({"video_id": id, "title": title, "would_send": [preview("DELETE", &url, None)]}),
            spent: QUOTA_LIST,
        });
    }
    let resp = autopack_sdk::http::Request::new("DELETE", &url)
        .send()
        .map_err(|e| api::transport(e, true))?;
    api::check(&resp, &[])?;
    Ok(Done {
        summary: format!("deleted video {id}"),
        external_ref: Some(id.to_string()),
        data: json!({"video_id": id, "title": title, "deleted": true}),
        spent: QUOTA_LIST + QUOTA_DELETE,
    })
}

impl Guest for Youtube {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "youtube".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: OPERATIONS
                .iter()
                .map(|(name, summary, effect, units)| Operation {
                    name: (*name).into(),
                    summary: (*summary).into(),
                    effect: *effect,
                    params_schema: schema(name),
                    spend: SpendSource::Fixed(quota(*units)),
                })
                .collect(),
            // Uploads and API calls share the base URL's origin; the upload
            // session URL must come back on it too.
            origins: base_url().map(|u| vec![origin_of(&u)]).unwrap_or_default(),
            secrets: vec!["YOUTUBE_OAUTH_TOKEN".into()],
            settings: vec![
                "base_url".into(),
                "channel_id".into(),
                "upload_chunk_bytes".into(),
            ],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Validated, ProviderError> {
        let normalized = normalize(&operation, &params)?;
        Ok(Validated {
            params: normalized.to_string(),
            spend: declared(&operation).map(quota),
        })
    }

    fn execute(
        ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Outcome, ProviderError> {
        let p = normalize(&operation, &params)?;
        let base = base_url()?;
        let mode = ctx.mode;
        let done = match operation.as_str() {
            "list_my_videos" => list_my_videos(&base, &p)?,
            "upload_video" => upload_video(&base, &p, mode)?,
            "set_privacy" => set_privacy(&base, &p, mode)?,
            "update_metadata" => update_metadata(&base, &p, mode)?,
            "delete_video" => delete_video(&base, &p, mode)?,
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        };
        let read = operation == "list_my_videos";
        let previewed = mode == Mode::DryRun && !read;
        let mut data = done.data;
        if previewed {
            data["dry_run"] = json!(true);
            data["quota_spent_by_reads"] = json!(done.spent);
        }
        Ok(Outcome {
            status: if previewed {
                OutcomeStatus::Previewed
            } else {
                OutcomeStatus::Completed
            },
            external_ref: done.external_ref,
            summary: done.summary,
            // A dry-run reserves nothing, so it reports no spend; its reads'
            // quota is in the data.
            spend: (mode == Mode::Live).then(|| quota(done.spent)),
            data: data.to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(Youtube);
