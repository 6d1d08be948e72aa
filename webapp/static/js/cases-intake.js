// Intake form: offer only the departments that may lead the chosen dimension, name the one
// proposed for the dimension and industry, and show the solid-waste choice for environmental cases.
// The server checks everything again; without this script the form works the same.
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var dimension = form.querySelector("#dimension");
  var industry = form.querySelector("#industry");
  var lead = form.querySelector("#lead_department");
  var solid = document.getElementById("solid-waste-box");
  var autoLabel = lead.getAttribute("data-auto-label") || "{name}";

  function update() {
    var chosen = dimension.options[dimension.selectedIndex];
    var leads = chosen && chosen.value ? chosen.getAttribute("data-leads").split(" ") : null;
    var proposed = null;
    if (leads) {
      proposed = industry.value === "coal" ? chosen.getAttribute("data-coal") : chosen.getAttribute("data-default");
    }
    for (var i = 0; i < lead.options.length; i++) {
      var option = lead.options[i];
      if (!option.value) {
        var name = "";
        for (var j = 0; proposed && j < lead.options.length; j++) {
          if (lead.options[j].value === proposed) { name = lead.options[j].text; }
        }
        if (!option.hasAttribute("data-plain")) { option.setAttribute("data-plain", option.text); }
        option.text = name ? autoLabel.replace("{name}", name) : option.getAttribute("data-plain");
        continue;
      }
      var allowed = !leads || leads.indexOf(option.value) >= 0;
      option.hidden = !allowed;
      option.disabled = !allowed;
      if (!allowed && option.selected) { lead.value = ""; }
    }
    if (solid) { solid.hidden = !!(chosen && chosen.value && chosen.value !== "environmental"); }
  }

  dimension.addEventListener("change", update);
  industry.addEventListener("change", update);
  update();
})();
