// The initial schema: every table of SPEC §8. Types are kept to text/integer/real/bigint so the
// same migration runs on PostgreSQL; timestamps are ISO 8601 UTC text, lists are JSON text.

import type { Kysely, Migration } from "kysely";

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name.startsWith("Postgres");
}

export const m0001_init: Migration = {
  async up(db: Kysely<any>) {
    const pg = isPostgres(db);
    // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: serial.
    const idType = pg ? ("serial" as const) : ("integer" as const);
    const idCol = (col: any) => (pg ? col.primaryKey() : col.primaryKey().autoIncrement());

    await db.schema
      .createTable("connections")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("site", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("projects")
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("remote_id", "text")
      .addColumn("name", "text")
      .addColumn("first_seen_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("projects_pk", ["connection", "key"])
      .execute();

    await db.schema
      .createTable("issues")
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("url", "text")
      .addColumn("project", "text")
      .addColumn("type", "text")
      .addColumn("title", "text")
      .addColumn("description", "text")
      .addColumn("status", "text")
      .addColumn("status_category", "text")
      .addColumn("priority", "text")
      .addColumn("assignee", "text")
      .addColumn("reporter", "text")
      .addColumn("labels", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("parent", "text")
      .addColumn("sprint", "text")
      .addColumn("story_points", "real")
      .addColumn("due_date", "text")
      .addColumn("created_at", "text")
      .addColumn("updated_at", "text")
      .addColumn("resolved_at", "text")
      .addColumn("deleted_at", "text")
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("synced_at", "text", (c) => c.notNull())
      .addColumn("custom", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("raw", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("issues_pk", ["connection", "id"])
      .execute();
    await db.schema.createIndex("issues_key").on("issues").columns(["connection", "key"]).execute();
    await db.schema.createIndex("issues_updated").on("issues").columns(["connection", "updated_at"]).execute();
    await db.schema.createIndex("issues_project").on("issues").columns(["connection", "project"]).execute();
    await db.schema.createIndex("issues_status").on("issues").columns(["connection", "deleted_at", "status_category"]).execute();

    await db.schema
      .createTable("issue_changes")
      .addColumn("id", idType, idCol)
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("issue_id", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("sync_run_id", "integer")
      .addColumn("changed_at", "text", (c) => c.notNull())
      .addColumn("field", "text", (c) => c.notNull())
      .addColumn("old_value", "text")
      .addColumn("new_value", "text")
      .execute();
    await db.schema.createIndex("issue_changes_time").on("issue_changes").columns(["connection", "changed_at"]).execute();
    await db.schema.createIndex("issue_changes_issue").on("issue_changes").columns(["connection", "issue_id"]).execute();

    await db.schema
      .createTable("field_catalog")
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("source_id", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("custom", "integer", (c) => c.notNull())
      .addColumn("schema", "text", (c) => c.notNull())
      .addColumn("seen_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("field_catalog_pk", ["connection", "source_id"])
      .execute();

    await db.schema
      .createTable("field_mappings")
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("source_id", "text", (c) => c.notNull())
      .addColumn("source_name", "text", (c) => c.notNull())
      .addColumn("source_type", "text", (c) => c.notNull())
      .addColumn("target", "text")
      .addColumn("confidence", "real", (c) => c.notNull().defaultTo(0))
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("reasons", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("candidates", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("fingerprint", "text")
      .addColumn("decided_at", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("field_mappings_pk", ["connection", "source_id"])
      .execute();

    await db.schema
      .createTable("sync_runs")
      .addColumn("id", idType, idCol)
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("mode", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("started_at", "text", (c) => c.notNull())
      .addColumn("finished_at", "text")
      .addColumn("duration_ms", "integer")
      .addColumn("pulled", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("updated", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("unchanged", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("deleted", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("pushed", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("requests", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("retries", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("cursor", "text")
      .addColumn("error", "text")
      .execute();
    await db.schema.createIndex("sync_runs_connection").on("sync_runs").columns(["connection", "started_at"]).execute();

    await db.schema
      .createTable("sync_state")
      .addColumn("connection", "text", (c) => c.primaryKey())
      .addColumn("cursor", "text")
      .addColumn("last_full_at", "text")
      .addColumn("catalog_fingerprint", "text")
      .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("lock_owner", "text")
      .addColumn("lock_pid", "integer")
      .addColumn("lock_host", "text")
      .addColumn("lock_acquired_at", "text")
      .addColumn("lock_heartbeat_at", "text")
      .execute();

    await db.schema
      .createTable("api_usage")
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("day", "text", (c) => c.notNull())
      .addColumn("endpoint", "text", (c) => c.notNull())
      .addColumn("status", "integer", (c) => c.notNull())
      .addColumn("requests", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("errors", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("retries", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("rate_limit_waits", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("wait_ms", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("bytes_in", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("bytes_out", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("rate_limit", "integer")
      .addColumn("rate_remaining", "integer")
      .addColumn("rate_reset", "text")
      .addColumn("last_seen_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("api_usage_pk", ["connection", "day", "endpoint", "status"])
      .execute();

    await db.schema
      .createTable("pending_changes")
      .addColumn("id", idType, idCol)
      .addColumn("connection", "text", (c) => c.notNull())
      .addColumn("issue_id", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("field", "text", (c) => c.notNull())
      .addColumn("new_value", "text")
      .addColumn("base_value", "text")
      .addColumn("base_hash", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull().defaultTo("pending"))
      .addColumn("remote_value", "text")
      .addColumn("error", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("pending_changes_issue").on("pending_changes").columns(["connection", "issue_id"]).execute();
  },
};
