//! I12: the OpenAPI document is valid OpenAPI 3.1, served at `/openapi.json`, and agrees
//! with `docs/API.md` on paths, methods, roles and error codes.

use super::TestApp;
use autopack_host::api::error::API_CODES;
use autopack_host::api::openapi::{self, SERVICE_CODES, status_of};
use autopack_host::governance::ActionId;
use autopack_host::ledger::ActionStatus;
use autopack_host::service::ServiceError;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn i12_the_openapi_document_validates_against_the_openapi_3_1_schema() {
    let schema: Value = serde_json::from_str(&repo_file(
        "tests/specs/openapi/oas-3.1-schema-2022-10-07.json",
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc = openapi::document();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator is not vacuous: a broken document fails it.
    let mut broken = doc.clone();
    broken["paths"]["/health"]["get"]["responses"] = json!("nope");
    assert!(!validator.is_valid(&broken));
    let mut broken = doc;
    broken["openapi"] = json!("2.0");
    assert!(!validator.is_valid(&broken));
}

#[tokio::test]
async fn i12_the_served_document_is_the_generated_one() {
    let app = TestApp::new().await;
    let r = app.call(Some("viewer"), "GET", "/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, openapi::document());
}

/// `(method, path) → (who, codes)` from the document.
fn from_openapi() -> BTreeMap<(String, String), (String, BTreeSet<String>)> {
    let doc = openapi::document();
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let codes = op["x-autopack-error-codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            out.insert(
                (method.to_ascii_uppercase(), path.clone()),
                (op["x-autopack-role"].as_str().unwrap().to_owned(), codes),
            );
        }
    }
    out
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().trim_matches('`').to_owned())
        .collect()
}

/// The rows of the markdown table under `heading` in `docs/API.md`.
fn table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/API.md has no `{heading}`"));
    doc[start..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(cells)
        .collect()
}

#[test]
fn i12_docs_api_md_matches_the_openapi_document() {
    let doc = repo_file("docs/API.md");
    let mut documented = BTreeMap::new();
    for row in table(&doc, "## Routes") {
        let codes: BTreeSet<String> = row[3]
            .split(',')
            .map(|c| c.trim().trim_matches('`').to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        documented.insert((row[0].clone(), row[1].clone()), (row[2].clone(), codes));
    }
    let generated = from_openapi();
    let expected_rows: Vec<String> = generated
        .iter()
        .map(|((m, p), (who, codes))| {
            let codes: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
            format!("| {m} | `{p}` | {who} | {} |", codes.join(", "))
        })
        .collect();
    assert_eq!(
        documented,
        generated,
        "docs/API.md's route table differs from the route table; the rows should read:\n{}",
        expected_rows.join("\n")
    );
    // Every code any route names is in the error code table with its status.
    let mut code_table = BTreeMap::new();
    for row in table(&doc, "## Error codes") {
        code_table.insert(row[0].clone(), row[1].parse::<u16>().unwrap());
    }
    let used: BTreeSet<String> = generated.values().flat_map(|(_, c)| c.clone()).collect();
    for code in &used {
        assert_eq!(
            code_table.get(code),
            Some(&status_of(code)),
            "`{code}` (status {}) in docs/API.md's error code table",
            status_of(code)
        );
    }
    for code in code_table.keys() {
        assert!(
            used.contains(code) || API_CODES.iter().any(|(c, _, _)| c == code),
            "docs/API.md lists `{code}`, which no route answers with"
        );
    }
}

#[test]
fn the_status_table_agrees_with_the_service() {
    let id: ActionId = "act_01J9Z3K4W5X6Y7Z8A9B0C1D2E3".parse().unwrap();
    let samples = vec![
        ServiceError::InvalidRequest("x".into()),
        ServiceError::InvalidParams {
            stage: "schema",
            messages: vec![],
        },
        ServiceError::NotFound {
            what: "action",
            id: "x".into(),
        },
        ServiceError::Denied {
            decision: json!({}),
            action_id: None,
        },
        ServiceError::IdempotencyKeyReused {
            key: "k".into(),
            action_id: id,
        },
        ServiceError::ActionInProgress { id: "a".into() },
        ServiceError::PayloadHashMismatch {
            id: "a".into(),
            expected: "x".into(),
            got: "y".into(),
        },
        ServiceError::ApprovalByProposer {
            id: "a".into(),
            approver: "p".into(),
        },
        ServiceError::DuplicateApproval {
            id: "a".into(),
            approver: "p".into(),
        },
        ServiceError::InvalidState {
            id: "a".into(),
            actual: ActionStatus::Denied,
            what: "x".into(),
        },
        ServiceError::Expired { id: "a".into() },
        ServiceError::LookupInconclusive {
            id: "a".into(),
            message: "m".into(),
        },
        ServiceError::Unavailable("db".into()),
    ];
    openapi::service_codes_match(&samples).unwrap();
    assert!(SERVICE_CODES.iter().all(|(c, _)| !c.is_empty()));
}
