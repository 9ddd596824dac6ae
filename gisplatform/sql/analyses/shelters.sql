-- Nearest shelters from one point, by walking distance, with their routes.

-- name: origin
INSERT INTO pg_temp.analysis_points
VALUES ('origin', 0, ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), {metric_srid}))

-- name: candidates
-- KNN prefilter: shelters that pass the filters and lie within the search radius.
INSERT INTO pg_temp.analysis_points
SELECT 'facility', c.fid, c.geom_m
FROM (
    SELECT s.fid, ST_Transform(s.geom, {metric_srid}) AS geom_m
    FROM {gis}.shelters s
    WHERE s.geom IS NOT NULL
      {filters}
    ORDER BY s.geom <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)
    LIMIT %(max_candidates)s
) AS c
WHERE ST_DWithin(
    c.geom_m, ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), {metric_srid}), %(radius)s)

-- name: origin_snap
SELECT snap_m FROM pg_temp.analysis_snaps WHERE kind = 'origin'

-- name: targets
SELECT coalesce(array_agg(%(base)s + pid ORDER BY pid), ARRAY[]::bigint[])
FROM pg_temp.analysis_snaps WHERE kind = 'facility'

-- name: subgraph
-- Every walk no longer than the radius stays inside the circle around the origin.
DROP TABLE IF EXISTS pg_temp.analysis_subgraph;
CREATE TEMP TABLE analysis_subgraph AS
SELECT e.id, e.source, e.target, e.cost, e.reverse_cost
FROM {analysis}.walk_edges e
WHERE ST_DWithin(
    e.geom_m, ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), {metric_srid}), %(radius)s)
UNION ALL
SELECT l.id, l.source, l.target, l.cost, l.reverse_cost FROM pg_temp.analysis_links l;

-- name: routes
WITH paths AS (
    SELECT d.end_vid - %(base)s AS shelter, d.path_seq, d.node, d.edge, d.agg_cost
    FROM pgr_dijkstra(
        'SELECT id, source, target, cost, reverse_cost FROM pg_temp.analysis_subgraph',
        %(base)s::bigint, %(targets)s::bigint[], directed => false
    ) AS d
), totals AS (
    SELECT shelter, max(agg_cost) AS walk_m FROM paths GROUP BY shelter
), pieces AS (
    SELECT e.id, e.source, e.geom_m FROM {analysis}.walk_edges e
    UNION ALL
    SELECT l.id, l.source, l.geom_m FROM pg_temp.analysis_links l
), lines AS (
    SELECT p.shelter,
           ST_MakeLine(
               CASE WHEN g.source = p.node THEN g.geom_m ELSE ST_Reverse(g.geom_m) END
               ORDER BY p.path_seq) AS geom_m
    FROM paths p JOIN pieces g ON g.id = p.edge
    GROUP BY p.shelter
)
SELECT s.fid, {attributes}, t.walk_m,
       ST_Distance(ST_Transform(s.geom, {metric_srid}),
                   ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), {metric_srid})),
       ST_AsGeoJSON(ST_Transform(l.geom_m, 4326), 7)::json
FROM totals t
JOIN lines l ON l.shelter = t.shelter
JOIN {gis}.shelters s ON s.fid = t.shelter
WHERE t.walk_m <= %(radius)s
ORDER BY t.walk_m, s.fid
LIMIT %(limit)s
