-- Street lighting gaps: parts of streets farther than a distance from every working light.

-- name: lights
DROP TABLE IF EXISTS pg_temp.analysis_ok_lights;
CREATE TEMP TABLE analysis_ok_lights AS
SELECT ST_Transform(l.geom, {metric_srid}) AS geom_m
FROM {gis}.street_lights l WHERE l.status = 'ok' AND l.geom IS NOT NULL;
CREATE INDEX ON pg_temp.analysis_ok_lights USING gist (geom_m);
ANALYZE pg_temp.analysis_ok_lights;

-- name: segments
-- One row per street part with its dark length; the dark part is the part minus the
-- union of light circles of the given radius (16 segments per quarter circle).
WITH parts AS (
    SELECT s.fid, s.street_id, s.name_uk, s.settlement_katottg, d.path[1] AS part,
           ST_Transform(d.geom, {metric_srid}) AS geom_m
    FROM {gis}.streets s CROSS JOIN LATERAL ST_Dump(s.geom) AS d
), dark AS (
    SELECT p.*, ST_Length(p.geom_m) AS length_m,
           coalesce(ST_Difference(p.geom_m, lit.geom_m), p.geom_m) AS dark_m
    FROM parts p
    CROSS JOIN LATERAL (
        SELECT ST_Union(ST_Buffer(l.geom_m, %(distance_m)s, 16)) AS geom_m
        FROM pg_temp.analysis_ok_lights l WHERE ST_DWithin(l.geom_m, p.geom_m, %(distance_m)s)
    ) AS lit
)
SELECT fid, street_id, name_uk, settlement_katottg, part, length_m, ST_Length(dark_m),
       CASE WHEN ST_Length(dark_m) > 0
            THEN ST_AsGeoJSON(ST_Transform(ST_Multi(ST_CollectionExtract(dark_m, 2)), 4326), 7)::json
       END
FROM dark
ORDER BY fid, part

-- name: cabinets
-- Lights per control cabinet (cabinets are a restricted layer).
SELECT l.cabinet_id, c.status, c.control, count(*)::bigint,
       count(*) FILTER (WHERE l.status <> 'ok')::bigint
FROM {gis}.street_lights l
LEFT JOIN {gis}.lighting_cabinets c ON c.cabinet_id = l.cabinet_id
WHERE l.cabinet_id IS NOT NULL
GROUP BY l.cabinet_id, c.status, c.control
ORDER BY count(*) FILTER (WHERE l.status <> 'ok') DESC, l.cabinet_id

-- name: cabinet_statuses
SELECT l.cabinet_id, l.status, count(*)::bigint
FROM {gis}.street_lights l
WHERE l.cabinet_id IS NOT NULL AND l.status <> 'ok'
GROUP BY l.cabinet_id, l.status
