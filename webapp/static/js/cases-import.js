// Import confirmation with a progress bar: create the rows in chunks through the JSON endpoint,
// then open the result page. Without this script the form posts once and creates every row.
(function () {
  "use strict";
  var form = document.getElementById("confirm-form");
  if (!form || !window.fetch) { return; }
  var box = document.getElementById("import-progress");
  var bar = box.querySelector("progress");
  var text = box.querySelector(".progress-text");
  var button = form.querySelector("button[type=submit]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var url = form.getAttribute("data-chunk-url");
  var template = box.getAttribute("data-text") || "{done} / {total}";

  function show(state) {
    bar.max = state.total;
    bar.value = state.done;
    text.textContent = template.replace("{done}", state.done).replace("{total}", state.total)
      .replace("{created}", state.created).replace("{failed}", state.failed);
  }

  function step() {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"X-CSRFToken": token, "Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) { window.location.assign(state.result_url); return null; }
        return step();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    box.hidden = false;
    step().catch(function () {
      box.querySelector(".progress-error").hidden = false;
      button.disabled = false;
    });
  });
})();
