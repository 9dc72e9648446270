//! `hostile-fs-escape` (domain `hostile_fs_escape`): tries to read files outside
//! its scratch and input dirs, both through `std::fs` (paths resolved by
//! wasi-libc against the preopens) and through raw `wasi:filesystem` calls on
//! the preopened descriptors (so nothing in libc can hide an escape).
//!
//! Operations (all `read`; params `scratch_dir`, default `/scratch`, and
//! `input_dir`, default `/input/media`):
//! - `dotdot`: `../../../../etc/passwd` relative to the scratch dir, the input
//!   dir and the current dir, `/scratch/../../etc/passwd`, listing the parent
//!   of each preopen, and `open-at("..")` on each preopen.
//! - `absolute`: `/etc/passwd`, `/etc/hostname`, listing `/`, and
//!   `open-at("/etc/passwd")` on each preopen.
//! - `symlink`: in every preopen, creates symlinks (`symlink-at`) pointing to
//!   `/etc/passwd`, to `../../../../etc/passwd` and to `../../..` and reads
//!   through them, raw and with `std::fs`; reads `escape-link` in every
//!   preopen and `<input_dir>/escape-link`, which the host test pre-creates as
//!   a symlink pointing outside the input dir.
//!
//! Every attempt is made and none panics. Each op returns `Ok` with `data`
//! `{"read": null | [{"attempt", "content"}], "errors": [{"attempt",
//! "error"}], "control": {...}, "preopens": [...]}`. The host test must
//! observe `read == null` (nothing outside leaked), and should check
//! `control.scratch_ok == true` so that the attempts ran against the right
//! paths (a wrong path would make every attempt fail for a boring reason).

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Map, Value, json};
use std::fs;
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

struct FsEscape;

/// What the attempts found: anything in `read` is a leak.
#[derive(Default)]
struct Report {
    read: Vec<Value>,
    errors: Vec<Value>,
}

impl Report {
    fn record(&mut self, attempt: &str, result: Result<String, String>) {
        match result {
            Ok(content) => {
                let content: String = content.chars().take(512).collect();
                self.read
                    .push(json!({"attempt": attempt, "content": content}));
            }
            Err(error) => self
                .errors
                .push(json!({"attempt": attempt, "error": error})),
        }
    }

    fn read_file(&mut self, path: &str) {
        let r = fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string());
        self.record(&format!("std read {path}"), r);
    }

    fn list_dir(&mut self, path: &str) {
        let r = fs::read_dir(path)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .map_err(|e| e.to_string());
        self.record(&format!("std list {path}"), r);
    }

    /// `open-at` on a preopened descriptor, then read the file or list the dir.
    fn raw(&mut self, dir: &Descriptor, name: &str, path: &str, follow: bool) {
        let flags = if follow {
            PathFlags::SYMLINK_FOLLOW
        } else {
            PathFlags::empty()
        };
        let r = match dir.open_at(flags, path, OpenFlags::empty(), DescriptorFlags::READ) {
            Err(e) => Err(format!("open-at: {e:?}")),
            Ok(d) => read_descriptor(&d),
        };
        self.record(&format!("raw open-at `{path}` on preopen `{name}`"), r);
    }

    fn finish(self, control: Value) -> Outcome {
        let leaked = !self.read.is_empty();
        let preopens: Vec<String> = get_directories().into_iter().map(|(_, n)| n).collect();
        Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: if leaked {
                format!("ESCAPED: {} attempts read outside", self.read.len())
            } else {
                format!("contained: all {} attempts failed", self.errors.len())
            },
            spend: None,
            data: json!({
                "read": if leaked { Value::Array(self.read) } else { Value::Null },
                "errors": self.errors,
                "control": control,
                "preopens": preopens,
            })
            .to_string(),
        }
    }
}

