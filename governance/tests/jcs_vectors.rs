//! RFC 8785 conformance: every upstream vector in `tests/vectors/jcs`, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use autopack_governance::canonical::{canonicalize, parse_json, sha256_hex};
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/jcs")
}

const CASES: [&str; 6] = [
    "arrays",
    "french",
    "structures",
    "unicode",
    "values",
    "weird",
];

#[test]
fn every_output_file_is_reproduced_byte_for_byte() {
    let dir = vectors();
    for name in CASES {
        let input = std::fs::read_to_string(dir.join(format!("input/{name}.json"))).unwrap();
        let expected = std::fs::read(dir.join(format!("output/{name}.json"))).unwrap();
        let got = canonicalize(&parse_json(&input).unwrap()).unwrap();
        assert_eq!(got.as_bytes(), expected.as_slice(), "case {name}");
    }
}

#[test]
fn outhex_files_agree_with_output_files() {
    let dir = vectors();
    for name in CASES {
        let hex = std::fs::read_to_string(dir.join(format!("outhex/{name}.txt"))).unwrap();
        let bytes: Vec<u8> = hex
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        let output = std::fs::read(dir.join(format!("output/{name}.json"))).unwrap();
        assert_eq!(bytes, output, "case {name}");
    }
}

#[test]
fn numbers_file_is_the_published_one() {
    let text = std::fs::read(vectors().join("numbers/es6testfile_first1k.txt")).unwrap();
    assert_eq!(text.len(), 37_967);
    assert_eq!(
        sha256_hex(&text),
        "be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687"
    );
}

#[test]
fn every_number_line_is_reproduced() {
    let text = std::fs::read_to_string(vectors().join("numbers/es6testfile_first1k.txt")).unwrap();
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        let (hex, expected) = line.split_once(',').unwrap();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let f = f64::from_bits(bits);
        let value = Value::Number(serde_json::Number::from_f64(f).unwrap());
        let got = canonicalize(&value).unwrap();
        assert_eq!(got, expected, "line {}: {hex}", i + 1);
        // The number must also survive a parse of its own canonical text.
        let reparsed = parse_json(&got).unwrap();
        assert_eq!(
            canonicalize(&reparsed).unwrap(),
            expected,
            "line {} reparsed",
            i + 1
        );
        count += 1;
    }
    assert_eq!(count, 1000);
}
