"""Process graphs of capexit as plain data, read by build_processes.py.

A process is a dict: id (the file stem), name, clauses, lanes (department codes, top
to bottom), nodes and flows. A node is a dict with id, type, name, lane and optional
props (spiffworkflow properties), doc (documentation) and host (boundary events).
A flow is a dict with source, target, optional cond (expression), default and name.
Node and flow order matters: the layout stacks nodes that share a cell in node
order, and explores flows in flow order (boundary events last) to find loops.
"""

LANES = {
    "lead": "牵头部门",
    "enterprise": "企业",
    "government": "有批准权的人民政府",
    "hrss": "市人力资源和社会保障局",
    "market": "市市场监督管理局",
    "development": "市发展和改革委员会",
    "finance": "市财政局",
    "land": "市自然资源和规划局",
    "pboc": "人民银行济宁市中心支行",
    "banking": "济宁银保监分局",
}


# English names of the processes and of the elements people see in step lists and histories (property
# ``nameEn``), by Chinese name. Gateways and flows are not listed anywhere, so they have none. Every process and
# every listed element needs an entry here.
NAMES_EN = {
    # processes (the closure measures' name is its call activity's, below)
    "能耗不达标产能整改退出": "Rectification or exit of capacity failing energy-use standards",
    "环保不达标产能整改退出": "Rectification or exit of capacity failing environmental standards",
    "质量不达标产能整改退出": "Rectification or exit of capacity failing quality standards",
    "安全不达标产能停产整顿": "Suspension for rectification of capacity failing safety standards",
    "淘汰工艺装备拆除": "Dismantling of eliminated processes and equipment",
    "淘汰类产能退出": "Exit of capacity in the elimination category",
    "年度落后产能退出情况汇总报告": "Annual report on the exit of outdated capacity",
    # start and end events
    "下达整改通知": "Rectification notice issued",
    "下达停产整顿通知": "Notice to suspend production for rectification issued",
    "下达淘汰装备通知": "Notice to eliminate equipment issued",
    "下达退出通知": "Exit notice issued",
    "关停退出": "Closure and exit",
    "整改达标": "Rectified to standard",
    "差别化价格已执行": "Differential prices in force",
    "后续措施完成": "Follow-up measures completed",
    "12月1日启动年度汇总": "Annual summary started on 1 December",
    "报告公布": "Report published",
    # deadline timers
    "整改期限届满": "Rectification period expired",
    "治理期限届满": "Treatment period expired",
    "拆除期限届满": "Dismantling deadline expired",
    "退出期限届满": "Exit deadline expired",
    # call activity
    "关停后续措施": "Follow-up measures after closure",
    # user tasks
    "企业整改": "Rectification by the enterprise",
    "审核延期申请": "Review of the extension request",
    "复查验收": "Re-inspection",
    "审批关停": "Approval of closure",
    "下达关停决定": "Closure order",
    "执行差别化电价水价": "Differential electricity and water prices",
    "解除差别化电价水价": "Lifting of differential electricity and water prices",
    "确定限期治理期限": "Time limit for treatment",
    "限期治理": "Treatment within a time limit",
    "责令停产整改": "Order to stop production and rectify",
    "责令立即停产停业整顿": "Order to suspend production and business at once for rectification",
    "认定拆除条件": "Assessment of whether dismantling is possible",
    "断水断电并封存主体设备": "Cutting water and power and sealing the main equipment",
    "企业公开承诺不再恢复生产": "Public commitment not to resume production",
    "网站公告接受社会监督": "Public announcement on the website for public supervision",
    "拆除主体设备": "Dismantling of the main equipment",
    "排查认定淘汰类项目": "Screening of items in the elimination category",
    "报告退出情况": "Report on the exit",
    "登记退出产能": "Record of the capacity exited",
    "职工安置方案": "Worker resettlement plan",
    "审核职工安置和转产专项资金": "Review of special funds for worker resettlement and conversion",
    "通报吊销相关证照": "Notice to revoke licences",
    "报请注销生产许可证": "Request to cancel the production licence",
    "纳入信用平台并公布": "Credit platform listing and publication",
    "落实差别化信贷政策": "Differential credit policy",
    "严控新增授信压缩贷款": "No new credit and reduction of loans",
    "腾退土地分类处置": "Disposal of the vacated land",
    "土地收入安排职工安置费用": "Land revenue for worker resettlement costs",
    "确认本部门年度关停退出清单": "Confirmation of the department's annual closure list",
    "汇总全市落后产能退出情况": "Compilation of the city's exit of outdated capacity",
    "审定年度报告": "Approval of the annual report",
}


