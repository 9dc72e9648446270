//! `hostile-input-write` (domain `hostile_input_write`): tries to change a
//! read-only input dir, with `std::fs` and with raw `wasi:filesystem` calls on
//! the input dir's preopened descriptor.
//!
//! Params of every op: `input_dir` (default `/input/media`, must be the name
//! of the input preopen for the raw attempts), `file` (an existing file in it,
//! default `hello.txt`), `scratch_dir` (default `/scratch`).
//!
//! Operations (all `read`):
//! - `create`: create a new file (`File::create`, `create_new`, raw `open-at`
//!   with `create`).
//! - `overwrite`: write over, append to, and truncate the existing file.
//! - `delete`: remove the existing file.
//! - `rename`: rename the existing file inside the input dir and move it to
//!   the scratch dir.
//! - `mkdir`: create a directory (std and raw `create-directory-at`).
//! - `touch`: change the existing file's timestamps (raw `set-times-at`).
//!
//! Each returns `Ok` with `data` `{"succeeded": [...], "errors": [...],
//! "control": {"read_ok": bool}}`. The host test must observe `succeeded ==
//! []` and an unchanged input dir on disk; `control.read_ok` proves the file
//! was reachable, so the failures are denials and not wrong paths.

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Map, Value, json};
use std::fs::{self, OpenOptions};
use std::io::Write;
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, NewTimestamp, OpenFlags, PathFlags};

struct InputWrite;

#[derive(Default)]
struct Report {
    succeeded: Vec<String>,
    errors: Vec<Value>,
}

impl Report {
    fn record<T, E: std::fmt::Debug>(&mut self, attempt: &str, r: Result<T, E>) {
        match r {
            Ok(_) => self.succeeded.push(attempt.to_string()),
            Err(e) => self
                .errors
                .push(json!({"attempt": attempt, "error": format!("{e:?}")})),
        }
    }
}

fn input_preopen(input: &str) -> Option<Descriptor> {
    let want = input.trim_end_matches('/');
    get_directories()
        .into_iter()
        .find(|(_, name)| name.trim_end_matches('/') == want)
        .map(|(d, _)| d)
}

fn raw_open(
    dir: &Descriptor,
    path: &str,
    open: OpenFlags,
    flags: DescriptorFlags,
) -> Result<(), String> {
    let d = dir
        .open_at(PathFlags::empty(), path, open, flags)
        .map_err(|e| format!("open-at: {e:?}"))?;
    if flags.contains(DescriptorFlags::WRITE) {
        d.write(b"hostile", 0)
            .map_err(|e| format!("write: {e:?}"))?;
    }
    Ok(())
}

