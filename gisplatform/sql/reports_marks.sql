-- The truth loop: which features carry a public mark from a moderated report.
-- Run by `gisplatform db migrate` (gisplatform.reports.marks) after the reports schema, as
-- its owner; idempotent. {reports} is the reports schema.

-- The answers that mark the feature a report points at (options with `marks_feature: true`
-- in reports/*.yaml), with their titles; rewritten from the kinds by every migrate.
CREATE TABLE IF NOT EXISTS {reports}.mark_answers (
    kind     text  NOT NULL REFERENCES {reports}.kinds (code) ON DELETE CASCADE,
    question text  NOT NULL,
    answer   text  NOT NULL,
    title    jsonb NOT NULL,
    PRIMARY KEY (kind, question, answer)
);

-- The reports that can mark (a few among many resolved ones), by feature, newest first.
CREATE INDEX IF NOT EXISTS requests_marking_idx ON {reports}.requests (layer, feature_id, created_at DESC)
    WHERE status IN ('open', 'in_progress');

-- One row per marked feature: its newest open or in-progress (so moderated) report whose
-- answers hold a marking answer. Only what the public may read of a moderated report (its
-- kind, the marking answer, when, its number; never the description, contact or token)
-- leaves the view, and every audience role selects it. It reads the requests table itself
-- (as its owner) so a feature's lookup uses the (layer, feature_id) index.
CREATE OR REPLACE VIEW {reports}.feature_marks AS
SELECT DISTINCT ON (r.layer, r.feature_id)
       r.layer, r.feature_id, r.id AS request_id, r.kind, a.question, a.answer, a.title,
       r.created_at AS at
FROM {reports}.requests AS r
JOIN {reports}.mark_answers AS a
  ON a.kind = r.kind
 AND (r.answers -> a.question = to_jsonb(a.answer)
      OR (jsonb_typeof(r.answers -> a.question) = 'array' AND r.answers -> a.question ? a.answer))
WHERE r.status IN ('open', 'in_progress')
  AND r.layer IS NOT NULL
  AND r.feature_id IS NOT NULL
ORDER BY r.layer, r.feature_id, r.created_at DESC, r.id DESC;