def named(name, props=None):
    """Properties of an element people see listed: ``props`` then its English name (``nameEn``)."""
    return {**(props or {}), "nameEn": NAMES_EN[name]}


def start(id, name, lane):
    return dict(id=id, type="startEvent", name=name, lane=lane, props=named(name))


def end(id, name, lane, status=None):
    return dict(id=id, type="endEvent", name=name, lane=lane,
                props=named(name, {"caseStatus": status} if status else {}))


def task(id, name, lane, clause, wording):
    return dict(id=id, type="userTask", name=name, lane=lane,
                props=named(name, {"formJsonSchemaFilename": f"{id}.schema.json"}),
                doc=f"依据{clause}：“{wording}”。")


def running(node):
    """Mark a user task during which the case's legal deadline keeps running (shown as its due date)."""
    node["props"]["deadlineRunning"] = "true"
    return node


def xor(id, lane, name=None):
    return dict(id=id, type="exclusiveGateway", name=name, lane=lane)


def par(id, lane, name=None):
    return dict(id=id, type="parallelGateway", name=name, lane=lane)


def timer(id, host, name, clause, months=None, field=None):
    rule = {"deadlineRule": "statutory", "months": str(months)} if months else \
        {"deadlineRule": "field", "field": field}
    return dict(id=id, type="boundaryEvent", name=name, host=host,
                props=named(name, {**rule, "clause": clause}))


def call(id, name, lane, called):
    return dict(id=id, type="callActivity", name=name, lane=lane, called=called, props=named(name))


def flow(source, target, cond=None, default=False, name=None):
    return dict(source=source, target=target, cond=cond, default=default, name=name)


# Policy wording (policy/jining-2020-capacity-exit-plan.zh.txt), by clause.
W = {
    "C-2.1": "对达不到强制性能耗限额标准要求的产能，应在6个月内整改；确需延长整改期限的，"
             "可提出不超过3个月的延期申请",
    "C-2.1 close": "逾期未整改或经整改仍未达标的，依法关停退出",
    "C-2.2": "对超过污染物排放标准排污或者超过重点污染物总量控制指标的产能，应在6个月内整改，"
             "确需延长整改期限的，可提出不超过3个月的延期申请",
    "C-2.2 close": "逾期未整改或经整改仍未达标的，报经有批准权的人民政府批准，责令停业、关闭",
    "C-2.2b": "违反固体废物污染环境防治法律法规，造成固体废物严重污染环境的，采取限期治理",
    "C-2.2b close": "逾期未完成治理任务的，报经有批准权的人民政府批准，责令停业、关闭",
    "C-2.3": "对相关产品质量达不到强制性标准要求的产能，依法查处并责令停产整改",
    "C-2.3 close": "在6个月内未整改或经整改仍未达标的，报有批准权的人民政府依法关停退出",
    "C-2.4": "对安全生产条件达不到相关法律、行政法规和国家标准或行业标准要求的产能，立即停产停业整顿",
    "C-2.4 close": "经停产停业整顿仍不具备安全生产条件的，予以关闭，并通报有关部门依法吊销其相关证照",
    "C-2.5": "淘汰相关工艺技术装备，须拆除相应主体设备。具备拆除条件的应立即拆除",
    "C-2.5 seal": "暂不具备拆除条件的，应立即断水、断电，拆除动力装置，封存主体设备（生产线）",
    "C-2.5 commit": "企业向社会公开承诺不再恢复生产",
    "C-2.5 announce": "同时在市级人民政府或市级主管部门网站公告，接受社会监督，并限时拆除",
    "C-2.5 dismantle": "具备拆除条件的应立即拆除；暂不具备拆除条件的……限时拆除。依法全面拆除生产建筑用钢的"
              "工频炉、中频炉等装备",
    "C-2.6": "按照《产业结构调整指导目录（2019本）》“淘汰类”条目规定的要求，加大排查工作力度，严守时间节点",
    "C-2.6 report": "确保落后生产工艺装备或落后产品按时有序退出",
    "C-2.6 close": "通过依法关停、停业、关闭、取缔整个企业，或采取断电、断水，拆除动力装置，封存主体设备等措施"
              "淘汰相关主体设备（生产线），使相应产能不再投入生产",
    "C-3.1": "统筹中央和省级、市级有关专项资金，对符合条件的企业职工安置、转产转型等予以支持",
    "C-3.3": "对钢铁、水泥、电解铝等行业能耗、电耗达不到强制性标准的产能，执行差别电价、阶梯电价、惩罚性电价和"
             "超定额用水累进加价等差别化能源资源价格",
    "C-3.4": "对未按期退出落后产能的企业，严控新增授信，压缩退出存量贷款",
    "C-3.5": "指导企业落实主体责任，依法妥善处理劳动关系，制定好职工安置方案和风险处置预案",
    "C-3.6": "产能退出腾退的土地，依法依规分类处置，可采取政府收储改造、原土地使用权人自主或引入市场主体开发改造等"
             "多种方式盘活",
    "C-3.6 funds": "地方政府收回原划拨土地使用权后的土地出让收入，可按规定通过预算安排支付产能退出企业职工安置费用",
    "C-3.7": "对因工艺装备落后、环保和能耗不达标被依法关停的企业，由负责关停的有关部门或地方政府通报"
             "市场监管部门，由市场监管部门报请上级发证机关依法注销生产许可证",
    "C-3.8": "对未按期完成落后产能退出的企业，由相关部门将有关信息纳入市级信用信息共享平台和人民银行"
             "征信系统，并在“信用中国（山东济宁）”网站等平台公布",
    "C-4.2": "市有关部门将……依法关闭退出的企业、设备和产能情况，函告市工业和信息化局，计入当年落后产能退出情况",
}


