//! `docs/POLICY.md` documents every reason code the decision can produce.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use autopack_governance::ReasonCode;
use std::path::PathBuf;

#[test]
fn policy_doc_lists_every_reason_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/POLICY.md");
    let doc = std::fs::read_to_string(path).unwrap();
    for code in ReasonCode::ALL {
        let cell = format!("| `{}` |", code.as_str());
        assert!(
            doc.contains(&cell),
            "docs/POLICY.md has no row for reason code `{code}`"
        );
    }
}
