// Portal page helpers: copy buttons. A <button data-copy="#id"> copies the text
// of the element #id and says so next to itself (role=status, for screen readers).

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without clipboard permission (http, some browsers): a selected textarea.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

function say(button, message) {
  let status = button.nextElementSibling;
  if (!status || !status.classList.contains('copied')) {
    status = document.createElement('span');
    status.className = 'copied';
    status.setAttribute('role', 'status');
    button.after(status);
  }
  status.textContent = message;
}

for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const el = document.querySelector(button.dataset.copy);
    if (!el) return;
    const text = 'value' in el ? el.value : el.textContent;
    const ok = await copyText(text.trim());
    say(button, ok ? 'Copied' : 'Select the text and copy it by hand');
    if (ok) button.dataset.copied = 'true';
  });
}

// Tests (and styles) can tell the page's script is ready.
document.documentElement.dataset.portal = 'ready';
