// OpenAPI editor: validates the document as the publisher types (debounced),
// through POST /api/v1/openapi/validate with the session cookie and CSRF token,
// and shows what is wrong and where beside the editor.
(function () {
  const area = document.querySelector("textarea[data-validate]");
  const status = document.getElementById("spec-status");
  const form = document.getElementById("openapi-form");
  if (!area || !status || !form) return;
  const csrf = form.querySelector("input[name=csrf_token]").value;
  let timer = 0;
  let seq = 0;

  async function validate() {
    const mine = ++seq;
    status.className = "muted";
    status.textContent = "Checking…";
    try {
      const resp = await fetch(area.dataset.validate, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ spec: area.value }),
      });
      const body = await resp.json();
      if (mine !== seq) return; // a newer check is on its way
      if (!resp.ok) {
        status.className = "error";
        status.textContent = (body.error && body.error.message) || "The document could not be checked.";
      } else if (body.valid) {
        status.className = "ok";
        const notes = (body.notes || []).join(" ");
        status.textContent = "Valid OpenAPI " + body.source + ", " + body.operations + " operations." + (notes ? " " + notes : "");
      } else {
        status.className = "error";
        status.textContent = body.error;
      }
    } catch (e) {
      if (mine === seq) {
        status.className = "muted";
        status.textContent = "Could not reach Portico to check the document.";
      }
    }
  }

  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(validate, 600);
  });
})();
