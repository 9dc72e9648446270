//! `docs/GOVERNANCE.md` names only tests that exist (DESIGN I12).

use std::path::Path;

/// Every `file::test_name` reference in GOVERNANCE.md (inside backticks).
fn references(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in text.split('`').skip(1).step_by(2) {
        if let Some((file, name)) = chunk.rsplit_once("::")
            && (file.ends_with(".rs") || file.ends_with('/'))
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push((file.to_owned(), name.to_owned()));
        }
    }
    out
}

fn sources(path: &Path, out: &mut String) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            sources(&e.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push_str(&std::fs::read_to_string(path).unwrap());
    }
}

#[test]
fn governance_md_names_only_existing_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("docs/GOVERNANCE.md")).unwrap();
    let refs = references(&text);
    assert!(refs.len() >= 20, "GOVERNANCE.md lists the tests: {refs:?}");
    let mut missing = Vec::new();
    for (file, name) in &refs {
        let path = root.join(file);
        assert!(
            path.exists(),
            "GOVERNANCE.md names `{file}`, which does not exist"
        );
        let mut src = String::new();
        sources(&path, &mut src);
        if !src.contains(&format!("fn {name}(")) {
            missing.push(format!("{file}::{name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "GOVERNANCE.md names tests that do not exist: {missing:?}"
    );
}
