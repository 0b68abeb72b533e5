// What every provider's fake server offers the provider contract suite (test/contract/). A fake
// is real HTTP on 127.0.0.1 speaking the tracker's wire format (paging, auth, errors, rate-limit
// signals); these methods are the test's hands on the server's data, like a colleague editing
// the tracker while pmsync is not looking.

import type { NormalisedIssue } from "./provider.js";

/** One issue as the tracker holds it, in unified terms (for checking writes). */
export type FakeIssueView = Pick<NormalisedIssue, "title" | "description" | "status" | "priority" | "assignee" | "labels" | "due_date">;

export type FakeFault = "rate_limit" | "server_error" | "malformed";

export interface FakeTracker {
  readonly provider: string;
  /** Base URL of the fake (what a user would pass as --site). */
  readonly url: string;
  /** A valid credential for the fake's account. */
  readonly token: string;
  /** `pmsync login <provider>` arguments besides the token (--site, --email, --project …). */
  readonly loginArgs: string[];
  /** Creates `n` issues with varied content in the scoped project(s); returns their keys as pmsync stores them. */
  seed(n: number): string[];
  /**
   * Changes an issue's title as a person would in the tracker. The issue's updated time becomes
   * `atMs` when given, else the fake's clock, which moves forward one second per edit.
   */
  editTitle(key: string, title: string, atMs?: number): void;
  /** The largest updated time (epoch ms) among the fake's issues. */
  maxUpdatedMs(): number;
  /** Changes only content the provider declares volatile (no real edit, `updated` unchanged). */
  touchVolatile(key: string): void;
  /** Makes an issue disappear as the tracker does it (deleted, transferred, trashed). */
  remove(key: string): void;
  /** The next `count` API requests get this fault (rate-limit answers ask for a wait of ≤ 1 s). */
  fail(kind: FakeFault, count: number): void;
  /** API requests answered so far, faulted ones included. */
  requestCount(): number;
  /** The issue as the server holds it now. */
  view(key: string): FakeIssueView | undefined;
  /** Names valid for writes on the seeded issues. */
  readonly vocabulary: {
    /** A status reachable from a seeded issue's initial status, and one in the done category. */
    inProgressStatus: string;
    doneStatus: string;
    priorities: string[];
    /** As the export's assignee column shows them. */
    users: string[];
  };
  close(): Promise<void>;
}

export type StartFake = () => Promise<FakeTracker>;
