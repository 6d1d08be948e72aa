/* The case diagram: bpmn-js NavigatedViewer (global BpmnJS) on every .diagram[data-xml-url].
 * data-xml-url: where the BPMN XML comes from; data-completed / data-current: JSON lists of element ids,
 * marked with the CSS classes step-completed and step-current. Without JavaScript the container keeps
 * its text, and the page lists the steps in words. */
(function () {
  'use strict';

  function idList(container, name) {
    try {
      var value = JSON.parse(container.getAttribute(name) || '[]');
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

  function mark(viewer, completed, current) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    completed.forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, 'step-completed'); }
    });
    current.forEach(function (id) {
      if (registry.get(id)) {
        canvas.removeMarker(id, 'step-completed');
        canvas.addMarker(id, 'step-current');
      }
    });
  }

  /* Give the container the diagram's proportions (within limits), then fit the diagram into it. */
  function fitHeight(container, viewer) {
    var canvas = viewer.get('canvas');
    var inner = canvas.viewbox().inner;
    if (inner.width > 0 && inner.height > 0) {
      var wanted = Math.round(container.clientWidth * inner.height / inner.width) + 40;
      container.style.height = Math.max(260, Math.min(640, wanted)) + 'px';
      canvas.resized();
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  function show(container) {
    if (typeof window.BpmnJS !== 'function') { fail(container, new Error('bpmn-js not loaded')); return; }
    var completed = idList(container, 'data-completed');
    var current = idList(container, 'data-current');
    container.replaceChildren();
    container.style.height = '420px';
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
        mark(viewer, completed, current);
        container.setAttribute('data-state', 'ready');
      })
      .catch(function (error) { fail(container, error); });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('.diagram[data-xml-url]'), show);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
