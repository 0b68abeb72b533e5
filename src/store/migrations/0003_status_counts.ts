// Counting statuses without reading issue rows (the mapping refresh after a first sync counted
// them with a scan of every stored payload, ~0.3 s per 100,000 issues):
//   - issues_status gains `status`, so counts by status and category come from the index alone;
//   - issues_overridden lists the (usually few) rows where a mapping overrode the provider's
//     values, the only rows whose own category must be read from `provider_values`.

import type { Kysely, Migration } from "kysely";

export const m0003_status_counts: Migration = {
  async up(db: Kysely<any>) {
    // kysely is loaded when a migration runs; a static import would load it in every process.
    const { sql } = await import("kysely");
    await db.schema.dropIndex("issues_status").execute();
    await db.schema.createIndex("issues_status").on("issues").columns(["connection", "deleted_at", "status_category", "status"]).execute();
    await db.schema
      .createIndex("issues_overridden")
      .on("issues")
      .column("connection")
      .where(sql.ref("provider_values"), "is not", null)
      .execute();
  },
};
