// Field mappings (issue 5): what re-deriving mapped columns from stored payloads needs.
//   - issues.provider_values: the provider's own values of the columns a mapping overrides, with the
//     content_hash they belong to ({"hash": …, "values": {…}}), so a changed mapping can restore them
//     without calling the tracker. NULL when no mapping overrides anything on the row.
//   - issues_synced: finds the issues a sync wrote since the mappings were last applied.
//   - mapping_state: per connection, how far the mappings were applied (the newest synced_at seen),
//     the fingerprint of the applied mapping set and of the catalog that was scored, and whether the
//     applied set overrides anything the provider wrote.

import type { Kysely, Migration } from "kysely";

export const m0002_mappings: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("issues").addColumn("provider_values", "text").execute();
    await db.schema.createIndex("issues_synced").on("issues").columns(["connection", "synced_at"]).execute();
    await db.schema
      .createTable("mapping_state")
      .addColumn("connection", "text", (c) => c.primaryKey())
      .addColumn("derived_through", "text")
      .addColumn("applied", "text")
      .addColumn("catalog", "text")
      .addColumn("overridden", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
  },
};
