// Typed errors. Commands throw these; src/cli/main.ts is the only place that turns them into
// exit codes (SPEC §3). Messages are written for the person at the terminal: what happened and
// what to do next.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  partial: 3,
  auth: 4,
  conflict: 5,
  locked: 75,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class PmsyncError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.failure;
  /** A hint printed under the message, e.g. the command that fixes it. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Bad flag, bad value, or an answer that a non-interactive run cannot give. */
export class UsageError extends PmsyncError {
  override readonly exitCode = ExitCode.usage;
}

/** Credentials missing, rejected or expired. The hint names `pmsync login …`. */
export class AuthError extends PmsyncError {
  override readonly exitCode = ExitCode.auth;
}

/** Another pmsync process holds the lock for a connection. */
export class LockedError extends PmsyncError {
  override readonly exitCode = ExitCode.locked;
}

/** Push stopped because the tracker changed a field that was also edited locally. */
export class ConflictError extends PmsyncError {
  override readonly exitCode = ExitCode.conflict;
}

/** Some connections or items failed, others succeeded. */
export class PartialFailureError extends PmsyncError {
  override readonly exitCode = ExitCode.partial;
}

/** The cache file is corrupt, foreign, or unusable; it is never overwritten. */
export class StoreError extends PmsyncError {}

/** The tracker answered with something pmsync cannot use (HTML, malformed JSON, an error status). */
export class RemoteError extends PmsyncError {
  readonly status: number | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown; status?: number }) {
    super(message, options);
    this.status = options?.status;
  }
}

/** A body that is not the JSON it claims to be; a fetch of it is retried once (SPEC §5.3). */
export class MalformedBodyError extends RemoteError {}

/** The network failed (timeouts, resets) and retries were exhausted. */
export class NetworkError extends PmsyncError {}

/** A keychain that did not answer, refused, or is not there. */
export class CredentialStoreError extends PmsyncError {}

/** Thrown by a command that already printed its result but must exit non-zero. */
export class ExitWithCode extends PmsyncError {
  override readonly exitCode: ExitCodeValue;
  constructor(code: ExitCodeValue, message = "") {
    super(message);
    this.exitCode = code;
  }
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  if (err instanceof PmsyncError) return err.exitCode;
  return ExitCode.failure;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Errors cross the pull worker's thread boundary as plain data and come back typed. */
export interface SerializedError {
  name: string;
  message: string;
  hint?: string;
  status?: number;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  const e = err as Partial<PmsyncError & RemoteError>;
  const out: SerializedError = { name: e?.name ?? "Error", message: errorMessage(err) };
  if (e?.hint) out.hint = e.hint;
  if (typeof e?.status === "number") out.status = e.status;
  if (!(err instanceof PmsyncError) && e?.stack) out.stack = e.stack;
  return out;
}

export function deserializeError(s: SerializedError): Error {
  const opts = s.hint ? { hint: s.hint } : undefined;
  switch (s.name) {
    case "AuthError":
      return new AuthError(s.message, opts);
    case "UsageError":
      return new UsageError(s.message, opts);
    case "RemoteError":
      return new RemoteError(s.message, { ...opts, ...(s.status !== undefined ? { status: s.status } : {}) });
    case "NetworkError":
      return new NetworkError(s.message, opts);
    case "StoreError":
      return new StoreError(s.message, opts);
    case "CredentialStoreError":
      return new CredentialStoreError(s.message, opts);
    case "PmsyncError":
      return new PmsyncError(s.message, opts);
    default: {
      const e = new Error(s.message);
      if (s.stack) e.stack = s.stack;
      return e;
    }
  }
}
