//! Loading a provider refuses a config the host cannot honour, with a message
//! that names exactly what to fix (and never a secret value).

use autopack_host::config::HostConfig;
use autopack_host::runtime::provider::sha256_hex;
use autopack_test_artifacts::{AUTOPACK_EXAMPLE, GUEST_WELLBEHAVED};
use std::path::Path;

use crate::support::{CANARY, FakeServer, Setup, wellbehaved};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_mismatch_refuses_to_load_and_says_expected_and_actual() {
    let server = FakeServer::start().await;
    let pinned = "0".repeat(64);
    let (err, _dir) = wellbehaved(&server).sha256(&pinned).load_err().await;
    let actual = sha256_hex(&std::fs::read(GUEST_WELLBEHAVED).unwrap());
    assert_eq!(err.code(), "digest_mismatch");
    assert_eq!(
        err.to_string(),
        format!(
            "provider `wellbehaved`: component `{GUEST_WELLBEHAVED}` has sha256 {actual}, but the config pins {pinned}"
        )
    );
    // The right digest loads.
    let loaded = wellbehaved(&server).sha256(&actual).load().await;
    assert_eq!(loaded.provider.digest(), actual);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secret_names_the_variables() {
    let server = FakeServer::start().await;
    let (err, _dir) = Setup::new("wellbehaved", GUEST_WELLBEHAVED)
        .origin(&server.origin())
        .credential(
            &server.origin(),
            "Authorization",
            "Bearer {WELLBEHAVED_TOKEN}",
        )
        .load_err()
        .await;
    assert_eq!(err.code(), "secret_missing");
    assert_eq!(
        err.to_string(),
        "provider `wellbehaved`: secret `WELLBEHAVED_TOKEN` is not set: set `WELLBEHAVED_TOKEN_FILE` to a file holding it, or `WELLBEHAVED_TOKEN`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_file_wins_and_an_unreadable_one_is_named_without_the_value() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{CANARY}\n")).unwrap();
    let loaded = Setup::new("wellbehaved", GUEST_WELLBEHAVED)
        .origin(&server.origin())
        .credential(
            &server.origin(),
            "Authorization",
            "Bearer {WELLBEHAVED_TOKEN}",
        )
        .env("WELLBEHAVED_TOKEN_FILE", file.to_str().unwrap())
        .env("WELLBEHAVED_TOKEN", "the-plain-variable-loses")
        .load()
        .await;
    let report = loaded
        .exec(
            "request",
            serde_json::json!({"method": "GET", "url": server.url("/echo")}),
            autopack_host::sandbox::egress::Profile::ReadOnly,
        )
        .await;
    crate::support::data(&report);
    let expected = format!("Bearer {CANARY}");
    assert_eq!(
        server.hits()[0].header("authorization"),
        Some(expected.as_str())
    );

    let missing = dir.path().join("absent");
    let (err, _d) = Setup::new("wellbehaved", GUEST_WELLBEHAVED)
        .origin(&server.origin())
        .credential(
            &server.origin(),
            "Authorization",
            "Bearer {WELLBEHAVED_TOKEN}",
        )
        .env("WELLBEHAVED_TOKEN_FILE", missing.to_str().unwrap())
        .env("WELLBEHAVED_TOKEN", CANARY)
        .load_err()
        .await;
    assert_eq!(err.code(), "secret_unreadable");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "provider `wellbehaved`: secret `WELLBEHAVED_TOKEN`: cannot read file `{}` named by `WELLBEHAVED_TOKEN_FILE`",
            missing.display()
        )),
        "{msg}"
    );
    assert!(!msg.contains(CANARY), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_needing_an_ungranted_origin_is_refused() {
    let (err, _dir) = Setup::new("example", AUTOPACK_EXAMPLE)
        .setting("base_url", "http://127.0.0.1:9")
        .load_err()
        .await;
    assert_eq!(err.code(), "describe_invalid");
    assert_eq!(
        err.to_string(),
        "provider `example`: describe: needs origin `http://127.0.0.1:9`, which is not granted: add it to `origins` of this provider"
    );
    // Granting it is enough.
    let loaded = Setup::new("example", AUTOPACK_EXAMPLE)
        .setting("base_url", "http://127.0.0.1:9")
        .origin("http://127.0.0.1:9")
        .load()
        .await;
    assert_eq!(loaded.provider.info().origins, ["http://127.0.0.1:9"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_plugin_does_not_declare_is_refused() {
    let server = FakeServer::start().await;
    let (err, _dir) = wellbehaved(&server)
        .setting("shop_id", "1234")
        .load_err()
        .await;
    assert_eq!(err.code(), "describe_invalid");
    assert_eq!(
        err.to_string(),
        "provider `wellbehaved`: describe: setting `shop_id` is not one the provider reads (it reads: greeting, target)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_the_plugin_needs_but_no_rule_injects_is_refused() {
    let server = FakeServer::start().await;
    let (err, _dir) = Setup::new("wellbehaved", GUEST_WELLBEHAVED)
        .origin(&server.origin())
        .load_err()
        .await;
    assert_eq!(err.code(), "describe_invalid");
    assert_eq!(
        err.to_string(),
        "provider `wellbehaved`: describe: needs secret `WELLBEHAVED_TOKEN`, which no credential rule injects: add a `[[providers.credentials]]` whose value uses `{WELLBEHAVED_TOKEN}`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_serving_another_domain_is_refused() {
    let (err, _dir) = Setup::new("notes", AUTOPACK_EXAMPLE)
        .origin("http://127.0.0.1:8787")
        .load_err()
        .await;
    assert_eq!(
        err.to_string(),
        "provider `notes`: describe: component serves domain `example`, but the config entry is for `notes`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("not-a-component.wasm");
    std::fs::write(&fake, b"this is not wasm").unwrap();
    let (err, _d) = Setup::new("example", fake.to_str().unwrap())
        .load_err()
        .await;
    assert_eq!(err.code(), "component_invalid");
    assert!(
        err.to_string().starts_with(&format!(
            "provider `example`: component `{}` cannot be used: ",
            fake.display()
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_input_dir_is_refused() {
    let (err, dir) = Setup::new("example", AUTOPACK_EXAMPLE)
        .origin("http://127.0.0.1:8787")
        .raw("input_dirs = { photos = 'no-such-dir' }")
        .load_err()
        .await;
    assert_eq!(err.code(), "grant_invalid");
    assert_eq!(
        err.to_string(),
        format!(
            "provider `example`: input dir `photos` = `{}` is not a directory",
            dir.path().join("no-such-dir").display()
        )
    );
}

#[test]
fn unknown_config_key_names_file_line_and_key() {
    let text = format!(
        "[[providers]]\ndomain = \"example\"\ncomponent = '{AUTOPACK_EXAMPLE}'\n\n[providers.limits]\nmemory_mib = 32\nmemroy_mib = 64\n"
    );
    let err = HostConfig::parse(
        &text,
        Path::new("/etc/autopack/host.toml"),
        Path::new("/etc"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "config file `/etc/autopack/host.toml` line 7: key `providers[0].limits.memroy_mib`: unknown field `memroy_mib`"
        ),
        "{msg}"
    );
}

#[test]
fn malformed_pinned_digest_is_a_config_error() {
    let text = format!(
        "[[providers]]\ndomain = \"example\"\ncomponent = '{AUTOPACK_EXAMPLE}'\nsha256 = \"ABC\"\n"
    );
    let err = HostConfig::parse(&text, Path::new("host.toml"), Path::new("/")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config file `host.toml` line 4: key `providers[0].sha256`: expected 64 lowercase hex characters (a SHA-256 digest), got `ABC`"
    );
}
