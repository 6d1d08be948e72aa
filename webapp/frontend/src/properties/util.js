/* Reading and writing spiffworkflow:properties on a BPMN element, each edit as one undoable command. */
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { isTimer, propertiesOf } from '../lint/rules';

export { isTimer, propertiesOf };

const UPDATE = 'element.updateModdleProperties';

function timerDefinition(bo) {
  return (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:TimerEventDefinition'));
}

/**
 * Set (or, with null/'' values, remove) named properties of an element in one command.
 * A timer that gets a deadline rule and has no time expression also gets `deadline_at`,
 * the variable every capexit timer reads (the deadline is computed by the server).
 *
 * @param {Object} element a diagram element
 * @param {Object<string, string|null>} changes property name -> new value
 * @param {{ bpmnFactory: Object, commandStack: Object }} services
 */
export function updateProperties(element, changes, { bpmnFactory, commandStack }) {
  const bo = getBusinessObject(element);
  const commands = [];
  let extension = bo.get('extensionElements');
  if (!extension) {
    extension = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extension.$parent = bo;
    commands.push({ cmd: UPDATE, context: { element, moddleElement: bo, properties: { extensionElements: extension } } });
  }
  let container = extension.get('values').find((v) => is(v, 'spiffworkflow:Properties'));
  if (!container) {
    container = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    container.$parent = extension;
    commands.push({ cmd: UPDATE, context: {
      element, moddleElement: extension, properties: { values: [...extension.get('values'), container] } } });
  }
  let list = container.get('properties').slice();
  let listChanged = false;
  Object.keys(changes).forEach((name) => {
    const value = changes[name];
    const existing = list.find((p) => p.name === name);
    if (value === null || value === undefined || value === '') {
      if (existing) {
        list = list.filter((p) => p !== existing);
        listChanged = true;
      }
    } else if (existing) {
      if (existing.value !== value) {
        commands.push({ cmd: UPDATE, context: { element, moddleElement: existing, properties: { value } } });
      }
    } else {
      const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
      property.$parent = container;
      list.push(property);
      listChanged = true;
    }
  });
  if (listChanged) {
    commands.push({ cmd: UPDATE, context: { element, moddleElement: container, properties: { properties: list } } });
  }
  const timer = isTimer(bo) && changes.deadlineRule ? timerDefinition(bo) : null;
  if (timer && !timer.timeDate && !timer.timeDuration && !timer.timeCycle) {
    const expression = bpmnFactory.create('bpmn:FormalExpression', { body: 'deadline_at' });
    expression.$parent = timer;
    commands.push({ cmd: UPDATE, context: { element, moddleElement: timer, properties: { timeDate: expression } } });
  }
  if (commands.length) {
    commandStack.execute('properties-panel.multi-command-executor', commands);
  }
}
