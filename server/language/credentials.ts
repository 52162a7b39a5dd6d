// What a credential looks like: the shapes of API keys, tokens and private
// keys that must never be written into an .agent file (the `secret-literal`
// diagnostic, in any string of any declaration). Pure text matching.

export interface CredentialShape {
  /** What it is, for the message: "an OpenAI API key". */
  what: string;
  pattern: RegExp;
}

export const CREDENTIAL_SHAPES: readonly CredentialShape[] = [
  { what: "a private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { what: "an OpenAI-style API key (sk-...)", pattern: /\bsk-[A-Za-z0-9_-]{20,}/ },
  { what: "an AWS access key id", pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { what: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { what: "a GitHub token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { what: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}/ },
  { what: "a JSON Web Token", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { what: "a bearer token", pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/ },
  {
    what: "a key in a URL query",
    pattern:
      /[?&](?:api[_-]?key|key|token|access[_-]?token|auth|secret|client[_-]?secret|password|passwd|sig|signature)=[^&#\s{}]{8,}/i,
  },
  { what: "a password in a URL", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@{}]+:[^/\s@{}]{3,}@/i },
];

/** The first credential-shaped part of `text`, if any. */
export function findCredential(text: string): CredentialShape | undefined {
  return CREDENTIAL_SHAPES.find((c) => c.pattern.test(text));
}
