// Annual report pages: the print button, and one more correction row on demand (the page works without it).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
document.querySelectorAll("[data-add-row]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => {
    const body = document.getElementById(button.dataset.addRow);
    const last = body.lastElementChild;
    const copy = last.cloneNode(true);
    copy.querySelectorAll("input, select").forEach((input) => { input.value = ""; });
    body.appendChild(copy);
  });
});
