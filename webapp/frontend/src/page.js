/* The modeler page (/modeler/<process_id>): load the options and the BPMN, wire the toolbar
 * (save draft, check, deploy, download), check on the server while editing, and list problems
 * that select their element when clicked. Everything the page needs is in data-* attributes. */

const CHECK_DELAY_MS = 1200;

function post(url, csrf, body, contentType) {
  return fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': contentType, 'X-CSRFToken': csrf, Accept: 'application/json' },
    body
  }).then((response) => response.json().catch(() => ({})).then((data) => ({ status: response.status, data })));
}

function getJSON(url) {
  return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then((r) => {
    if (!r.ok) { throw new Error(`HTTP ${r.status}`); }
    return r.json();
  });
}

function getText(url) {
  return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/xml' } }).then((r) => {
    if (!r.ok) { throw new Error(`HTTP ${r.status}`); }
    return r.text();
  });
}

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => (key in values ? String(values[key]) : ''));
}

function timeNow() {
  const now = new Date();
  return `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}`;
}

/** Fit the diagram into the canvas to the right of the palette (which would hide its left part). */
function fit(modeler) {
  const canvas = modeler.get('canvas');
  const container = canvas.getContainer();
  const palette = container.querySelector('.djs-palette');
  const left = (palette ? palette.offsetLeft + palette.offsetWidth : 0) + 16;
  const inner = canvas.viewbox().inner;
  const width = container.clientWidth;
  const height = container.clientHeight;
  if (!inner.width || !inner.height || width <= left + 40) {
    canvas.zoom('fit-viewport', 'auto');
    return;
  }
  const scale = Math.min((width - left - 16) / inner.width, (height - 32) / inner.height, 1);
  canvas.viewbox({
    x: inner.x - left / scale, y: inner.y - (height / scale - inner.height) / 2,
    width: width / scale, height: height / scale
  });
}

/** The diagram element a problem's id names: a shape or connection, else the shape holding that
 * id (a participant for its process, an event for its event definition, a task for its loop). */
function diagramElement(modeler, id) {
  const registry = modeler.get('elementRegistry');
  return registry.get(id) || registry.find((e) => {
    const bo = e.businessObject;
    if (!bo || e.labelTarget) { return false; }
    return (bo.processRef && bo.processRef.id === id) ||
      (bo.eventDefinitions || []).some((d) => d.id === id) ||
      (bo.loopCharacteristics && bo.loopCharacteristics.id === id);
  });
}

