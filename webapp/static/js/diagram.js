/* bpmn-js diagrams (global BpmnJS NavigatedViewer), shared by the case/task pages and the version diff.
 *
 * window.CapexitDiagram.show(container, options) loads the BPMN XML from data-xml-url into a viewer,
 * sizes the container to the diagram's proportions (options.minHeight, maxHeight, pad), calls
 * options.mark(viewer, container) and sets data-state (loading, ready, error). Without JavaScript the
 * container keeps its text and the page says the same in words.
 *
 * Case and task pages: every .diagram[data-xml-url] that is not a .diff-diagram; data-completed /
 * data-current are JSON lists of element ids, marked step-completed and step-current. */
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

  /* Give the container the diagram's proportions (within limits), then fit the diagram into it. */
  function fitHeight(container, viewer, options) {
    var canvas = viewer.get('canvas');
    var inner = canvas.viewbox().inner;
    if (inner.width > 0 && inner.height > 0) {
      var wanted = Math.round(container.clientWidth * inner.height / inner.width) + options.pad;
      container.style.height = Math.max(options.minHeight, Math.min(options.maxHeight, wanted)) + 'px';
      canvas.resized();
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  function show(container, options) {
    if (typeof window.BpmnJS !== 'function') { fail(container, new Error('bpmn-js not loaded')); return; }
    container.replaceChildren();
    if (options.height) { container.style.height = options.height; }
    container.setAttribute('data-state', 'loading');
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute('data-xml-url'), { credentials: 'same-origin', headers: { Accept: 'application/xml' } })
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        fitHeight(container, viewer, options);
        options.mark(viewer, container);
        container.setAttribute('data-state', 'ready');
      })
      .catch(function (error) { fail(container, error); });
  }

  function onReady(start) {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', start);
    } else {
      start();
    }
  }

  window.CapexitDiagram = { show: show, idList: idList, onReady: onReady };

  function markSteps(completed, current) {
    return function (viewer) {
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
    };
  }

  onReady(function () {
    Array.prototype.forEach.call(document.querySelectorAll('.diagram[data-xml-url]:not(.diff-diagram)'), function (container) {
      var mark = markSteps(idList(container, 'data-completed'), idList(container, 'data-current'));
      show(container, { height: '420px', minHeight: 260, maxHeight: 640, pad: 40, mark: mark });
    });
  });
})();
