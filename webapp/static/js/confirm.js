/* Asks before an action that cannot be undone: a form with data-confirm, or sent by a button with data-confirm (one
 * of several), is sent only when the person says yes. Listening on the document while capturing, it runs before any
 * handler of the form itself. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      (form && form.getAttribute && form.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
