-- Shelter coverage: walking distance from every building to the nearest ready shelter.

-- name: facilities
INSERT INTO pg_temp.analysis_points
SELECT 'facility', s.fid, ST_Transform(s.geom, {metric_srid})
FROM {gis}.shelters s
WHERE s.geom IS NOT NULL
  {filters}

-- name: buildings
INSERT INTO pg_temp.analysis_points
SELECT 'target', b.fid, ST_Transform(ST_Centroid(b.geom), {metric_srid})
FROM {gis}.buildings b WHERE b.geom IS NOT NULL

-- name: building_rows
SELECT b.fid, b.building_id, b.settlement_katottg, coalesce(w.population, 0),
       d.facility, d.distance_m
FROM {gis}.buildings b JOIN pg_temp.analysis_distances d ON d.pid = b.fid
LEFT JOIN {weights} w ON w.fid = b.fid
ORDER BY b.fid

-- name: tag_buildings
-- Every building with its settlement, starosta district, population and distance.
DROP TABLE IF EXISTS pg_temp.analysis_tagged;
CREATE TEMP TABLE analysis_tagged AS
SELECT b.fid, b.settlement_katottg, coalesce(w.population, 0) AS pop, d.facility, d.distance_m,
       ST_Transform(ST_Centroid(b.geom), {metric_srid}) AS geom_m,
       (SELECT z.district_id FROM {gis}.starosta_districts z
        WHERE ST_Covers(z.geom, ST_Centroid(b.geom)) ORDER BY z.district_id LIMIT 1) AS district
FROM {gis}.buildings b JOIN pg_temp.analysis_distances d ON d.pid = b.fid
LEFT JOIN {weights} w ON w.fid = b.fid;
DROP TABLE IF EXISTS pg_temp.analysis_areas;
CREATE TEMP TABLE analysis_areas AS
SELECT 'settlement' AS kind, settlement_katottg AS area, fid, pop, facility, distance_m, geom_m
FROM pg_temp.analysis_tagged WHERE settlement_katottg IS NOT NULL
UNION ALL
SELECT 'starosta_district', district, fid, pop, facility, distance_m, geom_m
FROM pg_temp.analysis_tagged WHERE district IS NOT NULL;

-- name: shelter_areas
-- Shelters in use, each placed in the settlement of its nearest building and in its district.
DROP TABLE IF EXISTS pg_temp.analysis_shelter_areas;
CREATE TEMP TABLE analysis_shelter_areas AS
SELECT 'settlement' AS kind,
       (SELECT b.settlement_katottg FROM {gis}.buildings b
        ORDER BY b.geom <-> s.geom LIMIT 1) AS area, s.fid, s.capacity_persons
FROM {gis}.shelters s JOIN pg_temp.analysis_points p ON p.kind = 'facility' AND p.pid = s.fid
UNION ALL
SELECT 'starosta_district', z.district_id, s.fid, s.capacity_persons
FROM {gis}.shelters s JOIN pg_temp.analysis_points p ON p.kind = 'facility' AND p.pid = s.fid
JOIN {gis}.starosta_districts z ON ST_Covers(z.geom, s.geom);

-- name: area_totals
SELECT a.kind, a.area,
       coalesce(s.name_uk, z.name_uk, a.area) AS name,
       sum(a.pop)::bigint AS population,
       count(*)::bigint AS buildings,
       coalesce(sum(a.pop) FILTER (WHERE a.distance_m IS NULL), 0)::bigint AS unreachable,
       coalesce(sum(a.pop) FILTER (WHERE a.distance_m IS NULL OR a.distance_m > %(cover_m)s), 0)::bigint
           AS uncovered,
       coalesce((SELECT sum(c.capacity_persons) FROM pg_temp.analysis_shelter_areas c
                 WHERE c.kind = a.kind AND c.area = a.area), 0)::bigint AS capacity,
       count(*) FILTER (WHERE a.distance_m IS NULL)::bigint AS unreachable_buildings,
       count(*) FILTER (WHERE a.distance_m IS NULL OR a.distance_m > %(cover_m)s)::bigint
           AS uncovered_buildings
FROM pg_temp.analysis_areas a
LEFT JOIN {gis}.settlements s ON a.kind = 'settlement' AND s.katottg = a.area
LEFT JOIN {gis}.starosta_districts z ON a.kind = 'starosta_district' AND z.district_id = a.area
GROUP BY a.kind, a.area, s.name_uk, z.name_uk
ORDER BY a.kind, a.area

-- name: area_bands
SELECT a.kind, a.area, u.band_m,
       coalesce(sum(a.pop) FILTER (WHERE a.distance_m <= u.band_m), 0)::bigint,
       count(*) FILTER (WHERE a.distance_m <= u.band_m)::bigint
FROM pg_temp.analysis_areas a CROSS JOIN unnest(%(bands_m)s::float8[]) AS u(band_m)
GROUP BY a.kind, a.area, u.band_m

-- name: shelter_loads
-- Population for whom each shelter is the nearest, within the cover limit.
SELECT s.fid, s.shelter_code, s.capacity_persons,
       coalesce(sum(t.pop) FILTER (WHERE t.distance_m <= %(cover_m)s), 0)::bigint,
       count(t.fid) FILTER (WHERE t.distance_m <= %(cover_m)s)::bigint
FROM {gis}.shelters s
JOIN pg_temp.analysis_points p ON p.kind = 'facility' AND p.pid = s.fid
LEFT JOIN pg_temp.analysis_tagged t ON t.facility = s.fid
GROUP BY s.fid, s.shelter_code, s.capacity_persons
ORDER BY s.fid

-- name: uncovered
-- Uncovered buildings, buffered and dissolved per settlement, as a GeoJSON FeatureCollection.
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object(
        'type', 'Feature',
        'geometry', ST_AsGeoJSON(ST_Transform(f.geom_m, 4326), 6)::json,
        'properties', json_build_object(
            'settlement_katottg', f.area, 'buildings', f.buildings, 'population', f.population,
            'unreachable_population', f.unreachable))
    ORDER BY f.area), '[]'::json))
FROM (
    SELECT a.area, count(*) AS buildings, sum(a.pop) AS population,
           coalesce(sum(a.pop) FILTER (WHERE a.distance_m IS NULL), 0) AS unreachable,
           ST_Multi(ST_Union(ST_Buffer(a.geom_m, %(buffer_m)s, 8))) AS geom_m
    FROM pg_temp.analysis_areas a
    WHERE a.kind = 'settlement' AND (a.distance_m IS NULL OR a.distance_m > %(cover_m)s)
    GROUP BY a.area
) AS f