def doc(key):
    """Clause id and wording for a W key ("C-2.2 close" -> ("C-2.2", wording))."""
    return key.split()[0], W[key]


def closing_tail(close, reinspect_key, pass_to, fail_to):
    """Re-inspection, government approval, close order and the call of closure_measures."""
    nodes = [
        xor("reinspect_merge", "lead"),
        task("reinspect", "复查验收", "lead", *doc(reinspect_key)),
        xor("reinspect_result", "lead", "复查结果"),
        end("end_compliant", "整改达标", "lead", "compliant"),
        xor("closure_merge", "government"),
        task("government_approval", "审批关停", "government", *doc(close)),
        xor("approval_result", "government", "是否批准"),
        task("close_order", "下达关停决定", "lead", *doc(close)),
        xor("exit_merge", "lead"),
        call("closure", "关停后续措施", "lead", "closure_measures"),
        end("end_exited", "关停退出", "lead", "exited"),
    ]
    if pass_to != "end_compliant":
        nodes = [n for n in nodes if n["id"] != "end_compliant"]
    flows = [
        flow("reinspect_merge", "reinspect"),
        flow("reinspect", "reinspect_result"),
        flow("reinspect_result", pass_to, 'result == "pass"', name="合格"),
        flow("reinspect_result", fail_to, default=True, name="不合格"),
        flow("closure_merge", "government_approval"),
        flow("government_approval", "approval_result"),
        flow("approval_result", "close_order", "approved == True", name="批准"),
        flow("approval_result", "reinspect_merge", default=True, name="不批准"),
        flow("close_order", "exit_merge"),
        flow("exit_merge", "closure"),
        flow("closure", "end_exited"),
    ]
    return nodes, flows


