// Task forms: show a field that an if/then rule makes required only while its condition holds.
// Without JavaScript every field stays visible; the server checks the rule either way.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) { return; }
  var conditional = form.querySelectorAll(".field[data-show-field]");
  if (!conditional.length) { return; }

  function currentValue(name) {
    var inputs = form.querySelectorAll("[name='" + name + "']");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) { return input.value; }
      } else { return input.value; }
    }
    return "";
  }

  function update() {
    conditional.forEach(function (field) {
      var shown = currentValue(field.dataset.showField) === field.dataset.showValue;
      field.classList.toggle("hidden-by-condition", !shown);
      field.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.hasAttribute("data-locked")) { return; }
        input.disabled = !shown;  // a hidden field is not submitted
        input.required = shown;
      });
    });
  }

  form.querySelectorAll("input:disabled, select:disabled, textarea:disabled").forEach(function (input) {
    input.setAttribute("data-locked", "");
  });
  form.addEventListener("change", update);
  update();
})();
