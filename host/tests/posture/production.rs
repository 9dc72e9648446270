//! I11: `AUTOPACK_ENV=production` refuses to start on each misconfiguration, with exit code 2
//! and a message naming the setting; a sound production config starts; development
//! generates a key, prints it once and stores it nowhere.
//!
//! Every refusal case starts from the same sound config (which `sound_production_config_starts`
//! proves starts) and changes one thing, and asserts that exactly that setting is refused.

use super::support::*;
use std::path::Path;

const POSTURE: &str = "error[production_posture]: ";

/// Runs `serve` and expects the production refusal naming exactly `setting`, and nothing
/// else refused (so the case is about that one setting).
fn refused_for(cmd: std::process::Command, setting: &str) -> Finished {
    let out = run(cmd);
    assert_eq!(
        out.code,
        Some(2),
        "exit code 2 expected for `{setting}`: {out:?}"
    );
    let violations: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(POSTURE))
        .collect();
    assert_eq!(
        violations.len(),
        1,
        "exactly one refused setting expected (`{setting}`): {out:?}"
    );
    assert!(
        violations[0].starts_with(&format!("{POSTURE}`{setting}`: ")),
        "the refusal names `{setting}`: {out:?}"
    );
    assert!(
        out.stderr
            .contains("AUTOPACK_ENV=production refuses to start"),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains("listening on"),
        "it must not listen: {out:?}"
    );
    out
}

#[test]
fn i11_refuses_no_api_key_or_principal() {
    let s = Sound::new("http://127.0.0.1:8787");
    let start = s.config.find("[[api_keys]]").unwrap();
    let end = s.config.find("[[providers]]").unwrap();
    let config = format!("{}{}", &s.config[..start], &s.config[end..]);
    refused_for(s.serve(&config), "api_keys");
}

#[test]
fn i11_refuses_a_provider_without_pinned_sha256() {
    let s = Sound::new("http://127.0.0.1:8787");
    let (_, digest) = example_component();
    let config = edit(&s.config, &format!("{PIN}{digest}\"\n"), "");
    refused_for(s.serve(&config), "providers[0].sha256");
}

#[test]
fn i11_refuses_jwt_without_key_files() {
    let s = Sound::new("http://127.0.0.1:8787");
    let mut cmd = s.serve(&s.config);
    cmd.env_remove("JWT_PRIVATE_KEY_FILE")
        .env_remove("JWT_PUBLIC_KEY_FILE");
    refused_for(cmd, "JWT_PRIVATE_KEY_FILE");
}

#[test]
fn i11_refuses_jwt_with_only_one_key_file() {
    let s = Sound::new("http://127.0.0.1:8787");
    let mut cmd = s.serve(&s.config);
    cmd.env_remove("JWT_PUBLIC_KEY_FILE");
    let out = refused_for(cmd, "JWT_PRIVATE_KEY_FILE");
    assert!(out.stderr.contains("JWT_PUBLIC_KEY_FILE"), "{out:?}");
}

#[test]
fn i11_refuses_a_development_key() {
    let s = Sound::new("http://127.0.0.1:8787");
    let dev_key = format!("apk_dev_{}", random_hex(24));
    let mut cmd = s.serve(&s.config);
    cmd.env("AUTOPACK_API_KEY", &dev_key);
    let out = refused_for(cmd, "AUTOPACK_API_KEY");
    assert!(
        !out.stderr.contains(&dev_key) && !out.stdout.contains(&dev_key),
        "the key is never printed: {out:?}"
    );
}

#[test]
fn i11_refuses_a_development_key_from_a_file() {
    let s = Sound::new("http://127.0.0.1:8787");
    let dev_key = format!("apk_dev_{}", random_hex(24));
    let file = s.site.write("secrets/api-key", format!("{dev_key}\n"));
    let mut cmd = s.serve(&s.config);
    cmd.env("AUTOPACK_API_KEY_FILE", &file);
    let out = refused_for(cmd, "AUTOPACK_API_KEY");
    assert!(!out.stderr.contains(&dev_key), "{out:?}");
}

