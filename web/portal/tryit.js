// The try-it console of an API page: choose an operation, fill its parameters
// and body, give an API key or an access token, and send the real call to the
// gateway, which listens on this page's own origin at data.base. Shows the
// status, headers and body. Built from native form controls, so it works with a
// keyboard and a screen reader; results are announced through aria-live.

const dataEl = document.getElementById('tryit-data');
const root = document.getElementById('tryit-root');
if (dataEl && root) {
  init(JSON.parse(dataEl.textContent || '{}'), root);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function field(id, label, control, hint) {
  const f = el('div', { class: 'field' }, el('label', { for: id, text: label }), control);
  if (hint) f.append(el('p', { class: 'hint muted', id: id + '-hint', text: hint }));
  return f;
}

function init(data, root) {
  const ops = data.operations || [];
  if (ops.length === 0) {
    root.append(el('p', { class: 'muted', text: 'This API has no operations to try yet.' }));
    return;
  }
  const auth = data.auth || [];
  const form = el('form', { class: 'tryit-form', novalidate: true });
  const opSelect = el('select', { id: 'try-op', name: 'operation' });
  ops.forEach((op, i) => {
    opSelect.append(el('option', { value: String(i), text: `${op.method} ${op.path}${op.summary ? ' — ' + op.summary : ''}` }));
  });
  const params = el('div', { id: 'try-params' });
  const body = el('textarea', { id: 'try-body', name: 'body', rows: '8', spellcheck: 'false' });
  const bodyField = field('try-body', 'Body', body);
  const authSelect = el('select', { id: 'try-auth', name: 'auth' });
  const choices = [];
  if (auth.includes('api_key')) choices.push(['apikey', 'API key (apikey header)']);
  if (auth.includes('oauth2')) choices.push(['bearer', 'Access token (Authorization: Bearer)']);
  choices.push(['none', 'No credential']);
  for (const [v, t] of choices) authSelect.append(el('option', { value: v, text: t }));
  if (data.state === 'PROTOTYPED') authSelect.value = 'none';
  const cred = el('input', { id: 'try-cred', name: 'credential', type: 'password', autocomplete: 'off', spellcheck: 'false' });
  const credField = field('try-cred', 'API key', cred, 'Paste it: keys and tokens are shown only once, when they are made. It is sent to the gateway only.');
  const send = el('button', { type: 'submit', class: 'button primary', id: 'try-send', text: 'Send' });
  const result = el('div', { class: 'result', id: 'try-result', 'aria-live': 'polite' });

  form.append(
    field('try-op', 'Operation', opSelect),
    params,
    bodyField,
    el('div', { class: 'row' }, field('try-auth', 'Credential', authSelect), credField),
    send,
  );
  root.append(form, result);

  const showCred = () => {
    const v = authSelect.value;
    credField.hidden = v === 'none';
    credField.querySelector('label').textContent = v === 'bearer' ? 'Access token' : 'API key';
  };
  authSelect.addEventListener('change', showCred);
  showCred();

  const render = () => {
    const op = ops[Number(opSelect.value)];
    params.replaceChildren();
    if (op.params.length > 0) {
      const fs = el('fieldset', { class: 'field' }, el('legend', { text: 'Parameters' }));
      op.params.forEach((p, i) => {
        const id = `try-p-${i}`;
        const input = el('input', { id, type: 'text', 'data-in': p.in, 'data-name': p.name, value: p.example || '', required: p.required, autocomplete: 'off' });
        const label = `${p.name} (${p.in}${p.required ? ', required' : ''})`;
        fs.append(field(id, label, input, p.description));
      });
      params.append(fs);
    }
    const hasBody = !!op.content_type;
    bodyField.hidden = !hasBody;
    body.value = hasBody ? op.body || '' : '';
    bodyField.querySelector('label').textContent = hasBody ? `Body (${op.content_type})` : 'Body';
  };
  opSelect.addEventListener('change', render);
  render();

  // "Try it" links in the reference choose their operation here.
  document.addEventListener('click', (ev) => {
    const link = ev.target.closest('[data-try]');
    if (!link) return;
    const i = ops.findIndex((o) => o.anchor === link.dataset.try);
    if (i < 0) return;
    ev.preventDefault();
    opSelect.value = String(i);
    render();
    root.closest('section')?.scrollIntoView();
    opSelect.focus();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const op = ops[Number(opSelect.value)];
    for (const e of form.querySelectorAll('.error.try')) e.remove();
    for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
    let path = op.path;
    const query = new URLSearchParams();
    const headers = {};
    let firstBad = null;
    for (const input of params.querySelectorAll('input')) {
      const v = input.value.trim();
      const where = input.dataset.in;
      const name = input.dataset.name;
      if (v === '') {
        if (input.required) {
          input.setAttribute('aria-invalid', 'true');
          input.after(el('p', { class: 'error try', text: `Give ${name} a value.` }));
          firstBad = firstBad || input;
        }
        continue;
      }
      if (where === 'path') path = path.replaceAll(`{${name}}`, encodeURIComponent(v));
      else if (where === 'query') query.append(name, v);
      else if (where === 'header') headers[name] = v;
    }
    const secret = cred.value.trim();
    if (authSelect.value !== 'none' && secret === '') {
      cred.setAttribute('aria-invalid', 'true');
      cred.after(el('p', { class: 'error try', text: 'Paste your API key or token, or choose “No credential”.' }));
      firstBad = firstBad || cred;
    }
    if (firstBad) {
      firstBad.focus();
      return;
    }
    if (authSelect.value === 'apikey') headers.apikey = secret;
    if (authSelect.value === 'bearer') headers.Authorization = 'Bearer ' + secret;
    const init = { method: op.method, headers, credentials: 'omit', cache: 'no-store', redirect: 'manual' };
    if (op.content_type && body.value.trim() !== '' && op.method !== 'GET' && op.method !== 'HEAD') {
      headers['Content-Type'] = op.content_type;
      init.body = body.value;
    }
    const qs = query.toString();
    const url = data.base + path + (qs ? '?' + qs : '');
    send.disabled = true;
    result.replaceChildren(el('p', { class: 'muted', text: `Sending ${op.method} ${url}…` }));
    const started = performance.now();
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      const ms = Math.round(performance.now() - started);
      showResult(result, op.method, url, res, text, ms);
    } catch (err) {
      result.replaceChildren(el('p', { class: 'error', role: 'alert', text: `The call did not complete: ${err.message}` }));
    } finally {
      send.disabled = false;
    }
  });
}

function pretty(text, type) {
  if (type && type.includes('json')) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

function showResult(result, method, url, res, text, ms) {
  const lines = [];
  res.headers.forEach((v, k) => lines.push(`${k}: ${v}`));
  const cls = res.status < 300 ? 's2' : res.status < 500 ? 's4' : 's5';
  result.replaceChildren(
    el('h3', {}, el('span', { class: `status ${cls}`, id: 'try-status', text: String(res.status) }), el('span', { text: `${res.statusText || ''} · ${method} ${url} · ${ms} ms` })),
    el('details', {}, el('summary', { text: 'Response headers' }), el('pre', { class: 'headers', id: 'try-headers' }, el('code', { text: lines.join('\n') }))),
    el('p', { class: 'label', text: 'Body' }),
    el('pre', { id: 'try-response' }, el('code', { text: pretty(text, res.headers.get('content-type')) || '(empty)' })),
  );
}
