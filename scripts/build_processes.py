#!/usr/bin/env python3
"""Write processes/*.bpmn from the graphs in process_graphs.py, with diagram interchange.

Usage: python scripts/build_processes.py [--out DIR]   (default: processes/)

Layout: one pool per file, one horizontal lane per department (a lane grows a sub-row
for each node sharing a column with another node of that lane); columns follow the
longest path from the start event, loops ignored; each sequence flow takes the
cheapest orthogonal route among a few families (straight, through the gaps between
columns, around rows for loops): no route crosses a shape, bends and shared or crossed
segments cost extra.
"""
import argparse
import math
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from lxml import etree
from process_graphs import NAMES_EN
from process_graphs_annual import LANES, PROCESSES  # process_graphs.py plus the annual report

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
TARGET_NS = "http://capexit.local/bpmn"
SIZE = {"userTask": (100, 80), "callActivity": (100, 80), "exclusiveGateway": (50, 50),
        "parallelGateway": (50, 50), "startEvent": (36, 36), "endEvent": (36, 36),
        "boundaryEvent": (36, 36)}
COL_W, ROW_H = 150, 140          # grid cell; shapes are centred in their cell
POOL_HEAD = LANE_HEAD = 30       # width of the vertical title bands
X0, Y0, PAD = 160, 80, 20        # pool origin; gap between lane title and first column
CHANNEL_OFFSETS = (0, -12, 12)   # vertical tracks in the gap between two columns
CORRIDOR_INSET = 14              # horizontal tracks near the top and bottom of each row


# ---------------------------------------------------------------- layout: grid

