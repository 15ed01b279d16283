// The boundary between the invoker and the execution layer. The invoker hands over one activation at a time and gets
// back an outcome with everything the activation record needs; pools, sandboxes and language runners stay behind it.
import type { ActionDoc } from '../types.js';
import type { LogSink } from './log-collector.js';

/** Receives a running activation's lines and progress as they come (live logs, src/live-logs/). */
export interface RunObserver extends LogSink {
  progress(json: string): void;
}

export interface RunRequest {
  activationId: string;
  transactionId: string;
  /** Invoking namespace (→ __OW_NAMESPACE). */
  namespace: string;
  /** Fully qualified action name "/ns/pkg/name" (→ __OW_ACTION_NAME). */
  actionName: string;
  /** The action with exec.code filled in (needed on a cold start; identity = namespace+name+version+updated). */
  action: ActionDoc;
  /** Loads exec.code lazily so warm invokes never read code from the store. Used when action.exec.code is absent. */
  loadCode?: () => Promise<string>;
  /** Run parameters (init parameters already removed). */
  params: Record<string, unknown>;
  /** Init parameters → environment variables (values stringified). */
  env: Record<string, string>;
  /** Passed as __OW_API_KEY / context.apiKey only when the action has provide-api-key. */
  apiKey?: string;
  /** The API host functions can call back (→ __OW_API_HOST). */
  apiHost: string;
  /** Sees the lines and progress values while the activation runs. */
  observer?: RunObserver;
  /**
   * Aborted when the activation is cancelled (src/cancel/): SIGTERM to every process of the sandbox, `cancelGraceMs`
   * for the function to clean up, then SIGKILL; run() resolves (outcome.cancelled) only once every process is gone.
   */
  signal?: AbortSignal;
  cancelGraceMs?: number;
  /** 1-based attempt and the policy's maximum (→ __OW_ATTEMPT, __OW_MAX_ATTEMPTS; 1 and 1 without retries). */
  attempt?: number;
  maxAttempts?: number;
}

export interface RunOutcome {
  statusCode: 0 | 1 | 2 | 3;
  /** Always a JSON object or array; errors are {"error": ...}. */
  result: unknown;
  /** Length of the raw result text, when known. */
  size?: number;
  /** OpenWhisk-formatted log lines ("<ts padded to 30> stdout: line"). */
  logs: string[];
  /** Epoch ms: start includes init on a cold start. */
  start: number;
  end: number;
  /** Present only on a cold start (ms spent in init). */
  initTime?: number;
  /** True when the action hit its time limit. */
  timeout: boolean;
  /** True when the run was cancelled (its sandbox is gone; logs are those written up to the kill). */
  cancelled?: boolean;
  /** Which executor served it: a warm one of the same action version, a prewarmed stem cell, or a new one. */
  executor?: 'warm' | 'prewarmed' | 'cold';
}

/** Executor pool figures (diagnostics, tests, benchmarks). */
export interface PoolStats {
  executors: number;
  busy: number;
  /** Initialized and idle, waiting for the same action version. */
  warm: number;
  /** Warm executors currently frozen (paused) while idle. */
  paused: number;
  /** Prewarmed, not yet bound to an action. */
  stemCells: number;
  /** Stem cells whose runner has finished booting. */
  stemCellsReady: number;
  /** Memory of all live executors, MB. */
  memoryMb: number;
  memoryBudgetMb: number;
}

export interface RuntimeKind {
  kind: string; // e.g. nodejs:20
  family: string; // e.g. nodejs
  default: boolean;
  deprecated: boolean;
}

export interface SandboxStatus {
  /** true when executors run isolated (bubblewrap + cgroups). */
  isolated: boolean;
  /** Human-readable description, e.g. "bubblewrap + cgroup v1" or the reason for unsafe dev mode. */
  description: string;
}

export interface Runtime {
  readonly kinds: RuntimeKind[];
  readonly sandbox: SandboxStatus;
  /** Resolves "nodejs:default" etc. to a concrete kind; undefined when unsupported. */
  resolveKind(kind: string): string | undefined;
  /**
   * Runs one activation. Never rejects for anything the function did: crashes, timeouts, bad results all come
   * back as an outcome with the right statusCode.
   */
  run(req: RunRequest): Promise<RunOutcome>;
  /** How many more activations of `memoryMb` could start now without waiting (memory budget). */
  freeSlots(memoryMb: number): number;
  /** Called whenever capacity is released, so the invoker can claim more work. */
  onCapacity(listener: () => void): void;
  close(): Promise<void>;
  /** Pool figures (optional for other implementations). */
  stats?(): PoolStats;
}