fn run(
    op: &str,
    input: &str,
    file: &str,
    scratch: &str,
    r: &mut Report,
) -> Result<(), ProviderError> {
    let existing = format!("{input}/{file}");
    let raw = input_preopen(input);
    if raw.is_none() {
        r.errors.push(json!({
            "attempt": "find the input preopen",
            "error": format!("no preopen named `{input}`"),
        }));
    }
    let write = DescriptorFlags::READ | DescriptorFlags::WRITE;
    match op {
        "create" => {
            let new = format!("{input}/created.txt");
            r.record(&format!("std create {new}"), fs::File::create(&new));
            r.record(
                &format!("std create_new {new}"),
                OpenOptions::new().write(true).create_new(true).open(&new),
            );
            r.record(&format!("std write {new}"), fs::write(&new, b"hostile"));
            if let Some(d) = &raw {
                r.record(
                    "raw open-at created-raw.txt with create",
                    raw_open(d, "created-raw.txt", OpenFlags::CREATE, write),
                );
            }
        }
        "overwrite" => {
            r.record(
                &format!("std write {existing}"),
                fs::write(&existing, b"hostile"),
            );
            r.record(
                &format!("std append {existing}"),
                OpenOptions::new()
                    .append(true)
                    .open(&existing)
                    .and_then(|mut f| f.write_all(b"hostile")),
            );
            r.record(
                &format!("std truncate {existing}"),
                OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&existing),
            );
            r.record(
                &format!("std set_len {existing}"),
                OpenOptions::new()
                    .write(true)
                    .open(&existing)
                    .and_then(|f| f.set_len(0)),
            );
            if let Some(d) = &raw {
                r.record(
                    "raw open-at for write",
                    raw_open(d, file, OpenFlags::empty(), write),
                );
                r.record(
                    "raw open-at with truncate",
                    raw_open(d, file, OpenFlags::TRUNCATE, DescriptorFlags::READ),
                );
                let read_only = d.open_at(
                    PathFlags::empty(),
                    file,
                    OpenFlags::empty(),
                    DescriptorFlags::READ,
                );
                r.record(
                    "raw write through a read-only descriptor",
                    read_only
                        .map_err(|e| format!("open-at: {e:?}"))
                        .and_then(|f| f.write(b"hostile", 0).map_err(|e| format!("write: {e:?}"))),
                );
            }
        }
        "delete" => {
            r.record(
                &format!("std remove_file {existing}"),
                fs::remove_file(&existing),
            );
            if let Some(d) = &raw {
                r.record("raw unlink-file-at", d.unlink_file_at(file));
            }
        }
        "rename" => {
            let renamed = format!("{input}/renamed.txt");
            let stolen = format!("{scratch}/stolen.txt");
            r.record(
                &format!("std rename to {renamed}"),
                fs::rename(&existing, &renamed),
            );
            r.record(
                &format!("std rename to {stolen}"),
                fs::rename(&existing, &stolen),
            );
            if let Some(d) = &raw {
                r.record("raw rename-at", d.rename_at(file, d, "renamed-raw.txt"));
            }
        }
        "mkdir" => {
            let dir = format!("{input}/newdir");
            r.record(&format!("std create_dir {dir}"), fs::create_dir(&dir));
            if let Some(d) = &raw {
                r.record(
                    "raw create-directory-at",
                    d.create_directory_at("newdir-raw"),
                );
            }
        }
        "touch" => {
            if let Some(d) = &raw {
                r.record(
                    "raw set-times-at",
                    d.set_times_at(
                        PathFlags::empty(),
                        file,
                        NewTimestamp::Now,
                        NewTimestamp::Now,
                    ),
                );
            }
        }
        other => return Err(invalid("", format!("unknown operation `{other}`"))),
    }
    Ok(())
}

const OPS: [&str; 6] = ["create", "overwrite", "delete", "rename", "mkdir", "touch"];

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

impl Guest for InputWrite {
    fn describe() -> ProviderInfo {
        let schema = json!({
            "type": "object",
            "properties": {
                "input_dir": {"type": "string"},
                "file": {"type": "string"},
                "scratch_dir": {"type": "string"}
            }
        })
        .to_string();
        ProviderInfo {
            domain: "hostile_input_write".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: OPS
                .iter()
                .map(|name| Operation {
                    name: (*name).into(),
                    summary: format!("Try to {name} in the read-only input dir."),
                    effect: Effect::Read,
                    params_schema: schema.clone(),
                    spend: SpendSource::None,
                })
                .collect(),
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
        if !OPS.contains(&operation.as_str()) {
            return Err(invalid("", format!("unknown operation `{operation}`")));
        }
        Ok(Validated {
            params: Value::Object(map).to_string(),
            spend: None,
        })
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let get = |k: &str, d: &'static str| -> String {
            map.get(k).and_then(Value::as_str).unwrap_or(d).to_string()
        };
        let (input, file, scratch) = (
            get("input_dir", "/input/media"),
            get("file", "hello.txt"),
            get("scratch_dir", "/scratch"),
        );
        let mut report = Report::default();
        run(&operation, &input, &file, &scratch, &mut report)?;
        let read_ok = fs::read(format!("{input}/{file}")).is_ok();
        let changed = !report.succeeded.is_empty();
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: if changed {
                format!("CHANGED the input dir {} times", report.succeeded.len())
            } else {
                format!("input dir intact: {} attempts refused", report.errors.len())
            },
            spend: None,
            data: json!({
                "succeeded": report.succeeded,
                "errors": report.errors,
                "control": {"read_ok": read_ok, "input_dir": input, "file": file},
            })
            .to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(InputWrite);
