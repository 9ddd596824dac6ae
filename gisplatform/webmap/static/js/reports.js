/* gisplatform web map, residents' reports: "Report a problem" from a feature's popup (layers some
 * report kind points at) or from a point picked on the map. The form is built from
 * GET /reports/kinds (kinds, questions, follow-ups, required marks); nothing here names a kind,
 * question or layer. It works without sign-in; the report's text is only ever set as text. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  let catalogue = null; // GET /reports/kinds
  let current = null; // { box, place }

  function url(path) {
    return `${gp.state.cfg.reports}${path}${path.includes('?') ? '&' : '?'}lang=${gp.state.lang}`;
  }

  async function kinds() {
    if (!catalogue) {
      const response = await fetch(url('/kinds'), { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      catalogue = await response.json();
    }
    return catalogue;
  }

  /** The form field of a question's answer (the prefix comes with the kinds). */
  const answerName = (code) => `${catalogue.form.answer_prefix}${code}`;

  function node(tag, attrs, text) {
    const el = gp.el(tag, attrs);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function close() {
    if (current) current.box.remove();
    current = null;
  }

  /** The inputs of one question: radios (one answer, yes/no) or checkboxes (several). */
  function questionBlock(q) {
    const block = node('fieldset', { class: 'gp-report-question', 'data-field': answerName(q.code) });
    const legend = node('legend', {}, q.title);
    if (q.required) {
      const mark = node('abbr', { class: 'gp-required', title: gp.t('required_mark') }, '*');
      legend.append(' ', mark);
    }
    block.appendChild(legend);
    const options = q.type === 'boolean'
      ? [{ code: 'true', title: gp.t('yes') }, { code: 'false', title: gp.t('no') }]
      : q.options;
    options.forEach((o) => {
      const label = node('label', { class: 'gp-report-option' });
      const input = node('input', {
        type: q.type === 'multi_choice' ? 'checkbox' : 'radio', name: answerName(q.code), value: o.code,
      });
      label.append(input, ' ', node('span', {}, o.title));
      block.appendChild(label);
    });
    block.appendChild(node('span', { class: 'gp-field-error', role: 'alert', hidden: '' }));
    return block;
  }

  /** Follow-up questions are shown only while their condition holds. */
  function syncFollowUps(form, kind) {
    kind.questions.forEach((q) => {
      if (!q.when) return;
      const chosen = form.querySelector(`input[name="${CSS.escape(answerName(q.when.question))}"]:checked`);
      const shown = Boolean(chosen && chosen.value === q.when.equals);
      const block = form.querySelector(`fieldset[data-field="${CSS.escape(answerName(q.code))}"]`);
      block.hidden = !shown;
      if (!shown) block.querySelectorAll('input').forEach((i) => { i.checked = false; });
    });
  }

  function field(form, name, labelKey, input) {
    const label = node('label', { class: 'gp-edit-field', 'data-field': name });
    label.appendChild(node('span', {}, gp.t(labelKey)));
    label.appendChild(input);
    label.appendChild(node('span', { class: 'gp-field-error', role: 'alert', hidden: '' }));
    form.appendChild(label);
  }

  function renderQuestions(form, kind) {
    const box = form.querySelector('.gp-report-questions');
    box.replaceChildren(...kind.questions.map(questionBlock));
    box.querySelectorAll('input').forEach((i) => i.addEventListener('change', () => syncFollowUps(form, kind)));
    form.querySelector('.gp-report-kind-note').textContent = kind.description;
    syncFollowUps(form, kind);
  }

  function setStatus(box, text, kind) {
    const el = box.querySelector('.gp-editor-status');
    el.hidden = !text;
    el.className = `gp-editor-status${kind ? ` gp-${kind}` : ''}`;
    el.textContent = text || '';
    return el;
  }

  function clearErrors(box) {
    box.querySelectorAll('.gp-field-error').forEach((e) => { e.hidden = true; e.textContent = ''; });
    box.querySelectorAll('.gp-invalid').forEach((e) => e.classList.remove('gp-invalid'));
  }

  function showErrors(box, body) {
    const general = [];
    (body.errors || []).forEach((err) => {
      const holder = box.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
      const slot = holder && holder.querySelector('.gp-field-error');
      if (!slot) { general.push(err.description); return; }
      holder.classList.add('gp-invalid');
      slot.hidden = false;
      slot.textContent = err.description;
    });
    setStatus(box, general.length || !body.errors ? (general.join('; ') || body.description) : gp.t('report_fix'), 'bad');
  }

  function done(box, body) {
    const form = box.querySelector('form');
    form.replaceChildren();
    form.appendChild(node('div', { class: 'gp-editor-title' }, gp.t('report_sent_title')));
    const note = node('p', { class: 'gp-report-done' }, `${gp.t('report_sent').replace('{id}', body.id)} ${gp.t('report_follow')} `);
    const link = node('a', { href: body.status_url, target: '_blank', rel: 'noopener', id: 'gp-report-status-link' }, gp.t('report_status_link'));
    note.appendChild(link);
    form.appendChild(note);
    const buttons = node('div', { class: 'gp-editor-buttons' });
    const closeButton = node('button', { type: 'button' }, gp.t('close'));
    closeButton.addEventListener('click', close);
    buttons.appendChild(closeButton);
    form.appendChild(buttons);
  }

  async function send(box, form, place, token) {
    clearErrors(box);
    const data = new FormData(form);
    const names = catalogue.form;
    data.set(names.token, token);
    if (place.fid !== undefined) {
      data.set(names.layer, place.layer);
      data.set(names.feature_id, place.fid);
    } else {
      data.set(names.lat, String(place.lat));
      data.set(names.lon, String(place.lon));
    }
    const photo = form.querySelector('input[type="file"]');
    if (!photo.files.length) data.delete(names.photo);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    setStatus(box, gp.t('report_sending'));
    try {
      const response = await fetch(url(''), { method: 'POST', body: data, headers: { Accept: 'application/json' } });
      const body = await response.json().catch(() => ({ description: `HTTP ${response.status}` }));
      if (response.status === 201) done(box, body);
      else showErrors(box, body);
    } catch (e) {
      setStatus(box, `${gp.t('report_failed')}: ${e}`, 'bad');
    } finally {
      button.disabled = false;
    }
  }

  /** Opens the form for ``place``: {layer, fid, title} of a feature, or {lat, lon}. */
  async function open(place) {
    close();
    const [data, tokenResponse] = await Promise.all([kinds(), fetch(url('/form-token'), { cache: 'no-store' })]);
    const token = (await tokenResponse.json()).token;
    const offered = place.fid !== undefined ? data.kinds.filter((k) => k.layer === place.layer) : data.kinds;
    const box = node('div', { class: 'gp-editor gp-report', id: 'gp-report' });
    const form = node('form', { id: 'gp-report-form', novalidate: '' });
    form.appendChild(node('div', { class: 'gp-editor-title' }, gp.t('report_title')));
    const where = place.fid !== undefined ? place.title
      : `${place.lat.toFixed(5)}, ${place.lon.toFixed(5)}`;
    form.appendChild(node('div', { class: 'gp-editor-layer' }, where));
    const names = data.form;
    const select = node('select', { name: names.kind, id: 'gp-report-kind' });
    offered.forEach((k) => select.appendChild(node('option', { value: k.code }, k.title)));
    field(form, names.kind, 'report_kind', select);
    form.appendChild(node('div', { class: 'gp-report-kind-note' }));
    form.appendChild(node('div', { class: 'gp-report-questions' }));
    const text = node('textarea', { name: names.description, rows: '3', maxlength: '2000' });
    field(form, names.description, 'report_description', text);
    const contact = node('input', { name: names.contact, autocomplete: 'email', maxlength: '200' });
    field(form, names.contact, 'report_contact', contact);
    form.querySelector(`[data-field="${names.contact}"]`).appendChild(node('small', { class: 'gp-report-hint' }, gp.t('report_contact_hint')));
    const photo = node('input', { type: 'file', name: names.photo, accept: 'image/jpeg,image/png,image/webp' });
    field(form, names.photo, 'report_photo', photo);
    // the honeypot: hidden from people, filled by bots
    const trap = node('label', { class: 'gp-report-trap', 'aria-hidden': 'true' });
    trap.appendChild(node('input', { name: names.honeypot, tabindex: '-1', autocomplete: 'off' }));
    form.appendChild(trap);
    form.appendChild(node('div', { class: 'gp-editor-status', 'aria-live': 'polite', hidden: '' }));
    const buttons = node('div', { class: 'gp-editor-buttons' });
    buttons.appendChild(node('button', { type: 'submit', id: 'gp-report-send' }, gp.t('report_send')));
    const cancel = node('button', { type: 'button', class: 'gp-edit-cancel' }, gp.t('cancel'));
    cancel.addEventListener('click', close);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    box.appendChild(form);
    ['click', 'dblclick', 'mousedown', 'wheel', 'touchstart'].forEach((ev) => box.addEventListener(ev, (e) => e.stopPropagation()));
    gp.map.getContainer().appendChild(box);
    current = { box, place };
    const pick = () => renderQuestions(form, offered.find((k) => k.code === select.value));
    select.addEventListener('change', pick);
    pick();
    form.addEventListener('submit', (ev) => { ev.preventDefault(); send(box, form, place, token); });
  }
  gp.openReport = open;

  /** "Report a problem here": the next click on the map, on a feature or not, picks the point. */
  function pointControl(state) {
    let picking = false;
    let button = null;
    const container = state.map.getContainer();
    // a capturing listener: the click picks the point and opens no feature's popup
    const pick = (ev) => {
      if (!ev.target.closest || !ev.target.closest('.leaflet-map-pane')) return;
      ev.stopPropagation();
      ev.preventDefault();
      const at = state.map.mouseEventToLatLng(ev);
      toggle(false);
      open({ lat: at.lat, lon: at.lng });
    };
    const key = (ev) => { if (ev.key === 'Escape') toggle(false); };
    function toggle(on) {
      picking = on;
      container.classList.toggle('gp-crosshair', on);
      button.classList.toggle('gp-active', on);
      gp.toast(on ? gp.t('report_pick') : null);
      if (on) {
        container.addEventListener('click', pick, true);
        document.addEventListener('keydown', key);
      } else {
        container.removeEventListener('click', pick, true);
        document.removeEventListener('keydown', key);
      }
    }
    const control = L.control({ position: 'topleft' });
    control.onAdd = () => {
      const bar = gp.el('div', { class: 'leaflet-bar gp-report-here' });
      button = node('a', { href: '#', role: 'button', id: 'gp-report-here', title: gp.t('report_here') }, gp.t('report_here'));
      L.DomEvent.disableClickPropagation(bar);
      button.addEventListener('click', (ev) => { ev.preventDefault(); toggle(!picking); });
      bar.appendChild(button);
      return bar;
    };
    control.addTo(state.map);
  }

  /** Adds "Report a problem" to popups of layers some kind points at, and the point control. */
  gp.startReports = function (state) {
    gp.state = state;
    kinds().then((data) => {
      if (!data.kinds.length) return;
      pointControl(state);
      state.map.on('popupopen', (e) => {
        const root = e.popup.getElement();
        const popup = root && root.querySelector('.gp-popup');
        if (!popup || !popup.dataset.fid || popup.dataset.fid === 'undefined') return;
        if (!data.layers.includes(popup.dataset.layer) || popup.querySelector('.gp-report-open')) return;
        const button = node('button', { type: 'button', class: 'gp-report-open' }, gp.t('report_problem'));
        const title = popup.querySelector('h3') ? popup.querySelector('h3').textContent : '';
        button.addEventListener('click', () => {
          state.map.closePopup();
          open({ layer: popup.dataset.layer, fid: popup.dataset.fid, title });
        });
        popup.appendChild(button);
      });
    }).catch((err) => state.errors.push(`reports: ${err}`));
  };
})();
