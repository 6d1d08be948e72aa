/* Entry of the modeler bundle (static/build/modeler.js + modeler.css): bpmn-js Modeler with the
 * properties panel, capexit's property group (department, form, deadline rule), live bpmnlint with
 * capexit's rules, and the page logic. Exposes window.CapexitModeler.createModeler. */
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import './modeler.css';

import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';

import { linterConfig } from './lint';
import { startPage } from './page';
import capexitPropertiesModule from './properties';
import keepDataReferencesModule from './references';
import spiffworkflow from './spiffworkflow.json';
import translateModule from './translate';

/**
 * A modeler on `canvas` with its properties panel in `panel`.
 *
 * @param {{ canvas: HTMLElement, panel: HTMLElement, options: Object }} args
 *   options: /modeler/options.json (departments, forms, labels)
 */
export function createModeler({ canvas, panel, options }) {
  const panelOptions = {
    departments: options.departments.map((d) => ({ value: d.code, label: `${d.name} (${d.code})` })),
    forms: options.forms.map((f) => ({ value: f.file, label: f.title ? `${f.title} (${f.file})` : f.file })),
    labels: options.labels
  };
  return new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: panel, layout: { groups: { capexit: { open: true }, general: { open: true } } } },
    linting: {
      active: true,
      bpmnlint: linterConfig({
        departments: options.departments.map((d) => d.code),
        forms: options.forms.map((f) => f.file),
        messages: options.labels.lint
      })
    },
    capexit: panelOptions,
    additionalModules: [
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, capexitPropertiesModule, lintModule, translateModule,
      keepDataReferencesModule
    ],
    moddleExtensions: { spiffworkflow }
  });
}

function start() {
  startPage(createModeler);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
