// The embedded default of a stateful backend without an endpoint: the
// runtime service started in-process on an ephemeral loopback port, with its
// PGlite data in `<workspace>/.statecraft/runtime`, guarded by a token made
// for this process only. `connect` picks it or the backend's endpoint for
// `statecraft run`/`replay` and the debugger.

import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { StatefulClient, statefulClient, unreachableError } from "../backends/stateful";
import { HttpTransport } from "../backends/statefulTransport";
import type { CompiledBackend } from "../protocol/definition";
import { BackendError } from "../runtime/model";
import { startService } from "./index";

export const EMBEDDED_DATA = path.join(".statecraft", "runtime");

export interface EmbeddedRuntime {
  client: StatefulClient;
  /** What the session log records as the runtime: `embedded:.statecraft/runtime`. */
  endpoint: string;
  url: string;
  close(): Promise<void>;
}

/** `baseDir` is where the agent's relative paths (command tools, file contexts) start, as on a local run. */
export async function startEmbeddedRuntime(
  spec: CompiledBackend,
  o: { workspace: string; baseDir: string; env: NodeJS.ProcessEnv },
): Promise<EmbeddedRuntime> {
  const { workspace, baseDir, env } = o;
  const dataDir = path.join(workspace, EMBEDDED_DATA);
  const token = randomBytes(24).toString("hex");
  let service: { url: string; close(): Promise<void> };
  try {
    // The embedded service's sessions belong to actor `default`, as `statecraft serve` with
    // STATECRAFT_TOKEN on the same --data would see them.
    service = await startService({
      port: 0,
      host: "127.0.0.1",
      dataDir,
      tokens: { [token]: "default" },
      env,
      baseDir,
    });
  } catch (err) {
    throw new BackendError(
      "server",
      `cannot start the embedded runtime on ${dataDir} for backend '${spec.name}' (${(err as Error).message}): ` +
        `if another statecraft process is using it, run \`statecraft serve --data ${EMBEDDED_DATA}\` and set the backend's endpoint to its URL`,
    );
  }
  const transport = new HttpTransport(service.url, token, (reason) =>
    unreachableError(spec, service.url, reason, true),
  );
  return {
    client: new StatefulClient(transport, { backend: spec.name, embedded: true }),
    endpoint: `embedded:${EMBEDDED_DATA.split(path.sep).join("/")}`,
    url: service.url,
    close: () => service.close(),
  };
}

/** A client for the backend: its endpoint, or a runtime started in this process. */
export async function connect(
  spec: CompiledBackend,
  o: { workspace: string; baseDir: string; env: NodeJS.ProcessEnv },
): Promise<{ client: StatefulClient; endpoint: string; close: () => Promise<void> }> {
  if (spec.endpoint)
    return { client: statefulClient(spec, o.env), endpoint: spec.endpoint, close: () => Promise.resolve() };
  const embedded = await startEmbeddedRuntime(spec, o);
  return { client: embedded.client, endpoint: embedded.endpoint, close: () => embedded.close() };
}
