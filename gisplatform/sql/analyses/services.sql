-- Walking access from buildings to public services, summarised per settlement.

-- name: cnap
INSERT INTO pg_temp.analysis_points
SELECT 'facility', f.fid, ST_Transform(f.geom, {metric_srid}) FROM {gis}.admin_service_centres f
WHERE f.geom IS NOT NULL AND f.centre_type = ANY (%(types)s::text[])

-- name: school
INSERT INTO pg_temp.analysis_points
SELECT 'facility', f.fid, ST_Transform(f.geom, {metric_srid}) FROM {gis}.education f
WHERE f.geom IS NOT NULL AND f.facility_type = ANY (%(types)s::text[])

-- name: health
INSERT INTO pg_temp.analysis_points
SELECT 'facility', f.fid, ST_Transform(f.geom, {metric_srid}) FROM {gis}.health f
WHERE f.geom IS NOT NULL AND f.facility_type = ANY (%(types)s::text[])

-- name: buildings
INSERT INTO pg_temp.analysis_points
SELECT 'target', b.fid, ST_Transform(ST_Centroid(b.geom), {metric_srid})
FROM {gis}.buildings b WHERE b.geom IS NOT NULL

-- name: summary
-- Population-weighted statistics per settlement; unreachable buildings count in the
-- population and against the shares, not in the mean, median or maximum.
WITH b AS (
    SELECT b.settlement_katottg AS area, coalesce(w.population, 0) AS pop, d.distance_m
    FROM {gis}.buildings b JOIN pg_temp.analysis_distances d ON d.pid = b.fid
    LEFT JOIN {weights} w ON w.fid = b.fid
    WHERE b.settlement_katottg IS NOT NULL
), ranked AS (
    SELECT area, pop, distance_m,
           sum(pop) OVER (PARTITION BY area ORDER BY distance_m
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
           sum(pop) OVER (PARTITION BY area) AS reached
    FROM b WHERE distance_m IS NOT NULL AND pop > 0
), medians AS (
    SELECT area, min(distance_m) FILTER (WHERE running >= reached / 2.0) AS median_m
    FROM ranked GROUP BY area
)
SELECT b.area, coalesce(s.name_uk, b.area), sum(b.pop)::bigint,
       coalesce(sum(b.pop) FILTER (WHERE b.distance_m IS NULL), 0)::bigint,
       sum(b.pop * b.distance_m) / nullif(sum(b.pop) FILTER (WHERE b.distance_m IS NOT NULL), 0),
       m.median_m,
       max(b.distance_m) FILTER (WHERE b.pop > 0),
       coalesce(sum(b.pop) FILTER (WHERE b.distance_m <= %(near_m)s), 0)::bigint,
       coalesce(sum(b.pop) FILTER (WHERE b.distance_m <= %(far_m)s), 0)::bigint,
       count(*)::bigint,
       count(*) FILTER (WHERE b.distance_m IS NULL)::bigint,
       count(*) FILTER (WHERE b.distance_m <= %(near_m)s)::bigint,
       count(*) FILTER (WHERE b.distance_m <= %(far_m)s)::bigint
FROM b
LEFT JOIN medians m ON m.area = b.area
LEFT JOIN {gis}.settlements s ON s.katottg = b.area
GROUP BY b.area, s.name_uk, m.median_m
ORDER BY b.area
