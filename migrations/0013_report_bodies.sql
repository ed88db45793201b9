-- A closed report's body lives in R2 (binding SETTLEMENT_REPORTS), not in its row: a coalition
-- of 500 partners has up to 250,000 matrix pairs, far past D1's 2 MB row. The row keeps the
-- summary, the digest and where the body is (src/settlement/report-objects.ts): `body_key`
-- names the objects' prefix, which carries the digest, and `matrix_lines` how many matrix lines
-- the chunks hold. Such rows store '' in `report`. Rows closed before this migration keep their
-- body inline (body_key NULL) and are served from it: a signed report is never rewritten.
ALTER TABLE settlement_reports ADD COLUMN body_key TEXT;
ALTER TABLE settlement_reports ADD COLUMN matrix_lines INTEGER;
