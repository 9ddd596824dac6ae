/* gisplatform web map, editing on the map: the drag handle of the point being edited, and
 * "Додати об'єкт" (place a new point with a click). Leaflet's own draggable marker; the layers
 * offered come from the map config (writable point layers), never named here. The form and
 * the requests are editor.js's. */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  const DIGITS = 7; // ~1 cm

  /** The drawn marker of feature ``fid`` of layer ``name`` (GeoJSON layers; null otherwise). */
  function drawn(name, fid) {
    const entry = gp.state.entries[name];
    let found = null;
    if (!entry || !entry.group) return null;
    entry.group.eachLayer((layer) => {
      if (!found && layer.feature && String(layer.feature.id) === String(fid) && layer.setLatLng) found = layer;
    });
    return found;
  }

  const round = (x) => Number(x.toFixed(DIGITS));
  /** A GeoJSON point of a Leaflet position (lon, lat). */
  gp.pointOf = (latlng) => ({ type: 'Point', coordinates: [round(latlng.lng), round(latlng.lat)] });
  /** A position in words: "50.751234, 33.474567" (latitude first, as people read it). */
  gp.formatPoint = (geometry) => (geometry && geometry.type === 'Point'
    ? `${geometry.coordinates[1].toFixed(6)}, ${geometry.coordinates[0].toFixed(6)}` : '—');

  /**
   * A draggable handle on the point of ``fid`` (null for a new one) at ``geometry``.
   * ``onMove(geometry)`` is told each new position; ``restore()`` puts the point back where
   * it was, ``saved()`` makes the present position the original one, ``remove()`` takes the
   * handle away (restoring an unsaved move).
   */
  gp.dragHandle = function (lc, fid, geometry, onMove) {
    const map = gp.map;
    const start = L.latLng(geometry.coordinates[1], geometry.coordinates[0]);
    let original = start;
    const icon = L.divIcon({ className: 'gp-drag-handle', iconSize: [26, 26], iconAnchor: [13, 13] });
    const marker = L.marker(start, { draggable: true, autoPan: true, icon, title: gp.t('move_hint'),
      alt: gp.t('move_hint'), zIndexOffset: 1000 }).addTo(map);
    const follow = (latlng) => { const point = fid === null ? null : drawn(lc.name, fid); if (point) point.setLatLng(latlng); };
    marker.on('drag', (e) => follow(e.latlng || marker.getLatLng()));
    marker.on('dragend', () => { follow(marker.getLatLng()); onMove(gp.pointOf(marker.getLatLng())); });
    const moved = () => !marker.getLatLng().equals(original, 1e-9);
    return {
      marker,
      moved,
      geometry: () => gp.pointOf(marker.getLatLng()),
      restore() { marker.setLatLng(original); follow(original); },
      saved() { original = marker.getLatLng(); },
      remove() { if (moved()) follow(original); map.removeLayer(marker); },
    };
  };

  // ---- "Додати об'єкт" -----------------------------------------------------------------------
  let placing = null; // { lc, onPlaced }

  function stopPlacing(box) {
    placing = null;
    gp.map.getContainer().classList.remove('gp-placing');
    box.querySelector('#gp-add-panel').hidden = true;
    box.querySelector('#gp-add-open').hidden = false;
  }

  function addControl(state, layers) {
    const t = gp.t;
    const esc = gp.esc;
    const box = document.createElement('div');
    box.className = 'gp-add leaflet-bar';
    box.id = 'gp-add';
    const options = layers.map((lc) => `<option value="${esc(lc.name)}">${esc(gp.loc(lc.title))}</option>`).join('');
    box.innerHTML = `<button type="button" id="gp-add-open" class="gp-add-open">+ ${esc(t('add_feature'))}</button>` +
      '<div class="gp-add-panel" id="gp-add-panel" hidden>' +
      `<label><span>${esc(t('add_layer'))}</span><select id="gp-add-layer">${options}</select></label>` +
      `<p class="gp-add-hint" role="status">${esc(t('add_hint'))}</p>` +
      `<button type="button" id="gp-add-cancel">${esc(t('cancel'))}</button></div>`;
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    box.querySelector('#gp-add-open').addEventListener('click', () => {
      if (gp.closeEditor) gp.closeEditor();
      box.querySelector('#gp-add-open').hidden = true;
      box.querySelector('#gp-add-panel').hidden = false;
      gp.map.getContainer().classList.add('gp-placing');
      placing = { box };
    });
    box.querySelector('#gp-add-cancel').addEventListener('click', () => stopPlacing(box));
    state.map.on('click', (e) => {
      if (!placing) return;
      const lc = layers.find((l) => l.name === box.querySelector('#gp-add-layer').value);
      stopPlacing(box);
      state.map.closePopup();
      gp.setLayer(lc.name, true); // the new feature is to be seen once saved
      gp.createFeature(lc, gp.pointOf(e.latlng));
    });
    const control = L.control({ position: 'topleft' });
    control.onAdd = () => box;
    control.addTo(state.map);
  }

  /** The add button, once the account is known: for a signed-in writer of a point layer. */
  gp.startMapEditing = function (state) {
    Promise.resolve(gp.accountReady).then(() => {
      const layers = state.cfg.layers.filter((lc) => lc.writable && lc.geometry === 'point');
      if (gp.session && layers.length) addControl(state, layers);
    });
  };
})();
