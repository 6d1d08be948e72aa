/* capexit's own bpmnlint rules: the deploy-time checks of engine/definitions.py, run live in the modeler.
 * The server stays the source of truth; these rules only show problems early, on the canvas.
 * Each factory takes the rule's config: { messages, departments, forms } (lists from /modeler/options.json). */
import { is, isAny } from 'bpmn-js/lib/util/ModelUtil';

export function propertiesOf(node) {
  const out = {};
  const values = (node.extensionElements && node.extensionElements.values) || [];
  values.filter((v) => is(v, 'spiffworkflow:Properties')).forEach((container) => {
    (container.properties || []).forEach((p) => {
      if (p.name && !(p.name in out)) { out[p.name] = p.value || ''; }
    });
  });
  return out;
}

export function isTimer(node) {
  return isAny(node, ['bpmn:BoundaryEvent', 'bpmn:IntermediateCatchEvent']) &&
    (node.eventDefinitions || []).some((d) => is(d, 'bpmn:TimerEventDefinition'));
}

function text(config, key, fallback) {
  return (config && config.messages && config.messages[key]) || fallback;
}

export function noCodeTasks(config) {
  return {
    check(node, reporter) {
      if (isAny(node, ['bpmn:ScriptTask', 'bpmn:ServiceTask', 'bpmn:BusinessRuleTask'])) {
        reporter.report(node.id, text(config, 'noCode', 'Script, service and business rule tasks are not allowed'));
      }
    }
  };
}

export function laneDepartment(config) {
  const known = new Set((config && config.departments) || []);
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:Lane')) { return; }
      const department = propertiesOf(node).department;
      if (!department || !known.has(department)) {
        reporter.report(node.id, text(config, 'laneDepartment', 'Lane needs a known department'));
      }
    }
  };
}

export function userTaskForm(config) {
  const known = new Set((config && config.forms) || []);
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:UserTask')) { return; }
      const form = propertiesOf(node).formJsonSchemaFilename;
      if (!form) {
        reporter.report(node.id, text(config, 'noForm', 'User task needs a form'));
      } else if (!known.has(form)) {
        reporter.report(node.id, text(config, 'unknownForm', 'Form does not exist') + ': ' + form);
      }
    }
  };
}

export function timerDeadlineRule(config) {
  return {
    check(node, reporter) {
      if (!isTimer(node)) { return; }
      const props = propertiesOf(node);
      if (props.deadlineRule === 'statutory') {
        const months = props.months || '';
        if (!/^[0-9]+$/.test(months) || Number(months) < 1 || Number(months) > 120) {
          reporter.report(node.id, text(config, 'months', 'A statutory period needs months from 1 to 120'));
        }
      } else if (props.deadlineRule === 'field') {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(props.field || '')) {
          reporter.report(node.id, text(config, 'field', 'Deadline rule "field" needs a form field name'));
        }
      } else {
        reporter.report(node.id, text(config, 'noRule', 'Timer needs a deadline rule'));
      }
    }
  };
}

/* A boundary timer and its task both flowing straight into one parallel join deadlocks the case. */
export function timerParallelJoin(config) {
  function targets(node) {
    return (node.outgoing || []).map((flow) => flow.targetRef).filter((t) => t && is(t, 'bpmn:ParallelGateway'));
  }
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:BoundaryEvent') || !isTimer(node) || !node.attachedToRef) { return; }
      const fromTask = targets(node.attachedToRef);
      if (targets(node).some((join) => fromTask.includes(join))) {
        reporter.report(node.id, text(config, 'parallelJoin',
          'Timer and its task flow into the same parallel join: merge them with an exclusive gateway first'));
      }
    }
  };
}

export function startEvent(config) {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:Process')) { return; }
      if (!(node.flowElements || []).some((e) => is(e, 'bpmn:StartEvent'))) {
        reporter.report(node.id, text(config, 'noStart', 'Process has no start event'));
      }
    }
  };
}

export function connected(config) {
  return {
    check(node, reporter) {
      if (!isAny(node, ['bpmn:Task', 'bpmn:Gateway', 'bpmn:SubProcess', 'bpmn:CallActivity', 'bpmn:Event'])) {
        return;
      }
      if (is(node, 'bpmn:BoundaryEvent')) {
        if (!(node.outgoing || []).length) {
          reporter.report(node.id, text(config, 'dangling', 'Element has no outgoing flow'));
        }
        return;
      }
      const incoming = (node.incoming || []).length;
      const outgoing = (node.outgoing || []).length;
      if (!incoming && !outgoing) {
        reporter.report(node.id, text(config, 'disconnected', 'Element is not connected'));
      } else if (!incoming && !is(node, 'bpmn:StartEvent')) {
        reporter.report(node.id, text(config, 'unreachable', 'Element has no incoming flow'));
      } else if (!outgoing && !is(node, 'bpmn:EndEvent')) {
        reporter.report(node.id, text(config, 'dangling', 'Element has no outgoing flow'));
      }
    }
  };
}

export const RULES = {
  'no-code-tasks': noCodeTasks,
  'lane-department': laneDepartment,
  'user-task-form': userTaskForm,
  'timer-deadline-rule': timerDeadlineRule,
  'timer-parallel-join': timerParallelJoin,
  'start-event': startEvent,
  'connected': connected
};
