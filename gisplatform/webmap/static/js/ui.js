/* gisplatform web map, panel: language switch, layers grouped by theme, counts, filters, legend. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});

  function el(tag, attrs, html) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== null && v !== undefined) node.setAttribute(k, v); });
    if (html !== undefined) node.innerHTML = html;
    return node;
  }
  gp.el = el;

  /** A small coloured symbol: circle (point), line or square (polygon). */
  gp.swatch = function (family, style, color) {
    const fill = color || style.fillColor;
    const stroke = family === 'point' ? style.color : color || style.color;
    if (family === 'line') {
      return `<svg class="gp-swatch" width="22" height="14"><line x1="1" y1="7" x2="21" y2="7" stroke="${stroke}" ` +
        `stroke-width="${Math.min(style.weight, 5)}" stroke-dasharray="${style.dashArray || ''}"/></svg>`;
    }
    if (family === 'point') {
      const dash = style.dashArray ? ` stroke-dasharray="${style.dashArray}"` : '';
      return `<svg class="gp-swatch" width="22" height="14"><circle cx="11" cy="7" r="5.5" fill="${fill}" ` +
        `stroke="${stroke}" stroke-width="${style.dashArray ? 2 : 1.5}"${dash}/></svg>`;
    }
    const alpha = Math.max(style.fillOpacity, 0.25);
    return `<svg class="gp-swatch" width="22" height="14"><rect x="2" y="1" width="18" height="12" fill="${fill}" ` +
      `fill-opacity="${alpha}" stroke="${stroke}" stroke-width="1.5" stroke-dasharray="${style.dashArray || ''}"/></svg>`;
  };

  function filterControls(lc) {
    if (!lc.filters.length) return null;
    const box = el('details', { class: 'gp-filters', 'data-layer': lc.name });
    box.appendChild(el('summary', {}, gp.esc(gp.t('filters'))));
    lc.filters.forEach((name) => {
      const field = lc.fields.find((f) => f.name === name);
      const select = el('select', { 'data-layer': lc.name, 'data-field': name });
      const options = [['', gp.t('any')]];
      if (field.type === 'boolean') options.push(['true', gp.t('yes')], ['false', gp.t('no')]);
      else field.values.forEach((v) => options.push([v.value, gp.loc(v)]));
      select.innerHTML = options.map(([v, label]) => `<option value="${gp.esc(v)}">${gp.esc(label)}</option>`).join('');
      select.addEventListener('change', () => gp.setFilter(lc.name, name, select.value));
      const row = el('label', { class: 'gp-filter' }, `<span>${gp.esc(gp.loc(field.title))}</span>`);
      row.appendChild(select);
      box.appendChild(row);
    });
    return box;
  }

  function layerRow(state, entry) {
    const lc = entry.lc;
    const row = el('div', { class: 'gp-layer', 'data-layer': lc.name });
    const label = el('label', { class: 'gp-layer-title' });
    const box = el('input', { type: 'checkbox', 'data-layer': lc.name });
    box.checked = entry.on;
    box.addEventListener('change', () => gp.setLayer(lc.name, box.checked));
    label.appendChild(box);
    label.insertAdjacentHTML('beforeend', gp.swatch(lc.geometry, lc.style) +
      `<span>${gp.esc(gp.loc(lc.title))}</span>`);
    row.appendChild(label);
    row.appendChild(el('div', { class: 'gp-count', 'data-count': lc.name }));
    const filters = filterControls(lc);
    if (filters) row.appendChild(filters);
    return row;
  }

  function countText(state, entry) {
    const s = gp.stats().layers[entry.lc.name];
    if (entry.error) return `⚠ ${gp.t('load_error')}`;
    if (!s.on) return '';
    if (!s.inRange) return gp.t('zoom_in_to_see');
    const fmt = new Intl.NumberFormat(state.lang === 'uk' ? 'uk-UA' : 'en-GB');
    if (s.total === null) return `${gp.t('shown')}: ${fmt.format(s.drawn)}`;
    if (s.matched === s.total) return `${gp.t('shown')}: ${fmt.format(s.total)}`;
    return `${gp.t('shown')}: ${fmt.format(s.matched)} ${gp.t('of')} ${fmt.format(s.total)}`;
  }

  function legendHtml(state) {
    return Object.values(state.entries).filter((e) => e.on).map((e) => {
      const lc = e.lc;
      const field = lc.categorizeBy && lc.fields.find((f) => f.name === lc.categorizeBy);
      const coloured = field ? field.values.filter((v) => v.color) : [];
      let items = `<li>${gp.swatch(lc.geometry, lc.style)}${gp.esc(gp.loc(lc.title))}</li>`;
      if (coloured.length) {
        items = field.values.map((v) => `<li>${gp.swatch(lc.geometry, lc.style, v.color || null)}` +
          `${gp.esc(gp.loc(v))}</li>`).join('');
        items = `<li class="gp-legend-head">${gp.esc(gp.loc(lc.title))} — ${gp.esc(gp.loc(field.title))}</li>${items}`;
      }
      const reports = state.cfg.reportMarks;
      if (reports && reports.marked.includes(lc.name)) {
        items += `<li class="gp-legend-mark">${gp.swatch(lc.geometry, { ...lc.style, ...gp.MARKED_STYLE })}` +
          `${gp.esc(gp.t('report_mark_legend'))}</li>`;
      }
      return `<ul class="gp-legend-layer" data-layer="${lc.name}">${items}</ul>`;
    }).join('');
  }

  // ---- phone: the panel is a bottom sheet, folded away until asked for ----------------------
  const PHONE = '(max-width: 640px)';
  gp.isPhone = () => window.matchMedia(PHONE).matches;

  function phoneLayout(state, panel) {
    const map = state.map.getContainer();
    const sheetOpen = () => gp.isPhone() && panel.classList.contains('gp-open');
    /** Open the panel; on a phone as a sheet, ``nearest`` showing only the shelter list. */
    gp.openPanel = function (mode) {
      panel.classList.remove('gp-collapsed');
      panel.classList.add('gp-open');
      panel.classList.toggle('gp-sheet-nearest', mode === 'nearest');
      map.classList.toggle('gp-sheet-open', gp.isPhone());
    };
    /** Fold the sheet away (a phone only: a desktop panel stays as the user left it). */
    gp.closePanel = function () {
      if (!gp.isPhone()) return;
      panel.classList.remove('gp-open', 'gp-sheet-nearest');
      map.classList.remove('gp-sheet-open');
    };
    /** fitBounds padding that keeps what is fitted clear of the panel or the sheet. */
    gp.fitPadding = function (px) {
      if (sheetOpen()) return { paddingTopLeft: [px, px], paddingBottomRight: [px, panel.offsetHeight + px] };
      if (gp.isPhone() || panel.classList.contains('gp-collapsed')) return { padding: [px, px] };
      return { paddingTopLeft: [px, px], paddingBottomRight: [panel.offsetWidth + px, px] };
    };
    const apply = () => {
      map.classList.toggle('gp-phone', gp.isPhone());
      if (!gp.isPhone()) map.classList.remove('gp-sheet-open');
    };
    window.matchMedia(PHONE).addEventListener('change', apply);
    apply();
    const button = L.control({ position: 'topright' });
    button.onAdd = () => {
      const node = el('button', { type: 'button', id: 'gp-layers-button', class: 'gp-layers-button' },
        `<span aria-hidden="true">≡</span> ${gp.esc(gp.t('layers'))}`);
      L.DomEvent.disableClickPropagation(node);
      node.addEventListener('click', () => (sheetOpen() && !panel.classList.contains('gp-sheet-nearest')
        ? gp.closePanel() : gp.openPanel('all')));
      return node;
    };
    button.addTo(state.map);
  }

  gp.buildUi = function (state) {
    const t = gp.t;
    const panel = el('div', { class: 'gp-panel', id: 'gp-panel' });
    const langs = state.cfg.languages.map((l) => `<button type="button" data-lang="${l}" class="${l === state.lang ? 'gp-active' : ''}">` +
      `${l === 'uk' ? 'УКР' : 'ENG'}</button>`).join('');
    panel.innerHTML = `<header><div><h1>${gp.esc(t('app_title'))}</h1><div class="gp-sub">${gp.esc(t('app_subtitle'))}</div>` +
      `<div class="gp-demo" id="gp-demo" hidden title="${gp.esc(t('demo_note'))}">${gp.esc(t('demo_badge'))}</div></div>` +
      `<div class="gp-lang" role="group" aria-label="${gp.esc(t('language'))}">${langs}</div>` +
      `<button type="button" class="gp-collapse" aria-label="${gp.esc(t('layers'))}" title="${gp.esc(t('layers'))}">≡</button>` +
      `<button type="button" class="gp-close" aria-label="${gp.esc(t('close'))}" title="${gp.esc(t('close'))}">×</button></header>` +
      '<div class="gp-body"><section class="gp-account" id="gp-account" hidden></section>' +
      '<section class="gp-tools" id="gp-tools"></section>' +
      `<section><h2>${gp.esc(t('layers'))}</h2><div id="gp-layers"></div></section>` +
      `<section><h2>${gp.esc(t('legend'))}</h2><div id="gp-legend"></div></section>` +
      '<section id="gp-nearest"></section></div>';
    if (state.cfg.static) panel.querySelector('.gp-sub').textContent += ` · ${t('static_note')}`;
    panel.querySelectorAll('[data-lang]').forEach((b) => b.addEventListener('click', () => gp.setLanguage(b.dataset.lang)));
    panel.querySelector('.gp-collapse').addEventListener('click', () => panel.classList.toggle('gp-collapsed'));
    panel.querySelector('.gp-close').addEventListener('click', () => gp.closePanel());
    phoneLayout(state, panel);
    const list = panel.querySelector('#gp-layers');
    state.cfg.themes.forEach((theme) => {
      const group = el('div', { class: 'gp-theme', 'data-theme': theme.id }, `<h3>${gp.esc(gp.loc(theme.title))}</h3>`);
      Object.values(state.entries).filter((e) => e.lc.theme === theme.id).forEach((e) => group.appendChild(layerRow(state, e)));
      list.appendChild(group);
    });
    if (state.cfg.basemap) {
      const base = L.tileLayer(state.cfg.basemap.url, { attribution: state.cfg.basemap.attribution, maxZoom: 19 });
      const row = el('label', { class: 'gp-layer-title gp-basemap' }, `<input type="checkbox" data-basemap="1"><span>${gp.esc(t('basemap'))}</span>`);
      row.querySelector('input').addEventListener('change', (ev) => (ev.target.checked ? base.addTo(state.map) : state.map.removeLayer(base)));
      list.appendChild(row);
    }
    const control = L.control({ position: 'topright' });
    control.onAdd = () => { L.DomEvent.disableClickPropagation(panel); L.DomEvent.disableScrollPropagation(panel); return panel; };
    control.addTo(state.map);
    const refresh = () => {
      Object.values(state.entries).forEach((e) => {
        const node = panel.querySelector(`[data-count="${e.lc.name}"]`);
        if (node) node.textContent = countText(state, e);
        const box = panel.querySelector(`input[data-layer="${e.lc.name}"]`);
        if (box) box.checked = e.on;
      });
      panel.querySelector('#gp-legend').innerHTML = legendHtml(state);
      panel.querySelector('#gp-demo').hidden = !Object.values(state.entries).some((e) => e.showsDemo());
    };
    let pending = false;
    gp.on('change', () => {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(() => { pending = false; refresh(); });
    });
    if (gp.buildTools) gp.buildTools(state, panel);
    if (gp.buildAccount) gp.buildAccount(state, panel);
  };
})();
