/* Visual diff of two process versions: a bpmn-js viewer (global BpmnJS) on each .diff-diagram[data-xml-url].
 * data-added / data-removed / data-changed: JSON lists of element ids, marked with the CSS classes
 * diff-added (green), diff-removed (red) and diff-changed (amber). Without JavaScript the page's table says
 * the same in words. */
(function () {
  'use strict';

  var KINDS = ['added', 'removed', 'changed'];

  function idList(container, kind) {
    try {
      var value = JSON.parse(container.getAttribute('data-' + kind) || '[]');
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  function fail(container, error) {
    container.setAttribute('data-state', 'error');
    var note = document.createElement('p');
    note.className = 'diagram-nojs';
    note.textContent = container.getAttribute('data-error-text') || 'The diagram could not be shown.';
    container.replaceChildren(note);
    if (window.console && error) { window.console.error(error); }
  }

  function mark(viewer, container) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var marked = [];
    KINDS.forEach(function (kind) {
      idList(container, kind).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, 'diff-' + kind);
          marked.push(id);
        }
      });
    });
    container.setAttribute('data-marked', JSON.stringify(marked));
  }

  /* Give the container the diagram's proportions (within limits), then fit the diagram into it. */
  function fitHeight(container, viewer) {
    var canvas = viewer.get('canvas');
    var inner = canvas.viewbox().inner;
    if (inner.width > 0 && inner.height > 0) {
      var wanted = Math.round(container.clientWidth * inner.height / inner.width) + 30;
      container.style.height = Math.max(220, Math.min(560, wanted)) + 'px';
      canvas.resized();
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  function show(container) {
    if (typeof window.BpmnJS !== 'function') { fail(container, new Error('bpmn-js not loaded')); return; }
    container.replaceChildren();
    container.setAttribute('data-state', 'loading');
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute('data-xml-url'), { credentials: 'same-origin', headers: { Accept: 'application/xml' } })
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        fitHeight(container, viewer);
        mark(viewer, container);
        container.setAttribute('data-state', 'ready');
      })
      .catch(function (error) { fail(container, error); });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('.diff-diagram[data-xml-url]'), show);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
