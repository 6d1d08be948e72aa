"""Deploy-time structural rules for BPMN: start events, flows, reachability, gateways, joins, loops.

SpiffWorkflow parses only what a start event reaches, so anything else would never be
validated: these rules look at the whole document. Each container (a process or an
embedded subprocess) is a graph of its direct flow nodes joined by its sequence flows;
boundary events hang off their host activity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn_rules import _problem, bpmn, local_name
from engine.errors import Problem

ACTIVITIES = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
                        "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                      "complexGateway"})
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
SUBPROCESSES = ("subProcess", "transaction", "adHocSubProcess")
CONDITIONAL = ("exclusiveGateway", "inclusiveGateway")
WAITING = ("userTask", "manualTask", "receiveTask")  # steps that stop the engine until someone acts


@dataclass
class Scope:
    """The direct flow nodes and sequence flows of one process or subprocess."""

    container: etree._Element
    nodes: dict[str, etree._Element] = field(default_factory=dict)
    flows: list[etree._Element] = field(default_factory=list)
    outgoing: dict[str, list[etree._Element]] = field(default_factory=dict)
    incoming: dict[str, list[etree._Element]] = field(default_factory=dict)
    boundaries: dict[str, list[etree._Element]] = field(default_factory=dict)

    def targets(self, node_id: str) -> Iterator[etree._Element]:
        """The nodes the flows out of a node lead to."""
        for flow in self.outgoing.get(node_id, []):
            yield self.nodes[flow.get("targetRef")]


def scopes_of(root: etree._Element) -> list[Scope]:
    """One scope per process and per embedded subprocess, in document order."""
    scopes = []
    for container in root.iter(bpmn("process"), *(bpmn(t) for t in SUBPROCESSES)):
        scope = Scope(container)
        for child in container:
            kind = local_name(child)
            if kind in FLOW_NODES and child.get("id"):
                scope.nodes[child.get("id")] = child
            elif kind == "sequenceFlow":
                scope.flows.append(child)
        for flow in scope.flows:
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in scope.nodes and target in scope.nodes:
                scope.outgoing.setdefault(source, []).append(flow)
                scope.incoming.setdefault(target, []).append(flow)
        for node in scope.nodes.values():
            if local_name(node) == "boundaryEvent":
                scope.boundaries.setdefault(node.get("attachedToRef", ""), []).append(node)
        scopes.append(scope)
    return scopes


def structure_problems(root: etree._Element) -> list[Problem]:
    """Every structural rule on a document; empty when acceptable."""
    scopes = scopes_of(root)
    problems = [*start_problems(scopes), *flow_problems(scopes), *attachment_problems(scopes)]
    loose = {p.element_id for p in problems}
    problems += unreachable_problems(scopes, skip=loose)
    problems += gateway_problems(scopes) + join_trap_problems(scopes) + loop_problems(scopes)
    return problems


def _is_event_subprocess(node: etree._Element) -> bool:
    return local_name(node) == "subProcess" and node.get("triggeredByEvent") == "true"


def _free_standing(node: etree._Element, scope: Scope) -> bool:
    """Nodes that need no flows: event subprocesses, compensation handlers, ad hoc children, link events."""
    return (_is_event_subprocess(node) or node.get("isForCompensation") == "true"
            or local_name(scope.container) == "adHocSubProcess"
            or node.find(bpmn("linkEventDefinition")) is not None
            or node.find(bpmn("compensateEventDefinition")) is not None)


def start_problems(scopes: list[Scope]) -> list[Problem]:
    """Every process and every subprocess but an ad hoc one has a start event."""
    problems = []
    for scope in scopes:
        kind = local_name(scope.container)
        if kind != "adHocSubProcess" and not any(local_name(n) == "startEvent" for n in scope.nodes.values()):
            what = ("流程", "process") if kind == "process" else ("子流程", "subprocess")
            problems.append(_problem(f"{what[0]}没有开始事件", f"{what[1]} has no start event", scope.container))
    return problems


def flow_problems(scopes: list[Scope]) -> list[Problem]:
    """Flows join two nodes of their own container; every node but an end has a way out, every node a way in."""
    problems = []
    for scope in scopes:
        for flow in scope.flows:
            for end, (zh, en) in (("sourceRef", ("起点", "source")), ("targetRef", ("终点", "target"))):
                ref = flow.get(end)
                if ref not in scope.nodes:
                    problems.append(_problem(f"顺序流的{zh} {ref!r} 不是同一流程中的元素",
                                             f"sequence flow {en} {ref!r} names no element of the same process",
                                             flow))
        for node_id, node in scope.nodes.items():
            kind = local_name(node)
            if _free_standing(node, scope):
                continue
            if kind != "endEvent" and not scope.outgoing.get(node_id):
                problems.append(_problem("元素没有流出的顺序流（只有结束事件可以没有）",
                                         "element has no outgoing sequence flow (only end events may have none)",
                                         node))
            if kind not in ("startEvent", "boundaryEvent") and not scope.incoming.get(node_id):
                problems.append(_problem("元素没有流入的顺序流（只有开始事件和边界事件可以没有）",
                                         "element has no incoming sequence flow (only start and boundary events "
                                         "may have none)", node))
    return problems


def attachment_problems(scopes: list[Scope]) -> list[Problem]:
    """Boundary events sit on an activity of their own container."""
    problems = []
    for scope in scopes:
        for host_id, events in scope.boundaries.items():
            host = scope.nodes.get(host_id)
            if host is None or local_name(host) not in ACTIVITIES:
                problems += [_problem(f"边界事件附着的 {host_id!r} 不是同一流程中的活动",
                                      f"boundary event is attached to {host_id!r}, not an activity of the same "
                                      "process", event) for event in events]
    return problems


def unreachable_problems(scopes: list[Scope], skip: set[str | None]) -> list[Problem]:
    """Nodes no start event reaches (SpiffWorkflow would silently drop them unchecked)."""
    by_container = {scope.container: scope for scope in scopes}
    reached: set[etree._Element] = set()
    stack: list[etree._Element] = []

    def enter(scope: Scope) -> None:
        for node_id, node in scope.nodes.items():
            if (local_name(node) == "startEvent" or _is_event_subprocess(node)
                    or (local_name(scope.container) == "adHocSubProcess" and not scope.incoming.get(node_id))):
                stack.append(node)

    for scope in scopes:
        if local_name(scope.container) == "process":
            enter(scope)
    while stack:
        node = stack.pop()
        if node in reached:
            continue
        reached.add(node)
        scope = by_container[node.getparent()]
        stack.extend(scope.targets(node.get("id")))
        stack.extend(scope.boundaries.get(node.get("id"), []))
        if node in by_container:
            enter(by_container[node])
    problems = []
    for scope in scopes:
        if local_name(scope.container) != "process" and scope.container not in reached:
            continue  # an unreachable subprocess is reported itself, not its contents
        for node_id, node in scope.nodes.items():
            if node not in reached and node_id not in skip:
                problems.append(_problem("元素无法从开始事件到达", "element cannot be reached from a start event",
                                         node))
    return problems


def gateway_problems(scopes: list[Scope]) -> list[Problem]:
    """Conditions only where the engine reads them; every branch of a decision has a condition or is the default."""
    problems = []
    for scope in scopes:
        for flow in scope.flows:
            source = scope.nodes.get(flow.get("sourceRef", ""))
            condition = flow.find(bpmn("conditionExpression"))
            if source is None:
                continue
            kind, is_default = local_name(source), source.get("default") == flow.get("id")
            several = len(scope.outgoing.get(source.get("id"), [])) > 1
            if condition is not None and kind == "parallelGateway":
                problems.append(_problem(
                    f"并行网关 {source.get('id')} 的流出顺序流不能带条件（BPMN 忽略该条件，所有分支都会执行）",
                    f"a flow out of parallel gateway {source.get('id')} cannot have a condition (BPMN ignores it: "
                    "every branch runs)", flow, condition.sourceline))
            elif condition is not None and kind not in CONDITIONAL:
                problems.append(_problem("只有排他网关或包容网关的流出顺序流可以带条件（此处的条件会被忽略）",
                                         "only flows out of exclusive or inclusive gateways may have a condition "
                                         "(this one would be ignored)", flow, condition.sourceline))
            elif condition is not None and is_default:
                problems.append(_problem("默认顺序流不能带条件（条件会被忽略）",
                                         "the default flow cannot have a condition (it would be ignored)", flow,
                                         condition.sourceline))
            elif condition is None and kind in CONDITIONAL and several and not is_default:
                problems.append(_problem(f"网关 {source.get('id')} 的非默认流出顺序流缺少条件",
                                         f"a non-default flow out of gateway {source.get('id')} has no condition",
                                         flow))
        for node in scope.nodes.values():
            default, leaving = node.get("default"), scope.outgoing.get(node.get("id"), [])
            if default and default not in {f.get("id") for f in leaving}:
                problems.append(_problem(f"默认顺序流 {default!r} 不是该元素的流出顺序流",
                                         f"default flow {default!r} is not a flow out of this element", node))
            elif (not default and local_name(node) in CONDITIONAL
                  and any(f.find(bpmn("conditionExpression")) is not None for f in leaving)):
                problems.append(_problem("网关的分支带条件但没有默认顺序流：所有条件都不成立时案件会停在这里",
                                         "the gateway's branches have conditions but no default flow: a case would "
                                         "stop here when no condition holds", node))
    return problems


def join_trap_problems(scopes: list[Scope]) -> list[Problem]:
    """A boundary event's path and its task's normal path must not both end in one parallel join (a deadlock)."""
    problems = []
    for scope in scopes:
        for host_id, events in scope.boundaries.items():
            if host_id not in scope.nodes:
                continue
            normal = _joins_ahead(scope, host_id)
            for event in events:
                for join in sorted(normal & _joins_ahead(scope, event.get("id")), key=lambda j: j.sourceline or 0):
                    host = scope.nodes[host_id]
                    problems.append(_problem(
                        f"边界事件 {event.get('id')} 的流程与任务 {host_id}「{host.get('name') or ''}」的正常流程"
                        f"汇入同一个并行汇聚网关：两者只会有一个到达，网关将永远等待。请先用排他网关合并两条流程",
                        f"the path of boundary event {event.get('id')} and the normal path of task {host_id} both "
                        "lead into this parallel join: only one of them ever arrives, so the join waits forever. "
                        "Merge them with an exclusive gateway first", join))
    return problems


def _joins_ahead(scope: Scope, start_id: str) -> set[etree._Element]:
    """Parallel joins a token leaving a node reaches through nodes with a single incoming flow."""
    joins: set[etree._Element] = set()
    seen: set[str] = set()
    stack = list(scope.targets(start_id))
    while stack:
        node = stack.pop()
        node_id = node.get("id")
        if node_id in seen:
            continue
        seen.add(node_id)
        arriving = len(scope.incoming.get(node_id, []))
        if local_name(node) == "parallelGateway" and arriving > 1:
            joins.add(node)
        elif arriving == 1:  # not a merge: the token passes through (forks, no-op tasks, splits, steps)
            stack.extend(scope.targets(node_id))
    return joins


def loop_problems(scopes: list[Scope]) -> list[Problem]:
    """Every cycle has a step that waits for a person; else the engine would loop forever in one request."""
    problems = []
    for scope in scopes:
        automatic = {i: n for i, n in scope.nodes.items() if local_name(n) not in WAITING}
        edges = {i: [t.get("id") for t in scope.targets(i) if t.get("id") in automatic]
                 + [b.get("id") for b in scope.boundaries.get(i, []) if b.get("id") in automatic] for i in automatic}
        for component in _cycles(edges):
            first = min((automatic[i] for i in component), key=lambda n: n.sourceline or 0)
            ids = sorted(component)[:10]
            problems.append(_problem(f"循环中没有需要人工办理的任务，引擎会无限循环：{'、'.join(ids)}",
                                     f"a loop without a human task would run forever: {', '.join(ids)}", first))
    return problems


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append(component)
    return found
