//! The web page's static shell (`GET /ui`): fixed HTML and one inline script, no data.
//! Everything it shows comes from API calls made with a session token; the Content Security
//! Policy allows exactly this script (by its SHA-256) and connections to this origin.

use axum::http::HeaderValue;
use axum::response::Html;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const SCRIPT: &str = r#"
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('autopack_token');
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: Object.assign({'Authorization': 'Bearer ' + token},
      body ? {'Content-Type': 'application/json'} : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && (data.error.code + ': ' + data.error.message)) || res.status);
  return data;
}
function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}
// Every action waiting for approval that this principal may see. A principal scoped to
// several projects must name one per list call, so it is asked once per project.
async function pending(projects) {
  const scopes = Array.isArray(projects) && projects.length > 1 ? projects : [null];
  const all = [];
  for (const project of scopes) {
    let cursor = null;
    do {
      let path = '/api/actions?status=pending_approval&limit=100';
      if (project) path += '&project=' + encodeURIComponent(project);
      if (cursor) path += '&cursor=' + encodeURIComponent(cursor);
      const page = await api('GET', path);
      all.push(...page.actions);
      cursor = page.next_cursor;
    } while (cursor);
  }
  return all;
}
// One action as a card: every field the payload hash binds (project, domain, operation,
// params, mode, plugin digest), the hash itself, and who proposed it until when.
function card(a) {
  const el = document.createElement('section');
  el.className = 'action';
  el.dataset.id = a.id;
  el.append(text('h2', a.project + ' · ' + a.domain + '.' + a.operation + ' (tier ' + a.tier + ')'));
  el.append(text('p', 'mode: ' + a.mode, 'mode'));
  el.append(text('pre', JSON.stringify(a.params, null, 2), 'params'));
  if (a.declared_spend && a.declared_spend.length) {
    el.append(text('p', 'declared spend: ' + a.declared_spend.join(', '), 'spend'));
  }
  el.append(text('p', 'proposed by: ' + a.proposer, 'proposer'));
  el.append(text('p', 'plugin digest: ' + a.plugin_digest, 'digest'));
  if (a.expires_at) {
    el.append(text('p', 'open until: ' + new Date(a.expires_at * 1000).toISOString(), 'expires'));
  }
  el.append(text('p', 'payload hash: ' + a.payload_hash, 'hash'));
  const approve = text('button', 'Approve this exact payload', 'approve');
  approve.onclick = async () => {
    try { await api('POST', '/api/actions/' + a.id + '/approve', {payload_hash: a.payload_hash}); await load(); }
    catch (e) { $('status').textContent = e.message; }
  };
  const reject = text('button', 'Reject', 'reject');
  reject.onclick = async () => {
    const reason = prompt('Why reject ' + a.domain + '.' + a.operation + '?');
    if (!reason || !reason.trim()) return;
    try { await api('POST', '/api/actions/' + a.id + '/reject', {reason}); await load(); }
    catch (e) { $('status').textContent = e.message; }
  };
  el.append(approve, reject);
  return el;
}
async function load() {
  $('status').textContent = '';
  let me;
  try {
    me = await api('GET', '/api/auth/whoami');
  } catch (e) {
    // The session is gone (expired, or the key was removed): sign in again.
    token = null;
    sessionStorage.removeItem('autopack_token');
    $('status').textContent = e.message;
    $('login').hidden = false;
    $('app').hidden = true;
    return;
  }
  $('who').textContent = me.id + ' (' + me.roles.join(', ') + ')';
  $('login').hidden = true;
  $('app').hidden = false;
  try {
    const actions = await pending(me.projects);
    const list = $('inbox');
    list.replaceChildren();
    if (actions.length === 0) list.append(text('p', 'Nothing waits for approval.'));
    for (const a of actions) list.append(card(a));
  } catch (e) {
    $('inbox').replaceChildren();
    $('status').textContent = e.message;
  }
}
$('login').onsubmit = async (ev) => {
  ev.preventDefault();
  $('status').textContent = '';
  let res, data;
  try {
    res = await fetch('/api/auth/login', {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({api_key: $('key').value})});
    data = await res.json().catch(() => ({}));
  } catch (e) {
    $('status').textContent = 'login failed: ' + e.message;
    return;
  }
  if (!res.ok) { $('status').textContent = (data.error && data.error.message) || 'login failed'; return; }
  token = data.token;
  sessionStorage.setItem('autopack_token', token);
  $('key').value = '';
  await load();
};
$('refresh').onclick = load;
if (token) load();
"#;

fn page() -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Autopack Host · approvals</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Autopack Host · approvals</h1>
<form id="login"><label>API key <input id="key" type="password" autocomplete="off"></label>
<button type="submit">Sign in</button></form>
<div id="app" hidden><p>Signed in as <span id="who"></span> <button id="refresh">Refresh</button></p>
<div id="inbox"></div></div>
<p id="status" role="status"></p>
<script>{SCRIPT}</script>
</body></html>
"#
    )
}

/// The Content Security Policy of HTML responses.
pub fn csp() -> HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
        let text = format!(
            "default-src 'none'; script-src 'sha256-{hash}'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("default-src 'none'"))
    })
    .clone()
}

/// `GET /ui`.
pub async fn shell() -> Html<String> {
    Html(page())
}
