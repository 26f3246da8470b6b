// Sahay web chat: talks to /api/chat/messages. No build step, no dependencies.
// Weak connections: each message keeps one id across retries, so the server answers it once.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  const rtl = new Set((document.querySelector(".chat").dataset.rtl || "").split(" "));
  const strings = JSON.parse(document.getElementById("ui-strings").textContent);
  let ui = strings[document.documentElement.lang] || strings.en;

  // The page speaks the language of the latest reply (the person's language, once known).
  function useLanguage(language) {
    if (!strings[language] || document.documentElement.lang === language) return;
    ui = strings[language];
    document.documentElement.lang = language;
    document.documentElement.dir = rtl.has(language) ? "rtl" : "ltr";
    document.getElementById("tagline").textContent = ui.tagline;
    document.getElementById("text-label").textContent = ui.your_message;
    document.getElementById("send").textContent = ui.send;
    input.placeholder = ui.placeholder;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  let sender = localStorage.getItem("sahay.sender");
  if (!sender) { sender = "web-" + newId(); localStorage.setItem("sahay.sender", sender); }

  function bubble(who, text, language) {
    const li = document.createElement("li");
    li.className = "msg " + who;
    li.textContent = text;
    li.dir = language && rtl.has(language) ? "rtl" : "auto";
    if (language) li.lang = language;
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function show(reply) {
    if (reply.messages.length) useLanguage(reply.language);
    for (const m of reply.messages) {
      const li = bubble("bot", m.text, reply.language);
      if (m.buttons && m.buttons.length) {
        const row = document.createElement("div");
        row.className = "buttons";
        for (const b of m.buttons) {
          const btn = document.createElement("button");
          btn.type = "button";
          btn.textContent = b.title;
          btn.addEventListener("click", () => send(b.payload, b.title));
          row.appendChild(btn);
        }
        li.appendChild(row);
      }
    }
  }

  async function post(body) {
    const res = await fetch("/api/chat/messages", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.status >= 500 || res.status === 429) throw new Error(data.error || "unavailable");
    if (!res.ok) { const e = new Error(data.error || "error"); e.final = true; throw e; }
    return data;
  }

  async function send(text, shown) {
    const mine = bubble("user", shown || text);
    mine.classList.add("pending");
    const body = { sender: sender, text: text, id: newId() };
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const reply = await post(body);
        mine.classList.remove("pending");
        status.textContent = "";
        show(reply);
        return;
      } catch (err) {
        if (err.final) { status.textContent = err.message; mine.classList.remove("pending"); return; }
        status.textContent = ui.retrying;
        await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
      }
    }
    status.textContent = ui.not_sent;
  }

  async function poll() {
    try {
      const res = await fetch("/api/chat/messages?sender=" + encodeURIComponent(sender));
      if (res.ok) show(await res.json());
    } catch (err) { /* offline: the next poll tries again */ }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  poll();  // replies answered while the page was closed, and the person's language
  setInterval(poll, 10000);
})();
