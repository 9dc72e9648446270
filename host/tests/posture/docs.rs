//! `docs/SECRETS.md` names only tests that exist, and names every production refusal test.

use std::path::Path;

fn read(rel: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(rel)).unwrap()
}

/// Backticked spans of the document.
fn code_spans(doc: &str) -> Vec<&str> {
    doc.split('`').skip(1).step_by(2).collect()
}

#[test]
fn secrets_md_names_only_existing_tests() {
    let doc = read("docs/SECRETS.md");
    let sources = [
        ("production", read("host/tests/posture/production.rs")),
        ("secrets_files", read("host/tests/posture/secrets_files.rs")),
        ("log_canary", read("host/tests/posture/log_canary.rs")),
    ];
    let source = |module: &str| {
        &sources
            .iter()
            .find(|(m, _)| *m == module)
            .unwrap_or_else(|| panic!("docs/SECRETS.md names an unknown module `{module}`"))
            .1
    };
    let mut named = 0;
    for span in code_spans(&doc) {
        let Some(path) = span.strip_prefix("posture::") else {
            continue;
        };
        let parts: Vec<&str> = path.split("::").collect();
        let src = source(parts[0]);
        match parts.as_slice() {
            [_] => continue,
            [_, test] => assert!(
                src.contains(&format!("fn {test}(")),
                "docs/SECRETS.md names `{span}`, which does not exist"
            ),
            // `secrets_files::<var>::case`: a case of the `file_cases!` table.
            [_, "<var>", case] => assert!(
                src.contains(&format!("fn {case}(")),
                "docs/SECRETS.md names the case `{case}`, which does not exist"
            ),
            _ => panic!("docs/SECRETS.md: cannot read the test path `{span}`"),
        }
        named += 1;
    }
    assert!(named >= 10, "docs/SECRETS.md names {named} tests");
    // The variables the `<var>` cases run for.
    for module in [
        "autopack_api_key_file",
        "jwt_private_key_file",
        "jwt_public_key_file",
        "database_url_file",
        "example_token_file",
    ] {
        assert!(
            doc.contains(&format!("`{module}`")),
            "{module} not in the doc"
        );
        assert!(
            source("secrets_files").contains(&format!("file_cases!({module},")),
            "docs/SECRETS.md lists `{module}`, which has no cases"
        );
    }
    // Every production refusal test is in the doc's table.
    let production = source("production");
    for line in production.lines() {
        if let Some(rest) = line.trim().strip_prefix("fn i11_") {
            let name = format!("i11_{}", rest.split('(').next().unwrap());
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/SECRETS.md does not name `{name}`"
            );
        }
    }
}
