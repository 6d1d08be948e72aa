"""The parties, dimensions and industries of DOMAIN.md, and who may lead which procedure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Party:
    """A department or other party, with its stable code."""

    code: str
    name_zh: str
    name_en: str


PARTIES: tuple[Party, ...] = (
    Party("industry", "市工业和信息化局", "Industry and Information Technology Bureau"),
    Party("development", "市发展和改革委员会", "Development and Reform Commission"),
    Party("environment", "市生态环境局", "Ecology and Environment Bureau"),
    Party("emergency", "市应急管理局", "Emergency Management Bureau"),
    Party("market", "市市场监督管理局", "Market Regulation Administration"),
    Party("energy", "市能源局", "Energy Bureau"),
    Party("finance", "市财政局", "Finance Bureau"),
    Party("hrss", "市人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    Party("land", "市自然资源和规划局", "Natural Resources and Planning Bureau"),
    Party("pboc", "人民银行济宁市中心支行", "People's Bank of China, Jining branch"),
    Party("banking", "济宁银保监分局", "Banking and Insurance Regulatory sub-bureau"),
    Party("government", "有批准权的人民政府", "People's government with approval authority"),
    Party("enterprise", "企业", "The regulated enterprise"),
)
PARTY_CODES = frozenset(p.code for p in PARTIES)
_PARTY_ORDER = {p.code: i for i, p in enumerate(PARTIES)}


def party_order(code: str) -> tuple[int, str]:
    """Sort key for department codes: the parties in the order of DOMAIN.md, then any others by code."""
    return _PARTY_ORDER.get(code, len(_PARTY_ORDER)), code


@dataclass(frozen=True)
class Dimension:
    """A dimension of the comprehensive standard, its procedure and who may lead it."""

    code: str
    name_zh: str
    name_en: str
    clause: str
    leads: tuple[str, ...]


DIMENSIONS: dict[str, Dimension] = {d.code: d for d in (
    Dimension("energy_use", "能耗", "Energy use", "C-2.1", ("industry", "development", "energy")),
    Dimension("environmental", "环保", "Environmental protection", "C-2.2", ("environment",)),
    Dimension("quality", "质量", "Product quality", "C-2.3", ("market",)),
    Dimension("safety", "安全", "Work safety", "C-2.4", ("emergency", "energy")),
    Dimension("technology", "技术", "Eliminated technology", "C-2.5", ("industry", "development", "energy")),
    Dimension("phase_out", "产能退出", "Catalogue phase-out", "C-2.6",
              ("industry", "development", "environment", "emergency", "market", "energy")),
)}

INDUSTRIES: dict[str, tuple[str, str]] = {
    "steel": ("钢铁", "Steel"),
    "coal": ("煤炭", "Coal"),
    "cement": ("水泥", "Cement"),
    "aluminium": ("电解铝", "Electrolytic aluminium"),
    "flat_glass": ("平板玻璃", "Flat glass"),
    "other": ("其他", "Other"),
}

ROLES = ("staff", "supervisor", "owner", "admin", "enterprise")


def default_lead(dimension: str, industry: str) -> str:
    """The lead department DOMAIN.md proposes for a dimension and industry (coal goes to energy)."""
    leads = DIMENSIONS[dimension].leads
    if industry == "coal" and "energy" in leads:
        return "energy"
    return leads[0]


def party_name(code: str, lang: str = "zh") -> str:
    """The display name of a party code."""
    for party in PARTIES:
        if party.code == code:
            return party.name_en if lang == "en" else party.name_zh
    return code
