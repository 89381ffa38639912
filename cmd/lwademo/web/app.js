// lwademo's page: claims the access token its own browser's sign-in produced
// (the URL fragment carries only a one-time nonce, #handoff=…, which the API
// trades for the token against this browser's sealed hand-over cookie),
// keeps it in sessionStorage (this tab, this origin), and calls the
// protected API with "Authorization: Bearer". On the second origin every
// call is cross-origin: the browser sends a CORS preflight first.
//
// It never takes a token from its URL: a link to /app#access_token=… made
// by someone else would sign this browser in as them (login CSRF).
"use strict";

const cfg = document.body.dataset; // api, origin, other
const crossOrigin = cfg.api !== location.origin;
const KEY = "lwademo.access_token";

const $ = (id) => document.getElementById(id);

function show(id, on) { $(id).hidden = !on; }

function log(method, path, status, extra) {
  const li = document.createElement("li");
  li.textContent = `${method} ${cfg.api}${path} → ${status}${crossOrigin ? " (cross-origin)" : ""}${extra ? " " + extra : ""}`;
  $("log").appendChild(li);
}

// call sends one API request with the token and returns {status, body,
// challenge}; body is the JSON answer (the error code is body.error).
async function call(method, path, token) {
  const headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  let r;
  try {
    r = await fetch(cfg.api + path, { method, headers, mode: "cors", credentials: "omit", cache: "no-store" });
  } catch (e) {
    log(method, path, "network error", String(e));
    return { status: 0, body: { error: "network_error", error_description: String(e) }, challenge: "" };
  }
  let body = {};
  try { body = await r.json(); } catch (_) { /* not JSON */ }
  const challenge = r.headers.get("WWW-Authenticate") || "";
  log(method, path, r.status, body.error ? body.error : "");
  return { status: r.status, body, challenge };
}

// session calls the sign-in's hand-over endpoints, with this browser's
// cookies (the sealed hand-over), and returns {status, body}.
async function session(path, payload, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["Authorization"] = "Bearer " + token;
  let r;
  try {
    r = await fetch(cfg.api + path, {
      method: "POST", headers, body: JSON.stringify(payload),
      mode: "cors", credentials: "include", cache: "no-store",
    });
  } catch (e) {
    log("POST", path, "network error", String(e));
    return { status: 0, body: { error: "network_error" } };
  }
  let body = {};
  try { body = await r.json(); } catch (_) { /* not JSON */ }
  log("POST", path, r.status, body.error ? body.error : "");
  return { status: r.status, body };
}

// What the page says when a sign-in did not complete. The error code comes
// from the URL, which anyone can write: only known codes, and none of the
// URL's text, are shown.
const signInErrors = {
  access_denied: "You declined to share your profile.",
  invalid_state: "This sign-in was not started in this browser, was already used, or took too long. Please sign in again.",
  invalid_handoff: "This sign-in was not completed in this browser, or was already used. Please sign in again.",
};

function signInError(code) {
  const e = $("signin-error");
  e.dataset.code = code;
  e.textContent = `Sign-in failed: ${code} — ${signInErrors[code] || "The sign-in could not be completed."}`;
  e.hidden = false;
}

// takeFragment handles what the sign-in sent in the URL fragment: a
// hand-over nonce, which it claims, or an error code. Anything else, an
// access_token in particular, is ignored.
async function takeFragment() {
  if (!location.hash) return;
  const f = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname); // the fragment leaves the address bar
  const nonce = f.get("handoff");
  if (nonce) {
    const r = await session("/session/claim", { handoff: nonce });
    if (r.status === 200 && r.body.access_token) {
      sessionStorage.setItem(KEY, r.body.access_token);
    } else {
      signInError("invalid_handoff");
    }
  } else if (f.get("error")) {
    const code = f.get("error");
    signInError(/^[a-z_]{1,64}$/.test(code) ? code : "server_error");
  }
}

async function showProfile() {
  const token = sessionStorage.getItem(KEY);
  if (!token) { show("signed-in", false); show("signed-out", true); return; }
  const r = await call("GET", "/me", token);
  if (r.status !== 200) {
    sessionStorage.removeItem(KEY);
    const e = $("signin-error");
    e.textContent = `GET /me refused: ${r.status} ${r.body.error || ""}`;
    e.hidden = false;
    show("signed-in", false); show("signed-out", true);
    return;
  }
  const p = r.body;
  $("name").textContent = p.name || "(no name: scope profile not granted)";
  $("email").textContent = p.email || "—";
  $("user_id").textContent = p.user_id;
  $("postal_code").textContent = p.postal_code || "—";
  $("me-status").textContent = crossOrigin
    ? `GET /me → 200 OK, cross-origin from ${location.origin} (CORS: the browser preflights the call)`
    : "GET /me → 200 OK, same origin";
  show("signed-out", false); show("signed-in", true);
}

async function broken() {
  const r = await call("GET", "/me", "Atza|this-token-is-broken");
  const out = $("broken-result");
  out.dataset.code = r.body.error || "";
  out.textContent = `GET /me with a broken token → ${r.status} ${r.body.error || "(no error code)"}` +
    (r.challenge ? ` · WWW-Authenticate: ${r.challenge}` : "");
  out.hidden = false;
}

async function signOut() {
  const token = sessionStorage.getItem(KEY);
  const r = await call("POST", "/logout", token);
  sessionStorage.removeItem(KEY);
  // Prove the token is dead: the API refuses it now.
  const after = await call("GET", "/me", token);
  const out = $("after-signout");
  out.dataset.code = after.body.error || "";
  out.dataset.status = String(after.status);
  out.textContent = `Signed out (POST /logout → ${r.status}). GET /me with the old token → ${after.status} ${after.body.error || ""}`;
  out.hidden = false;
  show("signed-in", false); show("signed-out", true);
}

async function openOther(ev) {
  // Hand the token to the page on the other origin through this browser's
  // hand-over cookie, as the sign-in does: the URL carries only the nonce.
  const token = sessionStorage.getItem(KEY);
  if (!token) return;
  ev.preventDefault();
  const r = await session("/session/handoff", { origin: cfg.other }, token);
  if (r.status !== 200 || !r.body.handoff) {
    signInError("invalid_handoff");
    return;
  }
  location.assign(`${cfg.other}/app#${new URLSearchParams({ handoff: r.body.handoff })}`);
}

document.addEventListener("DOMContentLoaded", () => {
  $("cross").hidden = !crossOrigin;
  $("broken").addEventListener("click", broken);
  $("signout").addEventListener("click", signOut);
  if ($("other-origin")) $("other-origin").addEventListener("click", openOther);
  // data-ready: the page has handled its URL and shown who is signed in.
  takeFragment().then(showProfile).finally(() => { document.body.dataset.ready = "1"; });
});