export function startPage(createModeler) {
  const root = document.getElementById('modeler-app');
  if (!root) { return; }
  const $ = (selector) => root.querySelector(selector);
  const data = root.dataset;
  const csrf = data.csrf;
  let baseVersion = data.version ? Number(data.version) : null;
  let labels = {};
  let modeler = null;
  let dirty = false;
  let checkTimer = null;
  let checkSeq = 0;

  function status(text, kind) {
    const box = $('#modeler-status');
    box.textContent = text;
    box.className = `modeler-status ${kind || ''}`;
  }

  function select(id) {
    const element = diagramElement(modeler, id);
    if (!element) { return; }
    modeler.get('canvas').getContainer().focus({ preventScroll: true });
    modeler.get('selection').select(element);
    if (element.waypoints === undefined) { modeler.get('canvas').scrollToElement(element); }
  }

  function showProblems(list, headline, kind) {
    const box = $('#modeler-problems');
    const items = $('#modeler-problem-list');
    items.replaceChildren();
    box.dataset.state = kind;
    $('#modeler-problems-headline').textContent = headline;
    (list || []).forEach((problem) => {
      const item = document.createElement('li');
      const where = [];
      if (problem.element_id) { where.push(problem.element_id); }
      if (problem.line) { where.push(format(labels.line, { line: problem.line })); }
      const text = problem.message + (where.length ? `  [${where.join(' · ')}]` : '');
      if (problem.element_id && diagramElement(modeler, problem.element_id)) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'link problem-link';
        button.dataset.elementId = problem.element_id;
        button.textContent = text;
        button.addEventListener('click', () => select(problem.element_id));
        item.appendChild(button);
      } else {
        item.textContent = text;
      }
      items.appendChild(item);
    });
  }

  function xml() {
    return modeler.saveXML({ format: true }).then((result) => result.xml);
  }

  function check(quiet) {
    const seq = ++checkSeq;
    if (!quiet) { status(labels.checking, 'busy'); }
    return xml().then((text) => post(data.checkUrl, csrf, text, 'application/xml')).then(({ status: code, data: answer }) => {
      if (seq !== checkSeq) { return; }
      if (code !== 200) {
        showProblems([], labels.checkFailed, 'error');
      } else if (answer.valid) {
        showProblems([], labels.valid, 'ok');
      } else {
        showProblems(answer.errors, answer.message, 'error');
      }
      if (!quiet) { status(answer.valid ? labels.valid : labels.invalid, answer.valid ? 'ok' : 'error'); }
    }).catch(() => { if (!quiet) { status(labels.checkFailed, 'error'); } });
  }

  function scheduleCheck() {
    window.clearTimeout(checkTimer);
    checkTimer = window.setTimeout(() => check(true), CHECK_DELAY_MS);
  }

  function saveDraft() {
    status(labels.saving, 'busy');
    return xml().then((text) => post(data.draftUrl, csrf, JSON.stringify({ bpmn: text, base_version: baseVersion }),
      'application/json')).then(({ status: code, data: answer }) => {
      if (code === 200) {
        dirty = false;
        status(format(labels.draftSaved, { time: timeNow() }), 'ok');
      } else {
        status(answer.message || labels.saveFailed, 'error');
      }
    }).catch(() => status(labels.saveFailed, 'error'));
  }

  function deploy() {
    const note = $('#modeler-note');
    if (!note.value.trim()) {
      status(labels.noteRequired, 'error');
      note.focus();
      return Promise.resolve();
    }
    if (!window.confirm(labels.confirmDeploy)) {
      return Promise.resolve();
    }
    status(labels.deploying, 'busy');
    window.clearTimeout(checkTimer);
    checkSeq += 1;
    return xml().then((text) => post(data.deployUrl, csrf, JSON.stringify({ bpmn: text, note: note.value.trim() }),
      'application/json')).then(({ status: code, data: answer }) => {
      if (code === 201 || code === 200) {
        dirty = false;
        baseVersion = answer.version;
        note.value = '';
        const message = answer.unchanged ? format(labels.unchanged, answer) : format(labels.deployed, answer);
        status(message, 'ok');
        showProblems([], message, 'ok');
        root.dataset.deployedVersion = String(answer.version);
        const notice = document.getElementById('draft-notice');
        if (notice) { notice.hidden = true; }
        const version = document.getElementById('modeler-version');
        if (version) { version.textContent = String(answer.version); }
      } else {
        status(answer.message || labels.deployFailed, 'error');
        showProblems(answer.errors || [], answer.message || labels.deployFailed, 'error');
      }
    }).catch(() => status(labels.deployFailed, 'error'));
  }

  function download() {
    return xml().then((text) => {
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([text], { type: 'application/xml' }));
      link.download = data.filename;
      document.body.appendChild(link);
      link.click();
      window.setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    });
  }

  Promise.all([getJSON(data.optionsUrl), getText(data.sourceUrl)]).then(([options, source]) => {
    labels = options.labels;
    $('#modeler-canvas').replaceChildren();
    modeler = createModeler({ canvas: $('#modeler-canvas'), panel: $('#modeler-properties'), options });
    window.capexitModeler = modeler;
    return modeler.importXML(source).then(() => {
      fit(modeler);
      modeler.on('commandStack.changed', () => {
        dirty = true;
        scheduleCheck();
      });
      $('#modeler-save').addEventListener('click', saveDraft);
      $('#modeler-check').addEventListener('click', () => check(false));
      $('#modeler-deploy').addEventListener('click', deploy);
      $('#modeler-download').addEventListener('click', download);
      root.querySelectorAll('.modeler-actions button').forEach((b) => { b.disabled = false; });
      window.addEventListener('beforeunload', (event) => {
        if (dirty) { event.preventDefault(); event.returnValue = ''; }
      });
      root.dataset.state = 'ready';
      return check(true);
    });
  }).catch((error) => {
    root.dataset.state = 'error';
    status(data.errorText || String(error), 'error');
    if (window.console) { window.console.error(error); }
  });
}
