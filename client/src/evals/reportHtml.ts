// The Eval Report and Compare Eval Runs webviews show the page `statecraft eval report RUN --html -`
// and `statecraft eval compare A B --html -` print: one self-contained document with inline styles,
// scripts and SVG, whose colours are VS Code's theme variables when shown in a webview. This
// prepares it for a webview without `vscode`: the page's own Content-Security-Policy is replaced by
// one with the webview's nonce (only the page's styles and scripts, data: images, never the
// network), and a small script, run first, shares the one `acquireVsCodeApi()` a webview allows
// and tells the extension when the page has drawn (its title, rows, charts and theme).

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

/** The page's script sends this when a session id is clicked: the extension shows it in the Session Explorer. */
export interface ReportOpenSession {
  command: "openSession";
  session: string;
}

export type ReportMessage = ReportRendered | ReportOpenSession;

const csp = (nonce: string) =>
  [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    // SVG charts may colour their shapes with style attributes; attributes cannot load anything.
    "style-src-attr 'unsafe-inline'",
    `script-src 'nonce-${nonce}'`,
    "img-src data:",
    "font-src data:",
  ].join("; ");

/** Form controls and scroll bars in the editor's light or dark scheme, whatever the OS prefers. */
const THEME_STYLE =
  "body.vscode-light { color-scheme: light; } body.vscode-dark, body.vscode-high-contrast { color-scheme: dark; }";

/** Runs before the page's scripts: they get the same API object; the extension hears when the page is drawn. */
const BRIDGE = `
(() => {
  const api = acquireVsCodeApi();
  window.acquireVsCodeApi = () => api;
  const theme = () => {
    const c = document.body.classList;
    return c.contains("vscode-high-contrast") ? "high-contrast" : c.contains("vscode-dark") ? "dark" : c.contains("vscode-light") ? "light" : "unknown";
  };
  const report = () => api.postMessage({
    type: "rendered",
    title: document.title,
    rows: document.querySelectorAll("tr").length,
    charts: document.querySelectorAll("svg").length,
    theme: theme(),
  });
  if (document.readyState === "complete") report();
  else window.addEventListener("load", report);
})();
`;

/** The CLI's page, ready for a webview: the webview's CSP and nonce, the theme style and the bridge script. */
export function prepareReportHtml(page: string, nonce: string): string {
  // The page's own policy names its own nonce: the webview's replaces it, on every style and script.
  let html = page.replace(/<meta\s+http-equiv=["']?Content-Security-Policy["']?[^>]*>/gi, "");
  html = html.replace(/<(script|style)\b([^>]*)>/gi, (_m, tag: string, attrs: string) => {
    const rest = attrs.replace(/\s+nonce=("[^"]*"|'[^']*'|[^\s>]*)/gi, "");
    return `<${tag} nonce="${nonce}"${rest}>`;
  });
  const first = `<meta http-equiv="Content-Security-Policy" content="${csp(nonce)}"><script nonce="${nonce}">${BRIDGE}</script>`;
  const head = /<head\b[^>]*>/i.exec(html);
  if (head)
    html = html.slice(0, head.index + head[0].length) + first + html.slice(head.index + head[0].length);
  else html = `<!DOCTYPE html><html><head>${first}</head><body>${html}</body></html>`;
  const style = `<style nonce="${nonce}">${THEME_STYLE}</style>`;
  const end = html.search(/<\/head>/i);
  return end >= 0 ? html.slice(0, end) + style + html.slice(end) : html + style;
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
