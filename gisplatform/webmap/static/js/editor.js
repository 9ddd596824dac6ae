/* gisplatform web map, editor: a signed-in writer edits a feature in a form built from the
 * layer's fields in the map config (the registry); nothing here names a layer or field.
 * Save sends a JSON merge patch of the changed properties (and the point's new position when
 * it was dragged, see editgeom.js) with If-Match (the ETag the form was filled from) and the
 * session's CSRF token; a new feature is a POST; "Видалити" asks first, then DELETE with
 * If-Match. 422: each field's message next to it; 412: the stored version beside the user's,
 * field by field, to reload or to overwrite consciously. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  const MERGE_PATCH = 'application/merge-patch+json';
  const GEOJSON = 'application/geo+json';
  let current = null; // { lc, fid (null: new), etag, original, geometry, box, handle }

  function itemsUrl(lc) {
    return `${gp.state.cfg.apiBase}/collections/${lc.name}/items?lang=${gp.state.lang}`;
  }
  function itemUrl(lc, fid) {
    return `${gp.state.cfg.apiBase}/collections/${lc.name}/items/${encodeURIComponent(fid)}?lang=${gp.state.lang}`;
  }

  /** Why a feature could not be read, in the page's language. */
  class ReadError extends Error {}
  function reason(status, description) {
    const t = gp.t;
    if (status === 404) return t('open_gone');
    if (status === 401) return t('open_signed_out');
    return description || `HTTP ${status}`;
  }

  async function fetchItem(lc, fid) {
    let response;
    try {
      response = await fetch(itemUrl(lc, fid), { cache: 'no-store',
        headers: { Accept: GEOJSON, 'Accept-Language': gp.state.lang } });
    } catch (e) {
      throw new ReadError(gp.t('open_offline'));
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new ReadError(reason(response.status, problem.description));
    }
    const feature = await response.json();
    return { etag: response.headers.get('ETag'), props: feature.properties || {}, geometry: feature.geometry || null };
  }

  const { editableFields, inputHtml, readValue, same, changes } = gp.editForm;

  function close() {
    if (current && current.handle) current.handle.remove();
    if (current && current.box) current.box.remove();
    current = null;
  }
  gp.closeEditor = close;

  function shell(html) {
    close();
    const box = document.createElement('div');
    box.className = 'gp-editor';
    box.id = 'gp-editor';
    box.innerHTML = html;
    ['click', 'dblclick', 'mousedown', 'wheel', 'touchstart'].forEach((ev) => box.addEventListener(ev, (e) => e.stopPropagation()));
    gp.map.getContainer().appendChild(box);
    return box;
  }

  function locationHtml(geometry) {
    const esc = gp.esc;
    const t = gp.t;
    return `<div class="gp-edit-location" id="gp-edit-location"><span>${esc(t('location'))}</span> ` +
      `<b id="gp-edit-point">${esc(gp.formatPoint(geometry))}</b> <em id="gp-edit-moved" hidden>(${esc(t('moved'))})</em>` +
      `<div class="gp-edit-hint">${esc(t('move_hint'))}</div></div>`;
  }

  /** The form for feature ``fid`` of ``lc`` (``fid`` null: a new feature at ``item.geometry``). */
  function render(lc, fid, item) {
    const t = gp.t;
    const esc = gp.esc;
    const point = lc.geometry === 'point' && item.geometry && item.geometry.type === 'Point';
    const rows = editableFields(lc).map((f) => {
      const mark = f.required ? ` <abbr class="gp-required" title="${esc(t('required_mark'))}">*</abbr>` : '';
      return `<label class="gp-edit-field" data-field="${esc(f.name)}"><span>${esc(gp.loc(f.title))}${mark}</span>` +
        `${inputHtml(f, item.props[f.name])}<span class="gp-field-error" role="alert" hidden></span></label>`;
    }).join('');
    const isNew = fid === null;
    const title = isNew ? t('add_title') : t('edit_title');
    const existing = isNew ? '' : `<button type="button" id="gp-edit-history">${esc(t('history'))}</button>` +
      `<button type="button" id="gp-edit-delete" class="gp-danger">${esc(t('delete'))}</button>`;
    const box = shell(`<form id="gp-edit-form" class="${isNew ? 'gp-new' : ''}" novalidate>` +
      `<div class="gp-editor-title">${esc(title)}</div>` +
      `<div class="gp-editor-layer">${esc(gp.loc(lc.title))}${isNew ? '' : ` · ${esc(fid)}`}</div>` +
      '<div class="gp-conflict" id="gp-conflict" hidden></div>' +
      `${point ? locationHtml(item.geometry) : ''}<div class="gp-editor-fields">${rows}</div>` +
      '<div class="gp-editor-status" id="gp-edit-status" role="status" hidden></div>' +
      `<div class="gp-editor-buttons"><button type="submit" id="gp-edit-save">${esc(t('save'))}</button>` +
      `<button type="button" class="gp-edit-cancel" id="gp-edit-cancel">${esc(t('cancel'))}</button>${existing}</div>` +
      '<div class="gp-confirm" id="gp-delete-confirm" role="alertdialog" aria-labelledby="gp-delete-question" hidden>' +
      `<p id="gp-delete-question">${esc(t('delete_confirm'))}</p>` +
      `<div class="gp-confirm-what">${esc(labelOf(lc, item.props))} · ${esc(fid)}</div><div class="gp-editor-buttons">` +
      `<button type="button" id="gp-delete-yes" class="gp-danger">${esc(t('delete_yes'))}</button>` +
      `<button type="button" id="gp-delete-no">${esc(t('delete_no'))}</button></div></div>` +
      '<div class="gp-history" id="gp-history" hidden></div></form>');
    current = { lc, fid, etag: item.etag, original: item.props, geometry: item.geometry, box, handle: null };
    if (point) current.handle = gp.dragHandle(lc, fid, item.geometry, moved);
    const form = box.querySelector('form');
    box.querySelector('.gp-edit-cancel').addEventListener('click', close); // an unsaved move goes back
    if (!isNew) {
      box.querySelector('#gp-edit-history').addEventListener('click', history);
      box.querySelector('#gp-edit-delete').addEventListener('click', () => confirmDelete(true));
      box.querySelector('#gp-delete-no').addEventListener('click', () => confirmDelete(false));
      box.querySelector('#gp-delete-yes').addEventListener('click', () => remove(form));
    }
    form.addEventListener('submit', (ev) => { ev.preventDefault(); save(form, false); });
  }

  /** What people call the feature: its label field's value, else the layer's title. */
  function labelOf(lc, props) {
    return (lc.labelField && props[lc.labelField]) || gp.loc(lc.title);
  }

  /** The point was dragged: its new position in the form, saved with the next "Зберегти". */
  function moved(geometry) {
    if (!current) return;
    current.box.querySelector('#gp-edit-point').textContent = gp.formatPoint(geometry);
    current.box.querySelector('#gp-edit-moved').hidden = !current.handle.moved();
  }

  function status(text, kind) {
    const el = current.box.querySelector('#gp-edit-status');
    el.textContent = text;
    el.className = `gp-editor-status ${kind || ''}`;
    el.hidden = !text;
  }

  function clearErrors() {
    current.box.querySelectorAll('.gp-field-error').forEach((el) => { el.hidden = true; el.textContent = ''; });
    current.box.querySelectorAll('.gp-edit-field.gp-invalid').forEach((el) => el.classList.remove('gp-invalid'));
  }

  function showErrors(errors) {
    (errors || []).forEach((err) => {
      const name = String(err.field || '').replace(/^properties\./, '');
      const label = Array.from(current.box.querySelectorAll('.gp-edit-field')).find((el) => el.dataset.field === name);
      if (!label) return;
      label.classList.add('gp-invalid');
      const el = label.querySelector('.gp-field-error');
      el.textContent = err.description;
      el.hidden = false;
    });
  }

  async function request(method, url, headers, body) {
    const response = await fetch(url, {
      method,
      headers: { Accept: GEOJSON, 'Accept-Language': gp.state.lang, ...headers, ...gp.csrfHeaders() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { status: response.status, ok: response.ok, etag: response.headers.get('ETag'),
      location: response.headers.get('Location'), data };
  }

  /** PATCH of the changed properties and, when the point was dragged, its new position. */
  function send(patch, geometry, etag) {
    const body = {};
    if (Object.keys(patch).length) body.properties = patch;
    if (geometry) body.geometry = geometry;
    return request('PATCH', itemUrl(current.lc, current.fid), { 'Content-Type': MERGE_PATCH, 'If-Match': etag }, body);
  }

  /** POST of a new feature: every field the form has a value for, at the placed point. */
  function create(form) {
    const properties = {};
    editableFields(current.lc).forEach((f) => {
      const v = readValue(form, f);
      if (v !== null) properties[f.name] = v;
    });
    const body = { type: 'Feature', geometry: current.handle.geometry(), properties };
    return request('POST', itemsUrl(current.lc), { 'Content-Type': GEOJSON }, body);
  }

  /** A new feature was stored: the form becomes its edit form, the layer is drawn again. */
  function created(answer) {
    const lc = current.lc;
    const fid = answer.data.id !== undefined ? answer.data.id : (answer.location || '').split('/').pop();
    current.handle.saved();
    render(lc, fid, { etag: answer.etag, props: answer.data.properties || {}, geometry: answer.data.geometry });
    status(gp.t('created'), 'gp-ok');
    gp.reloadLayer(lc.name);
  }

  function rejected(answer) {
    const t = gp.t;
    if (answer.status === 422) {
      showErrors(answer.data.errors);
      status(t('edit_invalid'), 'gp-bad');
      const first = current.box.querySelector('.gp-edit-field.gp-invalid');
      if (first) first.scrollIntoView({ block: 'center' });
      return;
    }
    status(`${t('edit_failed')}: ${answer.data.description || answer.status}`, 'gp-bad');
  }

  /** Save the form: ``force`` is the user's conscious overwrite after a conflict. */
  async function save(form, force) {
    const t = gp.t;
    const button = current.box.querySelector('#gp-edit-save');
    clearErrors();
    current.box.querySelector('#gp-conflict').hidden = true;
    if (current.fid === null) {
      button.disabled = true;
      status(t('saving'));
      try {
        const answer = await create(form);
        if (answer.ok) { created(answer); return; }
        rejected(answer);
      } catch (e) {
        status(`${t('edit_failed')}: ${e.message || e}`, 'gp-bad');
      }
      button.disabled = false;
      return;
    }
    let base = current.original;
    let etag = current.etag;
    try {
      if (force) {
        const stored = await fetchItem(current.lc, current.fid);
        base = stored.props;
        etag = stored.etag;
      }
    } catch (e) {
      status(`${t('edit_failed')}: ${e.message || e}`, 'gp-bad');
      return;
    }
    const patch = changes(form, current.lc, base);
    const geometry = current.handle && current.handle.moved() ? current.handle.geometry() : null;
    if (!Object.keys(patch).length && !geometry) { status(t('no_changes')); return; }
    button.disabled = true;
    status(t('saving'));
    try {
      const answer = await send(patch, geometry, etag);
      if (answer.ok) {
        current.etag = answer.etag;
        current.original = (answer.data && answer.data.properties) || { ...base, ...patch };
        if (current.handle) { current.handle.saved(); current.box.querySelector('#gp-edit-moved').hidden = true; }
        status(t('saved'), 'gp-ok');
        gp.reloadLayer(current.lc.name);
      } else if (answer.status === 412) {
        await conflict(form);
      } else {
        rejected(answer);
      }
    } catch (e) {
      status(`${t('edit_failed')}: ${e.message || e}`, 'gp-bad');
    }
    button.disabled = false;
  }

  /** The position row of the conflict table, when the user's and the stored one differ. */
  function locationConflict(stored) {
    if (!current.handle) return '';
    const esc = gp.esc;
    const yours = gp.formatPoint(current.handle.geometry());
    const theirs = gp.formatPoint(stored.geometry);
    if (yours === theirs) return '';
    return `<tr class="gp-differs" data-field="geometry"><th>${esc(gp.t('location'))}</th>` +
      `<td class="gp-yours">${esc(yours)}</td><td class="gp-stored">${esc(theirs)}</td></tr>`;
  }

  /** Someone saved first: the user's values beside the stored ones, nothing overwritten. */
  async function conflict(form) {
    const t = gp.t;
    const esc = gp.esc;
    const stored = await fetchItem(current.lc, current.fid);
    const rows = editableFields(current.lc).map((f) => {
      const yours = readValue(form, f);
      const theirs = stored.props[f.name];
      const differs = !same(yours, f.type === 'date' && theirs ? String(theirs).slice(0, 10) : theirs);
      if (!differs) return ''; // the fields both versions agree on are not listed
      const show = (v) => esc(gp.formatValue(f, v) === null ? '—' : gp.formatValue(f, v));
      return `<tr class="gp-differs" data-field="${esc(f.name)}"><th>${esc(gp.loc(f.title))}</th>` +
        `<td class="gp-yours">${show(yours)}</td><td class="gp-stored">${show(theirs)}</td></tr>`;
    }).join('') + locationConflict(stored);
    const panel = current.box.querySelector('#gp-conflict');
    panel.innerHTML = `<div class="gp-conflict-title" role="alert">${esc(t('conflict_title'))}</div>` +
      `<p>${esc(t('conflict_text'))}</p>` +
      `<table><thead><tr><th>${esc(t('conflict_field'))}</th><th>${esc(t('conflict_yours'))}</th>` +
      `<th>${esc(t('conflict_stored'))}</th></tr></thead><tbody>${rows}</tbody></table>` +
      `<div class="gp-editor-buttons"><button type="button" id="gp-conflict-reload">${esc(t('conflict_reload'))}</button>` +
      `<button type="button" id="gp-conflict-overwrite">${esc(t('conflict_overwrite'))}</button></div>`;
    panel.hidden = false;
    current.box.scrollTop = 0;
    status('');
    panel.querySelector('#gp-conflict-reload').addEventListener('click', () => {
      render(current.lc, current.fid, stored);
      gp.reloadLayer(current.lc.name);
    });
    panel.querySelector('#gp-conflict-overwrite').addEventListener('click', () => save(form, true));
  }

  /** "Історія змін": every version the caller may see, who saved it and what changed. */
  async function history() {
    const t = gp.t;
    const esc = gp.esc;
    const panel = current.box.querySelector('#gp-history');
    const url = `${gp.state.cfg.apiBase}/collections/${current.lc.name}/items/${encodeURIComponent(current.fid)}/history?lang=${gp.state.lang}`;
    const response = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      panel.textContent = `${t('edit_failed')}: ${data.description || response.status}`;
      panel.hidden = false;
      return;
    }
    const title = (name) => {
      const f = current.lc.fields.find((x) => x.name === name);
      return f ? gp.loc(f.title) : t('history_geometry');
    };
    const rows = (data.versions || []).slice().reverse().map((v) => {
      const when = new Date(v.changedAt).toLocaleString(gp.locale());
      const what = Object.keys(v.changes || {}).map(title).join(', ') || '—';
      return `<tr data-version="${esc(v.version)}"><td>${esc(v.version)}</td><td>${esc(when)}</td>` +
        `<td class="gp-history-who">${esc(v.changedBy || '—')}</td><td>${esc(what)}</td></tr>`;
    }).join('');
    panel.innerHTML = `<div class="gp-editor-title">${esc(t('history'))}</div><table><thead><tr>` +
      `<th>${esc(t('history_version'))}</th><th>${esc(t('history_when'))}</th>` +
      `<th>${esc(t('history_who'))}</th><th>${esc(t('history_what'))}</th></tr></thead><tbody>${rows}</tbody></table>`;
    panel.hidden = false;
    panel.scrollIntoView({ block: 'nearest' });
  }

  /** "Видалити": the question first; nothing is sent before the user confirms. */
  function confirmDelete(on) {
    const box = current.box;
    box.querySelector('#gp-delete-confirm').hidden = !on;
    box.querySelector('#gp-edit-delete').disabled = on;
    if (on) {
      box.querySelector('#gp-delete-confirm').scrollIntoView({ block: 'nearest' });
      box.querySelector('#gp-delete-no').focus();
    }
  }

  /** A short notice on the map (after the editor has closed). */
  function notice(text) {
    const old = document.getElementById('gp-notice');
    if (old) old.remove();
    gp.map.getContainer().insertAdjacentHTML('beforeend',
      `<div class="gp-notice" id="gp-notice" role="status">${gp.esc(text)}</div>`);
    const el = document.getElementById('gp-notice');
    window.setTimeout(() => el.remove(), 6000);
  }

  /** DELETE with If-Match: gone from the store and the map, or the conflict when it changed. */
  async function remove(form) {
    const t = gp.t;
    const { lc } = current;
    confirmDelete(false);
    status(t('deleting'));
    try {
      const answer = await request('DELETE', itemUrl(lc, current.fid), { 'If-Match': current.etag });
      if (answer.ok) {
        if (current.handle) current.handle.saved(); // the point is gone: nothing to put back
        close();
        notice(t('deleted'));
        gp.reloadLayer(lc.name);
      } else if (answer.status === 412) {
        await conflict(form);
        status(t('delete_conflict'), 'gp-bad');
      } else {
        status(`${t('delete_failed')}: ${answer.data.description || answer.status}`, 'gp-bad');
      }
    } catch (e) {
      status(`${t('delete_failed')}: ${e.message || e}`, 'gp-bad');
    }
  }

  /** The feature could not be read: say why in the editor's place, never silently. */
  function openFailed(lc, fid, error) {
    const t = gp.t;
    const esc = gp.esc;
    const box = shell(`<div class="gp-editor-title">${esc(t('edit_title'))}</div>` +
      `<div class="gp-editor-layer">${esc(gp.loc(lc.title))} · ${esc(fid)}</div>` +
      `<div class="gp-editor-status gp-bad" id="gp-edit-status" role="alert">${esc(t('open_failed'))}: ` +
      `${esc(error instanceof ReadError ? error.message : String(error))}</div>` +
      `<div class="gp-editor-buttons"><button type="button" id="gp-edit-cancel">${esc(t('close'))}</button></div>`);
    current = { lc, fid, box, handle: null };
    box.querySelector('#gp-edit-cancel').addEventListener('click', close);
  }

  async function open(lc, fid) {
    gp.map.closePopup();
    try {
      render(lc, fid, await fetchItem(lc, fid));
    } catch (e) {
      openFailed(lc, fid, e);
    }
  }

  /** The empty form of a new feature of ``lc`` at ``geometry`` (placed by editgeom.js). */
  gp.createFeature = function (lc, geometry) {
    render(lc, null, { etag: null, props: {}, geometry });
    const first = current.box.querySelector('.gp-edit-field input, .gp-edit-field select');
    if (first) first.focus();
  };

  /** Adds "Edit" to the popup of a feature the signed-in caller may write. */
  gp.startEditor = function (state) {
    gp.state = state;
    if (gp.startMapEditing) gp.startMapEditing(state);
    state.map.on('popupopen', (e) => Promise.resolve(gp.accountReady).then(() => {
      const root = e.popup.getElement();
      const box = root && root.querySelector('.gp-popup');
      if (!box || !gp.session || !box.dataset.fid || box.dataset.fid === 'undefined') return;
      const lc = state.cfg.layers.find((l) => l.name === box.dataset.layer);
      if (!lc || !lc.writable || box.querySelector('.gp-edit-open')) return;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'gp-edit-open';
      button.textContent = gp.t('edit');
      button.addEventListener('click', () => open(lc, box.dataset.fid));
      box.appendChild(button);
    }));
  };
})();
