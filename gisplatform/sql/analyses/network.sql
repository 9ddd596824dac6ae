-- The walking graph: street parts become undirected edges between shared end vertices.
-- Lengths and costs are metres in the metric CRS of the hromada profile; end points closer
-- than 0.1 m are one vertex.

-- name: create_schema
CREATE SCHEMA IF NOT EXISTS {analysis};
CREATE TABLE IF NOT EXISTS {analysis}.graph_state (
    graph      text        PRIMARY KEY,
    layer      text        NOT NULL,
    revision   bigint      NOT NULL,
    edges      integer     NOT NULL,
    vertices   integer     NOT NULL,
    built_at   timestamptz NOT NULL DEFAULT now()
);

-- name: lock
SELECT pg_advisory_xact_lock(hashtext('gisplatform.analysis.walk_graph'))

-- name: layer_revision
SELECT coalesce((SELECT revision FROM {history}.layer_state WHERE layer = 'streets'), 0)

-- name: built_state
SELECT revision, edges, vertices FROM {analysis}.graph_state WHERE graph = 'walk'

-- name: build
DROP TABLE IF EXISTS {analysis}.walk_edges;
DROP TABLE IF EXISTS {analysis}.walk_vertices;
CREATE TABLE {analysis}.walk_edges AS
WITH parts AS (
    SELECT s.fid AS street_fid, s.name_uk AS street_name,
           ST_Transform((ST_Dump(s.geom)).geom, {metric_srid}) AS geom_m
    FROM {gis}.streets s
    WHERE s.geom IS NOT NULL
)
SELECT row_number() OVER (ORDER BY street_fid, ST_AsBinary(geom_m))::bigint AS id,
       NULL::bigint AS source, NULL::bigint AS target,
       ST_Length(geom_m) AS length_m,
       street_fid, street_name, geom_m,
       ST_SnapToGrid(ST_StartPoint(geom_m), 0.1) AS start_m,
       ST_SnapToGrid(ST_EndPoint(geom_m), 0.1) AS end_m
FROM parts
WHERE ST_NPoints(geom_m) >= 2 AND ST_Length(geom_m) > 0;
CREATE TABLE {analysis}.walk_vertices AS
SELECT row_number() OVER (ORDER BY ST_X(p), ST_Y(p))::bigint AS id,
       p AS geom_m, NULL::bigint AS component
FROM (SELECT start_m AS p FROM {analysis}.walk_edges
      UNION SELECT end_m FROM {analysis}.walk_edges) AS ends;
ALTER TABLE {analysis}.walk_vertices ADD PRIMARY KEY (id);
CREATE INDEX ON {analysis}.walk_vertices USING gist (geom_m);
UPDATE {analysis}.walk_edges e SET source = v.id
FROM {analysis}.walk_vertices v WHERE v.geom_m = e.start_m;
UPDATE {analysis}.walk_edges e SET target = v.id
FROM {analysis}.walk_vertices v WHERE v.geom_m = e.end_m;
ALTER TABLE {analysis}.walk_edges DROP COLUMN start_m, DROP COLUMN end_m,
    ADD COLUMN cost double precision, ADD COLUMN reverse_cost double precision,
    ADD PRIMARY KEY (id);
UPDATE {analysis}.walk_edges SET cost = length_m, reverse_cost = length_m;
CREATE INDEX ON {analysis}.walk_edges USING gist (geom_m);
CREATE INDEX ON {analysis}.walk_edges (source);
CREATE INDEX ON {analysis}.walk_edges (target);
UPDATE {analysis}.walk_vertices v SET component = c.component
FROM pgr_connectedComponents(
    'SELECT id, source, target, cost, reverse_cost FROM {analysis}.walk_edges'
) AS c WHERE c.node = v.id;
ANALYZE {analysis}.walk_edges;
ANALYZE {analysis}.walk_vertices;

-- name: save_state
INSERT INTO {analysis}.graph_state AS g (graph, layer, revision, edges, vertices, built_at)
SELECT 'walk', 'streets', %(revision)s,
       (SELECT count(*) FROM {analysis}.walk_edges),
       (SELECT count(*) FROM {analysis}.walk_vertices), now()
ON CONFLICT (graph) DO UPDATE
    SET revision = excluded.revision, edges = excluded.edges,
        vertices = excluded.vertices, built_at = excluded.built_at
RETURNING edges, vertices

-- name: snap
-- Attach every point of pg_temp.analysis_points to its nearest edge within max_snap_m.
DROP TABLE IF EXISTS pg_temp.analysis_snaps;
CREATE TEMP TABLE analysis_snaps AS
SELECT p.kind, p.pid, e.id AS edge, e.source, e.target, e.length_m,
       ST_LineLocatePoint(e.geom_m, p.geom_m) AS fraction,
       ST_Distance(e.geom_m, p.geom_m) AS snap_m,
       p.geom_m
FROM pg_temp.analysis_points p
CROSS JOIN LATERAL (
    SELECT w.id, w.source, w.target, w.length_m, w.geom_m
    FROM {analysis}.walk_edges w
    ORDER BY w.geom_m <-> p.geom_m
    LIMIT 1
) AS e
WHERE ST_DWithin(e.geom_m, p.geom_m, %(max_snap_m)s);
CREATE INDEX ON pg_temp.analysis_snaps (kind, edge);
ANALYZE pg_temp.analysis_snaps;
