-- One-time seeds that ran on this database (operator-api additions: /admin/v1/seeds/{name}).
-- `npm start` seeds its demo coalition once per database and records it here when done, so an
-- operator's later changes (an empty risk rule set, say) are never "seeded back" on a restart.
-- Deleting the record asks for that seed again. `detail` is what the seed reported (JSON).
CREATE TABLE seeds (
  name TEXT PRIMARY KEY,
  seeded_at INTEGER NOT NULL,
  seeded_by TEXT NOT NULL,
  detail TEXT NOT NULL
) WITHOUT ROWID;
