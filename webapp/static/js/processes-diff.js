/* Visual diff of two process versions: a viewer (diagram.js, CapexitDiagram) on each .diff-diagram[data-xml-url].
 * data-added / data-removed / data-changed: JSON lists of element ids, marked with the CSS classes
 * diff-added (green), diff-removed (red) and diff-changed (amber); data-marked lists the ids marked.
 * Without JavaScript the page's table says the same in words. */
(function () {
  'use strict';

  var KINDS = ['added', 'removed', 'changed'];
  var diagram = window.CapexitDiagram;

  function mark(viewer, container) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var marked = [];
    KINDS.forEach(function (kind) {
      diagram.idList(container, 'data-' + kind).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, 'diff-' + kind);
          marked.push(id);
        }
      });
    });
    container.setAttribute('data-marked', JSON.stringify(marked));
  }

  diagram.onReady(function () {
    Array.prototype.forEach.call(document.querySelectorAll('.diff-diagram[data-xml-url]'), function (container) {
      diagram.show(container, { minHeight: 220, maxHeight: 560, pad: 30, mark: mark });
    });
  });
})();
