/* gisplatform web map, tools: search, go-to, nearest shelter, measure, cursor position, controls.
 * Which layer the nearest-shelter tool uses, its safe default filters and the fields it lists
 * come from cfg.nearest (the layer's map block in layers/*.yaml); no layer or field is named here. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  const EARTH_RADIUS_M = 6371008.8;
  const PROCESS_URL = '/processes/nearest-shelter/execution';

  /** Great-circle distance in metres between two [lat, lon] points. */
  gp.haversine = function (lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
    return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
  };
  /** "850 м", "1,25 км" (uk) / "1.25 km" (en). */
  gp.formatDistance = (m) => (m < 1000 ? `${gp.number(Math.round(m))} ${gp.t('m')}`
    : `${gp.number(m / 1000, m < 10000 ? 2 : 1)} ${gp.t('km')}`);
  gp.formatMetres = (m) => `${gp.number(Math.round(m))} ${gp.t('m')}`;
  /** True on a touch screen without hover (a phone or tablet). */
  gp.isTouch = () => window.matchMedia('(hover: none), (pointer: coarse)').matches;

  // ---- nearest shelter: what is asked for --------------------------------------------------
  /** The user's narrowing choices in the nearest tool: field -> one code ('' = no choice). */
  const choices = (gp.nearestChoices = {});
  const nearestCfg = () => gp.state.cfg.nearest;
  const nearestLayer = () => gp.state.cfg.layers.find((l) => l.name === nearestCfg().layer);

  /** The codes a filter may offer: the safe defaults of the field, else all its values. */
  function allowedCodes(field) {
    const safe = nearestCfg().defaults[field.name];
    return safe ? field.values.map((v) => v.value).filter((v) => safe.includes(v)) : field.values.map((v) => v.value);
  }

  /**
   * What the tool asks for now, field -> codes: the safe defaults, each narrowed to the user's
   * choice. A choice outside the defaults is ignored: the tool never widens them.
   */
  gp.nearestWanted = function () {
    const wanted = {};
    Object.entries(nearestCfg().defaults).forEach(([name, codes]) => { wanted[name] = codes.slice(); });
    Object.entries(choices).forEach(([name, code]) => {
      if (!code || (wanted[name] && !wanted[name].includes(code))) return;
      wanted[name] = [code];
    });
    return wanted;
  };

  /** The loaded features of the tool's layer that satisfy ``wanted``, by fid. */
  async function candidates(wanted) {
    const lc = nearestLayer();
    const data = await gp.loadLayer(lc.name);
    const checked = Object.entries(wanted).filter(([name]) => gp.fieldOf(lc, name));
    const byFid = new Map();
    (data ? data.features : []).forEach((f) => {
      if (f.geometry && checked.every(([name, codes]) => codes.includes(f.properties[name]))) byFid.set(String(f.id), f);
    });
    return byFid;
  }

  /** Straight-line nearest shelters: [{fid, properties, lat, lon, straight}], nearest first. */
  gp.straightNearest = async function (lat, lon, count) {
    const found = await candidates(gp.nearestWanted());
    const items = [...found.values()].map((f) => {
      const [x, y] = f.geometry.coordinates;
      return { fid: f.id, properties: f.properties, lat: y, lon: x, straight: gp.haversine(lat, lon, y, x),
        mark: gp.markOf(f.properties) };
    }).sort((a, b) => a.straight - b.straight);
    return gp.rankMarked(items, count, (s) => s.straight);
  };

  /**
   * Walking nearest shelters from the nearest-shelter process: {snapped, items: [{fid,
   * properties, lat, lon, walk, minutes, straight, route}]}. Every wanted field the process
   * takes is sent as a list of codes (never null, which would mean "any"); the others are
   * applied here to a longer list. Throws the server's message.
   */
  gp.walkingNearest = async function (lat, lon, count) {
    const wanted = gp.nearestWanted();
    const process = nearestCfg().process;
    const inputs = { origin: { lon, lat }, limit: count };
    Object.entries(wanted).forEach(([name, codes]) => { if (process.includes(name)) inputs[name] = codes; });
    if (Object.keys(wanted).some((name) => !process.includes(name))) inputs.limit = 50;
    const response = await fetch(`${gp.state.cfg.apiBase}${PROCESS_URL}`, {
      method: 'POST',
      // the server's messages in the page's language
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Accept-Language': gp.state.lang,
        ...(gp.csrfHeaders ? gp.csrfHeaders() : {}) },
      body: JSON.stringify({ inputs }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = body.description || body.detail || `HTTP ${response.status}`;
      throw new Error(String(message).replace(/^Error executing process: /, ''));
    }
    const known = await candidates(wanted);
    const routes = body[nearestCfg().results] || [];
    const found = routes.filter((s) => known.has(String(s.fid))).map((s) => {
      const feature = known.get(String(s.fid));
      const [x, y] = feature.geometry.coordinates;
      return { fid: s.fid, properties: feature.properties, lat: y, lon: x,
        walk: s.walk_m, minutes: s.walk_minutes, straight: s.straight_m, route: s.route,
        mark: s.report_mark || gp.markOf(feature.properties) };
    });
    // the process ranks reported shelters last; the same rule after the browser's own filters
    return { snapped: body.snapped, items: gp.rankMarked(found, count, (s) => s.walk) };
  };

  /**
   * The nearest shelters to (lat, lon) under the safe defaults and the user's choices:
   * {method, items, error}. Walking distance from the server; straight line only in a
   * static copy or when the process answers an error (its message is kept in ``error``).
   */
  gp.nearestShelters = async function (lat, lon, count = 5) {
    if (!gp.state.cfg.apiBase) {
      return { method: 'straight', items: await gp.straightNearest(lat, lon, count), error: null };
    }
    try {
      return { method: 'walking', error: null, ...(await gp.walkingNearest(lat, lon, count)) };
    } catch (err) {
      return { method: 'straight', items: await gp.straightNearest(lat, lon, count), error: err.message };
    }
  };

  /** The phone's position as [lat, lon]; rejects when refused, unavailable or too slow. */
  gp.locateMe = () => new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error('geolocation unavailable')); return; }
    navigator.geolocation.getCurrentPosition((pos) => resolve([pos.coords.latitude, pos.coords.longitude]),
      (err) => reject(new Error(err.message || 'geolocation failed')),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  // ---- nearest shelter: the tool ------------------------------------------------------------
  function onlyText(lc) {
    const parts = Object.entries(nearestCfg().defaults).map(([name, codes]) => {
      const field = gp.fieldOf(lc, name);
      if (!field) return null;
      const labels = codes.map((code) => gp.formatValue(field, code));
      return `${gp.loc(field.title)} — ${labels.join(', ')}`;
    }).filter(Boolean);
    return parts.length ? `${gp.t('nearest_only')}: ${parts.join('; ')}` : '';
  }

  function narrowing(lc) {
    const rows = nearestCfg().filters.map((name) => {
      const field = gp.fieldOf(lc, name);
      const codes = allowedCodes(field);
      if (codes.length < 2) return '';
      const options = [['', gp.t('any')], ...codes.map((c) => [c, gp.formatValue(field, c)])]
        .map(([v, label]) => `<option value="${gp.esc(v)}">${gp.esc(label)}</option>`).join('');
      return `<label class="gp-filter"><span>${gp.esc(gp.loc(field.title))}</span>` +
        `<select data-nearest-field="${gp.esc(name)}">${options}</select></label>`;
    }).join('');
    return rows ? `<details class="gp-filters gp-nearest-filters"><summary>${gp.esc(gp.t('nearest_filters'))}</summary>${rows}</details>` : '';
  }

  function nearestTool(state, box) {
    if (!state.cfg.nearest) return;
    const lc = nearestLayer();
    const t = gp.t;
    const touch = gp.isTouch();
    box.innerHTML = `<h2>${gp.esc(t('nearest_title'))}</h2><div class="gp-buttons">` +
      `<button type="button" id="gp-nearest-here">${gp.esc(t('nearest_here'))}</button>` +
      `<button type="button" id="gp-nearest-pick">${gp.esc(t(touch ? 'nearest_tap' : 'nearest_click'))}</button></div>` +
      `<p class="gp-hint">${gp.esc(t(touch ? 'nearest_hint_touch' : 'nearest_hint'))}</p><p class="gp-hint gp-only" id="gp-nearest-only">${gp.esc(onlyText(lc))}</p>` +
      `${narrowing(lc)}<p id="gp-nearest-method"></p>` +
      `<p id="gp-nearest-marked" class="gp-hint gp-report-note" hidden>${gp.esc(t('nearest_marked_last'))}</p><ol id="gp-nearest-results"></ol>`;
    box.querySelectorAll('select[data-nearest-field]').forEach((select) => select.addEventListener('change', () => {
      choices[select.dataset.nearestField] = select.value;
    }));
    const marks = L.layerGroup().addTo(state.map);
    const route = L.layerGroup().addTo(state.map);
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
    const fit = (bounds) => state.map.fitBounds(bounds, { ...gp.fitPadding(40), maxZoom: 17 });
    /** Draw the walk to shelter ``s`` (or a dashed straight line without a route). */
    const drawRoute = (s, from) => {
      route.clearLayers();
      list.querySelectorAll('li').forEach((li) => li.classList.toggle('gp-current', li.dataset.fid === String(s.fid)));
      if (!s.route) {
        L.polyline([from, [s.lat, s.lon]], { color: '#000', dashArray: '4 4', weight: 2, pane: 'gp-lines', className: 'gp-straight-line', interactive: false }).addTo(route);
        return L.latLngBounds([from, [s.lat, s.lon]]);
      }
      const line = L.polyline(s.route.coordinates.map(([x, y]) => [y, x]), {
        color: '#6a3d9a', weight: 5, opacity: 0.85, pane: 'gp-lines', className: 'gp-route', interactive: false,
      }).addTo(route);
      return line.getBounds().extend(from);
    };
    const item = (s) => {
      const seen = new Set();
      const rows = nearestCfg().show.map((name) => {
        const field = gp.fieldOf(lc, name);
        const value = field && gp.formatValue(field, s.properties[name]);
        if (!value || seen.has(value)) return '';
        seen.add(value);
        return `<div data-field="${gp.esc(name)}"><span class="gp-key">${gp.esc(gp.loc(field.title))}:</span> ${gp.esc(value)}</div>`;
      }).join('');
      const straight = (format) => gp.esc(`${format(s.straight)} ${t('straight_line')}`);
      const minutes = Math.max(1, Math.round(s.minutes));
      const distance = s.walk === undefined ? `<b class="gp-distance">${straight(gp.formatDistance)}</b>`
        : `<b class="gp-walk">${gp.esc(gp.formatMetres(s.walk))}</b> · ${gp.esc(`${gp.number(minutes)} ${t('min')} ${t('walk')}`)}` +
          ` · <span class="gp-distance">${straight(gp.formatMetres)}</span>`;
      const name = (lc.labelField && s.properties[lc.labelField]) || s.fid;
      const mark = s.mark ? `<div class="gp-report-mark" role="note">⚠ ${gp.esc(gp.markText(s.mark))}</div>` : '';
      return `<li data-fid="${gp.esc(s.fid)}"${s.mark ? ' class="gp-marked"' : ''}><a href="#" class="gp-nearest-name">${gp.esc(name)}</a>` +
        `${mark}<div>${distance}</div>${rows}</li>`;
    };
    gp.showNearest = async function (lat, lon) {
      const mine = ++serial;
      gp.toast(null);
      marks.clearLayers();
      route.clearLayers();
      L.circleMarker([lat, lon], { radius: 6, color: '#000', fillColor: '#fff', fillOpacity: 1, weight: 2, pane: 'gp-points', interactive: false }).addTo(marks);
      method.className = 'gp-method';
      method.dataset.method = '';
      method.textContent = state.cfg.apiBase ? t('nearest_loading') : '';
      list.innerHTML = '';
      box.querySelector('#gp-nearest-marked').hidden = true;
      if (gp.openPanel) gp.openPanel('nearest');
      const result = await gp.nearestShelters(lat, lon);
      if (mine !== serial) return result;
      showMethod(result);
      const found = result.items;
      box.querySelector('#gp-nearest-marked').hidden = !found.some((s) => s.mark);
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
            fit(drawRoute(s, [lat, lon]));
            L.popup().setLatLng([s.lat, s.lon]).setContent(gp.popupHtml(lc, s.properties, s.fid)).openOn(state.map);
          });
        });
        fit(drawRoute(found[0], [lat, lon]));
      }
      box.scrollIntoView({ block: 'nearest' });
      gp.emit('nearest', result);
      return result;
    };
    /** From the device's position; when it cannot be had, say so and let the user tap a point. */
    gp.nearestFromHere = async function () {
      setPicking(false);
      gp.toast(t('geo_waiting'));
      let here;
      try {
        here = await gp.locateMe();
      } catch (err) {
        gp.toast(t(gp.isTouch() ? 'geo_failed_touch' : 'geo_failed_click'), 'gp-warn');
        setPicking(true);
        return null;
      }
      return gp.showNearest(here[0], here[1]);
    };
    pickButton.addEventListener('click', () => setPicking(!picking));
    // A capturing DOM listener: it sees clicks on features too and keeps their popups shut.
    state.map.getContainer().addEventListener('click', (ev) => {
      if (!picking || ev.target.closest('.leaflet-control, .gp-overlay')) return;
      ev.stopPropagation();
      setPicking(false);
      state.map.closePopup();
      const at = state.map.mouseEventToLatLng(ev);
      gp.showNearest(at.lat, at.lng);
    }, true);
    box.querySelector('#gp-nearest-here').addEventListener('click', () => gp.nearestFromHere());
    // the one obvious button on the map itself (a phone shows little else)
    const go = gp.el('button', { type: 'button', id: 'gp-nearest-go', class: 'gp-overlay gp-nearest-go' },
      `<svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true"><path d="M9 1 2 4v5c0 4 3 7 7 8 4-1 7-4 7-8V4z" fill="none" stroke="currentColor" stroke-width="2"/></svg>` +
      `<span>${gp.esc(t('nearest_title'))}</span>`);
    L.DomEvent.disableClickPropagation(go);
    go.addEventListener('click', () => gp.nearestFromHere());
    state.map.getContainer().appendChild(go);
  }

  /** A short message over the map (``null`` hides it); taps on it close it. */
  gp.toast = function (text, kind) {
    const map = gp.state.map.getContainer();
    let node = map.querySelector('#gp-toast');
    if (!node) {
      node = gp.el('div', { id: 'gp-toast', class: 'gp-overlay gp-toast', 'aria-live': 'polite' });
      L.DomEvent.disableClickPropagation(node);
      node.addEventListener('click', () => { node.hidden = true; });
      map.appendChild(node);
    }
    node.hidden = !text;
    node.textContent = text || '';
    node.className = `gp-overlay gp-toast${kind ? ` ${kind}` : ''}`;
  };

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
      const query = gp.fold(input.value.trim());
      const mine = ++serial;
      if (query.length < 2) { out.innerHTML = ''; return; }
      await Promise.all(searchable.filter((e) => e.load).map((e) => e.load()));
      const hits = [];
      searchable.forEach((e) => e.features().forEach((f) => {
        const text = searchText(e, f);
        if (gp.fold(text).includes(query)) hits.push({ entry: e, feature: f, text });
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
        if (gp.closePanel) gp.closePanel();
        gp.zoomToFeature(hit.entry.lc.name, hit.feature);
      }));
    };
    let timer = null;
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 250); });
  }

  /** Tiled layers are not in the browser: ask the OGC API with a CQL2 text filter. */
  gp.searchServer = async function (state, query) {
    if (!state.cfg.apiBase || query.length < 3) return [];
    // the user's text is matched literally (LIKE wildcards escaped), except that an apostrophe
    // matches any one character, so ' finds ’ and ʼ (the data mix them); no quote is left
    const literal = gp.fold(query).replace(/[\\%_]/g, '\\$&').replace(/'/g, '_');
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
        groups.map((e) => group(e.lc.name, gp.loc(e.lc.goto))).join('');
    };
    // the layers whose map block gives a "go to" title, loaded even when switched off
    const groups = Object.values(state.entries).filter((e) => e.lc.goto);
    groups.forEach((e) => e.load && e.load());
    gp.on('data', fill);
    fill();
    select.addEventListener('change', () => {
      const [name, index] = select.value.split(':');
      const feature = name && state.entries[name].features()[Number(index)];
      if (!feature) return;
      if (gp.closePanel) gp.closePanel();
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
    let button = null;
    const control = L.control({ position: 'topleft' });
    control.onAdd = () => {
      const bar = gp.el('div', { class: 'leaflet-bar gp-measure' });
      bar.innerHTML = `<a href="#" role="button" title="${gp.esc(t('measure'))}" aria-label="${gp.esc(t('measure'))}">` +
        '<svg width="18" height="18" viewBox="0 0 18 18"><path d="M2 13 13 2l3 3L5 16z" fill="none" stroke="#333" stroke-width="1.5"/>' +
        '<path d="M5 10l1.5 1.5M7.5 7.5 9 9M10 5l1.5 1.5" stroke="#333"/></svg></a>';
      L.DomEvent.disableClickPropagation(bar);
      button = bar.querySelector('a');
      button.addEventListener('click', (ev) => { ev.preventDefault(); toggle(!active); });
      return bar;
    };
    const length = () => line.getLatLngs().reduce((sum, p, i, all) => (i ? sum + gp.haversine(all[i - 1].lat, all[i - 1].lng, p.lat, p.lng) : 0), 0);
    const label = () => line.bindTooltip(`${t('total')}: ${gp.formatDistance(length())}`, { permanent: true, className: 'gp-measure-label' }).openTooltip(line.getLatLngs().slice(-1)[0]);
    const add = (e) => { if (!line) line = L.polyline([], { color: '#d62728', weight: 3, dashArray: '6 4' }).addTo(map); line.addLatLng(e.latlng); label(); };
    const key = (e) => { if (e.key === 'Escape') toggle(false); };
    function toggle(on) {
      active = on;
      map.getContainer().classList.toggle('gp-crosshair', on);
      button.classList.toggle('gp-active', on);
      gp.toast(on ? t('measure_hint') : null);
      if (on) {
        if (line) { map.removeLayer(line); line = null; }
        map.doubleClickZoom.disable();
        map.on('click', add);
        map.once('dblclick', () => toggle(false));
        document.addEventListener('keydown', key);
      } else {
        map.off('click', add);
        map.doubleClickZoom.enable();
        document.removeEventListener('keydown', key);
      }
    }
    control.addTo(map);
  }

  function cursorPosition(state) {
    if (gp.isTouch()) return; // no pointer to follow on a touch screen
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
