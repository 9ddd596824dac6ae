"""The coordinate reference systems the platform offers (see DOMAIN: Ukrainian CRSs).

WGS 84 (4326), Web Mercator (3857), UTM 36N (32636) and the UCS-2000 systems used
for Romny: geographic 5561, Gauss-Krüger 6° zone 6 (5564) and CM 33E (5568),
3° zone 11 (5574) and CM 33E (5581), Ukraine TM zone 11 (6385), LCS-59 Sumy (9856).
"""

from __future__ import annotations

OFFERED_EPSG = (4326, 3857, 32636, 5561, 5564, 5568, 5574, 5581, 6385, 9856)
