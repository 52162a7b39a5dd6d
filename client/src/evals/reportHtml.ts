// The Eval Report and Compare Eval Runs webviews show the page `statecraft eval report RUN --html -`
// and `statecraft eval compare A B --html -` print: one self-contained document with inline styles,
// scripts and SVG. This prepares it for a webview without `vscode`: a Content-Security-Policy that
// allows only its inline styles, its own scripts (by nonce) and data: images, never the network;
// the editor's theme colours and font; and a small script that tells the extension the page has
// drawn (how many rows, and its title) and asks it to show a session when a session id is clicked.

/** What the page's script reports once it has drawn. */
export interface ReportRendered {
  type: "rendered";
  title: string;
  /** Table rows drawn (a case run or a comparison line each, plus headers). */
  rows: number;
  /** SVG charts drawn. */
  charts: number;
  /** Whether the page's own palette follows the editor's theme. */
  theme: "dark" | "light" | "high-contrast" | "unknown";
}

/** Sent when a session id in the page is clicked: the extension shows it in the Session Explorer. */
export interface ReportOpenSession {
  type: "openSession";
  session: string;
}

export type ReportMessage = ReportRendered | ReportOpenSession;

const csp = (nonce: string) =>
  [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `script-src 'nonce-${nonce}'`,
    "img-src data:",
    "font-src data:",
  ].join("; ");

/**
 * Maps the page onto the editor's theme: VS Code gives a webview its theme as `--vscode-*` variables
 * and a `vscode-dark` / `vscode-light` / `vscode-high-contrast` class on <body>. Placed after the
 * page's own styles, so it wins over a page's light/dark defaults but not over its specific rules.
 */
const THEME_STYLE = `
:root { color-scheme: light dark; }
body {
  background: var(--vscode-editor-background);
  color: var(--vscode-editor-foreground);
  font-family: var(--vscode-font-family);
  font-size: var(--vscode-font-size);
}
body.vscode-light { color-scheme: light; }
body.vscode-dark, body.vscode-high-contrast { color-scheme: dark; }
a { color: var(--vscode-textLink-foreground); }
table { border-color: var(--vscode-panel-border); }
th, td { border-color: var(--vscode-panel-border); }
`;

const bridge = () => `
(() => {
  const vscode = acquireVsCodeApi();
  const kind = () => {
    const c = document.body.classList;
    return c.contains("vscode-high-contrast") ? "high-contrast" : c.contains("vscode-dark") ? "dark" : c.contains("vscode-light") ? "light" : "unknown";
  };
  const report = () => vscode.postMessage({
    type: "rendered",
    title: document.title,
    rows: document.querySelectorAll("tr").length,
    charts: document.querySelectorAll("svg").length,
    theme: kind(),
  });
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-session]") : null;
    if (!target) return;
    event.preventDefault();
    vscode.postMessage({ type: "openSession", session: target.getAttribute("data-session") });
  });
  if (document.readyState === "complete") report();
  else window.addEventListener("load", report);
})();
`;

/** The CLI's page, ready for a webview: CSP, nonces on its scripts, theme styles and the bridge script. */
export function prepareReportHtml(page: string, nonce: string): string {
  // Every inline script of the page runs under the nonce; a script with a src loads nothing anyway.
  let html = page.replace(/<script\b(?![^>]*\bnonce=)/gi, `<script nonce="${nonce}"`);
  const meta = `<meta http-equiv="Content-Security-Policy" content="${csp(nonce)}">`;
  const head = /<head\b[^>]*>/i.exec(html);
  if (head)
    html = html.slice(0, head.index + head[0].length) + meta + html.slice(head.index + head[0].length);
  else html = `<!DOCTYPE html><html><head>${meta}</head><body>${html}</body></html>`;
  const tail = `<style>${THEME_STYLE}</style><script nonce="${nonce}">${bridge()}</script>`;
  const end = html.search(/<\/body>/i);
  return end >= 0 ? html.slice(0, end) + tail + html.slice(end) : html + tail;
}

/** The page shown instead when the CLI could not write one: what failed, escaped. */
export function errorHtml(title: string, message: string, nonce: string): string {
  const escape = (s: string) =>
    s.replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
    );
  return prepareReportHtml(
    `<!DOCTYPE html><html><head><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1><pre>${escape(message)}</pre></body></html>`,
    nonce,
  );
}