#[test]
fn i11_refuses_sqlite_in_a_temp_dir() {
    let s = Sound::new("http://127.0.0.1:8787");
    let tmp = tempfile::tempdir().unwrap();
    let config = edit(
        &s.config,
        &format!("data_dir = {}", toml_path(&s.site.data_dir())),
        &format!("data_dir = {}", toml_path(tmp.path())),
    );
    let out = refused_for(s.serve(&config), "data_dir");
    assert!(out.stderr.contains("temporary"), "{out:?}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing is written before the refusal"
    );
}

#[test]
fn i11_refuses_a_sqlite_database_url_in_a_temp_dir() {
    let s = Sound::new("http://127.0.0.1:8787");
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("ledger.db").display());
    let config = format!(
        "database_url = {}\n{}",
        toml_path(Path::new(&url)),
        s.config
    );
    refused_for(s.serve(&config), "database_url");
}

#[test]
fn i11_refuses_dry_run_default_off() {
    let s = Sound::new("http://127.0.0.1:8787");
    let config = edit(
        &s.config,
        "default_mode = \"dry-run\"",
        "default_mode = \"live\"",
    );
    refused_for(s.serve(&config), "server.default_mode");
}

#[test]
fn i11_refuses_an_unknown_config_key_naming_file_line_and_key() {
    let s = Sound::new("http://127.0.0.1:8787");
    let config = edit(
        &s.config,
        "default_mode = \"dry-run\"",
        "default_mode = \"dry-run\"\nlisten_adress = \"0.0.0.0:80\"",
    );
    let line = config
        .lines()
        .position(|l| l.starts_with("listen_adress"))
        .unwrap()
        + 1;
    let out = run(s.serve(&config));
    assert_eq!(out.code, Some(2), "{out:?}");
    let file = s.site.path("autopack-host.toml");
    let expected = format!(
        "error[config_invalid]: config file `{}` line {line}: key `server.listen_adress`: unknown field `listen_adress`",
        file.display()
    );
    assert!(out.stderr.contains(&expected), "want `{expected}`: {out:?}");
    assert!(
        out.stderr
            .contains("(AUTOPACK_ENV=production refuses to start)"),
        "{out:?}"
    );
}

#[test]
fn i11_refuses_a_plaintext_credential_in_the_config() {
    let s = Sound::new("http://127.0.0.1:8787");
    let plaintext = format!("plain-{}", random_hex(12));
    let config = edit(
        &s.config,
        CREDENTIAL_VALUE,
        &format!("value = \"Bearer {plaintext}\""),
    );
    let out = refused_for(s.serve(&config), "providers[0].credentials[0].value");
    assert!(out.stderr.contains("plaintext"), "{out:?}");
    assert!(
        !out.stderr.contains(&plaintext),
        "the credential is not echoed: {out:?}"
    );
}

#[test]
fn i11_refuses_a_database_password_in_database_url() {
    let s = Sound::new("http://127.0.0.1:8787");
    let password = format!("pw{}", random_hex(8));
    let config = format!(
        "database_url = \"postgres://autopack:{password}@db.internal:5432/autopack\"\n{}",
        s.config
    );
    let out = refused_for(s.serve(&config), "database_url");
    assert!(out.stderr.contains("DATABASE_URL_FILE"), "{out:?}");
    assert!(
        !out.stderr.contains(&password),
        "the password is not echoed: {out:?}"
    );
}

#[test]
fn i11_refuses_the_built_in_development_defaults() {
    let s = Sound::new("http://127.0.0.1:8787");
    let mut cmd = s.site.command(&["serve", "--listen", "127.0.0.1:0"]);
    cmd.env("AUTOPACK_ENV", "production")
        .env("AUTOPACK_API_KEY", &s.key)
        .env("JWT_PRIVATE_KEY_FILE", &s.jwt_private)
        .env("JWT_PUBLIC_KEY_FILE", &s.jwt_public);
    let out = run(cmd);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains(&format!("{POSTURE}`--config`: ")),
        "{out:?}"
    );
    assert!(!out.stdout.contains("listening on"), "{out:?}");
}

#[test]
fn i11_refuses_an_unknown_environment_name() {
    let s = Sound::new("http://127.0.0.1:8787");
    let mut cmd = s.serve(&s.config);
    cmd.env("AUTOPACK_ENV", "nonsense");
    let out = run(cmd);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("`AUTOPACK_ENV`") && out.stderr.contains("nonsense"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("listening on"), "{out:?}");
}

