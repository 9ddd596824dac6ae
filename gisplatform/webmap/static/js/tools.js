/* gisplatform web map, tools: search, go-to, nearest shelter, measure, cursor position, controls. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  const SHELTERS = 'shelters';
  const EARTH_RADIUS_M = 6371008.8;

  /** Great-circle distance in metres between two [lat, lon] points. */
  gp.haversine = function (lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
    return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
  };
  gp.formatDistance = (m) => (m < 1000 ? `${Math.round(m)} ${gp.t('m')}`
    : `${(m / 1000).toFixed(m < 10000 ? 2 : 1)} ${gp.t('km')}`);
  gp.formatMetres = (m) => `${new Intl.NumberFormat(gp.state.lang === 'uk' ? 'uk-UA' : 'en-GB').format(Math.round(m))} ${gp.t('m')}`;

  /** The loaded shelters that pass every current filter, by fid. */
  async function filteredShelters() {
    const data = await gp.loadLayer(SHELTERS);
    const byFid = new Map();
    (data ? data.features : []).forEach((f) => {
      if (f.geometry && gp.passes(SHELTERS, f.properties)) byFid.set(String(f.id), f);
    });
    return byFid;
  }

  /** Straight-line nearest shelters: [{fid, properties, lat, lon, straight}], nearest first. */
  gp.straightNearest = async function (lat, lon, count) {
    const shelters = await filteredShelters();
    return [...shelters.values()].map((f) => {
      const [x, y] = f.geometry.coordinates;
      return { fid: f.id, properties: f.properties, lat: y, lon: x, straight: gp.haversine(lat, lon, y, x) };
    }).sort((a, b) => a.straight - b.straight).slice(0, count);
  };

  /** The shelter filters the nearest-shelter process understands (null: any value). */
  const PROCESS_FILTERS = ['readiness', 'accessible', 'access_mode'];

  /**
   * Walking nearest shelters from the nearest-shelter process: {snapped, shelters: [{fid,
   * properties, lat, lon, walk, minutes, straight, route}]}. Filters the process does not
   * know (e.g. shelter type) are applied here to a longer list. Throws the server's message.
   */
  gp.walkingNearest = async function (lat, lon, count) {
    const wanted = gp.state.filters[SHELTERS] || {};
    const inputs = { origin: { lon, lat }, limit: count };
    PROCESS_FILTERS.forEach((name) => { inputs[name] = wanted[name] ? [wanted[name]] : null; });
    if (Object.keys(wanted).some((name) => wanted[name] && !PROCESS_FILTERS.includes(name))) inputs.limit = 50;
    const response = await fetch(`${gp.state.cfg.apiBase}/processes/nearest-shelter/execution`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ inputs }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = body.description || body.detail || `HTTP ${response.status}`;
      throw new Error(String(message).replace(/^Error executing process: /, ''));
    }
    const shelters = await filteredShelters();
    const found = body.shelters.filter((s) => shelters.has(String(s.fid))).slice(0, count).map((s) => {
      const feature = shelters.get(String(s.fid));
      const [x, y] = feature.geometry.coordinates;
      return { fid: s.fid, properties: feature.properties, lat: y, lon: x,
        walk: s.walk_m, minutes: s.walk_minutes, straight: s.straight_m, route: s.route };
    });
    return { snapped: body.snapped, shelters: found };
  };

  /**
   * The nearest shelters to (lat, lon) under the current filters: {method, shelters, error}.
   * Walking distance from the server; straight line only in a static copy or when the
   * process answers an error (its message is kept in ``error``).
   */
  gp.nearestShelters = async function (lat, lon, count = 5) {
    if (!gp.state.cfg.apiBase) {
      return { method: 'straight', shelters: await gp.straightNearest(lat, lon, count), error: null };
    }
    try {
      return { method: 'walking', error: null, ...(await gp.walkingNearest(lat, lon, count)) };
    } catch (err) {
      return { method: 'straight', shelters: await gp.straightNearest(lat, lon, count), error: err.message };
    }
  };

  function nearestTool(state, box) {
    const lc = state.cfg.layers.find((l) => l.name === SHELTERS);
    if (!lc) return;
    const t = gp.t;
    box.innerHTML = `<h2>${gp.esc(t('nearest_title'))}</h2><div class="gp-buttons">` +
      `<button type="button" id="gp-nearest-pick">${gp.esc(t('nearest_click'))}</button>` +
      `<button type="button" id="gp-nearest-here">${gp.esc(t('nearest_here'))}</button></div>` +
      `<p class="gp-hint">${gp.esc(t('nearest_hint'))}</p><p id="gp-nearest-method"></p><ol id="gp-nearest-results"></ol>`;
    const marks = L.layerGroup().addTo(state.map);
    const route = L.layerGroup().addTo(state.map);
    const field = (name) => lc.fields.find((f) => f.name === name);
    const list = box.querySelector('#gp-nearest-results');
    const method = box.querySelector('#gp-nearest-method');
    let picking = false;
    let serial = 0;
    const pickButton = box.querySelector('#gp-nearest-pick');
    const setPicking = (on) => {
      picking = on;
      pickButton.classList.toggle('gp-active', on);
      state.map.getContainer().classList.toggle('gp-crosshair', on);
    };
    const showMethod = (result) => {
      let text = t('method_walking');
      if (result.method === 'straight') text = result.error ? `${t('walking_failed')}: ${result.error}. ${t('method_straight')}` : t('method_static');
      method.className = `gp-method gp-method-${result.method}${result.error ? ' gp-warn' : ''}`;
      method.dataset.method = result.method;
      method.textContent = text;
    };
    /** Draw the walk to shelter ``s`` (or a dashed straight line without a route). */
    const drawRoute = (s, from) => {
      route.clearLayers();
      list.querySelectorAll('li').forEach((li) => li.classList.toggle('gp-current', li.dataset.fid === String(s.fid)));
      if (!s.route) {
        L.polyline([from, [s.lat, s.lon]], { color: '#000', dashArray: '4 4', weight: 2, pane: 'gp-lines', className: 'gp-straight-line', interactive: false }).addTo(route);
        return null;
      }
      const line = L.polyline(s.route.coordinates.map(([x, y]) => [y, x]), {
        color: '#6a3d9a', weight: 5, opacity: 0.85, pane: 'gp-lines', className: 'gp-route', interactive: false,
      }).addTo(route);
      return line.getBounds().extend(from);
    };
    const item = (s) => {
      const value = (name) => gp.esc(gp.formatValue(field(name), s.properties[name]) || '—');
      const straight = (format) => gp.esc(`${format(s.straight)} ${t('straight_line')}`);
      const distance = s.walk === undefined ? `<b class="gp-distance">${straight(gp.formatDistance)}</b>`
        : `<b class="gp-walk">${gp.esc(gp.formatMetres(s.walk))}</b> · ${gp.esc(`${Math.max(1, Math.round(s.minutes))} ${t('min')} ${t('walk')}`)}` +
          ` · <span class="gp-distance">${straight(gp.formatMetres)}</span>`;
      return `<li data-fid="${gp.esc(s.fid)}"><a href="#" class="gp-nearest-name">${gp.esc(s.properties.name || s.fid)}</a>` +
        `<div>${distance}</div>` +
        `<div>${gp.esc(gp.loc(field('readiness').title))}: ${value('readiness')}</div>` +
        `<div>${gp.esc(gp.loc(field('accessible').title))}: ${value('accessible')}</div></li>`;
    };
    gp.showNearest = async function (lat, lon) {
      const mine = ++serial;
      marks.clearLayers();
      route.clearLayers();
      L.circleMarker([lat, lon], { radius: 6, color: '#000', fillColor: '#fff', fillOpacity: 1, weight: 2, pane: 'gp-points', interactive: false }).addTo(marks);
      method.className = 'gp-method';
      method.dataset.method = '';
      method.textContent = state.cfg.apiBase ? t('nearest_loading') : '';
      list.innerHTML = '';
      const result = await gp.nearestShelters(lat, lon);
      if (mine !== serial) return result;
      showMethod(result);
      const found = result.shelters;
      if (!found.length) {
        const why = result.method === 'walking' && !result.snapped ? 'nearest_off_network'
          : result.method === 'walking' ? 'nearest_unreachable' : 'nearest_none';
        list.innerHTML = `<li class="gp-empty">${gp.esc(t(why))}</li>`;
      } else {
        list.innerHTML = found.map(item).join('');
        list.querySelectorAll('li[data-fid]').forEach((li, i) => {
          li.addEventListener('mouseenter', () => drawRoute(found[i], [lat, lon]));
          li.querySelector('a').addEventListener('click', (ev) => {
            ev.preventDefault();
            const s = found[i];
            const bounds = drawRoute(s, [lat, lon]);
            if (bounds) state.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17 });
            else state.map.setView([s.lat, s.lon], Math.max(state.map.getZoom(), 16));
            L.popup().setLatLng([s.lat, s.lon]).setContent(gp.popupHtml(lc, s.properties, s.fid)).openOn(state.map);
          });
        });
        const bounds = drawRoute(found[0], [lat, lon]);
        if (bounds && !state.map.getBounds().contains(bounds)) state.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17 });
      }
      box.scrollIntoView({ block: 'nearest' });
      gp.emit('nearest', result);
      return result;
    };
    pickButton.addEventListener('click', () => setPicking(!picking));
    // A capturing DOM listener: it sees clicks on features too and keeps their popups shut.
    state.map.getContainer().addEventListener('click', (ev) => {
      if (!picking || ev.target.closest('.leaflet-control')) return;
      ev.stopPropagation();
      setPicking(false);
      state.map.closePopup();
      const at = state.map.mouseEventToLatLng(ev);
      gp.showNearest(at.lat, at.lng);
    }, true);
    box.querySelector('#gp-nearest-here').addEventListener('click', () => {
      state.map.once('locationfound', (e) => gp.showNearest(e.latlng.lat, e.latlng.lng));
      state.map.locate({ enableHighAccuracy: true });
    });
  }

  function searchText(entry, feature) {
    return entry.lc.search.map((name) => feature.properties[name]).filter(Boolean).join(' · ');
  }

  /** Zoom to a GeoJSON feature of ``name`` and open its popup (the layer is switched on). */
  gp.zoomToFeature = function (name, feature) {
    const entry = gp.state.entries[name];
    gp.setLayer(name, true);
    const shape = L.geoJSON(feature);
    if (feature.geometry.type === 'Point') {
      const [x, y] = feature.geometry.coordinates;
      gp.map.setView([y, x], Math.max(gp.map.getZoom(), entry.lc.minZoom, 16));
    } else {
      gp.map.fitBounds(shape.getBounds(), { maxZoom: 17 });
    }
    const center = shape.getBounds().getCenter();
    L.popup({ maxWidth: 360 }).setLatLng(center).setContent(gp.popupHtml(entry.lc, feature.properties, feature.id)).openOn(gp.map);
  };

  function searchTool(state, box) {
    const t = gp.t;
    box.insertAdjacentHTML('beforeend', `<input type="search" id="gp-search" placeholder="${gp.esc(t('search'))}" autocomplete="off">` +
      '<ul id="gp-search-results"></ul>');
    const input = box.querySelector('#gp-search');
    const out = box.querySelector('#gp-search-results');
    const searchable = Object.values(state.entries).filter((e) => e.lc.search.length);
    input.addEventListener('focus', () => searchable.forEach((e) => e.load && e.load()), { once: true });
    let serial = 0;
    const run = async () => {
      const query = input.value.trim().toLowerCase();
      const mine = ++serial;
      if (query.length < 2) { out.innerHTML = ''; return; }
      await Promise.all(searchable.filter((e) => e.load).map((e) => e.load()));
      const hits = [];
      searchable.forEach((e) => e.features().forEach((f) => {
        const text = searchText(e, f);
        if (text.toLowerCase().includes(query)) hits.push({ entry: e, feature: f, text });
      }));
      hits.push(...(await gp.searchServer(state, query)));
      if (mine !== serial) return;
      // at most three hits per layer, so one busy layer cannot hide the others
      const perLayer = {};
      const shown = hits.filter((h) => {
        perLayer[h.entry.lc.name] = (perLayer[h.entry.lc.name] || 0) + 1;
        return perLayer[h.entry.lc.name] <= 3;
      }).slice(0, 15);
      out.innerHTML = shown.map((h, i) => `<li><a href="#" data-hit="${i}">${gp.esc(h.text)}</a>` +
        `<span>${gp.esc(gp.loc(h.entry.lc.title))}</span></li>`).join('') || `<li class="gp-empty">${gp.esc(t('no_results'))}</li>`;
      out.querySelectorAll('a[data-hit]').forEach((a) => a.addEventListener('click', (ev) => {
        ev.preventDefault();
        const hit = shown[Number(a.dataset.hit)];
        gp.zoomToFeature(hit.entry.lc.name, hit.feature);
      }));
    };
    let timer = null;
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 250); });
  }

  /** Tiled layers are not in the browser: ask the OGC API with a CQL2 text filter. */
  gp.searchServer = async function (state, query) {
    if (!state.cfg.apiBase || query.length < 3) return [];
    // the user's text is matched literally: escape LIKE wildcards, then quote for CQL2
    const literal = query.replace(/[\\%_]/g, '\\$&').replace(/'/g, "''");
    const like = `%${literal}%`;
    const tiled = Object.values(state.entries).filter((e) => e.lc.source === 'tiles' && e.lc.search.length);
    const results = await Promise.all(tiled.map(async (e) => {
      const filter = e.lc.search.map((n) => `CASEI(${n}) LIKE CASEI('${like}')`).join(' OR ');
      const url = `${state.cfg.apiBase}/collections/${e.lc.name}/items?f=json&limit=5&filter-lang=cql2-text&filter=${encodeURIComponent(filter)}`;
      try {
        const r = await fetch(url, { headers: { Accept: 'application/geo+json' } });
        const data = r.ok ? await r.json() : { features: [] };
        return data.features.map((f) => ({ entry: e, feature: f, text: searchText(e, f) }));
      } catch (err) { return []; }
    }));
    return results.flat();
  };

  function gotoTool(state, box) {
    const select = gp.el('select', { id: 'gp-goto' });
    box.appendChild(select);
    const fill = () => {
      const opt = (value, label) => `<option value="${gp.esc(value)}">${gp.esc(label)}</option>`;
      const group = (name, label) => {
        const e = state.entries[name];
        if (!e || !e.features().length) return '';
        const items = e.features().map((f, i) => [i, f.properties[e.lc.labelField] || f.id])
          .sort((a, b) => String(a[1]).localeCompare(String(b[1]), 'uk'));
        return `<optgroup label="${gp.esc(label)}">${items.map(([i, l]) => opt(`${name}:${i}`, l)).join('')}</optgroup>`;
      };
      select.innerHTML = opt('', gp.t('go_to')) + opt(`${state.cfg.hromada.boundaryLayer}:0`, gp.t('hromada')) +
        group('starosta_districts', gp.t('districts')) + group('settlements', gp.t('settlements'));
    };
    ['starosta_districts', 'settlements'].forEach((n) => state.entries[n] && state.entries[n].load && state.entries[n].load());
    gp.on('data', fill);
    fill();
    select.addEventListener('change', () => {
      const [name, index] = select.value.split(':');
      const feature = name && state.entries[name].features()[Number(index)];
      if (!feature) return;
      const shape = L.geoJSON(feature);
      if (feature.geometry.type === 'Point') gp.map.setView(shape.getBounds().getCenter(), 14);
      else gp.map.fitBounds(shape.getBounds(), { padding: [10, 10] });
      select.value = '';
    });
  }

  function measureTool(state) {
    const t = gp.t;
    const map = state.map;
    let line = null;
    let active = false;
    const control = L.control({ position: 'topleft' });
    control.onAdd = () => {
      const bar = gp.el('div', { class: 'leaflet-bar gp-measure' });
      bar.innerHTML = `<a href="#" role="button" title="${gp.esc(t('measure'))}" aria-label="${gp.esc(t('measure'))}">` +
        '<svg width="18" height="18" viewBox="0 0 18 18"><path d="M2 13 13 2l3 3L5 16z" fill="none" stroke="#333" stroke-width="1.5"/>' +
        '<path d="M5 10l1.5 1.5M7.5 7.5 9 9M10 5l1.5 1.5" stroke="#333"/></svg></a>';
      L.DomEvent.disableClickPropagation(bar);
      bar.querySelector('a').addEventListener('click', (ev) => { ev.preventDefault(); toggle(!active); });
      return bar;
    };
    const length = () => line.getLatLngs().reduce((sum, p, i, all) => (i ? sum + gp.haversine(all[i - 1].lat, all[i - 1].lng, p.lat, p.lng) : 0), 0);
    const label = () => line.bindTooltip(`${t('total')}: ${gp.formatDistance(length())}`, { permanent: true, className: 'gp-measure-label' }).openTooltip(line.getLatLngs().slice(-1)[0]);
    const add = (e) => { if (!line) line = L.polyline([], { color: '#d62728', weight: 3, dashArray: '6 4' }).addTo(map); line.addLatLng(e.latlng); label(); };
    const key = (e) => { if (e.key === 'Escape') toggle(false); };
    function toggle(on) {
      active = on;
      map.getContainer().classList.toggle('gp-crosshair', on);
      if (on) {
        if (line) { map.removeLayer(line); line = null; }
        map.doubleClickZoom.disable();
        map.on('click', add);
        map.once('dblclick', () => toggle(false));
        document.addEventListener('keydown', key);
        map.getContainer().title = t('measure_hint');
      } else {
        map.off('click', add);
        map.doubleClickZoom.enable();
        document.removeEventListener('keydown', key);
        map.getContainer().title = '';
      }
    }
    control.addTo(map);
  }

  function cursorPosition(state) {
    const control = L.control({ position: 'bottomleft' });
    control.onAdd = () => gp.el('div', { class: 'gp-cursor', id: 'gp-cursor' }, '&nbsp;');
    control.addTo(state.map);
    state.map.on('mousemove', (e) => {
      document.getElementById('gp-cursor').textContent = `${e.latlng.lat.toFixed(5)}, ${e.latlng.lng.toFixed(5)}`;
    });
  }

  gp.buildTools = function (state, panel) {
    const box = panel.querySelector('#gp-tools');
    searchTool(state, box);
    gotoTool(state, box);
    nearestTool(state, panel.querySelector('#gp-nearest'));
    measureTool(state);
    cursorPosition(state);
    if (L.Control.FullScreen) {
      state.map.addControl(new L.Control.FullScreen({ position: 'topleft', title: gp.t('fullscreen'), titleCancel: gp.t('exit_fullscreen') }));
    }
    if (L.control.locate) {
      L.control.locate({ position: 'topleft', strings: { title: gp.t('locate') }, showPopup: false }).addTo(state.map);
    }
  };
})();