def rectification(pid, name, clause, close, before, timer_rule, notice="下达整改通知", extra=None,
                  clauses=None, extension=True):
    """A dimension process of the rectify / (extension) / re-inspect / close kind.

    before: (nodes, flows) from notice up to rectify_merge; extra: more (nodes, flows);
    extension: whether the law allows the one extension of up to 3 months (C-2.1, C-2.2 only).
    """
    nodes = [start("notice", notice, "lead"), *before[0],
             xor("rectify_merge", "enterprise"),
             task("rectify", "企业整改", "enterprise", *doc(clause)),
             timer("rectify_deadline", "rectify", "整改期限届满", doc(clause)[0], **timer_rule)]
    flows = [*before[1],
             flow("rectify_merge", "rectify"),
             flow("rectify_deadline", "closure_merge", name="逾期")]
    if extension:
        nodes += [xor("rectify_outcome", "enterprise", "整改结果"),
                  running(task("review_extension", "审核延期申请", "lead", *doc(clause)))]
        flows += [flow("rectify", "rectify_outcome"),
                  flow("rectify_outcome", "review_extension", 'outcome == "extension_requested"',
                       name="申请延期"),
                  flow("rectify_outcome", "reinspect_merge", default=True, name="已整改"),
                  flow("review_extension", "rectify_merge")]
    else:
        flows.append(flow("rectify", "reinspect_merge"))
    tail = closing_tail(close, close, "end_compliant", "closure_merge")
    nodes += tail[0]
    flows += tail[1]
    if extra:
        nodes, flows = nodes + extra[0], flows + extra[1]
    return dict(id=pid, name=name, clauses=clauses or clause, lanes=["lead", "enterprise", "government"],
                nodes=nodes, flows=flows)


# C-3.3: differential prices for these industries' capacity failing energy limits (energy_use cases).
PRICED = 'industry in ("steel", "cement", "aluminium")'


def with_price_measure(proc):
    """Add C-3.3 to an energy-use process: a parallel branch from the notice in which `development` sets the
    differential prices (ending on its own, so rectification never waits on it), and on the compliant path
    `lift_differential_price` before ``end_compliant``; an exit ends the prices with the closure (no lift)."""
    proc["lanes"].append("development")
    proc["nodes"][1:1] = [xor("price_route", "lead", "是否执行差别化价格"), par("price_fork", "lead"),
                          task("set_differential_price", "执行差别化电价水价", "development", *doc("C-3.3")),
                          end("price_set", "差别化价格已执行", "development")]
    proc["nodes"].extend([xor("lift_route", "lead", "是否解除差别化价格"),
                          task("lift_differential_price", "解除差别化电价水价", "development", *doc("C-3.3")),
                          xor("lift_merge", "lead")])
    flows = []
    for f in proc["flows"]:
        if (f["source"], f["target"]) == ("notice", "rectify_merge"):
            flows += [flow("notice", "price_route"),
                      flow("price_route", "price_fork", PRICED, name="钢铁水泥电解铝"),
                      flow("price_route", "rectify_merge", default=True, name="其他行业"),
                      flow("price_fork", "rectify_merge"),
                      flow("price_fork", "set_differential_price"),
                      flow("set_differential_price", "price_set")]
        elif (f["source"], f["target"]) == ("reinspect_result", "end_compliant"):
            flows += [{**f, "target": "lift_route"},
                      flow("lift_route", "lift_differential_price", PRICED, name="已执行差别化价格"),
                      flow("lift_route", "lift_merge", default=True, name="其他行业"),
                      flow("lift_differential_price", "lift_merge"),
                      flow("lift_merge", "end_compliant")]
        else:
            flows.append(f)
    proc["flows"] = flows
    return proc


ENERGY_USE = with_price_measure(rectification(
    "energy_use", "能耗不达标产能整改退出", "C-2.1", "C-2.1 close",
    ([], [flow("notice", "rectify_merge")]), {"months": 6}))

ENVIRONMENTAL = rectification(
    "environmental", "环保不达标产能整改退出", "C-2.2", "C-2.2 close",
    ([xor("finding_kind", "lead", "是否固体废物污染")],
     [flow("notice", "finding_kind"),
      flow("finding_kind", "set_treatment_deadline", "solid_waste == True", name="固体废物"),
      flow("finding_kind", "rectify_merge", default=True, name="超标排污")]),
    {"months": 6}, clauses="C-2.2 C-2.2b",
    extra=([task("set_treatment_deadline", "确定限期治理期限", "lead", *doc("C-2.2b")),
            task("treat_solid_waste", "限期治理", "enterprise", *doc("C-2.2b")),
            timer("treatment_deadline", "treat_solid_waste", "治理期限届满", "C-2.2b",
                  field="treatment_deadline")],
           [flow("set_treatment_deadline", "treat_solid_waste"),
            flow("treat_solid_waste", "reinspect_merge"),
            flow("treatment_deadline", "closure_merge", name="逾期")]))

