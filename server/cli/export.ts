// `statecraft export otel SESSION [--endpoint URL]`: a recorded session sent to
// an OpenTelemetry collector as the trace it would have produced live, with
// its recorded timestamps (the same mapping a traced run uses:
// runtime/traceMapping.ts), so any session can be looked at in the team's
// tracing tool.

import * as path from "node:path";
import { parseArgs } from "node:util";
import { startTelemetry, TelemetryConfigError } from "../service/telemetry";
import { displayPath } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";
import { loadSession, resolveSession } from "./sessionFiles";

/** The flags of `statecraft export` (the docs test parses the documented commands against them). */
export const EXPORT_FLAGS = {
  endpoint: { type: "string" },
  workspace: { type: "string" },
} satisfies Flags;

const USAGE = "usage: statecraft export otel SESSION [--endpoint URL] [--workspace DIR]";

export async function exportCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: EXPORT_FLAGS });
  if (positionals.length !== 2) throw new UsageError(USAGE);
  const [format, arg] = positionals;
  if (format !== "otel")
    throw new UsageError(`statecraft export writes 'otel' (OpenTelemetry), not '${format}'; ${USAGE}`);
  const workspace = path.resolve(io.cwd, values.workspace ?? ".");
  const file = resolveSession(arg, workspace, io.cwd);
  const events = loadSession(file, io);
  const start = events.find((e) => e.type === "session.start");
  if (!start)
    throw new UsageError(
      `${displayPath(file, io.cwd)} has no session.start event: it is not a Statecraft session log`,
    );
  if (values.endpoint === "")
    throw new UsageError("--endpoint needs a URL (for example http://localhost:4318)");
  let telemetry;
  try {
    telemetry = startTelemetry({ ...io.env, OTEL_SDK_DISABLED: undefined }, values.endpoint);
  } catch (err) {
    if (err instanceof TelemetryConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (!telemetry)
    throw new UsageError(
      "no collector to export to: pass --endpoint URL (for example http://localhost:4318) or set OTEL_EXPORTER_OTLP_ENDPOINT",
    );
  // No metrics: the session's tokens were counted when it ran (if it was traced), and a re-export must not count them again.
  const mapping = telemetry.sessionTracer({ metrics: false });
  for (const e of events) mapping.onEvent(e);
  // A log cut short (a killed run) ends its open spans at its last event, not at the export's time.
  mapping.close(events[events.length - 1].ts);
  const warning = await telemetry.shutdown();
  if (warning) {
    io.stderr(`statecraft export: ${warning}\n`);
    return 1;
  }
  const turns = events.filter((e) => e.type === "turn.start").length;
  io.stderr(
    `exported session ${start.sessionId} (${turns} turn${turns === 1 ? "" : "s"}) to ${telemetry.config.tracesUrl}\n`,
  );
  return 0;
}
