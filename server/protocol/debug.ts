// The debug adapter's launch arguments (a `statecraft` launch configuration).
// Written by: the user's launch.json and the extension's debug commands and
// configuration provider (client/src/debug); declared for the editor in package.json
// `contributes.debuggers[0].configurationAttributes`. Read by: the debug
// adapter (server/debug/adapter.ts, controller.ts).

/** The launch configuration's attributes (package.json `contributes.debuggers[0].configurationAttributes`). */
export interface LaunchArgs {
  program?: string;
  agent?: string;
  backend?: string;
  inputs?: string[];
  test?: string;
  replay?: string;
  stopOnEntry?: boolean;
  user?: string | { id: string; name?: string };
  script?: string;
  noDebug?: boolean;
  /** The workspace: session logs go to <cwd>/.statecraft/sessions. Default: the program's folder. */
  cwd?: string;
  env?: Record<string, string>;
  /** False in an untrusted workspace: command tools and MCP servers do not run. */
  trusted?: boolean;
}