QUALITY = rectification(
    "quality", "质量不达标产能整改退出", "C-2.3", "C-2.3 close",
    ([running(task("order_stop", "责令停产整改", "lead", *doc("C-2.3")))],
     [flow("notice", "order_stop"), flow("order_stop", "rectify_merge")]),
    {"months": 6}, extension=False)

SAFETY = rectification(
    "safety", "安全不达标产能停产整顿", "C-2.4", "C-2.4 close",
    ([task("order_suspension", "责令立即停产停业整顿", "lead", *doc("C-2.4"))],
     [flow("notice", "order_suspension"), flow("order_suspension", "rectify_merge")]),
    {"field": "rectify_until"}, notice="下达停产整顿通知", extension=False)

# C-2.5: the dismantling deadline the department sets in assess_dismantling runs from then on, through the
# sealing, the commitment and the announcement, until the dismantling: each of those steps carries the same
# boundary timer as `dismantle`, so the deadline shows as running and fires at 24:00 of its last day on
# whichever step is open (overdue: government approval, then credit listing, C-3.8). Kept as timers on the
# steps rather than one timer on an embedded subprocess: SpiffWorkflow 3.2 gives a subprocess's tasks the
# subprocess's lane (seal and announce are the department's, the commitment the enterprise's).
SEALED_PERIOD = (("seal_deadline_timer", "seal_equipment"), ("commitment_deadline_timer", "public_commitment"),
                 ("announcement_deadline_timer", "publish_announcement"))


def sealed_period_timers():
    """The dismantling deadline's timers on the steps between its setting and the dismantling (C-2.5)."""
    return [timer(tid, host, "拆除期限届满", "C-2.5", field="dismantle_deadline") for tid, host in SEALED_PERIOD]


TECHNOLOGY = dict(
    id="technology", name="淘汰工艺装备拆除", clauses="C-2.5 C-2.6",
    lanes=["lead", "enterprise", "government"],
    nodes=[start("notice", "下达淘汰装备通知", "lead"),
           task("assess_dismantling", "认定拆除条件", "lead", *doc("C-2.5")),
           xor("dismantle_route", "lead", "是否立即拆除"),
           task("seal_equipment", "断水断电并封存主体设备", "lead", *doc("C-2.5 seal")),
           task("public_commitment", "企业公开承诺不再恢复生产", "enterprise", *doc("C-2.5 commit")),
           task("publish_announcement", "网站公告接受社会监督", "lead", *doc("C-2.5 announce")),
           xor("dismantle_merge", "enterprise"),
           task("dismantle", "拆除主体设备", "enterprise", *doc("C-2.5 dismantle")),
           timer("dismantle_deadline_timer", "dismantle", "拆除期限届满", "C-2.5",
                 field="dismantle_deadline"),
           *sealed_period_timers()],
    flows=[flow("notice", "assess_dismantling"),
           flow("assess_dismantling", "dismantle_route"),
           flow("dismantle_route", "dismantle_merge", "dismantlable == True or ditiaogang == True",
                name="具备拆除条件或地条钢"),
           flow("dismantle_route", "seal_equipment", default=True, name="暂不具备"),
           flow("seal_equipment", "public_commitment"),
           flow("public_commitment", "publish_announcement"),
           flow("publish_announcement", "dismantle_merge"),
           flow("dismantle_merge", "dismantle"),
           flow("dismantle", "reinspect_merge"),
           flow("dismantle_deadline_timer", "closure_merge", name="逾期"),
           *[flow(tid, "closure_merge", name="逾期") for tid, _host in SEALED_PERIOD]])

PHASE_OUT = dict(
    id="phase_out", name="淘汰类产能退出", clauses="C-2.6",
    lanes=["lead", "enterprise", "government"],
    nodes=[start("notice", "下达退出通知", "lead"),
           task("screen_item", "排查认定淘汰类项目", "lead", *doc("C-2.6")),
           xor("exit_report_merge", "enterprise"),
           task("exit_report", "报告退出情况", "enterprise", *doc("C-2.6 report")),
           timer("exit_deadline_timer", "exit_report", "退出期限届满", "C-2.6", field="exit_deadline")],
    flows=[flow("notice", "screen_item"),
           flow("screen_item", "exit_report_merge"),
           flow("exit_report_merge", "exit_report"),
           flow("exit_report", "reinspect_merge"),
           flow("exit_deadline_timer", "closure_merge", name="逾期")])

