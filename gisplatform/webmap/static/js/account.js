/* gisplatform web map, account: staff sign in with a login and password (a server-side session
 * whose cookie the script never sees), the panel says who is signed in, sign out. Signing in or
 * out reloads the page: the server then sends the map of that audience (staff layers appear). */
(function () {
  'use strict';
  const gp = (window.gisplatform = window.gisplatform || {});
  gp.csrf = null;
  gp.session = null;

  /** Headers a state-changing request of this page sends: the session's CSRF token. */
  gp.csrfHeaders = () => (gp.csrf ? { 'X-CSRF-Token': gp.csrf } : {});

  async function post(url, body) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json',
        'Accept-Language': gp.state.lang, ...gp.csrfHeaders() },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }

  function signedOut(box, account) {
    const t = gp.t;
    const esc = gp.esc;
    box.innerHTML = `<button type="button" class="gp-signin-open" id="gp-signin-open">${esc(t('sign_in'))}</button>` +
      '<form class="gp-signin" id="gp-signin" hidden novalidate>' +
      `<div class="gp-signin-title">${esc(t('sign_in_title'))}</div>` +
      `<label><span>${esc(t('login'))}</span><input name="login" autocomplete="username" maxlength="100" required></label>` +
      `<label><span>${esc(t('password'))}</span><input name="password" type="password" autocomplete="current-password" maxlength="1024" required></label>` +
      '<div class="gp-signin-error" id="gp-signin-error" role="alert" hidden></div>' +
      `<div class="gp-signin-buttons"><button type="submit">${esc(t('sign_in'))}</button>` +
      `<button type="button" class="gp-signin-cancel">${esc(t('cancel'))}</button></div></form>`;
    const open = box.querySelector('#gp-signin-open');
    const form = box.querySelector('#gp-signin');
    const error = box.querySelector('#gp-signin-error');
    const show = (on) => {
      form.hidden = !on;
      open.hidden = on;
      error.hidden = true;
      if (on) form.elements.login.focus();
    };
    open.addEventListener('click', () => show(true));
    box.querySelector('.gp-signin-cancel').addEventListener('click', () => show(false));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const submit = form.querySelector('button[type="submit"]');
      submit.disabled = true;
      submit.textContent = t('signing_in');
      try {
        const answer = await post(account.signIn, { login: form.elements.login.value, password: form.elements.password.value });
        if (answer.ok) { window.location.reload(); return; }
        error.textContent = answer.data.description || t('sign_in_error');
      } catch (e) {
        error.textContent = t('sign_in_error');
      }
      error.hidden = false;
      form.elements.password.value = '';
      submit.disabled = false;
      submit.textContent = t('sign_in');
    });
  }

  function signedIn(box, account, session) {
    const t = gp.t;
    // staff who handle some kind of residents' report get the moderation queue
    const reports = gp.state.cfg.reportMarks;
    const handles = reports && reports.moderation && session.roles.some((r) => reports.handlers.includes(r));
    const queue = handles ? `<a class="gp-reports-link" id="gp-reports-link" href="${gp.esc(reports.moderation)}` +
      `?f=html&amp;lang=${gp.state.lang}">${gp.esc(t('reports_queue'))}</a>` : '';
    box.innerHTML = `<span class="gp-who">${gp.esc(t('signed_in_as'))} <b id="gp-login">${gp.esc(session.login)}</b></span>` +
      `<button type="button" class="gp-signout" id="gp-signout">${gp.esc(t('sign_out'))}</button>${queue}`;
    box.querySelector('#gp-signout').addEventListener('click', async () => {
      await post(account.signOut).catch(() => null);
      window.location.reload();
    });
  }

  gp.buildAccount = function (state, panel) {
    const account = state.cfg.account;
    const box = panel.querySelector('#gp-account');
    if (!account || !box) return;
    gp.accountReady = fetch(account.session, { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null)
      .then((session) => {
        if (!session) return null; // a map served without the platform's sign-in
        gp.session = session.signedIn ? session : null;
        gp.csrf = session.csrf || null;
        if (gp.session) signedIn(box, account, session); else signedOut(box, account);
        box.hidden = false;
        return session;
      });
  };
})();
