// Scopes page: get a token by client credentials (HTTP Basic client
// authentication) and send FHIR requests with it. No dependencies.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);

  function setStatus(el, ok, text) {
    el.textContent = text;
    el.className = "status " + (ok ? "ok" : "bad");
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  // base64url JWT payload -> object (display only; the server verifies).
  function claims(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(Array.from(atob(b64), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
      return JSON.parse(json);
    } catch (e) { return null; }
  }

  function selectedClient() {
    const sel = $("client");
    if (!sel) return null;
    return config.clients.find((c) => c.id === sel.value) || null;
  }

  function onClientChange() {
    const c = selectedClient();
    if (!c) return;
    $("secret").value = c.secret || "";
    $("scope").value = "";
  }

  async function getToken() {
    const c = selectedClient();
    if (!c) return;
    const status = $("token-status");
    setStatus(status, true, "Requesting a token for " + c.id + "…");
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    const scope = $("scope").value.trim();
    if (scope) form.set("scope", scope);
    try {
      const resp = await fetch(config.tokenUrl, {
        method: "POST",
        headers: {
          "Authorization": "Basic " + btoa(c.id + ":" + $("secret").value),
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/json",
        },
        body: form.toString(),
        credentials: "omit",
        cache: "no-store",
      });
      const text = await resp.text();
      let body = {};
      try { body = JSON.parse(text); } catch (e) { /* shown below */ }
      if (!resp.ok || !body.access_token) {
        setStatus(status, false, "Token request failed: " + resp.status + " " + (body.error || "") + (body.error_description ? " (" + body.error_description + ")" : ""));
        $("token-claims").textContent = pretty(text);
        return;
      }
      $("token").value = body.access_token;
      const bound = (claims(body.access_token) || {}).cnf ? "bound to a key (cnf): it needs a proof of possession" : "a bearer token (not bound to a key)";
      setStatus(status, true, "Token for " + c.id + ": scope \"" + body.scope + "\", expires in " + body.expires_in + " s, " + bound);
      const shown = Object.assign({}, body, { access_token: body.access_token.slice(0, 24) + "…" });
      $("token-claims").textContent = "token response:\n" + JSON.stringify(shown, null, 2) +
        "\n\ntoken claims:\n" + JSON.stringify(claims(body.access_token), null, 2);
      explain(body.access_token);
    } catch (e) {
      setStatus(status, false, "Token request failed: " + e);
    }
  }

  // explain asks the server what the token may do (GET /explain, which
  // verifies the token) and shows the answer beside the raw claims.
  async function explain(token) {
    const out = $("token-explanation");
    out.textContent = "…";
    try {
      const resp = await fetch("/explain", {
        headers: { "Authorization": "Bearer " + token, "Accept": "application/json" },
        credentials: "omit", cache: "no-store",
      });
      const body = await resp.json();
      out.textContent = resp.ok ? body.text : "Cannot explain this token: " + (body.error || resp.status);
    } catch (e) {
      out.textContent = "Cannot explain this token: " + e;
    }
  }

  function examplePath(type) {
    if (type === "Patient") return "Patient/" + config.patient;
    return type + "?patient=" + config.patient;
  }

  async function send(withToken) {
    const path = $("request-path").value.trim().replace(/^\/+/, "");
    const status = $("response-status");
    const headers = { "Accept": "application/fhir+json" };
    const token = $("token").value.trim();
    if (withToken) {
      if (!token) { setStatus(status, false, "Get a token first (step 2)."); return; }
      headers["Authorization"] = "Bearer " + token;
    }
    setStatus(status, true, "GET " + path + " …");
    try {
      const resp = await fetch(config.baseUrl + "/" + path, { headers: headers, credentials: "omit", cache: "no-store" });
      const text = await resp.text();
      setStatus(status, resp.ok, resp.status + " " + resp.statusText + "  GET " + path);
      const shown = [];
      for (const name of ["www-authenticate", "etag", "location"]) {
        const v = resp.headers.get(name);
        if (v) shown.push(name + ": " + v);
      }
      $("response-headers").textContent = shown.join("\n");
      $("response-body").textContent = pretty(text);
    } catch (e) {
      setStatus(status, false, "Request failed: " + e);
    }
  }

  function init() {
    const client = $("client");
    if (client) {
      client.addEventListener("change", onClientChange);
      onClientChange();
      $("get-token").addEventListener("click", getToken);
    }
    const type = $("resource-type");
    type.addEventListener("change", () => { $("request-path").value = examplePath(type.value); });
    $("request-path").value = examplePath(type.value);
    $("send").addEventListener("click", () => send(true));
    $("send-anon").addEventListener("click", () => send(false));
    $("token").addEventListener("change", () => {
      const token = $("token").value.trim();
      if (token) explain(token);
    });
    document.body.dataset.ready = "true";
  }

  init();
})();
