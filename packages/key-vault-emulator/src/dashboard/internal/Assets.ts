/**
 * The dashboard's page, script and style sheet, as strings: they ship inside the compiled module, so the page works
 * from the package as installed, with no file lookup and no build step. The script is plain ES2020 for any current
 * browser; it renders with `textContent` only.
 *
 * @internal
 */

/** @internal */
export const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Key Vault Emulator</title>
<link rel="stylesheet" href="/admin/dashboard/app.css">
<script src="/admin/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>Key Vault Emulator</h1>
  <div id="clock" class="panel-inline">
    <span>Emulator time <strong id="clock-now">-</strong> (offset <span id="clock-offset">-</span>)</span>
    <label>Advance <input id="clock-advance" type="number" min="0" step="1" value="1"></label>
    <select id="clock-unit" aria-label="unit">
      <option value="1">seconds</option><option value="60">minutes</option>
      <option value="3600">hours</option><option value="86400" selected>days</option>
    </select>
    <button id="clock-advance-button" type="button">Advance</button>
    <label>Set <input id="clock-set" type="text" placeholder="2030-01-01T00:00:00Z" size="22"></label>
    <button id="clock-set-button" type="button">Set</button>
    <button id="clock-reset" type="button">Reset</button>
  </div>
</header>
<noscript><p>The dashboard needs JavaScript.</p></noscript>
<p id="error" role="alert" hidden></p>
<section id="token-panel" hidden>
  <h2>Access token</h2>
  <p id="token-message">This emulator requires its access token (the value of <code>--token</code>).</p>
  <input id="token-input" type="password" autocomplete="off" aria-label="access token">
  <button id="token-save" type="button">Connect</button>