for _proc, _reinspect, _loop in ((TECHNOLOGY, "C-2.5 dismantle", "dismantle_merge"),
                                 (PHASE_OUT, "C-2.6 report", "exit_report_merge")):
    _nodes, _flows = closing_tail("C-2.6 close", _reinspect, "exit_merge", _loop)
    _proc["nodes"] += _nodes
    _proc["flows"] += _flows

OVERDUE_EXIT = 'overdue == True and dimension in ("technology", "phase_out")'
WHOLE_SITE = 'dimension == "phase_out" and exit_method == "close_enterprise"'

CLOSURE_MEASURES = dict(
    id="closure_measures", name="关停后续措施", clauses="C-3.1 C-3.4 C-3.5 C-3.6 C-3.7 C-3.8",
    lanes=["lead", "market", "hrss", "finance", "land", "development", "pboc", "banking"],
    nodes=[start("closure_start", "关停退出", "lead"),
           task("record_exit", "登记退出产能", "lead", *doc("C-4.2")),
           par("measures_fork", "lead"),
           task("resettle_workers", "职工安置方案", "hrss", *doc("C-3.5")),
           task("review_special_funds", "审核职工安置和转产专项资金", "finance", *doc("C-3.1")),
           xor("licence_route", "lead", "证照处理"),
           task("revoke_licences_notice", "通报吊销相关证照", "lead", *doc("C-2.4 close")),
           task("cancel_licence", "报请注销生产许可证", "market", *doc("C-3.7")),
           xor("licence_merge", "lead"),
           xor("credit_route", "development", "是否逾期未退出"),
           par("credit_fork", "development"),
           task("credit_listing", "纳入信用平台并公布", "development", *doc("C-3.8")),
           task("restrict_credit_pboc", "落实差别化信贷政策", "pboc", *doc("C-3.4")),
           task("restrict_credit_banking", "严控新增授信压缩贷款", "banking", *doc("C-3.4")),
           par("credit_join", "development"),
           xor("credit_merge", "development"),
           xor("land_route", "land", "是否整体关闭企业"),
           task("dispose_land", "腾退土地分类处置", "land", *doc("C-3.6")),
           task("land_funds", "土地收入安排职工安置费用", "finance", *doc("C-3.6 funds")),
           xor("land_merge", "land"),
           par("measures_join", "lead"),
           end("closure_done", "后续措施完成", "lead")],
    flows=[flow("closure_start", "record_exit"),
           flow("record_exit", "measures_fork"),
           flow("measures_fork", "resettle_workers"),
           flow("measures_fork", "licence_route"),
           flow("measures_fork", "credit_route"),
           flow("measures_fork", "land_route"),
           flow("resettle_workers", "review_special_funds"),
           flow("review_special_funds", "measures_join"),
           flow("licence_route", "revoke_licences_notice", 'dimension == "safety"', name="安全"),
           flow("licence_route", "cancel_licence",
                'dimension in ("energy_use", "environmental", "technology", "phase_out")',
                name="装备、环保、能耗"),
           flow("licence_route", "licence_merge", default=True, name="其他"),
           flow("revoke_licences_notice", "licence_merge"),
           flow("cancel_licence", "licence_merge"),
           flow("licence_merge", "measures_join"),
           flow("credit_route", "credit_fork", OVERDUE_EXIT, name="逾期"),
           flow("credit_route", "credit_merge", default=True, name="按期"),
           flow("credit_fork", "credit_listing"),
           flow("credit_fork", "restrict_credit_pboc"),
           flow("credit_fork", "restrict_credit_banking"),
           flow("credit_listing", "credit_join"),
           flow("restrict_credit_pboc", "credit_join"),
           flow("restrict_credit_banking", "credit_join"),
           flow("credit_join", "credit_merge"),
           flow("credit_merge", "measures_join"),
           flow("land_route", "dispose_land", WHOLE_SITE, name="整体关闭"),
           flow("land_route", "land_merge", default=True, name="其他"),
           flow("dispose_land", "land_funds"),
           flow("land_funds", "land_merge"),
           flow("land_merge", "measures_join"),
           flow("measures_join", "closure_done")])

PROCESSES = [ENERGY_USE, ENVIRONMENTAL, QUALITY, SAFETY, TECHNOLOGY, PHASE_OUT, CLOSURE_MEASURES]
