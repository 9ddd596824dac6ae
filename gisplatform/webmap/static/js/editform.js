/* gisplatform web map, the editor's form: inputs built from the layer's fields in the map config
 * (the registry: type, enum values, unit, required), read back as the API takes them, and the
 * merge patch of what the user changed. Nothing here names a layer or field. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});

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

  gp.editForm = { editableFields, inputHtml, readValue, same, changes };
})();