</section>
<main id="main">
  <section id="vaults">
    <h2>Vaults</h2>
    <label>Vault <select id="vault-select"></select></label>
    <span id="vault-url"></span>
    <span id="vault-summary"></span>
    <button id="vault-refresh" type="button">Refresh</button>
    <button id="vault-reset" type="button">Reset vault</button>
    <button id="vault-delete" type="button">Delete vault</button>
    <span class="spacer"></span>
    <label>New vault <input id="vault-new-name" type="text" size="16" placeholder="name"></label>
    <button id="vault-create" type="button">Create</button>
  </section>
  <section id="objects">
    <h2>Objects</h2>
    <h3>Secrets</h3>
    <table id="secrets-table"><thead><tr>
      <th>Name</th><th>Versions</th><th>Latest version</th><th>Enabled</th><th>Not before</th><th>Expires</th>
      <th>Updated</th><th>Content type</th><th>Tags</th><th>Value</th>
    </tr></thead><tbody></tbody></table>
    <h3>Keys</h3>
    <table id="keys-table"><thead><tr>
      <th>Name</th><th>Versions</th><th>Latest version</th><th>Type</th><th>Operations</th><th>Enabled</th>
      <th>Expires</th><th>Updated</th>
    </tr></thead><tbody></tbody></table>
    <h3>Certificates</h3>
    <table id="certificates-table"><thead><tr>
      <th>Name</th><th>Versions</th><th>Latest version</th><th>State</th><th>Enabled</th><th>Expires</th>
      <th>Thumbprint</th>
    </tr></thead><tbody></tbody></table>
    <h3>Deleted</h3>
    <table id="deleted-table"><thead><tr>
      <th>Kind</th><th>Name</th><th>Deleted</th><th>Scheduled purge</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section id="faults">
    <h2>Faults</h2>
    <div id="fault-presets"></div>
    <table id="faults-table"><thead><tr>
      <th>Id</th><th>Operation</th><th>Name</th><th>Fault</th><th>Phase</th><th>Fired</th><th>Remaining</th><th></th>
    </tr></thead><tbody></tbody></table>
    <fieldset>
      <legend>Add a fault rule</legend>
      <label>Operation <input id="fault-operation" type="text" list="operations" placeholder="any" size="18"></label>
      <datalist id="operations"></datalist>
      <label>Name <input id="fault-name" type="text" placeholder="any (glob)" size="14"></label>
      <label>Fault <select id="fault-kind">
        <option value="Status">Status</option><option value="Latency">Latency</option>
        <option value="Reset">Reset</option><option value="MalformedJson">Malformed JSON</option>
      </select></label>
      <label>Status / ms <input id="fault-value" type="number" value="503" size="6"></label>
      <label>Times <input id="fault-times" type="number" min="1" placeholder="always" size="6"></label>
      <label>Phase <select id="fault-phase"><option value="before">before</option><option value="after">after</option></select></label>
      <button id="fault-add" type="button">Add fault</button>
      <button id="fault-clear" type="button">Clear all</button>
    </fieldset>
  </section>
  <section id="throttle">
    <h2>Throttling</h2>
    <label class="switch"><input id="throttle-enabled" type="checkbox"> Throttling on</label>
    <label>secret creates <input id="throttle-secretCreate" type="number" min="0" size="6"></label>
    <label>other secret <input id="throttle-secretOther" type="number" min="0" size="6"></label>
    <label>key creates <input id="throttle-keyCreate" type="number" min="0" size="6"></label>
    <label>other key <input id="throttle-keyOther" type="number" min="0" size="6"></label>
    <label>window ms <input id="throttle-windowMillis" type="number" min="1" size="7"></label>
    <label><input id="throttle-retryAfter" type="checkbox"> Retry-After</label>
    <button id="throttle-save" type="button">Apply</button>
    <span id="throttle-status"></span>
  </section>
  <section id="journal">
    <h2>Journal <span id="journal-status" class="muted">connecting</span></h2>
    <label>Operation <input id="journal-operation" type="text" list="operations" size="18"></label>
    <label><input id="journal-this-vault" type="checkbox"> this vault only</label>
    <label><input id="journal-faulted" type="checkbox"> faulted only</label>
    <button id="journal-pause" type="button">Pause</button>
    <button id="journal-clear" type="button">Clear journal</button>
    <table id="journal-table"><thead><tr>
      <th>#</th><th>Time</th><th>Vault</th><th>Method</th><th>Operation</th><th>Name</th><th>Status</th>
      <th>Latency ms</th><th>Fault</th><th>Client request id</th><th>Traceparent</th>
    </tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`

/** @internal */
export const STYLE = `:root { color-scheme: light dark; --line: #8884; --accent: #2563eb; --bad: #b91c1c; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1rem 2rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 1rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; margin: .6rem 0; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
h3 { font-size: 1rem; margin: .8rem 0 .2rem; }
section { border-bottom: 1px solid var(--line); padding-bottom: .6rem; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
td code { word-break: break-all; }
label { margin-right: .6rem; white-space: nowrap; }
button { margin: 2px; }
fieldset { margin-top: .5rem; border: 1px solid var(--line); }
.muted { color: #888; font-weight: normal; font-size: .85rem; }
.spacer { display: inline-block; width: 2rem; }
.fault { color: var(--bad); }
.status-error { color: var(--bad); font-weight: 600; }
.secret-value { background: #fde68a55; padding: 0 4px; }
#error { color: var(--bad); font-weight: 600; }
#fault-presets label { display: inline-block; margin: .2rem 1rem .2rem 0; }
.panel-inline label, .panel-inline button, .panel-inline select { font-size: 13px; }
`

/** @internal */
export const SCRIPT = String.raw`"use strict";
(function () {
  var TOKEN_KEY = "key-vault-emulator.token";
  var VAULT_KEY = "key-vault-emulator.vault";
  var OPERATIONS = ["setSecret", "getSecret", "updateSecret", "deleteSecret", "listSecrets", "listSecretVersions",
    "backupSecret", "restoreSecret", "purgeDeletedSecret", "recoverDeletedSecret", "createKey", "importKey", "getKey",
    "updateKey", "deleteKey", "listKeys", "rotateKey", "encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey",
    "getRandomBytes", "createCertificate", "importCertificate", "getCertificate", "listCertificates",
    "deleteCertificate", "getCertificateOperation", "mergeCertificate"];
  var PRESETS = [
    { id: "503", label: "Every request answers 503 Service Unavailable",
      fault: { _tag: "Status", status: 503 } },
    { id: "429", label: "Every request answers 429 Throttled (Retry-After 1 s)",
      fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 1 } } },
    { id: "latency", label: "Every request 2 s slower", fault: { _tag: "Latency", millis: 2000 } },
    { id: "reset", label: "Every connection reset", fault: { _tag: "Reset" } }
  ];

  var state = { vault: null, vaults: [], rules: [], revealed: {}, paused: false, cursor: null, streamGen: 0, streamAbort: null };

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(td);
    });
    return tr;
  }

  function button(text, onClick) {
    var b = el("button", text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function fill(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  function showError(message) {
    var node = $("error");
    if (message) { node.textContent = message; node.hidden = false; } else { node.textContent = ""; node.hidden = true; }
  }

  // --- the token ------------------------------------------------------------------------------------------------
  (function takeTokenFromFragment() {
    var match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
  })();

  function token() { return sessionStorage.getItem(TOKEN_KEY) || "dashboard"; }

  function needToken(message) {
    $("token-panel").hidden = false;
    $("main").hidden = true;
    if (message) $("token-message").textContent = message;
  }

  function api(method, path, body) {
    var headers = { authorization: "Bearer " + token() };
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (response.status === 401) {
          needToken("The access token was refused: enter the emulator's token.");
          throw new Error("unauthorized");
        }
        if (response.status === 204) return null;
        return response.text().then(function (text) {
          var json = text === "" ? null : JSON.parse(text);
          if (!response.ok) {
            var message = json && json.error ? json.error.code + ": " + json.error.message : "HTTP " + response.status;
            throw new Error(message);
          }
          return json;
        });
      });
  }

  function report(error) { if (error && error.message !== "unauthorized") showError(error.message); }

  function vaultPath(suffix) { return "/admin/vaults/" + encodeURIComponent(state.vault) + suffix; }

  // --- the clock -------------------------------------------------------------------------------------------------
  function renderClock(view) {
    $("clock-now").textContent = view.now;
    var seconds = Math.round(view.offsetMillis / 1000);
    $("clock-offset").textContent = (seconds >= 0 ? "+" : "") + seconds + " s";
  }
  function loadClock() { return api("GET", "/admin/clock").then(renderClock).catch(report); }

  // --- vaults ----------------------------------------------------------------------------------------------------
  function loadVaults() {
    return api("GET", "/admin/vaults").then(function (page) {
      state.vaults = page.value;
      var names = page.value.map(function (v) { return v.name; });
      var wanted = state.vault || sessionStorage.getItem(VAULT_KEY);
      state.vault = names.indexOf(wanted) >= 0 ? wanted : names[0];
      var select = $("vault-select");
      while (select.firstChild) select.removeChild(select.firstChild);
      page.value.forEach(function (v) {
        var option = el("option", v.name + (v.isDefault ? " (default)" : ""));
        option.value = v.name;
        option.selected = v.name === state.vault;
        select.appendChild(option);
      });
      renderVault();
    });
  }

  function currentVault() {
    for (var i = 0; i < state.vaults.length; i++) if (state.vaults[i].name === state.vault) return state.vaults[i];
    return null;
  }

  function renderVault() {
    var v = currentVault();
    if (!v) return;
    $("vault-url").textContent = v.url;
    $("vault-summary").textContent = v.objects.secrets + " secrets, " + v.objects.keys + " keys, " +
      v.objects.certificates + " certificates; retention " + v.settings.recoverableDays + " days" +
      (v.settings.purgeProtection ? ", purge protection" : "");
    $("vault-delete").disabled = v.isDefault;
    renderThrottle(v.throttle);
  }

  function latest(object) {
    for (var i = 0; i < object.versions.length; i++) if (object.versions[i].version === object.latest) return object.versions[i];
    return object.versions[object.versions.length - 1];
  }

  function revealCell(name) {
    var span = el("span");
    var shown = state.revealed[name];
    if (shown !== undefined) {
      span.appendChild(el("code", shown, "secret-value"));
      span.appendChild(button("Hide", function () { delete state.revealed[name]; loadObjects(); }));
    } else {
      span.appendChild(button("Reveal", function () {
        api("POST", vaultPath("/secrets/" + encodeURIComponent(name) + "/reveal")).then(function (secret) {
          state.revealed[name] = secret.value;
          loadObjects();
        }).catch(report);
      }));
    }
    return span;
  }

  function tags(t) {
    if (!t) return "";
    return Object.keys(t).map(function (k) { return k + "=" + t[k]; }).join(", ");
  }

  function loadObjects() {
    if (!state.vault) return Promise.resolve();
    return api("GET", vaultPath("/objects")).then(function (objects) {
      fill($("secrets-table").tBodies[0], objects.secrets.map(function (s) {
        var v = latest(s);
        var tr = row([s.name + (v.managed ? " (certificate)" : ""), s.versions.length, v.version, v.enabled ? "yes" : "no",
          v.notBefore, v.expires, v.updated, v.contentType, tags(v.tags), revealCell(s.name)]);
        tr.setAttribute("data-secret", s.name);
        return tr;
      }));
      fill($("keys-table").tBodies[0], objects.keys.map(function (k) {
        var v = latest(k);
        return row([k.name + (v.managed ? " (certificate)" : ""), k.versions.length, v.version, v.kty,
          v.keyOps.join(" "), v.enabled ? "yes" : "no", v.expires, v.updated]);
      }));
      fill($("certificates-table").tBodies[0], objects.certificates.map(function (c) {
        var v = latest(c);
        return row([c.name, c.versions.length, v.version, v.pending ? "pending" : "issued", v.enabled ? "yes" : "no",
          v.expires, v.thumbprint]);
      }));
      var deleted = [];
      ["secrets", "keys", "certificates"].forEach(function (kind) {
        objects.deleted[kind].forEach(function (d) { deleted.push(row([kind, d.name, d.deletedDate, d.scheduledPurgeDate])); });
      });
      fill($("deleted-table").tBodies[0], deleted);
    }).catch(report);
  }

  // --- faults ----------------------------------------------------------------------------------------------------
  function sameFault(rule, preset) {
    return rule.operation === undefined && rule.name === undefined && rule.times === undefined &&
      rule.probability === undefined && JSON.stringify(rule.fault) === JSON.stringify(preset.fault);
  }

  function presetRule(preset) {
    for (var i = 0; i < state.rules.length; i++) if (sameFault(state.rules[i].rule, preset)) return state.rules[i];
    return null;
  }

  function renderPresets() {
    var box = $("fault-presets");
    while (box.firstChild) box.removeChild(box.firstChild);
    PRESETS.forEach(function (preset) {
      var label = el("label");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.id = "preset-" + preset.id;
      input.checked = presetRule(preset) !== null;
      input.addEventListener("change", function () {
        var active = presetRule(preset);
        var done = input.checked
          ? (active ? Promise.resolve() : api("POST", vaultPath("/faults"), { fault: preset.fault }))
          : (active ? api("DELETE", vaultPath("/faults/" + encodeURIComponent(active.id))) : Promise.resolve());
        done.then(loadFaults).catch(report);
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + preset.label));
      box.appendChild(label);
    });
  }

  function describeFault(f) {
    if (f._tag === "Status") return "Status " + f.status;
    if (f._tag === "Latency") return "Latency " + f.millis + " ms";
    return f._tag;
  }

  function loadFaults() {
    if (!state.vault) return Promise.resolve();
    return api("GET", vaultPath("/faults")).then(function (page) {
      state.rules = page.value;
      renderPresets();
      fill($("faults-table").tBodies[0], page.value.map(function (r) {
        var op = r.rule.operation === undefined ? "any" : [].concat(r.rule.operation).join(", ");
        var tr = row([r.id, op, r.rule.name === undefined ? "any" : r.rule.name, describeFault(r.rule.fault),
          r.rule.phase || "before", r.fired, r.remaining === null ? "unlimited" : r.remaining,
          button("Remove", function () {
            api("DELETE", vaultPath("/faults/" + encodeURIComponent(r.id))).then(loadFaults).catch(report);
          })]);
        tr.setAttribute("data-fault", r.id);
        return tr;
      }));
    }).catch(report);
  }

  function addFault() {
    var kind = $("fault-kind").value;
    var value = Number($("fault-value").value);
    var fault = kind === "Status" ? { _tag: "Status", status: value }
      : kind === "Latency" ? { _tag: "Latency", millis: value } : { _tag: kind };
    var rule = { fault: fault, phase: $("fault-phase").value };
    var operation = $("fault-operation").value.trim();
    if (operation) rule.operation = operation;
    var name = $("fault-name").value.trim();
    if (name) rule.name = name;
    var times = $("fault-times").value.trim();
    if (times) rule.times = Number(times);
    api("POST", vaultPath("/faults"), rule).then(function () { showError(null); return loadFaults(); }).catch(report);
  }

  // --- throttling ------------------------------------------------------------------------------------------------
  var LIMITS = ["secretCreate", "secretOther", "keyCreate", "keyOther"];

  function renderThrottle(t) {
    $("throttle-enabled").checked = t.enabled;
    LIMITS.forEach(function (k) { $("throttle-" + k).value = t.limits[k]; });
    $("throttle-windowMillis").value = t.windowMillis;
    $("throttle-retryAfter").checked = t.retryAfter;
    $("throttle-status").textContent = t.enabled ? "on" : "off";
  }

  function saveThrottle() {
    var limits = {};
    LIMITS.forEach(function (k) { limits[k] = Number($("throttle-" + k).value); });
    api("PUT", vaultPath("/throttle"), {
      enabled: $("throttle-enabled").checked, limits: limits,
      windowMillis: Number($("throttle-windowMillis").value), retryAfter: $("throttle-retryAfter").checked
    }).then(function (t) { showError(null); renderThrottle(t); }).catch(function (e) { report(e); loadVaults(); });
  }

  // --- the journal -------------------------------------------------------------------------------------------------
  var MAX_ROWS = 500;

  function shows(entry) {
    var op = $("journal-operation").value.trim();
    if (op && entry.operation !== op) return false;
    if ($("journal-faulted").checked && entry.fault === null) return false;
    if ($("journal-this-vault").checked && entry.vault !== state.vault) return false;
    return true;
  }

  function addEntry(entry) {
    if (!shows(entry)) return;
    var fault = entry.fault ? entry.fault.kind + (entry.fault.ruleId ? " (" + entry.fault.ruleId + ")" : "") : "";
    var tr = row([entry.sequence, entry.time, entry.vault, entry.method, entry.operation, entry.name,
      entry.status === null ? "none" : entry.status, entry.durationMillis, fault, entry.clientRequestId,
      entry.traceparent]);
    tr.setAttribute("data-operation", entry.operation);
    if (entry.fault) tr.className = "fault";
    if (entry.status !== null && entry.status >= 400) tr.cells[6].className = "status-error";
    var tbody = $("journal-table").tBodies[0];
    tbody.insertBefore(tr, tbody.firstChild);
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(tbody.rows.length - 1);
  }

  function parseEvents(text) {
    var events = [];
    var lastId = null;
    text.split(/\r?\n\r?\n/).forEach(function (block) {
      var data = [];
      var type = "message";
      block.split(/\r?\n/).forEach(function (line) {
        if (line === "" || line.charAt(0) === ":") return;
        var at = line.indexOf(":");
        var field = at < 0 ? line : line.slice(0, at);
        var value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "id") lastId = value;
        else if (field === "event") type = value;
        else if (field === "data") data.push(value);
      });
      if (data.length > 0) events.push({ type: type, data: data.join("\n") });
    });
    return { events: events, lastId: lastId };
  }

  var refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      loadObjects();
      loadFaults();
      loadVaults().catch(report);
    }, 150);
  }

  // The admin API's event stream stays open and pushes every entry as it is recorded (backlog first). It is read with
  // fetch and the body's reader, not EventSource, so the request can carry the token; when it ends or breaks, the page
  // reconnects with the last cursor it saw, so no entry is missed in between.
  function stream(generation) {
    if (generation !== state.streamGen) return;
    var query = state.cursor === null ? "?backlog=100" : "";
    var headers = { authorization: "Bearer " + token() };
    if (state.cursor !== null) headers["last-event-id"] = state.cursor;
    var controller = new AbortController();
    state.streamAbort = controller;
    var decoder = new TextDecoder();
    var buffer = "";
    fetch("/admin/journal/stream" + query,
      { headers: headers, cache: "no-store", credentials: "omit", signal: controller.signal })
      .then(function (response) {
        if (response.status === 401) { needToken("The access token was refused: enter the emulator's token."); throw new Error("unauthorized"); }
        if (!response.ok || !response.body) throw new Error("journal stream: HTTP " + response.status);
        $("journal-status").textContent = state.paused ? "paused" : "live";
        var reader = response.body.getReader();
        function pump() {
          return reader.read().then(function (read) {
            if (generation !== state.streamGen) { reader.cancel(); return; }
            if (read.done) throw new Error("journal stream ended");
            buffer += decoder.decode(read.value, { stream: true });
            var end = buffer.lastIndexOf("\n\n");
            if (end >= 0) {
              handleEvents(buffer.slice(0, end + 2));
              buffer = buffer.slice(end + 2);
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function (error) {
        if (generation !== state.streamGen) return;
        if (error && error.message === "unauthorized") return;
        $("journal-status").textContent = "reconnecting";
        setTimeout(function () { stream(generation); }, 1000);
      });
  }

  function handleEvents(text) {
    var parsed = parseEvents(text);
    if (parsed.lastId !== null) state.cursor = parsed.lastId;
    var touched = false;
    parsed.events.forEach(function (event) {
      if (event.type === "dropped") {
        $("journal-status").textContent = "live (some entries skipped: the page fell behind)";
        return;
      }
      if (event.type !== "request") return;
      var entry = JSON.parse(event.data);
      if (!state.paused) addEntry(entry);
      if (entry.reachedEngine && entry.method !== "GET") touched = true;
      if (entry.vault === state.vault && entry.reachedEngine) touched = true;
    });
    if (touched) refreshSoon();
  }

  function restartStream() {
    if (state.streamAbort) state.streamAbort.abort();
    state.streamGen += 1;
    state.cursor = null;
    fill($("journal-table").tBodies[0], []);
    stream(state.streamGen);
  }

  // --- wiring ----------------------------------------------------------------------------------------------------
  function loadAll() {
    showError(null);
    return Promise.all([loadClock(), loadVaults().then(function () { return Promise.all([loadObjects(), loadFaults()]); })])
      .catch(report);
  }

  function start() {
    var list = $("operations");
    OPERATIONS.forEach(function (op) { var o = el("option"); o.value = op; list.appendChild(o); });
    $("token-save").addEventListener("click", function () {
      sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
      $("token-input").value = "";
      $("token-panel").hidden = true;
      $("main").hidden = false;
      loadAll();
      restartStream();
    });
    $("vault-select").addEventListener("change", function () {
      state.vault = $("vault-select").value;
      sessionStorage.setItem(VAULT_KEY, state.vault);
      state.revealed = {};
      renderVault();
      loadObjects();
      loadFaults();
    });
    $("vault-refresh").addEventListener("click", loadAll);
    $("vault-reset").addEventListener("click", function () {
      if (!confirm("Empty vault " + state.vault + "?")) return;
      api("POST", vaultPath("/reset")).then(function () { state.revealed = {}; return loadAll(); }).catch(report);
    });
    $("vault-delete").addEventListener("click", function () {
      if (!confirm("Delete vault " + state.vault + " and everything in it?")) return;
      api("DELETE", vaultPath("")).then(function () { state.vault = null; return loadAll(); }).catch(report);
    });
    $("vault-create").addEventListener("click", function () {
      var name = $("vault-new-name").value.trim();
      api("POST", "/admin/vaults", { name: name }).then(function (v) {
        $("vault-new-name").value = "";
        state.vault = v.name;
        return loadAll();
      }).catch(report);
    });
    $("clock-advance-button").addEventListener("click", function () {
      var seconds = Number($("clock-advance").value) * Number($("clock-unit").value);
      api("POST", "/admin/clock", { advanceSeconds: seconds }).then(renderClock).then(loadObjects).catch(report);
    });
    $("clock-set-button").addEventListener("click", function () {
      api("POST", "/admin/clock", { set: $("clock-set").value.trim() }).then(renderClock).then(loadObjects).catch(report);
    });
    $("clock-reset").addEventListener("click", function () {
      api("POST", "/admin/clock", { reset: true }).then(renderClock).then(loadObjects).catch(report);
    });
    $("fault-add").addEventListener("click", addFault);
    $("fault-clear").addEventListener("click", function () {
      api("DELETE", vaultPath("/faults")).then(loadFaults).catch(report);
    });
    $("throttle-save").addEventListener("click", saveThrottle);
    $("throttle-enabled").addEventListener("change", saveThrottle);
    $("journal-pause").addEventListener("click", function () {
      state.paused = !state.paused;
      $("journal-pause").textContent = state.paused ? "Resume" : "Pause";
      $("journal-status").textContent = state.paused ? "paused" : "live";
    });
    $("journal-clear").addEventListener("click", function () {
      api("DELETE", "/admin/journal").then(function () { fill($("journal-table").tBodies[0], []); }).catch(report);
    });
    loadAll();
    stream(state.streamGen);
    setInterval(loadClock, 5000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
`
