// The volunteer's offline app. Visits are written to an IndexedDB queue first, each with an id
// made here (so sending it twice stores it once), and sent to /api/v1/campaign/visits/sync when
// there is signal. The walk list is kept in IndexedDB too, so the app opens with no signal.
"use strict";

(() => {
  const root = document.getElementById("volunteer-app");
  if (!root) return;
  const config = JSON.parse(root.dataset.config);
  const t = config.messages;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let walk = { households: [] };
  let editing = null; // {household, clientId, visitedAt} while the form is open
  let syncing = false;

  // --- IndexedDB -----------------------------------------------------------------------------
  const dbPromise = new Promise((resolve, reject) => {
    const open = indexedDB.open("safezone-volunteer", 1);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore("queue", { keyPath: "client_id" }); // visits waiting to sync
      db.createObjectStore("done", { keyPath: "client_id" }); // synced today (for corrections)
      db.createObjectStore("walk"); // the last walk list, key "list"
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });

  function store(name, mode, work) {
    return dbPromise.then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const result = work(tx.objectStore(name));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    }));
  }
  const all = (name) => store(name, "readonly", (s) => s.getAll());
  const put = (name, value, key) => store(name, "readwrite", (s) => s.put(value, key));
  const remove = (name, key) => store(name, "readwrite", (s) => s.delete(key));

  // --- helpers -------------------------------------------------------------------------------
  function uuid() {
    // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  function localTime(iso) {
    return new Date(iso).toLocaleTimeString(config.lang === "en" ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit" });
  }
  function todayKey(iso) {
    // The visit's day in Vietnam (UTC+7), to drop yesterday's synced visits.
    return new Date(new Date(iso).getTime() + 7 * 3600 * 1000).toISOString().slice(0, 10);
  }
  function householdName(id) {
    const found = walk.households.find((h) => h.household_id === id);
    return found ? (found.head_name || found.address || `#${id}`) : `#${id}`;
  }

  // --- network state -------------------------------------------------------------------------
  function showNet() {
    $("net-status").textContent = navigator.onLine ? t.online : t.offline;
  }

  // --- walk list -----------------------------------------------------------------------------
  async function loadWalk() {
    try {
      if (!navigator.onLine) throw new Error("offline"); // no request the phone knows will fail
      const response = await fetch("/api/v1/campaign/walk-list", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      walk = await response.json();
      await put("walk", walk, "list");
      $("walk-note").textContent = "";
    } catch (error) {
      const saved = await store("walk", "readonly", (s) => s.get("list"));
      walk = saved || { households: [] };
      $("walk-note").textContent = t.saved_list;
    }
    await render();
  }

  async function render() {
    const queue = await all("queue");
    const done = (await all("done")).filter((v) => todayKey(v.visited_at) === todayKey(new Date().toISOString()));
    const list = $("walk-list");
    list.replaceChildren();
    if (!walk.households.length) list.append(el("li", { class: "muted", text: t.no_households }));
    for (const h of walk.households) {
      const mine = [...queue, ...done].filter((v) => v.household_id === h.household_id);
      const server = (h.visited_today || []).filter((v) => !mine.some((m) => m.client_id === v.client_id));
      const item = el("li", { "data-household": String(h.household_id) },
        el("div", { class: "who", text: h.head_name || "—" }),
        el("div", { text: [h.address, h.unit_name].filter(Boolean).join(" · ") }),
        el("div", { class: "muted", text: `${h.members} ${t.members} · ${t[h.reason] || ""}${h.not_home_tries ? ` · ${h.not_home_tries} ${t.tries}` : ""}` }),
      );
      for (const v of [...mine, ...server]) {
        const line = el("div", { class: "done", text: `${t.visited_today} ${localTime(v.visited_at)}: ${t[v.outcome]}` });
        if (v.apps) {
          const fix = el("button", { type: "button", class: "link", "data-correct": v.client_id, text: ` ${t.correct}` });
          fix.addEventListener("click", () => openForm(h, v));
          line.append(" ", fix);
        }
        item.append(line);
      }
      const button = el("button", { type: "button", class: "big", "data-testid": `record-${h.household_id}`, text: t.record });
      button.addEventListener("click", () => openForm(h, null));
      item.append(button);
      list.append(item);
    }
    renderQueue(queue);
  }

  function renderQueue(queue) {
    $("queue-count").textContent = String(queue.length);
    const list = $("queue-list");
    list.replaceChildren();
    if (!queue.length) list.append(el("li", { class: "muted", text: t.nothing_queued }));
    for (const v of queue) {
      const text = `${householdName(v.household_id)} · ${localTime(v.visited_at)} · ${t[v.outcome]}`;
      const item = el("li", { "data-queued": v.client_id, text });
      if (v.error) item.append(el("div", { class: "rejected", text: `${t.rejected}: ${v.error}` }));
      list.append(item);
    }
  }

  // --- the visit form ------------------------------------------------------------------------
  function buildAppFields() {
    const box = $("app-results");
    box.replaceChildren();
    for (const app of config.apps) {
      const select = el("select", { id: `app-${app.code}`, name: `app-${app.code}` },
        el("option", { value: "", text: "—" }),
        ...config.results.map((r) => el("option", { value: r, text: t[r] })));
      box.append(el("div", { class: "app-block" },
        el("label", { for: `app-${app.code}`, text: app.name }), select));
    }
  }

  function openForm(household, visit) {
    editing = { household, clientId: visit ? visit.client_id : uuid(), visitedAt: visit ? visit.visited_at : null };
    const form = $("visit-form");
    form.reset();
    $("visit-error").textContent = "";
    $("visit-household").textContent = [household.head_name, household.address].filter(Boolean).join(" · ");
    if (visit && visit.apps) {
      form.outcome.value = visit.outcome;
      $("people_home").value = visit.people_home || 1;
      $("smartphones").value = visit.smartphones || 0;
      for (const app of visit.apps) $(`app-${app.app_code}`).value = app.result;
      $("consent").checked = !!visit.consent_reminders;
      $("reminder_phone").value = visit.reminder_phone || "";
    }
    toggleHome();
    $("visit-dialog").showModal();
  }

  function toggleHome() {
    $("home-part").hidden = $("visit-form").outcome.value !== "home";
  }

  async function saveForm(event) {
    event.preventDefault();
    const form = $("visit-form");
    const home = form.outcome.value === "home";
    const visit = {
      client_id: editing.clientId,
      household_id: editing.household.household_id,
      visited_at: editing.visitedAt || new Date().toISOString(),
      outcome: home ? "home" : "not_home",
      people_home: home ? Number($("people_home").value || 0) : 0,
      smartphones: home ? Number($("smartphones").value || 0) : 0,
      apps: home ? config.apps.map((a) => ({ app_code: a.code, result: $(`app-${a.code}`).value })).filter((a) => a.result) : [],
      consent_reminders: home && $("consent").checked,
      reminder_phone: home && $("consent").checked ? $("reminder_phone").value.trim() : null,
    };
    if (home && visit.people_home < 1) { $("visit-error").textContent = t.people_needed; return; }
    if (visit.consent_reminders && !visit.reminder_phone) { $("visit-error").textContent = t.phone_needed; return; }
    await put("queue", visit);
    $("visit-dialog").close();
    editing = null;
    await render();
    if (navigator.onLine) sync();
  }

  // --- sync ----------------------------------------------------------------------------------
  async function sync() {
    if (syncing) return;
    const queue = await all("queue");
    if (!queue.length) { renderQueue(queue); return; }
    syncing = true;
    try {
      const visits = queue.map(({ error, ...visit }) => visit);
      const response = await fetch("/api/v1/campaign/visits/sync", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ visits }),
      });
      if (response.status === 401) { $("sync-result").textContent = t.login_again; return; }
      if (!response.ok) throw new Error(String(response.status));
      const answer = await response.json();
      for (const [index, item] of answer.results.entries()) {
        const visit = visits[index];
        if (item.status === "rejected") {
          const message = item.errors.map((e) => (config.lang === "en" ? e.message_en : e.message_vi)).join(" ");
          await put("queue", { ...visit, error: message });
        } else {
          await remove("queue", visit.client_id);
          await put("done", visit);
        }
      }
      $("sync-result").textContent = t.synced
        .replace("%(stored)s", answer.stored).replace("%(unchanged)s", answer.unchanged).replace("%(corrected)s", answer.corrected);
      await loadWalk();
    } catch (error) {
      $("sync-result").textContent = t.sync_failed;
    } finally {
      syncing = false;
    }
  }

  // --- start ---------------------------------------------------------------------------------
  buildAppFields();
  $("visit-form").addEventListener("submit", saveForm);
  $("visit-form").addEventListener("change", toggleHome);
  $("visit-cancel").addEventListener("click", () => { $("visit-dialog").close(); editing = null; });
  $("sync-now").addEventListener("click", sync);
  window.addEventListener("online", () => { showNet(); sync(); });
  window.addEventListener("offline", showNet);
  showNet();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/volunteer/sw.js", { scope: "/volunteer/" }).catch(() => {});
  }
  loadWalk().then(() => { if (navigator.onLine) sync(); });
})();
