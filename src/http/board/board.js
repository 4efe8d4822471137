// The presence board.  Every text from the IM network is hostile: it only
// ever reaches the page through textContent, never as markup.
"use strict";

let session = null;
const peers = new Map();    // peer -> { section, cards: Map(id -> card) }
const $ = (id) => document.getElementById(id);

function words(b) {
  if (b.show === "phone" || (b.status === "busy" && /^busy\//i.test(b.text)))
    return ["phone", "on the phone"];
  switch (b.status) {
    case "online": return ["online", "online"];
    case "idle": return ["idle", "idle " + Math.max(1, Math.round(b.idle / 60)) + " min"];
    case "away": return ["away", "away"];
    case "busy": return ["busy", "busy"];
    case "offline":
      return ["offline", b.lastseen ? "offline, seen " + ago(b.lastseen) : "offline"];
    default: return ["unknown", "unknown"];
  }
}

function ago(minutes) {
  if (minutes < 60) return minutes + " min ago";
  if (minutes < 2880) return Math.round(minutes / 60) + " h ago";
  return Math.round(minutes / 1440) + " days ago";
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf },
    body: JSON.stringify(body),
  });
  return r.json().catch(() => ({}));
}

function peerSection(name) {
  let p = peers.get(name);
  if (!p) {
    const section = document.createElement("section");
    section.className = "peer";
    const h = document.createElement("h2");
    h.textContent = name;
    const cards = document.createElement("div");
    cards.className = "cards";
    section.append(h, cards);
    $("board").append(section);
    p = { section, list: cards, cards: new Map() };
    peers.set(name, p);
  }
  return p;
}

// A button labelled `label` whose click runs `action(button)`.
function button(label, action) {
  const btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = label;
  btn.className = label;
  btn.addEventListener("click", () => action(btn));
  return btn;
}

function card(b) {
  const p = peerSection(b.peer);
  let c = p.cards.get(b.id);
  if (!c) {
    c = document.createElement("article");
    c.className = "card";
    c.tabIndex = 0;
    const name = document.createElement("div");
    name.className = "name";
    const state = document.createElement("div");
    state.className = "state";
    const text = document.createElement("div");
    text.className = "text";
    const actions = document.createElement("div");
    actions.className = "actions";
    if (session.dial)
      actions.append(button("call", async (btn) => {
        const r = await post("/api/v1/dial", { peer: b.peer, user: c.dataset.name });
        btn.textContent = r.result === "OK" ? "calling…" : "call failed";
        setTimeout(() => { btn.textContent = "call"; }, 4000);
      }));
    if (session.send)
      actions.append(button("message", async () => {
        const text = window.prompt("Message to " + c.dataset.name);
        if (text) await post("/api/v1/send", { peer: b.peer, user: c.dataset.name, text });
      }));
    c.append(name, state, text, actions);
    p.cards.set(b.id, c);
    p.list.append(c);
  }
  const [cls, label] = words(b);
  c.className = "card s-" + cls;
  c.dataset.name = b.name;
  c.dataset.status = cls;
  c.querySelector(".name").textContent = b.name;
  c.querySelector(".state").textContent = label;
  c.querySelector(".text").textContent = b.text;
  c.setAttribute("aria-label", b.name + ": " + label + (b.text ? ", " + b.text : ""));
  applyFilter();
}

// People: a card each, above the peers, with her phone beside her IM state
// and her DND switch (hers, or anyone's with the dnd right).
const PHONE_WORDS = { idle: "idle", inuse: "on the phone", ringing: "ringing",
                      onhold: "on hold", unavailable: "unavailable", unknown: "" };

