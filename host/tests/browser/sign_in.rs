//! Signing in: a wrong key gets an error and no inbox; the page's script runs under its
//! Content Security Policy; an approver scoped to two projects gets the inbox.

use crate::browser::Browser;
use crate::host::{Host, Notes, SCOPED_APPROVER};
use crate::http::call;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The served page's inline script and the script hashes its CSP header allows.
async fn served_script_and_allowed_hashes(host: &Host) -> (String, Vec<String>) {
    let r = call(host.addr, "GET", "/ui", None, None).await.expect(200);
    let csp = r
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("/ui has no CSP header: {:?}", r.headers))
        .to_owned();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    let allowed = script_src
        .split_whitespace()
        .map(|s| s.trim_matches('\''))
        .collect::<Vec<_>>();
    assert!(
        allowed.iter().all(|s| s.starts_with("sha256-")),
        "script-src allows only hashes: {csp}"
    );
    let html = r.text;
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one inline script: {html}"
    );
    let start = html.find("<script>").expect("an inline <script>") + "<script>".len();
    let end = start + html[start..].find("</script>").expect("</script>");
    let hashes = allowed
        .iter()
        .map(|s| s.trim_start_matches("sha256-").to_owned())
        .collect();
    (html[start..end].to_owned(), hashes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_gets_an_error_and_the_page_runs_under_its_csp() {
    let notes = Notes::start().await;
    let host = Host::start(&notes).await;
    host.switches_on().await;
    let waiting = host.propose_note("A note for the scoped approver").await;
    let id = waiting["id"].as_str().unwrap();

    // The header allows exactly the script the page carries.
    let (script, allowed) = served_script_and_allowed_hashes(&host).await;
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&script));
    assert_eq!(
        allowed,
        vec![digest],
        "the CSP's script hash is the served script's"
    );

    let b = Browser::start().await;
    b.goto(&host.ui()).await;
    b.sign_in("apk_ui_nobody_this_key_is_not_configured_0000")
        .await;
    // Only the page's own script writes the status line: seeing the server's message here
    // proves the browser ran it under the CSP.
    let status = b
        .until("an error for the wrong key", async |b: &Browser| {
            b.text("#status").await.filter(|s| !s.is_empty())
        })
        .await;
    assert_eq!(status, "the API key is not valid");
    assert!(b.shown("#login").await, "the sign-in form stays");
    assert!(!b.shown("#app").await, "no inbox for a wrong key");
    assert_eq!(b.count("section.action").await, 0, "no action shown");
    assert_eq!(
        b.js("return sessionStorage.getItem('autopack_token');")
            .await,
        serde_json::Value::Null,
        "no session is kept"
    );

    // Signing in again with a good key: an approver scoped to two projects lists
    // each of them and sees the action of `demo`.
    b.sign_in(SCOPED_APPROVER.key).await;
    b.until("the scoped approver's inbox", async |b: &Browser| {
        (b.shown("#app").await && b.count("section.action").await == 1).then_some(())
    })
    .await;
    assert_eq!(b.text("#status").await.unwrap_or_default(), "");
    assert!(!b.shown("#login").await);
    assert_eq!(
        b.text(&format!("section.action[data-id=\"{id}\"] .hash"))
            .await
            .unwrap(),
        format!(
            "payload hash: {}",
            waiting["payload_hash"].as_str().unwrap()
        )
    );

    // A reload keeps the session (sessionStorage) and shows the inbox without signing in.
    b.client().refresh().await.expect("reload");
    b.until("the inbox after a reload", async |b: &Browser| {
        (b.shown("#app").await && b.count("section.action").await == 1).then_some(())
    })
    .await;

    b.assert_no_script_trouble().await;
    b.close().await;
    assert!(notes.writes().is_empty(), "{:?}", notes.seen());
    drop(host);
}