#[test]
fn i11_sound_production_config_starts() {
    let s = Sound::new("http://127.0.0.1:8787");
    let server = start(s.serve(&s.config));
    let health = server.get("/health", &[]);
    assert_eq!(health.status, 200, "{health:?}");
    let me = server.get("/api/auth/whoami", &[("X-API-Key", &s.key)]);
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["id"], "ops");
    // Sessions are signed with the key pair from the files, not one made for this run.
    let login = server.post(
        "/api/auth/login",
        &[],
        &serde_json::json!({"api_key": s.key}).to_string(),
    );
    assert_eq!(login.status, 200, "{login:?}");
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let me = server.get("/api/auth/whoami", &[("Authorization", &bearer)]);
    assert_eq!(me.status, 200, "{me:?}");
    let out = server.stop();
    assert!(
        !out.stdout.contains("generated for this run") && !out.stdout.contains("apk_dev_"),
        "production uses no generated key: {out:?}"
    );
    assert!(
        !out.stdout.contains(&s.key) && !out.stderr.contains(&s.key),
        "the key is never printed or logged: {out:?}"
    );
}

#[test]
fn dev_mode_generates_a_key_prints_it_once_and_stores_it_nowhere() {
    let site = Site::persistent();
    let config = site.config(&format!(
        "data_dir = {}\npolicies_dir = {}\n",
        toml_path(&site.data_dir()),
        toml_path(&site.policies_dir())
    ));
    let mut server = start(site.serve(&config));
    let line = server
        .proc
        .wait_line(|l| l.contains("development admin key"))
        .unwrap();
    let key = line.rsplit(' ').next().unwrap().to_owned();
    assert!(key.starts_with("apk_dev_") && key.len() >= 40, "{line}");
    let me = server.get("/api/auth/whoami", &[("X-API-Key", &key)]);
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["id"], "admin");
    assert!(me.json()["roles"].to_string().contains("admin"), "{me:?}");
    let wrong = server.get("/api/auth/whoami", &[("X-API-Key", &format!("{key}x"))]);
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let out = server.stop();
    // Printed at start only: the banner line and its curl example, nothing later.
    let lines_with_key: Vec<&str> = out.stdout.lines().filter(|l| l.contains(&key)).collect();
    assert!(
        (1..=2).contains(&lines_with_key.len())
            && lines_with_key[0].starts_with("development admin key (printed once"),
        "{out:?}"
    );
    assert!(!out.stderr.contains(&key), "never logged: {}", out.stderr);
    assert!(
        Site::file_count(&site.data_dir()) > 0,
        "the data dir holds the ledger"
    );
    let found = Site::files_containing(site.root(), &key);
    assert!(found.is_empty(), "the dev key was written to {found:?}");
}

#[test]
fn the_admin_id_is_reserved_for_the_environment_key() {
    let s = Sound::new("http://127.0.0.1:8787");
    let config = edit(&s.config, "id = \"ops\"", "id = \"admin\"");
    let env_key = format!("apk_{}", random_hex(24));
    let mut cmd = s.serve(&config);
    cmd.env("AUTOPACK_API_KEY", &env_key);
    let out = run(cmd);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains(
            "`api_keys`: principal id `admin` is reserved for the key from `AUTOPACK_API_KEY`"
        ),
        "{out:?}"
    );
    assert!(!out.stderr.contains(&env_key), "{out:?}");
}

/// A malformed credential template is refused in any environment, naming the key, and its
/// text (which may be a pasted credential) is not echoed.
#[test]
fn a_malformed_credential_template_is_not_echoed() {
    let s = Sound::new("http://127.0.0.1:8787");
    let pasted = format!("sk_live_{}", random_hex(12));
    for value in [
        format!("Bearer {{{pasted}}}"),
        format!("Bearer {{{pasted}"),
        format!("Bearer {pasted}}}"),
    ] {
        let config = edit(&s.config, CREDENTIAL_VALUE, &format!("value = \"{value}\""));
        let mut cmd = s.serve(&config);
        cmd.env_remove("AUTOPACK_ENV");
        let out = run(cmd);
        assert_eq!(out.code, Some(2), "{value}: {out:?}");
        assert!(
            out.stderr
                .contains("key `providers[0].credentials[0].value`"),
            "{value}: {out:?}"
        );
        assert!(!out.stderr.contains(&pasted), "{value}: echoed: {out:?}");
    }
}
