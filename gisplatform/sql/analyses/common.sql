-- name: inside_hromada
SELECT EXISTS (
    SELECT 1 FROM {gis}.hromada_boundary
    WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
)