def back_edges(proc):
    """Flows that close a loop: they reach back to a node found earlier by a depth-first
    walk (normal flows in data order, boundary events last) that can reach them."""
    succ = defaultdict(list)
    for f in proc["flows"]:
        succ[f["source"]].append(f["target"])
    for n in proc["nodes"]:
        if n["type"] == "boundaryEvent":
            succ[n["host"]].append(n["id"])
    order = {}

    def walk(node):
        order[node] = len(order)
        for nxt in succ[node]:
            if nxt not in order:
                walk(nxt)

    walk(next(n["id"] for n in proc["nodes"] if n["type"] == "startEvent"))

    def reach(node):
        seen, todo = set(), [node]
        while todo:
            for nxt in succ[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return {(f["source"], f["target"]) for f in proc["flows"]
            if order[f["target"]] <= order[f["source"]] and f["source"] in reach(f["target"])}


def columns(proc):
    """Column of every node: longest path from the start, back edges ignored; a boundary
    event takes its host's column."""
    back = back_edges(proc)
    preds = defaultdict(list)
    for f in proc["flows"]:
        if (f["source"], f["target"]) not in back:
            preds[f["target"]].append((f["source"], 1))
    for n in proc["nodes"]:
        if n["type"] == "boundaryEvent":
            preds[n["id"]].append((n["host"], 0))
    col = {}

    def longest(node):
        if node not in col:
            col[node] = max((longest(p) + step for p, step in preds[node]), default=0)
        return col[node]

    for n in proc["nodes"]:
        longest(n["id"])
    return col


def place(proc):
    """Bounds of every node, lane, the pool, and the free tracks between them."""
    col = columns(proc)
    nodes = {n["id"]: n for n in proc["nodes"]}
    cells, sub = defaultdict(list), {}
    for n in proc["nodes"]:
        if n["type"] != "boundaryEvent":
            cell = cells[(n["lane"], col[n["id"]])]
            sub[n["id"]] = len(cell)
            cell.append(n["id"])
    ncols = max(col.values()) + 1
    left = X0 + POOL_HEAD + LANE_HEAD + PAD
    width = POOL_HEAD + LANE_HEAD + PAD * 2 + ncols * COL_W
    lanes, rows, y = {}, [], Y0
    for code in proc["lanes"]:
        nrows = max([len(ids) for (lane, _), ids in cells.items() if lane == code] or [1])
        lanes[code] = (X0 + POOL_HEAD, y, width - POOL_HEAD, nrows * ROW_H)
        rows += [(y + i * ROW_H, y + (i + 1) * ROW_H) for i in range(nrows)]
        y += nrows * ROW_H
    box = {}
    for nid, s in sub.items():
        w, h = SIZE[nodes[nid]["type"]]
        cx = left + col[nid] * COL_W + COL_W // 2
        cy = lanes[nodes[nid]["lane"]][1] + s * ROW_H + ROW_H // 2
        box[nid] = (cx - w // 2, cy - h // 2, w, h)
    attached = defaultdict(int)
    for n in proc["nodes"]:
        if n["type"] == "boundaryEvent":
            hx, hy, hw, hh = box[n["host"]]
            k = attached[n["host"]]
            attached[n["host"]] += 1
            box[n["id"]] = (hx + hw - 48 - 46 * k, hy + hh - 18, 36, 36)
    return dict(box=box, lanes=lanes, pool=(X0, Y0, width, y - Y0), col=col,
                channels=[left + i * COL_W for i in range(ncols + 1)],
                corridors=sorted({c for top, bottom in rows
                                  for c in (top + CORRIDOR_INSET, bottom - CORRIDOR_INSET)}))


# ---------------------------------------------------------------- layout: routing

def centre(b):
    return b[0] + b[2] / 2, b[1] + b[3] / 2


def hits(p, q, b, inflate=0):
    """Does segment p-q pass through the interior of box b (grown by inflate)?"""
    x1, x2 = sorted((p[0], q[0]))
    y1, y2 = sorted((p[1], q[1]))
    return (x2 > b[0] - inflate and x1 < b[0] + b[2] + inflate
            and y2 > b[1] - inflate and y1 < b[1] + b[3] + inflate)


def overlaps(a, b):
    """Do boxes a and b share interior?"""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def simplify(points):
    """Drop repeated and collinear middle points; None if the path doubles back."""
    pts = [points[0]]
    for p in points[1:]:
        if p != pts[-1]:
            pts.append(p)
    out = [pts[0]]
    for i in range(1, len(pts) - 1):
        a, b, c = out[-1], pts[i], pts[i + 1]
        if a[0] == b[0] == c[0] or a[1] == b[1] == c[1]:
            if (b[0] - a[0]) * (c[0] - b[0]) < 0 or (b[1] - a[1]) * (c[1] - b[1]) < 0:
                return None
            continue
        out.append(b)
    out.append(pts[-1])
    return out


def candidates(s, t, grid):
    """Orthogonal paths from box s to box t: leave s to the right (through a column gap)
    or up/down, run along a horizontal track, enter t from the left (through the gap
    before it) or from above/below."""
    (sx, sy), (tx, ty) = centre(s), centre(t)
    gaps = [c + o for c in grid["channels"] for o in CHANNEL_OFFSETS]
    after = [x for x in gaps if x > s[0] + s[2] and (x < t[0] or x <= s[0] + s[2] + COL_W / 2)]
    before = [x for x in gaps if t[0] - COL_W / 2 <= x < t[0]]
    for cy in sorted(set(grid["corridors"]) | {sy, ty}):
        exits = [[(s[0] + s[2], sy), (xa, sy), (xa, cy)] for xa in after]
        if not s[1] <= cy <= s[1] + s[3]:
            exits.append([(sx, s[1] if cy < sy else s[1] + s[3]), (sx, cy)])
        entries = [[(xb, cy), (xb, ty), (t[0], ty)] for xb in before]
        if not t[1] <= cy <= t[1] + t[3]:
            entries.append([(tx, cy), (tx, t[1] if cy < ty else t[1] + t[3])])
        for exit_ in exits:
            for entry in entries:
                path = simplify(exit_ + entry)
                if path and len(path) >= 2:
                    yield path


def cost(path, s, t, obstacles, drawn):
    """Price of a path: shapes crossed (prohibitive), bends, length, a vertical entry into
    a shape ahead, and length shared with or crossings of the flows drawn so far."""
    segs = list(pairwise(path))
    total = 20 * (len(path) - 2) + 0.1 * sum(abs(p[0] - q[0]) + abs(p[1] - q[1]) for p, q in segs)
    if t[0] > s[0] and path[-1][0] != t[0]:             # forward flows: enter from the left
        total += 25
    for p, q in segs:
        total += 10000 * sum(hits(p, q, b, 6) for b in obstacles)
        total += 10000 * (hits(p, q, s) + hits(p, q, t))
        for a, b in drawn:
            if (p[0] == q[0]) == (a[0] == b[0]):           # parallel: shared length
                i = 1 if p[0] == q[0] else 0                 # the coordinate that varies
                if p[1 - i] == a[1 - i]:
                    lo = max(min(p[i], q[i]), min(a[i], b[i]))
                    hi = min(max(p[i], q[i]), max(a[i], b[i]))
                    total += 2 * max(0, hi - lo)
            elif hits(p, q, (min(a[0], b[0]), min(a[1], b[1]), abs(a[0] - b[0]), abs(a[1] - b[1]))):
                total += 8                                  # crossing
    return total


def route(proc, grid):
    """Waypoints of every flow; short forward flows first, loops last."""
    box, col = grid["box"], grid["col"]
    flows = sorted(proc["flows"], key=lambda f: (col[f["target"]] <= col[f["source"]],
                                                 col[f["target"]] - col[f["source"]]))
    drawn, paths = [], {}
    for f in flows:
        s, t = box[f["source"]], box[f["target"]]
        obstacles = [b for nid, b in box.items() if nid not in (f["source"], f["target"])]
        best = min(candidates(s, t, grid), key=lambda p: cost(p, s, t, obstacles, drawn))
        paths[flow_id(f)] = best
        drawn += list(pairwise(best))
    return paths


def label_box(text, near, taken, drawn, shapes):
    """Bounds of an external label: the first of a few spots beside `near` that is free
    of shapes, flow segments and other labels."""
    w = min(90, 12 * len(text) + 4)
    h = 14 * math.ceil(12 * len(text) / 90)
    x, y, bw, bh = near
    spots = [(x + bw / 2 - w / 2, y + bh + 4), (x + bw / 2 - w / 2, y - h - 4),
             (x + bw + 4, y + bh + 2), (x - w - 4, y + bh + 2), (x + bw + 4, y - h - 2),
             (x - w - 4, y - h - 2)]
    for lx, ly in spots:
        box = (lx, ly, w, h)
        if not any(hits(p, q, box) for p, q in drawn) and \
                not any(overlaps(b, box) for b in taken + shapes):
            break
    else:
        lx, ly = spots[0]
    taken.append((lx, ly, w, h))
    return tuple(round(v) for v in (lx, ly, w, h))


def flow_label_near(path):
    """A small box at the start of a flow, for label_box to place the flow's name by."""
    (x, y), (qx, qy) = path[0], path[1]
    if y == qy:                                         # leaves horizontally
        return (min(x, qx) + 6, y - 6, 30, 0)
    return (x + 2, min(y, qy) + 4, 0, 12) if qy > y else (x + 2, y - 16, 0, 12)


# ---------------------------------------------------------------- XML

def q(prefix, tag):
    """Clark notation of prefix:tag."""
    return f"{{{NS[prefix]}}}{tag}"


def sub(parent, tag, text=None, **attrs):
    """Append a child element "prefix:tag"; attributes that are None are left out."""
    prefix, name = tag.split(":")
    el = etree.SubElement(parent, q(prefix, name), {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def formal(parent, tag, text):
    el = sub(parent, tag, text)
    el.set(q("xsi", "type"), "bpmn:tFormalExpression")


def properties(parent, props):
    if props:
        ext = sub(sub(parent, "bpmn:extensionElements"), "spiffworkflow:properties")
        for name, value in props.items():
            sub(ext, "spiffworkflow:property", name=name, value=value)


def flow_id(f):
    return f"flow_{f['source']}_to_{f['target']}"


def semantic(proc, root):
    pid = proc["id"]
    process = sub(root, "bpmn:process", id=pid, name=proc["name"], isExecutable="true")
    sub(process, "bpmn:documentation", f"{proc['name']}（依据{proc['clauses']}）。")
    properties(process, {"clauses": proc["clauses"], "nameEn": NAMES_EN[proc["name"]]})
    laneset = sub(process, "bpmn:laneSet", id=f"laneset_{pid}")
    lane_of = {n["id"]: n.get("lane") or next(h["lane"] for h in proc["nodes"] if h["id"] == n["host"])
               for n in proc["nodes"]}
    for code in proc["lanes"]:
        lane = sub(laneset, "bpmn:lane", id=f"lane_{code}", name=LANES[code])
        properties(lane, {"department": code})
        for n in proc["nodes"]:
            if lane_of[n["id"]] == code:
                sub(lane, "bpmn:flowNodeRef", n["id"])
    defaults = {f["source"]: flow_id(f) for f in proc["flows"] if f["default"]}
    for n in proc["nodes"]:
        el = sub(process, f"bpmn:{n['type']}", id=n["id"], name=n.get("name"),
                 default=defaults.get(n["id"]), calledElement=n.get("called"),
                 attachedToRef=n.get("host"),
                 cancelActivity="true" if n["type"] == "boundaryEvent" else None)
        if n.get("doc"):
            sub(el, "bpmn:documentation", n["doc"])
        properties(el, n.get("props"))
        for f in proc["flows"]:
            if f["target"] == n["id"]:
                sub(el, "bpmn:incoming", flow_id(f))
        for f in proc["flows"]:
            if f["source"] == n["id"]:
                sub(el, "bpmn:outgoing", flow_id(f))
        if n.get("multi"):  # parallel multi-instance over a collection in the case data
            loop = sub(el, "bpmn:multiInstanceLoopCharacteristics")
            sub(loop, "bpmn:loopDataInputRef", n["multi"]["collection"])
            sub(loop, "bpmn:inputDataItem", id=n["multi"]["item"], name=n["multi"]["item"])
        if n["type"] == "boundaryEvent":
            formal(sub(el, "bpmn:timerEventDefinition"), "bpmn:timeDate", "deadline_at")
    for f in proc["flows"]:
        el = sub(process, "bpmn:sequenceFlow", id=flow_id(f), name=f["name"],
                 sourceRef=f["source"], targetRef=f["target"])
        if f["cond"]:
            formal(el, "bpmn:conditionExpression", f["cond"])


def bounds(parent, b):
    sub(parent, "dc:Bounds", x=round(b[0]), y=round(b[1]), width=round(b[2]), height=round(b[3]))


def diagram(proc, root):
    pid = proc["id"]
    grid = place(proc)
    paths = route(proc, grid)
    plane = sub(sub(root, "bpmndi:BPMNDiagram", id=f"diagram_{pid}"), "bpmndi:BPMNPlane",
                id=f"plane_{pid}", bpmnElement=f"collaboration_{pid}")
    bounds(sub(plane, "bpmndi:BPMNShape", id=f"participant_{pid}_di",
               bpmnElement=f"participant_{pid}", isHorizontal="true"), grid["pool"])
    for code, b in grid["lanes"].items():
        bounds(sub(plane, "bpmndi:BPMNShape", id=f"lane_{code}_di", bpmnElement=f"lane_{code}",
                   isHorizontal="true"), b)
    drawn = [seg for p in paths.values() for seg in pairwise(p)]
    shapes, taken = list(grid["box"].values()), []
    for n in proc["nodes"]:
        el = sub(plane, "bpmndi:BPMNShape", id=f"{n['id']}_di", bpmnElement=n["id"],
                 isMarkerVisible="true" if n["type"] == "exclusiveGateway" else None)
        bounds(el, grid["box"][n["id"]])
        if n.get("name") and n["type"] not in ("userTask", "callActivity"):
            bounds(sub(el, "bpmndi:BPMNLabel"),
                   label_box(n["name"], grid["box"][n["id"]], taken, drawn, shapes))
    for f in proc["flows"]:
        el = sub(plane, "bpmndi:BPMNEdge", id=f"{flow_id(f)}_di", bpmnElement=flow_id(f))
        for x, y in paths[flow_id(f)]:
            sub(el, "di:waypoint", x=round(x), y=round(y))
        if f["name"]:
            bounds(sub(el, "bpmndi:BPMNLabel"),
                   label_box(f["name"], flow_label_near(paths[flow_id(f)]), taken, drawn, shapes))


def build(proc):
    """The BPMN document of one process, as UTF-8 bytes."""
    pid = proc["id"]
    root = etree.Element(q("bpmn", "definitions"), nsmap=NS, id=f"definitions_{pid}",
                         targetNamespace=TARGET_NS)
    collaboration = sub(root, "bpmn:collaboration", id=f"collaboration_{pid}")
    sub(collaboration, "bpmn:participant", id=f"participant_{pid}", name=proc["name"],
        processRef=pid)
    semantic(proc, root)
    diagram(proc, root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "processes")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for proc in PROCESSES:
        path = args.out / f"{proc['id']}.bpmn"
        path.write_bytes(build(proc))
        print(path)


if __name__ == "__main__":
    main()
