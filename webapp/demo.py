"""Demo data: one user per role and department, enterprises, and cases at various stages."""

from __future__ import annotations

import sqlalchemy as sa

from engine.context import Actor, EngineContext
from engine.credit_code import make_credit_code
from engine.models import Case, User
from engine.parties import default_lead
from engine.services import cases, tasks, users

PASSWORD = "capexit-demo"
STAFF = ("industry", "development", "environment", "emergency", "market", "energy", "finance", "hrss", "land",
         "pboc", "banking", "government")
ENTERPRISES = (
    ("济宁示范钢铁有限公司", "steel", "任城区", "energy_use"),
    ("兖州示范水泥有限公司", "cement", "兖州区", "environmental"),
    ("邹城示范煤业有限公司", "coal", "邹城市", "safety"),
    ("曲阜示范玻璃有限公司", "flat_glass", "曲阜市", "quality"),
    ("嘉祥示范铸造有限公司", "steel", "嘉祥县", "technology"),
    ("汶上示范电解铝有限公司", "aluminium", "汶上县", "phase_out"),
)

# Real names of the demo accounts (invented): records show them as 王明（industry_staff）.
NAMES = {"supervisor": "赵建国", "owner": "钱立新", "admin": "孙海涛", "industry_staff": "王明",
         "development_staff": "李娜", "environment_staff": "张伟", "emergency_staff": "刘洋", "market_staff": "陈静",
         "energy_staff": "杨帆", "finance_staff": "黄丽", "hrss_staff": "周强", "land_staff": "吴敏", "pboc_staff": "徐磊",
         "banking_staff": "朱红", "government_staff": "马骏", "enterprise1": "胡志刚", "enterprise2": "郭春燕",
         "enterprise3": "何平", "enterprise4": "高峰", "enterprise5": "林晓东", "enterprise6": "罗建华"}


def demo_code(index: int) -> str:
    """A valid unified social credit code for demo enterprise ``index``."""
    return make_credit_code(f"9137080{index:01d}MA3C{index:04d}X"[:17].ljust(17, "0"))


def load_demo(ctx: EngineContext) -> list[str]:
    """Create the demo users and cases (once); return the login lines to print."""
    with ctx.unit_of_work() as session:
        already = session.scalar(sa.select(sa.func.count()).select_from(User).where(User.username == "supervisor"))
    logins = [("supervisor", "supervisor", ""), ("owner", "owner", ""), ("admin", "admin", "")]
    logins += [(f"{code}_staff", "staff", code) for code in STAFF]
    logins += [(f"enterprise{i}", "enterprise", demo_code(i)) for i in range(1, len(ENTERPRISES) + 1)]
    if not already:
        for name, role, extra in logins:
            users.add_user(ctx, name, role, PASSWORD, department=extra if role == "staff" else None,
                           enterprise=extra if role == "enterprise" else None, display_name=NAMES.get(name))
        _demo_cases(ctx)
    with ctx.unit_of_work() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(Case))
    lines = [f"demo data ready: {count} cases. Every demo password is {PASSWORD!r}.", "logins:"]
    lines += [f"  {name:<22} {role:<10} {extra:<18} {NAMES.get(name, '')}".rstrip() for name, role, extra in logins]
    return lines


def _demo_cases(ctx: EngineContext) -> None:
    staff = {d: Actor(f"{d}_staff", "staff", d) for d in STAFF}
    for i, (name, industry, county, dimension) in enumerate(ENTERPRISES, start=1):
        request = cases.NewCase(dimension=dimension, enterprise={
            "name": name, "credit_code": demo_code(i), "county": county, "industry": industry,
            "address": f"济宁市{county}示范路{i}号"}, finding={"standard": "示范标准", "evidence": "现场检查记录"})
        lead = default_lead(dimension, industry)
        case_id = cases.start_case(ctx, staff[lead] if lead in staff else Actor("admin", "admin"), request)
        if dimension == "energy_use":
            enterprise = Actor(f"enterprise{i}", "enterprise", enterprise_code=demo_code(i))
            task = tasks.list_tasks(ctx, enterprise)[0]
            tasks.complete_task(ctx, enterprise, task["id"], {
                "outcome": "extension_requested", "extension_months": 2, "reason": "设备改造周期较长"})
        if case_id and dimension == "safety":
            task = tasks.list_tasks(ctx, staff["energy"])[0]
            tasks.complete_task(ctx, staff["energy"], task["id"], {
                "order_no": "济应急停〔2026〕1号", "rectify_until": _in_days(ctx, 60), "requirements": "完成安全整改"})


def _in_days(ctx: EngineContext, days: int) -> str:
    from datetime import timedelta

    return (ctx.today() + timedelta(days=days)).isoformat()
