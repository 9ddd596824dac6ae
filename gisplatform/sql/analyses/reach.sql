-- Walking distances between snapped points (pg_temp.analysis_snaps) over the walk graph.
-- A linked point (an origin or a facility) becomes the virtual vertex base + pid (link edges
-- are numbered from 2 * base: pgRouting marks path ends with edge -1), joined to
-- both ends of its edge; the link geometry runs from the point along the edge to that end.

-- name: points
DROP TABLE IF EXISTS pg_temp.analysis_points;
CREATE TEMP TABLE analysis_points (kind text NOT NULL, pid bigint NOT NULL, geom_m geometry NOT NULL);

-- name: links
DROP TABLE IF EXISTS pg_temp.analysis_links;
CREATE TEMP TABLE analysis_links AS
SELECT 2 * %(base)s + row_number() OVER (ORDER BY l.source, l.target) AS id,
       l.source, l.target, l.cost, l.cost AS reverse_cost, l.geom_m
FROM (
    SELECT %(base)s + s.pid AS source, s.source AS target,
           s.snap_m + s.fraction * s.length_m AS cost,
           ST_MakeLine(s.geom_m, ST_Reverse(ST_LineSubstring(e.geom_m, 0, s.fraction))) AS geom_m
    FROM pg_temp.analysis_snaps s JOIN {analysis}.walk_edges e ON e.id = s.edge
    WHERE s.kind <> 'target'
    UNION ALL
    SELECT %(base)s + s.pid, s.target,
           s.snap_m + (1 - s.fraction) * s.length_m,
           ST_MakeLine(s.geom_m, ST_LineSubstring(e.geom_m, s.fraction, 1))
    FROM pg_temp.analysis_snaps s JOIN {analysis}.walk_edges e ON e.id = s.edge
    WHERE s.kind <> 'target'
    UNION ALL
    -- an origin and a facility on the same edge: the direct walk along it
    SELECT %(base)s + o.pid, %(base)s + f.pid,
           o.snap_m + abs(o.fraction - f.fraction) * o.length_m + f.snap_m,
           ST_MakeLine(ARRAY[
               o.geom_m,
               CASE WHEN o.fraction <= f.fraction
                    THEN ST_LineSubstring(e.geom_m, o.fraction, f.fraction)
                    ELSE ST_Reverse(ST_LineSubstring(e.geom_m, f.fraction, o.fraction)) END,
               f.geom_m])
    FROM pg_temp.analysis_snaps o
    JOIN pg_temp.analysis_snaps f ON f.edge = o.edge AND f.kind = 'facility'
    JOIN {analysis}.walk_edges e ON e.id = o.edge
    WHERE o.kind = 'origin'
) AS l;

-- name: start_column
-- The column of pgr_drivingDistance that names a row's start vertex: from_v up to pgRouting 3.5,
-- start_vid from 3.6 on (which also added depth and pred before it, so neither the name nor the
-- position is stable). The installed function's own output columns tell which.
SELECT CASE WHEN bool_or('start_vid' = ANY(p.proargnames)) THEN 'start_vid' ELSE 'from_v' END
FROM pg_proc p
WHERE p.proname = 'pgr_drivingdistance'

-- name: reach
-- Multi-source: every vertex gets its nearest facility and the distance to it.
DROP TABLE IF EXISTS pg_temp.analysis_reach;
CREATE TEMP TABLE analysis_reach AS
SELECT d.node, d.{start_column} - %(base)s AS facility, d.agg_cost
FROM pgr_drivingDistance(
    'SELECT id, source, target, cost, reverse_cost FROM {analysis}.walk_edges
     UNION ALL SELECT id, source, target, cost, reverse_cost FROM pg_temp.analysis_links',
    %(starts)s::bigint[], %(max_m)s, directed => false, equicost => true
) AS d;
CREATE INDEX ON pg_temp.analysis_reach (node);
ANALYZE pg_temp.analysis_reach;

-- name: facility_starts
SELECT coalesce(array_agg(DISTINCT %(base)s + pid), ARRAY[]::bigint[])
FROM pg_temp.analysis_snaps WHERE kind = 'facility'

-- name: target_distances
-- Nearest facility of every target: through either end of its edge, or along the edge
-- itself when a facility sits on the same edge. Unsnapped or unreached targets get NULL.
DROP TABLE IF EXISTS pg_temp.analysis_distances;
CREATE TEMP TABLE analysis_distances AS
SELECT p.pid, best.facility, p_s.snap_m + best.cost AS distance_m
FROM pg_temp.analysis_points p
LEFT JOIN pg_temp.analysis_snaps p_s ON p_s.kind = 'target' AND p_s.pid = p.pid
LEFT JOIN LATERAL (
    SELECT c.facility, c.cost
    FROM (
        SELECT r.facility, r.agg_cost + p_s.fraction * p_s.length_m AS cost
        FROM pg_temp.analysis_reach r WHERE r.node = p_s.source
        UNION ALL
        SELECT r.facility, r.agg_cost + (1 - p_s.fraction) * p_s.length_m
        FROM pg_temp.analysis_reach r WHERE r.node = p_s.target
        UNION ALL
        SELECT f.pid, f.snap_m + abs(f.fraction - p_s.fraction) * p_s.length_m
        FROM pg_temp.analysis_snaps f WHERE f.kind = 'facility' AND f.edge = p_s.edge
    ) AS c
    WHERE c.cost <= %(max_m)s
    ORDER BY c.cost, c.facility
    LIMIT 1
) AS best ON true
WHERE p.kind = 'target';
CREATE INDEX ON pg_temp.analysis_distances (pid);
ANALYZE pg_temp.analysis_distances;
