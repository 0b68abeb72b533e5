import type { UsageDelta } from "../http/usage.js";

// Row types of the cache tables, for kysely. The README documents the same schema for people
// who query the file with sqlite3.

export interface IssueRow {
  connection: string;
  id: string;
  provider: string;
  key: string;
  url: string | null;
  project: string | null;
  type: string | null;
  title: string | null;
  description: string | null;
  status: string | null;
  status_category: string | null;
  priority: string | null;
  assignee: string | null;
  reporter: string | null;
  /** JSON array text. */
  labels: string;
  parent: string | null;
  sprint: string | null;
  story_points: number | null;
  due_date: string | null;
  created_at: string | null;
  updated_at: string | null;
  resolved_at: string | null;
  deleted_at: string | null;
  content_hash: string;
  synced_at: string;
  /** JSON object text: `custom.<slug>` values derived by the field mappings, keyed by slug. */
  custom: string;
  /**
   * JSON text `{"hash", "values"}`: the provider's own values of the columns a field mapping
   * overrides, for the content_hash they belong to (migration 0002); null when nothing is overridden.
   */
  provider_values: string | null;
  /** JSON text: the remote payload minus volatile members, keys sorted. */
  raw: string;
}

export interface SyncRunRow {
  id: number;
  connection: string;
  provider: string;
  mode: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  pulled: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  pushed: number;
  requests: number;
  retries: number;
  cursor: string | null;
  error: string | null;
}

export interface SyncStateRow {
  connection: string;
  cursor: string | null;
  last_full_at: string | null;
  catalog_fingerprint: string | null;
  consecutive_failures: number;
  lock_owner: string | null;
  lock_pid: number | null;
  lock_host: string | null;
  lock_acquired_at: string | null;
  lock_heartbeat_at: string | null;
}

/** One `api_usage` row: the counters the HTTP layer gathers, per connection. */
export type ApiUsageRow = UsageDelta & { connection: string };

export interface Database {
  connections: { name: string; provider: string; site: string | null; created_at: string; updated_at: string };
  projects: { connection: string; key: string; remote_id: string | null; name: string | null; first_seen_at: string };
  issues: IssueRow;
  issue_changes: {
    id: number;
    connection: string;
    issue_id: string;
    key: string;
    sync_run_id: number | null;
    changed_at: string;
    field: string;
    old_value: string | null;
    new_value: string | null;
  };
  field_catalog: {
    connection: string;
    source_id: string;
    name: string;
    type: string;
    custom: number;
    schema: string;
    seen_at: string;
  };
  field_mappings: {
    connection: string;
    source_id: string;
    source_name: string;
    source_type: string;
    target: string | null;
    confidence: number;
    state: string;
    reasons: string;
    candidates: string;
    fingerprint: string | null;
    decided_at: string | null;
    updated_at: string;
  };
  mapping_state: {
    connection: string;
    derived_through: string | null;
    applied: string | null;
    catalog: string | null;
    overridden: number;
    updated_at: string;
  };
  sync_runs: SyncRunRow;
  sync_state: SyncStateRow;
  api_usage: ApiUsageRow;
  pending_changes: {
    id: number;
    connection: string;
    issue_id: string;
    key: string;
    field: string;
    new_value: string | null;
    base_value: string | null;
    base_hash: string;
    state: string;
    remote_value: string | null;
    error: string | null;
    created_at: string;
    updated_at: string;
  };
}
