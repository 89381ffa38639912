// lwademo's page: takes the access token the sign-in handed over in the URL
// fragment, keeps it in sessionStorage (this tab, this origin), and calls the
// protected API with "Authorization: Bearer". On the second origin every
// call is cross-origin: the browser sends a CORS preflight first.
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

function takeFragment() {
  if (!location.hash) return;
  const f = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname); // the token leaves the address bar
  if (f.get("access_token")) {
    sessionStorage.setItem(KEY, f.get("access_token"));
  } else if (f.get("error")) {
    const e = $("signin-error");
    e.textContent = `Sign-in failed: ${f.get("error")}${f.get("error_description") ? " — " + f.get("error_description") : ""}`;
    e.hidden = false;
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

function openOther(ev) {
  // Hand the token to the page on the other origin, in the fragment.
  const token = sessionStorage.getItem(KEY);
  if (!token) return;
  ev.preventDefault();
  location.assign(`${cfg.other}/app#${new URLSearchParams({ access_token: token })}`);
}

document.addEventListener("DOMContentLoaded", () => {
  $("cross").hidden = !crossOrigin;
  $("broken").addEventListener("click", broken);
  $("signout").addEventListener("click", signOut);
  if ($("other-origin")) $("other-origin").addEventListener("click", openOther);
  takeFragment();
  showProfile();
});
