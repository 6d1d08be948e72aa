/* Chinese labels for the parts of bpmn-js and its properties panel a process owner sees most.
 * Anything not listed stays English; the page language decides (document.documentElement.lang).
 * EN mends the English templates that count without a singular ("1 Errors"). */
const ZH = {
  'Activate hand tool': '抓手工具',
  'Activate the hand tool': '抓手工具',
  'Activate lasso tool': '套索工具',
  'Activate the lasso tool': '套索工具',
  'Activate create/remove space tool': '插入/删除空间',
  'Activate the create/remove space tool': '插入/删除空间',
  'Activate global connect tool': '连线工具',
  'Activate the global connect tool': '连线工具',
  'Create start event': '开始事件',
  'Create intermediate/boundary event': '中间/边界事件',
  'Create end event': '结束事件',
  'Create gateway': '网关',
  'Create task': '任务',
  'Create data object reference': '数据对象',
  'Create data store reference': '数据存储',
  'Create expanded sub-process': '展开的子流程',
  'Create pool/participant': '池/参与者',
  'Create group': '分组',
  'Append task': '追加任务',
  'Append end event': '追加结束事件',
  'Append gateway': '追加网关',
  'Append intermediate/boundary event': '追加中间/边界事件',
  'Append user task': '追加用户任务',
  'Change element': '更改类型',
  'Change type': '更改类型',
  'Connect using sequence/message flow or association': '连线',
  'Connect to other element': '连线',
  'Delete': '删除',
  'Add text annotation': '添加注释',
  'Add lane above': '在上方添加泳道',
  'Add lane below': '在下方添加泳道',
  'Divide into two lanes': '分为两个泳道',
  'Divide into three lanes': '分为三个泳道',
  'General': '常规',
  'Documentation': '说明',
  'Name': '名称',
  'ID': '标识（ID）',
  'Element documentation': '元素说明',
  'Process documentation': '流程说明',
  'Process ID': '流程标识',
  'Process name': '流程名称',
  'Executable': '可执行',
  'Timer': '定时器',
  'Type': '类型',
  'Value': '值',
  'Condition': '条件',
  'Condition expression': '条件表达式',
  'Called element': '调用的流程',
  '<none>': '（无）',
  'Date': '日期',
  'Duration': '时长',
  'Cycle': '周期',
  'No Issues': '未发现问题',
  '{errors} Errors, {warnings} Warnings': '{errors} 个错误，{warnings} 个警告',
  'Toggle linting overlays': '显示/隐藏校验标记',
  'Issues for child elements': '子元素的问题',
  'Process': '流程',
  'Participant': '参与者（池）',
  'Lane': '泳道',
  'Task': '任务',
  'User Task': '用户任务',
  'Call Activity': '调用活动',
  'Start Event': '开始事件',
  'End Event': '结束事件',
  'Timer Boundary Event': '定时边界事件',
  'Timer Boundary Event (Non Interrupting)': '定时边界事件（不中断）',
  'Timer Intermediate Catch Event': '定时中间事件',
  'Exclusive Gateway': '排他网关',
  'Parallel Gateway': '并行网关',
  'Sequence Flow': '顺序流',
  'Conditional Flow': '条件流',
  'Default Flow': '默认流',
  'Text Annotation': '注释',
  'Collaboration': '协作',
  'Sub Process': '子流程',
  'Transaction': '事务子流程',
  'Event Sub Process': '事件子流程',
  'Service Task': '服务任务',
  'Script Task': '脚本任务',
  'Manual Task': '手工任务',
  'Send Task': '发送任务',
  'Receive Task': '接收任务',
  'Business Rule Task': '业务规则任务',
  'Inclusive Gateway': '包容网关',
  'Event Based Gateway': '事件网关',
  'Complex Gateway': '复杂网关',
  'Boundary Event': '边界事件',
  'Intermediate Throw Event': '中间抛出事件',
  'Intermediate Catch Event': '中间捕获事件',
  'Timer Start Event': '定时开始事件',
  'Message Start Event': '消息开始事件',
  'Message End Event': '消息结束事件',
  'Terminate End Event': '终止结束事件',
  'Error End Event': '错误结束事件',
  'Message Flow': '消息流',
  'Association': '关联',
  'Data Object Reference': '数据对象',
  'Data Store Reference': '数据存储',
  'Group': '分组'
};

function counted(n, one, many) {
  return `${n} ${String(n) === '1' ? one : many}`;
}

const EN = {
  '{errors} Errors, {warnings} Warnings': (r) =>
    `${counted(r.errors, 'error', 'errors')}, ${counted(r.warnings, 'warning', 'warnings')}`
};

export default {
  translate: ['value', function(template, replacements) {
    const zh = !(document.documentElement.lang || '').startsWith('en');
    if (!zh && EN[template] && replacements) { return EN[template](replacements); }
    const text = (zh && ZH[template]) || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : `{${key}}`));
  }]
};
