/* Asks before an action that cannot be undone: a form with data-confirm is sent only when the person says yes.
 * Listening on the document while capturing, it runs before any handler of the form itself. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form && form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
