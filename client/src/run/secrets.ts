// API keys in VS Code's SecretStorage. A backend's `api_key: env("X")` key is stored under
// `statecraft.env.X` and handed to every CLI the extension spawns as the environment variable X;
// a configured runtime's token under `statecraft.runtime.<name>` (the Session Explorer reads it).
// SecretStorage cannot list its keys, so the names stored are kept in globalState. Values are
// never logged.

import * as vscode from "vscode";

const ENV_PREFIX = "statecraft.env.";
const RUNTIME_PREFIX = "statecraft.runtime.";
const NAMES_KEY = "statecraft.secretEnvNames";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const runtimeSecretKey = (runtime: string): string => `${RUNTIME_PREFIX}${runtime}`;

export class Secrets implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.subscription = context.secrets.onDidChange((e) => {
      if (e.key.startsWith(ENV_PREFIX) || e.key.startsWith(RUNTIME_PREFIX)) this.changed.fire();
    });
  }

  /** The names of the environment variables with a stored value. */
  envNames(): string[] {
    return this.context.globalState.get<string[]>(NAMES_KEY, []);
  }

  /** Every stored key as environment variables, for a child process. */
  async env(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of this.envNames()) {
      const value = await this.context.secrets.get(ENV_PREFIX + name);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  /** Stores (or, with an empty value, deletes) the key for environment variable `name`. */
  async setEnv(name: string, value: string): Promise<void> {
    if (!ENV_NAME.test(name))
      throw new Error(`'${name}' is not an environment variable name (letters, digits and _)`);
    const names = new Set(this.envNames());
    if (value) {
      await this.context.secrets.store(ENV_PREFIX + name, value);
      names.add(name);
    } else {
      await this.context.secrets.delete(ENV_PREFIX + name);
      names.delete(name);
    }
    await this.context.globalState.update(NAMES_KEY, [...names].sort());
  }

  async setRuntime(runtime: string, value: string): Promise<void> {
    if (value) await this.context.secrets.store(runtimeSecretKey(runtime), value);
    else await this.context.secrets.delete(runtimeSecretKey(runtime));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}
