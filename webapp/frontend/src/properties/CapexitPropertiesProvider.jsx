/* The "capexit" group of the properties panel: a lane's department, a user task's form,
 * a timer's deadline rule (statutory months, or a date field of a form) and its legal clause.
 * Choices come from /modeler/options.json (config.capexit); each edit is one undoable command. */
import { SelectEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { isTimer, propertiesOf, updateProperties } from './util';

const PRIORITY = 500;

function useProperty(element, name) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  return {
    getValue: () => propertiesOf(getBusinessObject(element))[name] || '',
    set: (changes) => updateProperties(element, changes, { bpmnFactory, commandStack })
  };
}

function choices(list, current, label) {
  const options = [{ value: '', label: label.choose }];
  list.forEach((item) => options.push({ value: item.value, label: item.label }));
  if (current && !list.some((item) => item.value === current)) {
    options.push({ value: current, label: `${current} (${label.unknown})` });
  }
  return options;
}

function DepartmentEntry({ element, id, options }) {
  const { getValue, set } = useProperty(element, 'department');
  return <SelectEntry element={element} id={id} label={options.labels.department}
    description={options.labels.departmentHelp} getValue={getValue}
    setValue={(value) => set({ department: value })}
    getOptions={() => choices(options.departments, getValue(), options.labels)} />;
}

function FormEntry({ element, id, options }) {
  const { getValue, set } = useProperty(element, 'formJsonSchemaFilename');
  return <SelectEntry element={element} id={id} label={options.labels.form} getValue={getValue}
    setValue={(value) => set({ formJsonSchemaFilename: value })}
    getOptions={() => choices(options.forms, getValue(), options.labels)} />;
}

function RuleEntry({ element, id, options }) {
  const { getValue, set } = useProperty(element, 'deadlineRule');
  const rules = [
    { value: 'statutory', label: options.labels.ruleStatutory },
    { value: 'field', label: options.labels.ruleField }
  ];
  const setValue = (value) => {
    if (value === 'statutory') {
      set({ deadlineRule: value, field: null, months: propertiesOf(getBusinessObject(element)).months || '6' });
    } else if (value === 'field') {
      set({ deadlineRule: value, months: null });
    } else {
      set({ deadlineRule: null, months: null, field: null });
    }
  };
  return <SelectEntry element={element} id={id} label={options.labels.rule} getValue={getValue}
    setValue={setValue} getOptions={() => choices(rules, getValue(), options.labels)} />;
}

function TextEntry({ element, id, options, name, label, description, validate }) {
  const { getValue, set } = useProperty(element, name);
  const debounce = useService('debounceInput');
  return <TextFieldEntry element={element} id={id} label={label} description={description}
    getValue={getValue} debounce={debounce} validate={validate}
    setValue={(value, error) => { if (!error) { set({ [name]: value }); } }} />;
}

function MonthsEntry(props) {
  const { labels } = props.options;
  const validate = (value) => (/^[0-9]+$/.test(value || '') && Number(value) >= 1 && Number(value) <= 120
    ? null : labels.monthsInvalid);
  return <TextEntry {...props} name="months" label={labels.months} description={labels.monthsHelp}
    validate={validate} />;
}

function FieldEntry(props) {
  const { labels } = props.options;
  const validate = (value) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(value || '') ? null : labels.fieldInvalid);
  return <TextEntry {...props} name="field" label={labels.field} description={labels.fieldHelp}
    validate={validate} />;
}

function ClauseEntry(props) {
  const { labels } = props.options;
  return <TextEntry {...props} name="clause" label={labels.clause} description={labels.clauseHelp} />;
}

function entriesFor(element, options) {
  const bo = getBusinessObject(element);
  const entry = (id, component, edited) => ({ id, component, options, isEdited: edited });
  if (is(bo, 'bpmn:Lane')) {
    return [entry('capexit-department', DepartmentEntry, isSelectEntryEdited)];
  }
  if (is(bo, 'bpmn:UserTask')) {
    return [entry('capexit-form', FormEntry, isSelectEntryEdited)];
  }
  if (isTimer(bo)) {
    const rule = propertiesOf(bo).deadlineRule;
    const entries = [entry('capexit-deadline-rule', RuleEntry, isSelectEntryEdited)];
    if (rule === 'statutory') {
      entries.push(entry('capexit-months', MonthsEntry, isTextFieldEntryEdited));
    } else if (rule === 'field') {
      entries.push(entry('capexit-field', FieldEntry, isTextFieldEntryEdited));
    }
    entries.push(entry('capexit-clause', ClauseEntry, isTextFieldEntryEdited));
    return entries;
  }
  return [];
}

export default class CapexitPropertiesProvider {
  constructor(propertiesPanel, config) {
    this._options = config;
    propertiesPanel.registerProvider(PRIORITY, this);
  }

  getGroups(element) {
    return (groups) => {
      const entries = entriesFor(element, this._options);
      if (entries.length) {
        const general = groups.findIndex((group) => group.id === 'general');
        groups.splice(general + 1, 0, { id: 'capexit', label: this._options.labels.group, entries });
      }
      return groups;
    };
  }
}

CapexitPropertiesProvider.$inject = ['propertiesPanel', 'config.capexit'];
