/* SpiffWorkflow reads a multi-instance activity's loopDataInputRef / loopDataOutputRef as the *name* of a
 * collection in the case data (e.g. `departments` in the annual report), not as the id of a BPMN element.
 * bpmn-moddle cannot resolve such a reference and would drop it on export, which silently changes the
 * process. Keep it: stand in an element with that id, so the export writes the same name back. */
const KEPT = new Set(['bpmn:loopDataInputRef', 'bpmn:loopDataOutputRef']);

function KeepDataReferences(eventBus, moddle) {
  eventBus.on('import.parse.complete', (event) => {
    (event.warnings || []).forEach((warning) => {
      if (warning.element && KEPT.has(warning.property) && typeof warning.value === 'string') {
        warning.element.set(warning.property, moddle.create('bpmn:ItemAwareElement', { id: warning.value }));
      }
    });
  });
}

KeepDataReferences.$inject = ['eventBus', 'moddle'];

export default {
  __init__: ['keepDataReferences'],
  keepDataReferences: ['type', KeepDataReferences]
};