fn read_descriptor(d: &Descriptor) -> Result<String, String> {
    if let Ok((bytes, _)) = d.read(4096, 0) {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    let stream = d.read_directory().map_err(|e| format!("read: {e:?}"))?;
    let mut names = Vec::new();
    while let Ok(Some(entry)) = stream.read_directory_entry() {
        names.push(entry.name);
    }
    Ok(names.join(","))
}

/// A positive control: the scratch dir works, so failures above are denials.
fn control(scratch: &str) -> Value {
    let path = format!("{scratch}/control.txt");
    let ok = fs::write(&path, b"control").is_ok()
        && fs::read(&path).map(|b| b == b"control").unwrap_or(false);
    let _ = fs::remove_file(&path);
    json!({"scratch_ok": ok, "scratch_dir": scratch})
}

fn dotdot(r: &mut Report, scratch: &str, input: &str) {
    r.read_file(&format!("{scratch}/../../../../etc/passwd"));
    r.read_file(&format!("{input}/../../../../etc/passwd"));
    r.read_file("/scratch/../../etc/passwd");
    r.read_file("../../../../etc/passwd");
    r.read_file(&format!("{scratch}/sub/../../../etc/passwd"));
    r.list_dir(&format!("{scratch}/.."));
    r.list_dir(&format!("{input}/.."));
    r.list_dir("..");
    for (dir, name) in get_directories() {
        r.raw(&dir, &name, "..", false);
        r.raw(&dir, &name, "../../../../etc/passwd", false);
        r.raw(&dir, &name, "./x/../../etc/passwd", true);
    }
}

fn absolute(r: &mut Report) {
    r.read_file("/etc/passwd");
    r.read_file("/etc/hostname");
    r.list_dir("/");
    r.list_dir("/etc");
    for (dir, name) in get_directories() {
        r.raw(&dir, &name, "/etc/passwd", false);
        r.raw(&dir, &name, "/", false);
    }
}

fn symlink(r: &mut Report, input: &str) {
    let links = [
        ("link-abs", "/etc/passwd"),
        ("link-rel", "../../../../etc/passwd"),
        ("link-up", "../../.."),
    ];
    // Links are made with `symlink-at` on each preopen (std has no stable
    // symlink on WASI), then read both raw and through `std::fs`.
    for (dir, name) in get_directories() {
        let base = name.trim_end_matches('/');
        for (link, target) in links {
            let _ = dir.unlink_file_at(link);
            if let Err(e) = dir.symlink_at(target, link) {
                r.errors.push(json!({
                    "attempt": format!("symlink-at `{link}` -> `{target}` on preopen `{name}`"),
                    "error": format!("{e:?}"),
                }));
            }
            r.raw(&dir, &name, link, true);
            r.read_file(&format!("{base}/{link}"));
        }
        r.raw(&dir, &name, "link-up/etc/passwd", true);
        r.read_file(&format!("{base}/link-up/etc/passwd"));
        r.list_dir(&format!("{base}/link-up"));
        r.raw(&dir, &name, "escape-link", true);
        r.read_file(&format!("{base}/escape-link"));
        for (link, _) in links {
            let _ = dir.unlink_file_at(link);
        }
    }
    r.read_file(&format!("{input}/escape-link"));
    r.list_dir(&format!("{input}/escape-link"));
}

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: json!({
            "type": "object",
            "properties": {
                "scratch_dir": {"type": "string"},
                "input_dir": {"type": "string"}
            }
        })
        .to_string(),
        spend: SpendSource::None,
    }
}

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

impl Guest for FsEscape {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_fs_escape".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("dotdot", "Escape with `..`."),
                op("absolute", "Escape with absolute paths."),
                op("symlink", "Escape through symlinks."),
            ],
            origins: vec![],
            secrets: vec![],
            settings: vec![],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        let map = object(&p)?;
        match operation.as_str() {
            "dotdot" | "absolute" | "symlink" => Ok(Validated {
                params: Value::Object(map).to_string(),
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let scratch = map
            .get("scratch_dir")
            .and_then(Value::as_str)
            .unwrap_or("/scratch");
        let input = map
            .get("input_dir")
            .and_then(Value::as_str)
            .unwrap_or("/input/media");
        let mut report = Report::default();
        match operation.as_str() {
            "dotdot" => dotdot(&mut report, scratch, input),
            "absolute" => absolute(&mut report),
            "symlink" => symlink(&mut report, input),
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        }
        Ok(report.finish(control(scratch)))
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(FsEscape);
