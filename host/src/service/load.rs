//! Loading what the service decides with: the catalog from the providers' `describe`, the
//! project policies from `policies_dir`, and the audit records of those loads (I10).

use super::{Host, ServiceError};
use crate::config::HostConfig;
use crate::governance::{
    Catalog, OperationName, Policy, PolicyError, PolicyErrorKind, PolicySet, PolicyTests,
};
use crate::ledger::AuditEvent;
use crate::runtime::types::ProviderInfo;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Builds the catalog from the providers' `describe` output.
pub fn catalog<'a>(
    infos: impl IntoIterator<Item = &'a ProviderInfo>,
) -> Result<Catalog, ServiceError> {
    let mut catalog = Catalog::new();
    for info in infos {
        let domain: crate::governance::Domain = info
            .domain
            .parse()
            .map_err(|e| ServiceError::Start(format!("provider domain `{}`: {e}", info.domain)))?;
        for op in &info.operations {
            let name: OperationName = op.name.parse().map_err(|e| {
                ServiceError::Start(format!("operation `{}.{}`: {e}", info.domain, op.name))
            })?;
            catalog.insert(domain.clone(), name, op.effect);
        }
    }
    Ok(catalog)
}

/// Whether `path` is a policy file (`*.toml`, not `*.tests.toml`).
fn is_policy_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".toml") && !name.ends_with(".tests.toml")
}

/// Whether `path` is a policy test file (`*.tests.toml`).
fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tests.toml"))
}

fn io_error(path: &Path, e: std::io::Error) -> PolicyError {
    PolicyError::new(
        &path.display().to_string(),
        None,
        "",
        PolicyErrorKind::InvalidValue(format!("cannot read: {e}")),
    )
}

/// The files of `path` (itself if a file; its entries, sorted, if a directory) that `keep`.
fn files(path: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>, PolicyError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| io_error(path, e))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && keep(p))
        .collect();
    out.sort();
    Ok(out)
}

/// Parses every policy file of `path` (a file or a directory): the policies that parse,
/// and every error (phase 1, file alone).
pub fn parse_policies(path: &Path) -> (Vec<Policy>, Vec<PolicyError>) {
    let list = match files(path, is_policy_file) {
        Ok(l) => l,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut policies = Vec::new();
    let mut errors = Vec::new();
    for file in list {
        let shown = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => match Policy::parse(&shown, &text) {
                Ok(p) => policies.push(p),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(io_error(&file, e)),
        }
    }
    (policies, errors)
}

/// Parses every policy test file (`*.tests.toml`) of `path`.
pub fn parse_tests(path: &Path) -> Result<Vec<PolicyTests>, Vec<PolicyError>> {
    let list = files(path, is_test_file).map_err(|e| vec![e])?;
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    for file in list {
        let shown = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => match PolicyTests::parse(&shown, &text) {
                Ok(t) => tests.push(t),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(io_error(&file, e)),
        }
    }
    if errors.is_empty() {
        Ok(tests)
    } else {
        Err(errors)
    }
}

/// Parses the policies of `path` into a set and checks them against `catalog` (both phases);
/// every error of every file is reported.
pub fn check_policies(path: &Path, catalog: &Catalog) -> Result<PolicySet, Vec<PolicyError>> {
    let (policies, mut errors) = parse_policies(path);
    let mut set = PolicySet::new();
    for p in policies {
        if let Err(e) = set.insert(p) {
            errors.push(e);
        }
    }
    if let Err(mut more) = set.check(catalog) {
        errors.append(&mut more);
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

/// The policies of the service: every policy in `dir`, checked; a missing directory means
/// no policy at all (every project is denied everything, I1).
pub fn policies(dir: &Path, catalog: &Catalog) -> Result<PolicySet, ServiceError> {
    if !dir.exists() {
        tracing::warn!(dir = %dir.display(), "policies dir does not exist: every project is denied");
        return Ok(PolicySet::new());
    }
    check_policies(dir, catalog).map_err(ServiceError::Policy)
}

/// Appends `config.loaded` and one `policy.loaded` per policy to the audit chain.
pub(super) async fn audit_loads(host: &Host, config: &HostConfig) -> Result<(), ServiceError> {
    let now = host.now();
    let providers: Vec<_> = host
        .providers
        .values()
        .map(|p| json!({"domain": p.domain(), "sha256": p.digest(), "version": p.info().version}))
        .collect();
    let file = config
        .file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "(built-in defaults)".into());
    let mut e = AuditEvent::system(now).with_event("config.loaded");
    e.outcome = Some(format!("loaded {file}"));
    e.reasons = json!({
        "file": file,
        "providers": providers,
        "policies": host.policies.len(),
        "recovered_unknown": host.recovered.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "external_actions_forced_off": host.external_actions_off,
    });
    host.ledger.record_event(e).await?;
    for p in host.policies.iter() {
        let mut e = AuditEvent::system(now)
            .with_event("policy.loaded")
            .with_policy_digest(p.digest());
        e.project = Some(p.project().clone());
        e.outcome = Some(format!("loaded {}", p.file()));
        host.ledger.record_event(e).await?;
    }
    Ok(())
}
