/* The bpmnlint configuration of the modeler: capexit's own rules only, bundled directly
 * (a StaticResolver over the rule factories, which is what bpmnlint-pack-config would produce). */
import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';

import { RULES } from './rules';

const PLUGIN = 'bpmnlint-plugin-capexit';

/**
 * The `{ config, resolver }` pair bpmn-js-bpmnlint expects.
 *
 * @param {{ departments: string[], forms: string[], messages: Object<string, string> }} options
 */
export function linterConfig(options) {
  const cache = {};
  const rules = {};
  Object.keys(RULES).forEach((name) => {
    cache[`rule:${PLUGIN}/${name}`] = RULES[name];
    rules[`capexit/${name}`] = ['error', options];
  });
  return { config: { rules }, resolver: new StaticResolver(cache) };
}
