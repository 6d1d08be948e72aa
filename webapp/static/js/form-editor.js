/* The form editor: while the owner types, the text is checked on the server (debounced) and the preview is
 * replaced by the server-rendered form, the same renderer the task pages use. Problems are listed with line,
 * column and JSON path; clicking one selects that line in the text. Without JavaScript the page's
 * "check and preview" button does the same with a full page. */
(function () {
  'use strict';

  var app = document.getElementById('form-editor');
  if (!app) { return; }
  var text = document.getElementById('form-text');
  var key = document.getElementById('form-key');
  var preview = document.getElementById('form-preview');
  var list = document.getElementById('form-problems');
  var status = document.getElementById('form-status');
  var note = document.getElementById('preview-note');
  var DELAY = 350;
  var timer = null;
  var sequence = 0;

  function setState(state, message) {
    app.setAttribute('data-state', state);
    status.textContent = message || '';
  }

  function where(problem) {
    var parts = [];
    if (problem.line) {
      parts.push(app.getAttribute('data-line-text').replace('{line}', problem.line));
      if (problem.column) { parts.push(app.getAttribute('data-column-text').replace('{column}', problem.column)); }
    }
    var out = parts.join('');
    if (problem.field) { out += (out ? ' ' : '') + problem.field; }
    return out;
  }

  function showProblems(errors) {
    var items = errors.map(function (problem) {
      var item = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'problem-link';
      button.setAttribute('data-line', problem.line || '');
      button.setAttribute('data-column', problem.column || '');
      var place = document.createElement('span');
      place.className = 'where';
      place.textContent = where(problem);
      button.appendChild(place);
      button.appendChild(document.createTextNode(problem.message));
      item.appendChild(button);
      return item;
    });
    list.replaceChildren.apply(list, items);
  }

  function selectLine(line, column) {
    var lines = text.value.split('\n');
    if (!line || line > lines.length) { return; }
    var start = 0;
    for (var i = 0; i < line - 1; i++) { start += lines[i].length + 1; }
    var end = start + lines[line - 1].length;
    text.focus();
    text.setSelectionRange(column ? Math.min(start + column - 1, end) : start, end);
    var height = parseFloat(window.getComputedStyle(text).lineHeight) || 18;
    text.scrollTop = Math.max(0, (line - 4) * height);
  }

  function check() {
    var mine = ++sequence;
    setState('checking', app.getAttribute('data-checking-text'));
    fetch(app.getAttribute('data-preview-url'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json',
                 'X-CSRFToken': app.getAttribute('data-csrf') },
      body: JSON.stringify({ key: key ? key.value : '', text: text.value })
    }).then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    }).then(function (answer) {
      if (mine !== sequence) { return; }  // a newer check is on its way
      if (typeof answer.html === 'string') {
        preview.innerHTML = answer.html;  // rendered and escaped by the server's templates
        preview.classList.remove('preview-stale');
        note.textContent = '';
      } else {
        preview.classList.add('preview-stale');
        note.textContent = app.getAttribute('data-stale-text');
      }
      showProblems(answer.errors || []);
      setState(answer.valid ? 'ok' : 'error', app.getAttribute(answer.valid ? 'data-ok-text' : 'data-error-text'));
    }).catch(function (error) {
      if (mine !== sequence) { return; }
      setState('error', app.getAttribute('data-failed-text'));
      if (window.console) { window.console.error(error); }
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    app.setAttribute('data-state', 'pending');
    timer = window.setTimeout(check, DELAY);
  }

  text.addEventListener('input', schedule);
  if (key && key.type !== 'hidden') { key.addEventListener('input', schedule); }
  list.addEventListener('click', function (event) {
    var button = event.target.closest('.problem-link');
    if (button) { selectLine(parseInt(button.getAttribute('data-line'), 10), parseInt(button.getAttribute('data-column'), 10)); }
  });
})();
