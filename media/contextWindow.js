// The context window view's script (loaded by client/src/sessions/contextWindowPanel.ts under a
// nonce CSP). It receives {type: "session", data: ContextWindowData} and draws one row per turn:
// the token sections against the model's window (or against the largest turn, when the window
// dwarfs them) and the bytes the client sent. Replies "ready" once loaded and "rendered" per draw.
(function () {
  const vscode = acquireVsCodeApi();
  const SECTIONS = ["instructions", "context", "memory", "history", "tools"];
  const root = document.getElementById("root");
  let data;
  // "window", "largest", or "auto" until the user picks one.
  let scale = vscode.getState()?.scale ?? "auto";

  const fmt = (n) => Number(n).toLocaleString("en-US");
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };

  function draw() {
    if (!data) return;
    const largest = Math.max(1, ...data.turns.map((t) => t.total));
    const window = data.window;
    // Small contexts vanish against a 128k window: then scale to the largest turn, unless asked.
    const effective = scale === "auto" ? (window && largest > window / 20 ? "window" : "largest") : scale;
    const denominator = effective === "window" && window ? window : largest;
    const maxBytes = Math.max(1, ...data.turns.map((t) => t.bytes));
    const stateful = data.backend.kind === "stateful";

    const header = el(
      "div",
      {},
      el("h1", {}, `${data.agent} · session ${data.sessionId}`),
      el(
        "p",
        { class: "summary" },
        el("span", { class: "kind" }, data.backend.kind),
        ` ${data.backend.name} (${data.backend.provider}${data.backend.model ? ` ${data.backend.model}` : ""})`,
        window ? ` · window ${fmt(window)} tokens` : " · window unknown",
        ` · ${fmt(data.totalBytes)} bytes sent in ${data.turns.length} turn${data.turns.length === 1 ? "" : "s"}`,
      ),
    );
    const toggle = (which, label) => {
      const b = el(
        "button",
        { "aria-pressed": String(effective === which), title: `Scale the bars to ${label}` },
        label,
      );
      b.addEventListener("click", () => {
        scale = which;
        vscode.setState({ scale });
        draw();
      });
      return b;
    };
    const toolbar = el(
      "div",
      { class: "toolbar" },
      el("span", { class: "muted" }, "Bars scaled to"),
      toggle("window", "the model's window"),
      toggle("largest", "the largest turn"),
    );
    const legend = el(
      "div",
      { class: "legend" },
      ...SECTIONS.map((s) => el("span", { class: `s-${s}` }, s)),
      el("span", { class: "s-bytes" }, "bytes sent"),
    );
    const table = el(
      "table",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Turn"),
        el("th", {}, "Input"),
        el(
          "th",
          {},
          effective === "window" ? "Tokens against the window" : "Tokens (scaled to the largest turn)",
        ),
        el("th", {}, "Tokens"),
        el("th", {}, "Bytes sent"),
      ),
    );
    for (const t of data.turns) {
      const bar = el("div", {
        class: "bar",
        title: SECTIONS.map((s) => `${s}: ${fmt(t.sections[s])}`).join("\n"),
      });
      for (const s of SECTIONS) {
        if (!t.sections[s]) continue;
        const part = el("div", { class: `s-${s}` });
        part.style.width = `${(100 * t.sections[s]) / denominator}%`;
        bar.append(part);
      }
      const bytes = el("div", {
        class: "bytes",
        title: `${fmt(t.bytes)} bytes in ${t.calls} model call${t.calls === 1 ? "" : "s"}`,
      });
      bytes.style.width = `${(100 * t.bytes) / maxBytes}%`;
      const pct = window ? ` (${((100 * t.total) / window).toFixed(t.total < window / 100 ? 2 : 1)}%)` : "";
      table.append(
        el(
          "tr",
          { "data-turn": String(t.turn) },
          el(
            "td",
            { class: `turn status-${t.status}` },
            `${t.turn}${t.status === "ok" ? "" : ` (${t.status})`}`,
          ),
          el("td", { class: "input", title: t.input }, t.input),
          el("td", {}, bar),
          el("td", { class: "num" }, `${fmt(t.total)}${t.exact ? "" : "~"}${pct}`),
          el("td", { class: "num" }, el("div", {}, `${fmt(t.bytes)} B`), el("div", { class: "bar" }, bytes)),
        ),
      );
    }
    const note = el(
      "p",
      { class: "note muted" },
      stateful
        ? "Stateful backend: the runtime keeps the conversation, so each call sends only what is new; the bytes stay flat as the context grows."
        : "Stateless backend: every model call sends the whole context (instructions, history, tool schemas), so the bytes grow with the conversation.",
      data.turns.some((t) => !t.exact)
        ? " ~ marks token counts estimated without the model's tokenizer."
        : "",
    );
    root.replaceChildren(header, toolbar, legend, table, note);
    vscode.postMessage({ type: "rendered", sessionId: data.sessionId, turns: data.turns.length });
  }

  window.addEventListener("message", (event) => {
    const m = event.data;
    if (m && m.type === "session") {
      data = m.data;
      draw();
    }
  });
  vscode.postMessage({ type: "ready" });
})();
