//! The four real provider components as an operator configures them against the fakes of
//! this module: their `[[providers]]` config entries and the secrets the host injects.

use super::{fake_alpaca, fake_etsy, fake_shopify, fake_youtube};
use std::fmt::Write as _;
use std::path::Path;

/// Where each fake listens (`http://127.0.0.1:PORT`).
pub struct Origins<'a> {
    pub etsy: &'a str,
    pub shopify: &'a str,
    pub youtube: &'a str,
    pub trading: &'a str,
}

/// A TOML string.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// One `[[providers]]` entry granted `origin`, with its settings and credential headers.
fn entry(
    t: &mut String,
    (domain, component, origin): (&str, &str, &str),
    extra: &str,
    settings: &[(&str, &str)],
    credentials: &[(&str, &str)],
) {
    let _ = write!(
        t,
        "\n[[providers]]\ndomain = {}\ncomponent = {}\norigins = [{}]\n{extra}",
        q(domain),
        q(component),
        q(origin)
    );
    t.push_str("[providers.settings]\n");
    for (k, v) in settings {
        let _ = writeln!(t, "{k} = {}", q(v));
    }
    for (header, value) in credentials {
        let _ = write!(
            t,
            "[[providers.credentials]]\norigin = {}\nheader = {}\nvalue = {}\n",
            q(origin),
            q(header),
            q(value)
        );
    }
}

/// The `[[providers]]` entries of etsy, shopify, youtube and trading; `media` is YouTube's
/// input directory `media` (uploads read from it), if any.
pub fn providers_toml(o: &Origins<'_>, media: Option<&Path>) -> String {
    let mut t = String::new();
    let shop_id = fake_etsy::SHOP_ID.to_string();
    entry(
        &mut t,
        ("etsy", autopack_test_artifacts::AUTOPACK_ETSY, o.etsy),
        "",
        &[("base_url", o.etsy), ("shop_id", &shop_id)],
        &[
            ("x-api-key", "{ETSY_API_KEY}"),
            ("Authorization", "Bearer {ETSY_OAUTH_TOKEN}"),
        ],
    );
    entry(
        &mut t,
        (
            "shopify",
            autopack_test_artifacts::AUTOPACK_SHOPIFY,
            o.shopify,
        ),
        &format!("graphql_read_paths = [{}]\n", q(fake_shopify::PATH)),
        &[("base_url", o.shopify)],
        &[("X-Shopify-Access-Token", "{SHOPIFY_ACCESS_TOKEN}")],
    );
    let input = media
        .map(|m| {
            format!(
                "input_dirs = {{ media = {} }}\n",
                q(&m.display().to_string())
            )
        })
        .unwrap_or_default();
    entry(
        &mut t,
        (
            "youtube",
            autopack_test_artifacts::AUTOPACK_YOUTUBE,
            o.youtube,
        ),
        &input,
        &[("base_url", o.youtube)],
        &[("Authorization", "Bearer {YOUTUBE_OAUTH_TOKEN}")],
    );
    entry(
        &mut t,
        (
            "trading",
            autopack_test_artifacts::AUTOPACK_TRADING,
            o.trading,
        ),
        "",
        &[("environment", "paper"), ("base_url", o.trading)],
        &[
            ("APCA-API-KEY-ID", "{APCA_API_KEY_ID}"),
            ("APCA-API-SECRET-KEY", "{APCA_API_SECRET_KEY}"),
        ],
    );
    t
}

/// The secrets the credential headers above name, as the host's environment.
pub fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ETSY_API_KEY", fake_etsy::API_KEY),
        ("ETSY_OAUTH_TOKEN", fake_etsy::OAUTH_TOKEN),
        ("SHOPIFY_ACCESS_TOKEN", fake_shopify::TOKEN),
        ("YOUTUBE_OAUTH_TOKEN", fake_youtube::TOKEN),
        ("APCA_API_KEY_ID", fake_alpaca::KEY_ID),
        ("APCA_API_SECRET_KEY", fake_alpaca::SECRET_KEY),
    ]
}
