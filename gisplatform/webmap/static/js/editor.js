/* gisplatform web map, editor: a signed-in writer edits a feature's attributes in a form built
 * from the layer's fields in the map config (the registry); nothing here names a layer or field.
 * Save sends a JSON merge patch of the changed properties with If-Match (the ETag the form was
 * filled from) and the session's CSRF token. 422: each field's message next to it; 412: the
 * stored version beside the user's, field by field, to reload or to overwrite consciously. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  const MERGE_PATCH = 'application/merge-patch+json';
  let current = null; // { lc, fid, etag, original, box }

  function itemUrl(lc, fid) {
    return `${gp.state.cfg.apiBase}/collections/${lc.name}/items/${encodeURIComponent(fid)}?lang=${gp.state.lang}`;
  }

  async function fetchItem(lc, fid) {
    const response = await fetch(itemUrl(lc, fid), { cache: 'no-store', headers: { Accept: 'application/geo+json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const feature = await response.json();
    return { etag: response.headers.get('ETag'), props: feature.properties || {} };
  }

  function editableFields(lc) {
    return lc.fields.filter((f) => lc.editable.includes(f.name));
  }

  // ---- the form ------------------------------------------------------------------------------
  function inputHtml(f, value) {
    const esc = gp.esc;
    const t = gp.t;
    const name = esc(f.name);
    const req = f.required ? ' required aria-required="true"' : '';
    const empty = f.required && value !== null && value !== undefined ? '' : `<option value="">${esc(t('not_set'))}</option>`;
    if (f.type === 'enum') {
      const options = f.values.map((v) => `<option value="${esc(v.value)}"${v.value === value ? ' selected' : ''}>${esc(gp.loc(v))}</option>`);
      return `<select name="${name}"${req}>${empty}${options.join('')}</select>`;
    }
    if (f.type === 'boolean') {
      const opt = (v, label) => `<option value="${v}"${String(value) === v ? ' selected' : ''}>${esc(t(label))}</option>`;
      return `<select name="${name}"${req}>${empty}${opt('true', 'yes')}${opt('false', 'no')}</select>`;
    }
    const shown = value === null || value === undefined ? '' : String(value);
    if (f.type === 'integer' || f.type === 'number') {
      const unit = f.unit ? `<span class="gp-unit">${esc(gp.unitWord(f.unit, 5))}</span>` : '';
      const step = f.type === 'integer' ? '1' : 'any';
      return `<span class="gp-number"><input type="number" step="${step}" name="${name}" value="${esc(shown)}"${req}>${unit}</span>`;
    }
    if (f.type === 'date') return `<input type="date" name="${name}" value="${esc(shown.slice(0, 10))}"${req}>`;
    if (f.type === 'datetime') {
      return `<input type="datetime-local" name="${name}" value="${esc(shown.slice(0, 16))}"${req}>`;
    }
    if (f.type === 'string_list') {
      return `<input name="${name}" value="${esc([].concat(value || []).join(', '))}"${req}>`;
    }
    return `<input name="${name}" value="${esc(shown)}"${req}>`;
  }

  /** The form's value of field ``f`` as the API takes it (null when empty). */
  function readValue(form, f) {
    const raw = form.elements[f.name].value.trim();
    if (raw === '') return null;
    if (f.type === 'boolean') return raw === 'true';
    if (f.type === 'integer' || f.type === 'number') return Number.isFinite(Number(raw)) ? Number(raw) : raw;
    if (f.type === 'string_list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
    return raw;
  }

  function same(a, b) {
    const norm = (v) => (v === undefined || v === '' ? null : v);
    return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
  }

  /** The properties the user changed, as a merge patch (null unsets). */
  function changes(form, lc, base) {
    const patch = {};
    editableFields(lc).forEach((f) => {
      const v = readValue(form, f);
      const was = f.type === 'date' && base[f.name] ? String(base[f.name]).slice(0, 10) : base[f.name];
      if (!same(v, was)) patch[f.name] = v;
    });
    return patch;
  }

  function close() {
    if (current && current.box) current.box.remove();
    current = null;
  }

  function render(lc, fid, item) {
    close();
    const t = gp.t;
    const esc = gp.esc;
    const rows = editableFields(lc).map((f) => {
      const mark = f.required ? ` <abbr class="gp-required" title="${esc(t('required_mark'))}">*</abbr>` : '';
      return `<label class="gp-edit-field" data-field="${esc(f.name)}"><span>${esc(gp.loc(f.title))}${mark}</span>` +
        `${inputHtml(f, item.props[f.name])}<span class="gp-field-error" role="alert" hidden></span></label>`;
    }).join('');
    const box = document.createElement('div');
    box.className = 'gp-editor';
    box.id = 'gp-editor';
    box.innerHTML = `<form id="gp-edit-form" novalidate><div class="gp-editor-title">${esc(t('edit_title'))}</div>` +
      `<div class="gp-editor-layer">${esc(gp.loc(lc.title))} · ${esc(fid)}</div>` +
      '<div class="gp-conflict" id="gp-conflict" hidden></div>' +
      `<div class="gp-editor-fields">${rows}</div>` +
      '<div class="gp-editor-status" id="gp-edit-status" role="status" hidden></div>' +
      `<div class="gp-editor-buttons"><button type="submit" id="gp-edit-save">${esc(t('save'))}</button>` +
      `<button type="button" class="gp-edit-cancel">${esc(t('cancel'))}</button>` +
      `<button type="button" id="gp-edit-history">${esc(t('history'))}</button></div>` +
      '<div class="gp-history" id="gp-history" hidden></div></form>';
    ['click', 'dblclick', 'mousedown', 'wheel', 'touchstart'].forEach((ev) => box.addEventListener(ev, (e) => e.stopPropagation()));
    gp.map.getContainer().appendChild(box);
    current = { lc, fid, etag: item.etag, original: item.props, box };
    const form = box.querySelector('form');
    box.querySelector('.gp-edit-cancel').addEventListener('click', close);
    box.querySelector('#gp-edit-history').addEventListener('click', history);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); save(form, false); });
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

  async function send(patch, etag) {
    const response = await fetch(itemUrl(current.lc, current.fid), {
      method: 'PATCH',
      headers: { 'Content-Type': MERGE_PATCH, Accept: 'application/geo+json', 'If-Match': etag,
        'Accept-Language': gp.state.lang, ...gp.csrfHeaders() },
      body: JSON.stringify({ properties: patch }),
    });
    const data = await response.json().catch(() => ({}));
    return { status: response.status, ok: response.ok, etag: response.headers.get('ETag'), data };
  }

  /** Save the form: ``force`` is the user's conscious overwrite after a conflict. */
  async function save(form, force) {
    const t = gp.t;
    const button = current.box.querySelector('#gp-edit-save');
    clearErrors();
    current.box.querySelector('#gp-conflict').hidden = true;
    let base = current.original;
    let etag = current.etag;
    if (force) {
      const stored = await fetchItem(current.lc, current.fid);
      base = stored.props;
      etag = stored.etag;
    }
    const patch = changes(form, current.lc, base);
    if (!Object.keys(patch).length) { status(t('no_changes')); return; }
    button.disabled = true;
    status(t('saving'));
    try {
      const answer = await send(patch, etag);
      if (answer.ok) {
        current.etag = answer.etag;
        current.original = (answer.data && answer.data.properties) || { ...base, ...patch };
        status(t('saved'), 'gp-ok');
        gp.reloadLayer(current.lc.name);
      } else if (answer.status === 412) {
        await conflict(form);
      } else if (answer.status === 422) {
        showErrors(answer.data.errors);
        status(t('edit_invalid'), 'gp-bad');
        const first = current.box.querySelector('.gp-edit-field.gp-invalid');
        if (first) first.scrollIntoView({ block: 'center' });
      } else {
        status(`${t('edit_failed')}: ${answer.data.description || answer.status}`, 'gp-bad');
      }
    } catch (e) {
      status(`${t('edit_failed')}: ${e}`, 'gp-bad');
    }
    button.disabled = false;
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
    }).join('');
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
    panel.querySelector('#gp-conflict-reload').addEventListener('click', () => render(current.lc, current.fid, stored));
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

  async function open(lc, fid) {
    try {
      render(lc, fid, await fetchItem(lc, fid));
      gp.map.closePopup();
    } catch (e) {
      gp.state.errors.push(`${lc.name}/${fid}: ${e}`);
    }
  }

  /** Adds "Edit" to the popup of a feature the signed-in caller may write. */
  gp.startEditor = function (state) {
    gp.state = state;
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
