//! The approval inbox: approve one live action bound to its exact payload hash, reject
//! another through the page's prompt.

use crate::browser::Browser;
use crate::host::{APPROVER, Host, Notes, PROPOSER};
use serde_json::Value;

/// The selector of an action's card.
fn card(id: &str) -> String {
    format!("section.action[data-id=\"{id}\"]")
}

/// Checks that the card of `action` shows every field its payload hash binds.
async fn assert_card_shows(b: &Browser, action: &Value) {
    let id = action["id"].as_str().unwrap();
    let sel = card(id);
    let heading = b.text(&format!("{sel} h2")).await.unwrap();
    assert_eq!(heading, "demo · example.post_note (tier B)");
    let params = b.text(&format!("{sel} pre.params")).await.unwrap();
    let shown: Value = serde_json::from_str(&params)
        .unwrap_or_else(|e| panic!("the card's params are not JSON ({e}): {params}"));
    assert_eq!(
        shown, action["params"],
        "the card shows the normalized params"
    );
    assert_eq!(b.text(&format!("{sel} .mode")).await.unwrap(), "mode: live");
    assert_eq!(
        b.text(&format!("{sel} .digest")).await.unwrap(),
        format!(
            "plugin digest: {}",
            action["plugin_digest"].as_str().unwrap()
        )
    );
    assert_eq!(
        b.text(&format!("{sel} .proposer")).await.unwrap(),
        format!("proposed by: {}", PROPOSER.id)
    );
    let hash = action["payload_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64, "{action}");
    assert_eq!(
        b.text(&format!("{sel} .hash")).await.unwrap(),
        format!("payload hash: {hash}"),
        "the card shows the exact payload hash"
    );
    assert_eq!(
        b.text(&format!("{sel} button.approve")).await.unwrap(),
        "Approve this exact payload"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_approves_the_exact_payload_and_rejects_with_a_reason() {
    let notes = Notes::start().await;
    let host = Host::start(&notes).await;
    host.switches_on().await;
    let first = host.propose_note("Ship the spring catalogue").await;
    let second = host.propose_note("Delete the old listings").await;
    let (first_id, second_id) = (
        first["id"].as_str().unwrap().to_owned(),
        second["id"].as_str().unwrap().to_owned(),
    );
    assert!(
        notes.writes().is_empty(),
        "nothing is written while actions wait: {:?}",
        notes.seen()
    );

    let b = Browser::start().await;
    b.goto(&host.ui()).await;
    assert!(
        b.shown("#login").await,
        "the page opens on the sign-in form"
    );
    assert!(!b.shown("#app").await, "no inbox before signing in");
    b.sign_in(APPROVER.key).await;
    b.until("the inbox with both actions", async |b: &Browser| {
        (b.shown("#app").await && b.count("section.action").await == 2).then_some(())
    })
    .await;
    assert!(!b.shown("#login").await, "the form is gone once signed in");
    assert_eq!(
        b.text("#who").await.unwrap(),
        format!("{} (approver)", APPROVER.id)
    );
    let token = b
        .js("return sessionStorage.getItem('autopack_token');")
        .await;
    assert!(
        token.as_str().is_some_and(|t| t.split('.').count() == 3),
        "the session token is kept in sessionStorage: {token}"
    );
    assert_card_shows(&b, &first).await;
    assert_card_shows(&b, &second).await;

    // Approve the first: the page sends the hash it shows; the card leaves the inbox.
    b.click(&format!("{} button.approve", card(&first_id)))
        .await;
    b.until(
        "the approved card to leave the inbox",
        async |b: &Browser| (b.count(&card(&first_id)).await == 0).then_some(()),
    )
    .await;
    assert_eq!(
        b.text("#status").await.unwrap_or_default(),
        "",
        "no error after approving"
    );
    let approved = host.action(&first_id).await;
    assert_eq!(approved["status"], "approved", "{approved}");
    let approvals = approved["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1, "{approved}");
    assert_eq!(approvals[0]["approver"], APPROVER.id, "{approved}");
    assert_eq!(
        approvals[0]["payload_hash"], first["payload_hash"],
        "the approval is bound to the payload hash: {approved}"
    );
    assert!(notes.writes().is_empty(), "approving writes nothing");

    // The approved action runs once, as the page promised: exactly this payload.
    let done = host
        .post(&PROPOSER, &format!("/api/actions/{first_id}/execute"), None)
        .await
        .expect(200)
        .json;
    assert_eq!(done["status"], "succeeded", "{done}");
    let writes = notes.writes();
    assert_eq!(writes.len(), 1, "one write: {writes:?}");
    assert_eq!(
        (writes[0].method.as_str(), writes[0].path.as_str()),
        ("POST", "/notes")
    );
    assert!(
        writes[0].body.contains("Ship the spring catalogue"),
        "{writes:?}"
    );

    // Reject the second through the prompt.
    b.click(&format!("{} button.reject", card(&second_id)))
        .await;
    let question = b
        .until("the rejection prompt", async |b: &Browser| {
            b.client().get_alert_text().await.ok()
        })
        .await;
    assert!(
        question.contains("example.post_note"),
        "the prompt names the action: {question}"
    );
    b.client()
        .send_alert_text("not this week")
        .await
        .expect("answer the prompt");
    b.client().accept_alert().await.expect("accept the prompt");
    b.until(
        "the rejected card to leave the inbox",
        async |b: &Browser| (b.count(&card(&second_id)).await == 0).then_some(()),
    )
    .await;
    let rejected = host.action(&second_id).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["error"]["reason"], "not this week", "{rejected}");
    assert_eq!(rejected["error"]["by"], APPROVER.id, "{rejected}");
    assert_eq!(
        b.text("#inbox").await.unwrap(),
        "Nothing waits for approval."
    );
    assert_eq!(notes.writes().len(), 1, "rejecting writes nothing");

    b.assert_no_script_trouble().await;
    b.close().await;
    drop(host);
}