function personCard(p) {
  const s = peerSection("People");
  let c = s.cards.get(p.person);
  if (!c) {
    c = document.createElement("article");
    c.className = "card person";
    c.tabIndex = 0;
    for (const k of ["name", "phone", "state", "text", "actions"]) {
      const d = document.createElement("div");
      d.className = k;
      c.append(d);
    }
    if (session.dial && session.person !== p.person)
      c.querySelector(".actions").append(button("call", async (btn) => {
        const r = await post("/api/v1/people/" + encodeURIComponent(p.person) + "/call", {});
        btn.textContent = r.result === "OK" ? "calling…" : "call failed";
        setTimeout(() => { btn.textContent = "call"; }, 4000);
      }));
    if (session.dnd || session.person === p.person) {
      const sw = button("dnd", async (btn) => {
        const on = btn.getAttribute("aria-pressed") !== "true";
        await post("/api/v1/people/" + encodeURIComponent(p.person) + "/dnd", { dnd: on });
      });
      sw.setAttribute("aria-pressed", "false");
      sw.textContent = "do not disturb";
      c.querySelector(".actions").append(sw);
    }
    s.cards.set(p.person, c);
    s.list.append(c);
    // People first.
    $("board").prepend(s.section);
  }
  const [cls, label] = p.dnd ? ["busy", "do not disturb"] : words(p);
  const phone = PHONE_WORDS[p.phone] ?? "";
  c.className = "card person s-" + cls;
  c.dataset.name = p.person;
  c.dataset.status = cls;
  c.dataset.phone = p.phone;
  c.dataset.dnd = p.dnd ? "on" : "off";
  c.querySelector(".name").textContent = p.person;
  c.querySelector(".phone").textContent = phone ? "phone: " + phone : "";
  c.querySelector(".state").textContent = label;
  c.querySelector(".text").textContent = p.text;
  const sw = c.querySelector("button.dnd");
  if (sw) sw.setAttribute("aria-pressed", p.dnd ? "true" : "false");
  c.setAttribute("aria-label", p.person + ": " + label + (phone ? ", phone " + phone : "")
                 + (p.text ? ", " + p.text : ""));
  applyFilter();
}

function applyFilter() {
  const f = $("filter").value.toLowerCase();
  for (const p of peers.values())
    for (const c of p.cards.values())
      c.hidden = f !== "" && !c.textContent.toLowerCase().includes(f);
}

function connect() {
  const es = new EventSource("/api/v1/events");
  es.addEventListener("open", () => {
    $("conn").textContent = "live";
    $("conn").classList.remove("down");
  });
  es.addEventListener("error", () => {
    $("conn").textContent = "reconnecting…";
    $("conn").classList.add("down");
    // The browser retries by itself unless the answer was an error (the
    // daemon restarted and forgot the session): then ask again ourselves.
    if (es.readyState === EventSource.CLOSED) setTimeout(resume, 2000);
  });
  es.addEventListener("peer", () => {});
  es.addEventListener("buddy", (e) => card(JSON.parse(e.data)));
  es.addEventListener("person", (e) => personCard(JSON.parse(e.data)));
  es.addEventListener("synced", () => { $("conn").textContent = "live"; });
}

// After the stream ended: the daemon is back (connect again), forgot us
// (log in again) or still away (try again later).
async function resume() {
  try {
    await start(session ? "Your session ended; please log in again." : "");
  } catch (e) {
    setTimeout(resume, 2000);
  }
}

async function start(why = "") {
  const r = await fetch("/api/v1/session", { credentials: "same-origin" });
  if (r.status !== 200) {
    $("login").hidden = false;
    $("filter").hidden = true;
    $("logout").hidden = true;
    $("conn").textContent = "";
    $("conn").classList.remove("down");
    $("login-error").textContent = why;
    return;
  }
  session = await r.json();
  $("login").hidden = true;
  $("filter").hidden = false;
  $("logout").hidden = false;
  connect();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData($("login"));
  const r = await fetch("/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: form.get("user"), secret: form.get("secret") }),
  });
  if (r.status === 200) start();
  else $("login-error").textContent = r.status === 429 ? "Too many attempts; wait a minute."
                                                       : "Wrong user or password.";
});
$("logout").addEventListener("click", async () => {
  await post("/logout", {});
  window.location.reload();
});
$("filter").addEventListener("input", applyFilter);
start();
