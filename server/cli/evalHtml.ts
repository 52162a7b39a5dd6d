// The HTML reports of eval runs (`statecraft eval --html`, `eval report --html`, `eval compare
// --html`): one self-contained page each. Everything is inline (CSS, SVG charts, a small script
// that filters and sorts rows) and a Content-Security-Policy forbids any request, so the page can
// be opened from disk, attached to a CI job or shown in the editor's webview as it is. Colours are
// CSS variables that take VS Code's theme variables when the page is in a webview and fall back to
// light or dark defaults (prefers-color-scheme) elsewhere. Every piece of text from the run (case
// names, criteria, reasons: user and model text) is escaped.

import { randomBytes } from "node:crypto";
import type { EvalCheck } from "../protocol/events";
import type { EvalBackendSummary, EvalCaseRun, EvalRun } from "../protocol/evals";
import type { CaseChange, CaseComparison, EvalComparison } from "./evalCompare";
import { printable } from "./io";

/** Text escaped for HTML content and quoted attribute values (control characters shown as `\x1B`). */
export function esc(text: string): string {
  return printable(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---- formatting ----

const num = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (x: number) => `${Math.round(x * 100)}%`;
const score = (x: number | null | undefined) => (x === null || x === undefined ? "–" : x.toFixed(2));
const ms = (x: number) => (x < 1000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(2)} s`);
const bytes = (n: number) =>
  n < 1024
    ? `${num(n)} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KB`
      : `${(n / 1048576).toFixed(2)} MB`;
const compact = (n: number) => (n < 10_000 ? num(n) : `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`);
const signed = (x: number, text: string) => `${x > 0 ? "+" : x < 0 ? "−" : "±"}${text}`;
const dateTime = (iso: string) => {
  const t = Date.parse(iso);
  return Number.isNaN(t)
    ? iso
    : new Date(t)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC");
};
const duration = (from: string, to: string) => {
  const d = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(d) || d < 0) return "";
  return d < 60_000
    ? `${(d / 1000).toFixed(1)} s`
    : `${Math.floor(d / 60_000)} min ${Math.round((d % 60_000) / 1000)} s`;
};
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
/** The text shortened to `max` characters (the whole of it goes in a tooltip). */
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

// ---- the page ----

const STYLE = `
:root {
  color-scheme: light dark;
  --fg: var(--vscode-foreground, #1f2328);
  --muted: var(--vscode-descriptionForeground, #59636e);
  --bg: var(--vscode-editor-background, #ffffff);
  --panel: var(--vscode-editorWidget-background, #f6f8fa);
  --border: var(--vscode-panel-border, var(--vscode-widget-border, #d1d9e0));
  --link: var(--vscode-textLink-foreground, #0969da);
  --pass: var(--vscode-testing-iconPassed, #1a7f37);
  --fail: var(--vscode-testing-iconFailed, #cf222e);
  --warn: var(--vscode-editorWarning-foreground, #9a6700);
  --track: var(--vscode-input-background, #eaeef2);
  --input-fg: var(--vscode-input-foreground, #1f2328);
  --input-border: var(--vscode-input-border, #d1d9e0);
  --button-bg: var(--vscode-button-secondaryBackground, #eaeef2);
  --button-fg: var(--vscode-button-secondaryForeground, #1f2328);
  --accent-bg: var(--vscode-button-background, #0969da);
  --accent-fg: var(--vscode-button-foreground, #ffffff);
  --c0: var(--vscode-charts-blue, #0969da);
  --c1: var(--vscode-charts-orange, #bc4c00);
  --c2: var(--vscode-charts-purple, #8250df);
  --c3: var(--vscode-charts-green, #1a7f37);
  --c4: var(--vscode-charts-yellow, #9a6700);
  --c5: var(--vscode-charts-red, #cf222e);
  --font: var(--vscode-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --mono: var(--vscode-editor-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: var(--vscode-foreground, #e6edf3);
    --muted: var(--vscode-descriptionForeground, #9198a1);
    --bg: var(--vscode-editor-background, #0d1117);
    --panel: var(--vscode-editorWidget-background, #151b23);
    --border: var(--vscode-panel-border, var(--vscode-widget-border, #3d444d));
    --link: var(--vscode-textLink-foreground, #4493f8);
    --pass: var(--vscode-testing-iconPassed, #3fb950);
    --fail: var(--vscode-testing-iconFailed, #f85149);
    --warn: var(--vscode-editorWarning-foreground, #d29922);
    --track: var(--vscode-input-background, #262c36);
    --input-fg: var(--vscode-input-foreground, #e6edf3);
    --input-border: var(--vscode-input-border, #3d444d);
    --button-bg: var(--vscode-button-secondaryBackground, #262c36);
    --button-fg: var(--vscode-button-secondaryForeground, #e6edf3);
    --accent-bg: var(--vscode-button-background, #1f6feb);
    --accent-fg: var(--vscode-button-foreground, #ffffff);
    --c0: var(--vscode-charts-blue, #4493f8);
    --c1: var(--vscode-charts-orange, #f0883e);
    --c2: var(--vscode-charts-purple, #ab7df8);
    --c3: var(--vscode-charts-green, #3fb950);
    --c4: var(--vscode-charts-yellow, #d29922);
    --c5: var(--vscode-charts-red, #f85149);
  }
}
* { box-sizing: border-box; }
section.report + section.report { margin-top: 40px; padding-top: 24px; border-top: 2px solid var(--border); }
body { margin: 0; padding: 24px 28px 48px; background: var(--bg); color: var(--fg); font: 13px/1.45 var(--font); }
h1 { font-size: 20px; margin: 0; font-weight: 600; }
h2 { font-size: 14px; margin: 28px 0 10px; font-weight: 600; }
code, .mono { font-family: var(--mono); font-size: 12px; }
.muted { color: var(--muted); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; }
.meta { margin-top: 6px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 18px; }
.meta b { color: var(--fg); font-weight: 500; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
.badge.passed, .badge.improvement { color: var(--pass); }
.badge.failed, .badge.regression { color: var(--fail); }
.badge.interrupted, .badge.added, .badge.removed { color: var(--warn); }
.badge.unchanged { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.summary td { white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.s0 { background: var(--c0); fill: var(--c0); } .s1 { background: var(--c1); fill: var(--c1); }
.s2 { background: var(--c2); fill: var(--c2); } .s3 { background: var(--c3); fill: var(--c3); }
.s4 { background: var(--c4); fill: var(--c4); } .s5 { background: var(--c5); fill: var(--c5); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 16px; align-items: start; }
figure { margin: 0; padding: 12px 14px; border: 1px solid var(--border); border-radius: 6px; background: var(--panel); }
figcaption { font-weight: 600; margin-bottom: 8px; }
svg { display: block; width: 100%; max-width: 620px; height: auto; overflow: visible; }
svg text { fill: var(--fg); font: 11px var(--font); }
svg text.muted { fill: var(--muted); }
svg .track { fill: var(--track); }
svg .threshold { stroke: var(--fg); stroke-width: 1.5; stroke-dasharray: 3 2; }
svg .faded { opacity: 0.45; }
.note { color: var(--muted); margin: 8px 0 0; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 10px; }
.toolbar button, .toolbar select, .toolbar input { font: inherit; color: var(--button-fg); background: var(--button-bg); border: 1px solid var(--input-border); border-radius: 4px; padding: 3px 10px; }
.toolbar input { color: var(--input-fg); background: var(--bg); min-width: 220px; }
.toolbar button[aria-pressed="true"] { background: var(--accent-bg); color: var(--accent-fg); border-color: var(--accent-bg); }
.toolbar .count { margin-left: auto; color: var(--muted); }
.rows th[data-sort] { cursor: pointer; user-select: none; }
.rows th[data-sort]:hover { color: var(--fg); }
.rows th[aria-sort="ascending"]::after { content: " ▲"; }
.rows th[aria-sort="descending"]::after { content: " ▼"; }
tr.fail > td:first-child { box-shadow: inset 3px 0 0 var(--fail); }
tr.fail { background: color-mix(in srgb, var(--fail) 6%, transparent); }
.status { font-weight: 600; white-space: nowrap; }
.status.pass { color: var(--pass); }
.status.fail { color: var(--fail); }
.case { font-weight: 600; word-break: break-word; min-width: 120px; }
td.backend { white-space: nowrap; }
td.wide { min-width: 240px; }
.where { color: var(--muted); font-size: 11px; }
ul.checks { list-style: none; margin: 0; padding: 0; }
ul.checks li { margin: 0 0 4px; }
.check .mark { font-weight: 700; margin-right: 4px; }
.check.pass .mark { color: var(--pass); }
.check.fail .mark { color: var(--fail); }
.kind { font-size: 10px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); border: 1px solid var(--border); border-radius: 3px; padding: 0 4px; margin-right: 6px; }
.crit { font-family: var(--mono); font-size: 12px; word-break: break-word; }
.fig { font-variant-numeric: tabular-nums; margin-left: 6px; color: var(--muted); white-space: nowrap; }
.check.fail .fig { color: var(--fail); }
.reason { display: block; margin: 1px 0 0 18px; color: var(--muted); }
.check.fail .reason { color: var(--fg); }
.error { color: var(--fail); font-weight: 500; }
details summary { cursor: pointer; color: var(--muted); }
details[open] summary { margin-bottom: 4px; }
.session { font-family: var(--mono); font-size: 12px; white-space: nowrap; }
body.vscode .session { color: var(--link); cursor: pointer; text-decoration: underline; }
.delta.up { color: var(--pass); } .delta.down { color: var(--fail); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 16px; }
.card { padding: 8px 14px; border: 1px solid var(--border); border-radius: 6px; background: var(--panel); min-width: 120px; }
.card .big { font-size: 20px; font-weight: 600; }
.empty { padding: 16px; text-align: center; color: var(--muted); }
`;

/**
 * The page's script: filters (status or change buttons, backend, text), sorting by a column
 * header, and in VS Code's webview a click on a session id asks the editor to open it
 * (`{command: "openSession", session}`).
 */
const SCRIPT = `
(() => {
  const api = typeof acquireVsCodeApi === "function" ? acquireVsCodeApi() : undefined;
  if (api) {
    document.body.classList.add("vscode");
    document.addEventListener("click", (e) => {
      const el = e.target instanceof Element ? e.target.closest("[data-session]") : null;
      if (el) api.postMessage({ command: "openSession", session: el.getAttribute("data-session") });
    });
  }
  // Each report (a run, or a comparison) has its own filters and rows: a page may hold several.
  for (const report of document.querySelectorAll("section.report")) {
    const table = report.querySelector("table.rows");
    if (!table) continue;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const state = { group: "all", backend: "", text: "" };
    const count = report.querySelector(".count");
    const apply = () => {
      let shown = 0;
      for (const row of rows) {
        const ok = (state.group === "all" || row.dataset.group === state.group)
          && (!state.backend || row.dataset.backend === state.backend)
          && (!state.text || row.textContent.toLowerCase().includes(state.text));
        row.hidden = !ok;
        if (ok) shown++;
      }
      if (count) count.textContent = shown + " of " + rows.length + " shown";
    };
    const buttons = report.querySelectorAll("[data-filter]");
    for (const b of buttons) {
      b.addEventListener("click", () => {
        state.group = b.getAttribute("data-filter");
        for (const o of buttons) o.setAttribute("aria-pressed", String(o === b));
        apply();
      });
    }
    const backend = report.querySelector("select.backend");
    if (backend) backend.addEventListener("change", () => { state.backend = backend.value; apply(); });
    const search = report.querySelector("input.search");
    if (search) search.addEventListener("input", () => { state.text = search.value.trim().toLowerCase(); apply(); });
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, i) => {
      if (!th.dataset.sort) return;
      th.addEventListener("click", () => {
        const dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        for (const h of heads) h.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", dir);
        const numeric = th.dataset.sort === "number";
        const key = (row) => row.cells[i].dataset.v ?? row.cells[i].textContent;
        rows.sort((a, b) => {
          const x = key(a), y = key(b);
          const c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
          return dir === "ascending" ? c : -c;
        });
        for (const row of rows) body.appendChild(row);
      });
    });
    apply();
  }
})();
`;

function page(title: string, main: string): string {
  const nonce = randomBytes(16).toString("base64");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src data:; font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${main}
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

// ---- charts ----

interface Bar {
  label: string;
  value: number;
  /** Text after the bar. */
  text: string;
  backend: string;
  colour: number;
  faded?: boolean;
  tooltip?: string;
}

interface BarGroup {
  label?: string;
  tooltip?: string;
  bars: Bar[];
  /** A dashed mark at this value (a threshold). */
  mark?: number;
}

/** Horizontal bars on a 0..1 scale, in groups (one label above each group), as inline SVG. */
function barChart(groups: BarGroup[], ariaLabel: string, markLabel?: string): string {
  const width = 520;
  const labelWidth = 130;
  const textWidth = 90;
  const barArea = width - labelWidth - textWidth;
  const barHeight = 16;
  const gap = 5;
  const groupLabel = 18;
  const groupGap = 12;
  let y = markLabel ? 16 : 0;
  const parts: string[] = [];
  const x = (v: number) => labelWidth + Math.max(0, Math.min(1, v)) * barArea;
  for (const g of groups) {
    const top = y;
    if (g.label) {
      parts.push(
        `<text x="0" y="${y + 12}" class="group-label">${g.tooltip ? `<title>${esc(g.tooltip)}</title>` : ""}${esc(g.label)}</text>`,
      );
      y += groupLabel;
    }
    for (const b of g.bars) {
      parts.push(
        `<g class="bar-row${b.faded ? " faded" : ""}"><title>${esc(b.tooltip ?? `${b.label}: ${b.text}`)}</title>` +
          `<text x="${labelWidth - 8}" y="${y + 12}" text-anchor="end">${esc(clip(b.label, 20))}</text>` +
          `<rect class="track" x="${labelWidth}" y="${y}" width="${barArea}" height="${barHeight}" rx="3"/>` +
          `<rect class="bar s${b.colour % 6}" data-backend="${esc(b.backend)}" data-value="${b.value}" x="${labelWidth}" y="${y}" width="${(x(b.value) - labelWidth).toFixed(1)}" height="${barHeight}" rx="3"/>` +
          `<text x="${labelWidth + barArea + 8}" y="${y + 12}">${esc(b.text)}</text></g>`,
      );
      y += barHeight + gap;
    }
    if (g.mark !== undefined)
      parts.push(
        `<line class="threshold" x1="${x(g.mark).toFixed(1)}" x2="${x(g.mark).toFixed(1)}" y1="${top + (g.label ? groupLabel : 0) - 3}" y2="${y - gap + 3}"><title>at least ${g.mark}</title></line>`,
      );
    y += groupGap;
  }
  if (markLabel) {
    // The scale, and the label over the threshold's mark (or centred when there is none).
    const mark = groups.length === 1 ? groups[0].mark : undefined;
    const at = mark === undefined ? labelWidth + barArea / 2 : x(mark);
    parts.unshift(
      `<text x="${labelWidth}" y="10" class="muted">0%</text><text x="${labelWidth + barArea}" y="10" text-anchor="end" class="muted">100%</text>` +
        `<text x="${at.toFixed(1)}" y="10" text-anchor="${mark === undefined ? "middle" : mark > 0.7 ? "end" : mark < 0.3 ? "start" : "middle"}" class="muted">${esc(markLabel)}</text>`,
    );
  }
  const height = Math.max(y - groupGap, 20);
  return `<svg role="img" aria-label="${esc(ariaLabel)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${parts.join("")}</svg>`;
}

function legend(backends: string[]): string {
  return `<p class="note">${backends.map((b, i) => `<span class="swatch s${i % 6}"></span>${esc(b)}`).join("&nbsp;&nbsp;&nbsp; ")}</p>`;
}

// ---- a run ----

const isScored = (k: EvalCheck) => (k.kind === "judge" || k.kind === "score") && typeof k.score === "number";
const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);

function backendsOf(run: EvalRun): string[] {
  return [...new Set([...run.backends, ...run.cases.map((r) => r.backend)])];
}

function summaryTable(run: EvalRun, backends: string[]): string {
  const rows = backends.map((b, i) => {
    const s: EvalBackendSummary | undefined = run.summary[b];
    const runs = run.cases.filter((r) => r.backend === b);
    const judge = sum(runs.map((r) => r.judgeUsage.inputTokens + r.judgeUsage.outputTokens));
    if (!s)
      return `<tr><td><span class="swatch s${i % 6}"></span>${esc(b)}</td><td colspan="10" class="muted">no summary</td></tr>`;
    const perRun = s.runs ? s.bytesSent / s.runs : 0;
    return (
      `<tr><td><span class="swatch s${i % 6}"></span><b>${esc(b)}</b></td>` +
      `<td class="n"><span class="status ${s.passRate >= run.passRate ? "pass" : "fail"}">${pct(s.passRate)}</span></td>` +
      `<td class="n">${s.passed}/${s.runs}</td>` +
      `<td class="n">${score(s.meanScore)}</td>` +
      `<td class="n">${num(s.inputTokens)}</td><td class="n">${num(s.outputTokens)}</td>` +
      `<td class="n">${num(judge)}</td>` +
      `<td class="n">${ms(s.p50LatencyMs)}</td><td class="n">${ms(s.p95LatencyMs)}</td>` +
      `<td class="n">${bytes(s.bytesSent)}</td><td class="n">${bytes(perRun)}</td></tr>`
    );
  });
  return (
    `<table class="summary"><thead><tr><th>backend</th><th class="n">pass rate</th><th class="n">passed</th><th class="n">mean score</th>` +
    `<th class="n">input tokens</th><th class="n">output tokens</th><th class="n">judge tokens</th><th class="n">p50 latency</th><th class="n">p95 latency</th>` +
    `<th class="n">bytes sent</th><th class="n">bytes / case run</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
    bytesNote(run, backends)
  );
}

/** The stateless vs stateful comparison in one sentence: what each backend sends per case run. */
function bytesNote(run: EvalRun, backends: string[]): string {
  const perRun = backends
    .map((b) => ({ b, s: run.summary[b] }))
    .filter((x) => x.s && x.s.runs > 0)
    .map((x) => ({ b: x.b, v: x.s!.bytesSent / x.s!.runs }));
  if (perRun.length < 2) return "";
  const most = perRun.reduce((a, x) => (x.v > a.v ? x : a));
  const others = perRun.filter((x) => x !== most && most.v > 0);
  if (!others.length) return "";
  return `<p class="note">Per case run, ${others.map((x) => `<b>${esc(x.b)}</b> sent ${pct(x.v / most.v)}`).join(", ")} of the bytes <b>${esc(most.b)}</b> sent (${bytes(most.v)}): a stateful backend keeps the conversation, a stateless one is sent all of it each turn.</p>`;
}

function passRateChart(run: EvalRun, backends: string[]): string {
  const bars = backends.map((b, i) => {
    const s = run.summary[b];
    const rate = s?.passRate ?? 0;
    return {
      label: b,
      backend: b,
      value: rate,
      colour: i,
      text: s ? `${pct(rate)} (${s.passed}/${s.runs})` : "–",
    };
  });
  return barChart([{ bars, mark: run.passRate }], "pass rate per backend", `pass_rate ${pct(run.passRate)}`);
}

function scoreChart(run: EvalRun, backends: string[]): string {
  const criteria: string[] = [];
  const thresholds = new Map<string, number>();
  for (const r of run.cases)
    for (const k of r.checks)
      if (isScored(k)) {
        if (!criteria.includes(k.criterion)) criteria.push(k.criterion);
        if (typeof k.threshold === "number") thresholds.set(k.criterion, k.threshold);
      }
  if (!criteria.length) return `<p class="empty">no judge or score criteria in this run</p>`;
  const groups: BarGroup[] = criteria.map((criterion) => ({
    label: clip(criterion, 78),
    tooltip: criterion,
    mark: thresholds.get(criterion),
    bars: backends.map((b, i) => {
      const scores = run.cases
        .filter((r) => r.backend === b)
        .flatMap((r) =>
          r.checks.filter((k) => k.criterion === criterion && isScored(k)).map((k) => k.score!),
        );
      const mean = scores.length ? sum(scores) / scores.length : 0;
      return {
        label: b,
        backend: b,
        value: mean,
        colour: i,
        faded: !scores.length,
        text: scores.length ? `${mean.toFixed(2)} (${plural(scores.length, "score")})` : "not scored",
      };
    }),
  }));
  return barChart(groups, "mean score per criterion and backend");
}

function checkItem(k: EvalCheck): string {
  const figures: string[] = [];
  if (typeof k.score === "number")
    figures.push(`${k.score.toFixed(2)}${typeof k.threshold === "number" ? ` / ≥ ${k.threshold}` : ""}`);
  if (typeof k.precision === "number" && typeof k.recall === "number")
    figures.push(`precision ${k.precision.toFixed(2)}, recall ${k.recall.toFixed(2)}`);
  const where = k.file
    ? ` title="${esc(`${k.file}${k.line ? `:${k.line}` : ""}${k.judgeBackend ? `, judged by ${k.judgeBackend}` : ""}`)}"`
    : "";
  return (
    `<li class="check ${k.passed ? "pass" : "fail"}"${where}><span class="mark">${k.passed ? "✓" : "✗"}</span>` +
    `<span class="kind">${esc(k.kind)}</span><span class="crit">${esc(k.criterion)}</span>` +
    (figures.length ? `<span class="fig">${esc(figures.join(" · "))}</span>` : "") +
    `<span class="reason">${esc(k.reason)}</span></li>`
  );
}

function checksCell(r: EvalCaseRun): string {
  const failing = r.checks.filter((k) => !k.passed);
  const passing = r.checks.filter((k) => k.passed);
  const parts: string[] = [];
  if (r.error !== undefined) parts.push(`<div class="error">${esc(r.error)}</div>`);
  if (failing.length) parts.push(`<ul class="checks">${failing.map(checkItem).join("")}</ul>`);
  if (passing.length)
    parts.push(
      `<details><summary>${plural(passing.length, "check")} passed</summary><ul class="checks">${passing.map(checkItem).join("")}</ul></details>`,
    );
  if (!r.checks.length && r.error === undefined) parts.push(`<span class="muted">no checks</span>`);
  return parts.join("");
}

function caseRow(r: EvalCaseRun, colour: number, folder: string): string {
  const scores = r.checks.filter(isScored).map((k) => k.score!);
  const mean = scores.length ? sum(scores) / scores.length : -1;
  const tokens = r.usage.inputTokens + r.usage.outputTokens;
  const judge = r.judgeUsage.inputTokens + r.judgeUsage.outputTokens;
  const where = r.file ? `${folder}${r.file}${r.line ? `:${r.line}` : ""}` : "";
  return (
    `<tr class="${r.passed ? "pass" : "fail"}" data-group="${r.passed ? "passed" : "failed"}" data-backend="${esc(r.backend)}">` +
    `<td data-v="${r.passed ? 1 : 0}"><span class="status ${r.passed ? "pass" : "fail"}">${r.passed ? "✓ pass" : r.error !== undefined ? "✗ error" : "✗ fail"}</span></td>` +
    `<td><div class="case">${esc(r.case)}</div>${where ? `<div class="where">${esc(where)}</div>` : ""}</td>` +
    `<td class="backend"><span class="swatch s${colour % 6}"></span>${esc(r.backend)}</td>` +
    `<td class="n" data-v="${r.trial}">${r.trial}</td>` +
    `<td class="wide">${checksCell(r)}</td>` +
    `<td class="n" data-v="${mean}">${mean < 0 ? "–" : mean.toFixed(2)}</td>` +
    `<td class="n" data-v="${tokens}" title="${num(r.usage.inputTokens)} in, ${num(r.usage.outputTokens)} out; judge ${num(r.judgeUsage.inputTokens)} in, ${num(r.judgeUsage.outputTokens)} out">${compact(tokens)}<div class="where">judge ${compact(judge)}</div></td>` +
    `<td class="n" data-v="${r.latencyMs}">${ms(r.latencyMs)}</td>` +
    `<td class="n" data-v="${r.bytesSent}">${bytes(r.bytesSent)}</td>` +
    `<td><span class="session" data-session="${esc(r.session)}" title="open the session">${esc(r.session)}</span></td></tr>`
  );
}

/** The case rows, failures first, then by case, backend and trial. */
function orderedRuns(run: EvalRun, backends: string[]): EvalCaseRun[] {
  const caseOrder = [...new Set(run.cases.map((r) => r.case))];
  return [...run.cases].sort(
    (a, b) =>
      Number(a.passed) - Number(b.passed) ||
      caseOrder.indexOf(a.case) - caseOrder.indexOf(b.case) ||
      backends.indexOf(a.backend) - backends.indexOf(b.backend) ||
      a.trial - b.trial,
  );
}

/** The folder of the eval's file, with its slash: what a case's `file` is relative to. */
const folderOf = (file: string) => (file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "");

/**
 * The HTML page of an eval run, or of the runs of one `statecraft eval` (one section each, in
 * the order given).
 */
export function evalRunHtml(runs: EvalRun | EvalRun[]): string {
  const list = Array.isArray(runs) ? runs : [runs];
  const title =
    list.length === 1
      ? `eval ${list[0].eval}: ${list[0].run}`
      : `evals ${list.map((r) => r.eval).join(", ")}`;
  return page(title, list.map(runSection).join(""));
}

function runSection(run: EvalRun): string {
  const backends = backendsOf(run);
  const failed = run.cases.filter((r) => !r.passed).length;
  const folder = folderOf(run.file);
  const main =
    `<section class="report run" data-run="${esc(run.run)}"><header><h1>eval ${esc(run.eval)}</h1><span class="badge ${esc(run.status)}">${esc(run.status)}</span></header>` +
    `<div class="meta"><span>run <b class="mono">${esc(run.run)}</b></span><span><b>${esc(run.file)}</b></span>` +
    `<span>started <b>${esc(dateTime(run.startedAt))}</b>${duration(run.startedAt, run.endedAt) ? `, took <b>${duration(run.startedAt, run.endedAt)}</b>` : ""}</span>` +
    `<span>${plural(run.cases.length, "case run")}: <b>${run.cases.length - failed} passed</b>, <b>${failed} failed</b></span>` +
    `<span>${plural(run.trials, "trial")} per case, pass_rate ${pct(run.passRate)}</span>` +
    `<span>definition <span class="mono">${esc(run.definitionHash)}</span></span></div>` +
    `<h2>Backends</h2>${summaryTable(run, backends)}` +
    `<h2>Charts</h2><div class="charts">` +
    `<figure class="chart pass-rate"><figcaption>Pass rate per backend</figcaption>${passRateChart(run, backends)}</figure>` +
    `<figure class="chart scores"><figcaption>Mean score per criterion</figcaption>${scoreChart(run, backends)}${legend(backends)}</figure></div>` +
    `<h2>Case runs</h2>` +
    `<div class="toolbar"><button type="button" data-filter="all" aria-pressed="true">All ${run.cases.length}</button>` +
    `<button type="button" data-filter="failed" aria-pressed="false">Failed ${failed}</button>` +
    `<button type="button" data-filter="passed" aria-pressed="false">Passed ${run.cases.length - failed}</button>` +
    `<select class="backend" aria-label="backend"><option value="">all backends</option>${backends.map((b) => `<option value="${esc(b)}">${esc(b)}</option>`).join("")}</select>` +
    `<input class="search" type="search" placeholder="filter: case, criterion, reason…" aria-label="filter">` +
    `<span class="count"></span></div>` +
    (run.cases.length
      ? `<table class="rows"><thead><tr><th data-sort="number">status</th><th data-sort="text">case</th><th data-sort="text">backend</th><th class="n" data-sort="number">trial</th><th>checks</th>` +
        `<th class="n" data-sort="number">score</th><th class="n" data-sort="number">tokens</th><th class="n" data-sort="number">latency</th><th class="n" data-sort="number">bytes sent</th><th>session</th></tr></thead>` +
        `<tbody>${orderedRuns(run, backends)
          .map((r) => caseRow(r, backends.indexOf(r.backend), folder))
          .join("")}</tbody></table>`
      : `<p class="empty">no case ran${run.status === "interrupted" ? ": the run was interrupted" : ""}</p>`) +
    `</section>`;
  return main;
}

// ---- a comparison ----

const CHANGE_LABEL: Record<CaseChange, string> = {
  regression: "regression",
  improvement: "improvement",
  unchanged: "unchanged",
  added: "only in B",
  removed: "only in A",
};

function delta(x: number | null, text: (v: number) => string, higherIsBetter: boolean): string {
  if (x === null) return "";
  const shown = text(Math.abs(x));
  // A change too small to show (0.004 as "0.00") is no change.
  if (!/[1-9]/.test(shown)) return `<span class="delta muted">±${shown}</span>`;
  const good = x > 0 === higherIsBetter;
  return `<span class="delta ${good ? "up" : "down"}">${signed(x, shown)}</span>`;
}

function comparisonBackends(cmp: EvalComparison): string {
  const rows = cmp.backends.map((b, i) => {
    const sw = `<span class="swatch s${i % 6}"></span><b>${esc(b.backend)}</b>`;
    if (!b.a || !b.b)
      return `<tr><td>${sw}</td><td colspan="6" class="muted">only in run ${b.a ? "A" : "B"}</td></tr>`;
    const d = b.delta;
    const cell = (a: string, bb: string, dd: string) => `<td class="n">${a} → ${bb} ${dd}</td>`;
    return (
      `<tr><td>${sw}</td>` +
      cell(
        pct(b.a.passRate),
        pct(b.b.passRate),
        delta(d.passRate, (v) => `${Math.round(v * 100)} pts`, true),
      ) +
      cell(
        score(b.a.meanScore),
        score(b.b.meanScore),
        delta(d.meanScore, (v) => v.toFixed(2), true),
      ) +
      cell(
        num(b.a.inputTokens + b.a.outputTokens),
        num(b.b.inputTokens + b.b.outputTokens),
        delta(d.tokens, (v) => num(v), false),
      ) +
      cell(ms(b.a.p50LatencyMs), ms(b.b.p50LatencyMs), delta(d.p50LatencyMs, ms, false)) +
      cell(ms(b.a.p95LatencyMs), ms(b.b.p95LatencyMs), delta(d.p95LatencyMs, ms, false)) +
      cell(bytes(b.a.bytesSent), bytes(b.b.bytesSent), delta(d.bytesSent, bytes, false)) +
      `</tr>`
    );
  });
  return (
    `<table class="summary"><thead><tr><th>backend</th><th class="n">pass rate</th><th class="n">mean score</th><th class="n">tokens</th>` +
    `<th class="n">p50 latency</th><th class="n">p95 latency</th><th class="n">bytes sent</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}

function comparisonChart(cmp: EvalComparison): string {
  const groups: BarGroup[] = cmp.backends.map((b, i) => ({
    label: b.backend,
    bars: [
      {
        label: "A",
        backend: b.backend,
        value: b.a?.passRate ?? 0,
        colour: i,
        faded: true,
        text: b.a ? `${pct(b.a.passRate)} (${b.a.passed}/${b.a.runs})` : "not run",
        tooltip: `A ${cmp.a.run}`,
      },
      {
        label: "B",
        backend: b.backend,
        value: b.b?.passRate ?? 0,
        colour: i,
        text: b.b ? `${pct(b.b.passRate)} (${b.b.passed}/${b.b.runs})` : "not run",
        tooltip: `B ${cmp.b.run}`,
      },
    ],
  }));
  return barChart(groups, "pass rate per backend, run A then run B", "pass rate");
}

function comparisonRow(c: CaseComparison, colour: number, folder: string): string {
  const side = (s: CaseComparison["a"]) => (s ? `${s.passed}/${s.runs}` : `<span class="muted">–</span>`);
  const scores = c.scores
    .filter((s) => s.delta !== null && Math.abs(s.delta) >= 0.005)
    .sort((x, y) => Math.abs(y.delta!) - Math.abs(x.delta!));
  const failures = (c.b ?? c.a)!.failures;
  const failing = failures.length
    ? `<ul class="checks">${failures
        .flatMap((f) => [
          ...(f.error !== undefined
            ? [
                `<li class="check fail"><span class="mark">✗</span>trial ${f.trial}: <span class="error">${esc(f.error)}</span></li>`,
              ]
            : []),
          ...f.checks.map((k) =>
            checkItem(k).replace(
              `<span class="mark">✗</span>`,
              `<span class="mark">✗</span><span class="muted">trial ${f.trial}</span> `,
            ),
          ),
        ])
        .join("")}</ul>`
    : "";
  const scoreList = scores.length
    ? `<ul class="checks">${scores
        .map(
          (s) =>
            `<li title="${esc(s.criterion)}"><span class="crit">${esc(clip(s.criterion, 64))}</span><span class="fig">${score(s.a)} → ${score(s.b)}</span> ${delta(s.delta, (v) => v.toFixed(2), true)}</li>`,
        )
        .join("")}</ul>`
    : `<span class="muted">no score changed</span>`;
  const sessions = failures
    .map((f) => `<div><span class="session" data-session="${esc(f.session)}">${esc(f.session)}</span></div>`)
    .join("");
  const bad = c.change === "regression" || c.change === "removed";
  return (
    `<tr class="${c.change === "regression" ? "fail" : ""}" data-group="${c.change}" data-backend="${esc(c.backend)}">` +
    `<td data-v="${["regression", "improvement", "added", "removed", "unchanged"].indexOf(c.change)}"><span class="badge ${c.change}">${CHANGE_LABEL[c.change]}</span></td>` +
    `<td><div class="case">${esc(c.case)}</div>${c.file ? `<div class="where">${esc(`${folder}${c.file}${c.line ? `:${c.line}` : ""}`)}</div>` : ""}</td>` +
    `<td class="backend"><span class="swatch s${colour % 6}"></span>${esc(c.backend)}</td>` +
    `<td class="n" data-v="${c.a?.passRate ?? -1}">${side(c.a)}</td><td class="n" data-v="${c.b?.passRate ?? -1}">${side(c.b)}</td>` +
    `<td class="n" data-v="${c.meanScoreDelta ?? 0}">${score(c.a?.meanScore)} → ${score(c.b?.meanScore)} ${delta(c.meanScoreDelta, (v) => v.toFixed(2), true)}</td>` +
    `<td class="wide">${scoreList}</td>` +
    `<td class="wide">${failing ? `<div class="muted">${bad || c.change === "added" ? "" : "still "}failing in ${c.b ? "B" : "A"}:</div>${failing}` : `<span class="muted">none</span>`}</td>` +
    `<td>${sessions}</td></tr>`
  );
}

/** The HTML page of a comparison of two runs (regressions first). */
export function evalComparisonHtml(cmp: EvalComparison): string {
  const backends = cmp.backends.map((b) => b.backend);
  const n = cmp.counts;
  const card = (value: number, label: string, cls: string) =>
    `<div class="card"><div class="big status ${cls}">${value}</div><div class="muted">${label}</div></div>`;
  const runLine = (which: string, r: EvalComparison["a"]) =>
    `<span>${which} <b class="mono">${esc(r.run)}</b> (${esc(r.eval)}, ${esc(dateTime(r.startedAt))}, <span class="badge ${esc(r.status)}">${esc(r.status)}</span>)</span>`;
  const filters: [string, string, number][] = [
    ["all", "All", cmp.cases.length],
    ["regression", "Regressions", n.regression],
    ["improvement", "Improvements", n.improvement],
    ["unchanged", "Unchanged", n.unchanged],
    ...(n.added ? ([["added", "Only in B", n.added]] as [string, string, number][]) : []),
    ...(n.removed ? ([["removed", "Only in A", n.removed]] as [string, string, number][]) : []),
  ];
  const main =
    `<section class="report comparison"><header><h1>compare ${esc(cmp.a.eval === cmp.b.eval ? `eval ${cmp.a.eval}` : `${cmp.a.eval} and ${cmp.b.eval}`)}</h1></header>` +
    `<div class="meta">${runLine("A", cmp.a)}${runLine("B", cmp.b)}` +
    (cmp.a.definitionHash === cmp.b.definitionHash
      ? `<span>same definition: the agent did not change</span>`
      : "") +
    `</div>` +
    `<div class="cards">${card(n.regression, "regressions", n.regression ? "fail" : "")}${card(n.improvement, "improvements", n.improvement ? "pass" : "")}${card(n.unchanged, "unchanged", "")}` +
    (n.added || n.removed ? card(n.added + n.removed, "in one run only", "") : "") +
    `</div>` +
    `<h2>Backends (A → B)</h2>${comparisonBackends(cmp)}` +
    `<h2>Charts</h2><div class="charts"><figure class="chart pass-rate"><figcaption>Pass rate, A (faded) and B</figcaption>${comparisonChart(cmp)}</figure></div>` +
    `<h2>Cases</h2><p class="note">Matched by case name and backend; the trials of a case are compared as a group (passed/runs).</p>` +
    `<div class="toolbar">${filters
      .map(
        ([f, label, count]) =>
          `<button type="button" data-filter="${f}" aria-pressed="${f === "all"}">${label} ${count}</button>`,
      )
      .join("")}` +
    `<select class="backend" aria-label="backend"><option value="">all backends</option>${backends.map((b) => `<option value="${esc(b)}">${esc(b)}</option>`).join("")}</select>` +
    `<input class="search" type="search" placeholder="filter: case, criterion, reason…" aria-label="filter"><span class="count"></span></div>` +
    (cmp.cases.length
      ? `<table class="rows"><thead><tr><th data-sort="number">change</th><th data-sort="text">case</th><th data-sort="text">backend</th>` +
        `<th class="n" data-sort="number">A passed</th><th class="n" data-sort="number">B passed</th><th class="n" data-sort="number">mean score</th>` +
        `<th>score changes</th><th>failing checks</th><th>sessions</th></tr></thead><tbody>` +
        cmp.cases.map((c) => comparisonRow(c, backends.indexOf(c.backend), folderOf(cmp.b.file))).join("") +
        `</tbody></table>`
      : `<p class="empty">neither run has a case run</p>`) +
    `</section>`;
  return page(`compare ${cmp.a.run} and ${cmp.b.run}`, main);
}
