"""The controlled vocabularies of the catalogue, each code with its English and Chinese name.

Themes and frequencies are the EU Publications Office's authority tables that DCAT-AP uses, so a
national portal harvesting the catalogue reads them without a mapping.
"""

from __future__ import annotations

from datetime import timedelta

EU_VOCABULARIES = "http://publications.europa.eu/resource/authority/"

THEMES: dict[str, tuple[str, str]] = {
    "AGRI": ("Agriculture, fisheries, forestry and food", "农业、渔业、林业和食品"),
    "ECON": ("Economy and finance", "经济和金融"),
    "EDUC": ("Education, culture and sport", "教育、文化和体育"),
    "ENER": ("Energy", "能源"),
    "ENVI": ("Environment", "环境"),
    "GOVE": ("Government and public sector", "政府和公共部门"),
    "HEAL": ("Health", "卫生健康"),
    "INTR": ("International issues", "国际事务"),
    "JUST": ("Justice, legal system and public safety", "司法和公共安全"),
    "REGI": ("Regions and cities", "区域和城市"),
    "SOCI": ("Population and society", "人口和社会"),
    "TECH": ("Science and technology", "科学技术"),
    "TRAN": ("Transport", "交通运输"),
}

# Each frequency with the age after which a dataset of that frequency counts as stale
# (the period plus a margin for a late run); None: never stale by age.
FREQUENCIES: dict[str, tuple[str, str, timedelta | None]] = {
    "CONT": ("Continuously updated", "持续更新", timedelta(hours=2)),
    "HOURLY": ("Hourly", "每小时", timedelta(hours=3)),
    "DAILY": ("Daily", "每日", timedelta(days=2)),
    "WEEKLY": ("Weekly", "每周", timedelta(days=9)),
    "MONTHLY": ("Monthly", "每月", timedelta(days=35)),
    "QUARTERLY": ("Quarterly", "每季度", timedelta(days=100)),
    "ANNUAL": ("Annual", "每年", timedelta(days=380)),
    "IRREG": ("Irregular", "不定期", None),
}

LICENCES: dict[str, tuple[str, str, str]] = {
    "CC-BY-4.0": (
        "Creative Commons Attribution 4.0",
        "知识共享署名 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "CC0-1.0": (
        "Creative Commons Zero 1.0 (public domain)",
        "知识共享零 1.0（公有领域）",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    "ODbL-1.0": (
        "Open Data Commons Open Database License 1.0",
        "开放数据共享开放数据库许可 1.0",
        "https://opendatacommons.org/licenses/odbl/1-0/",
    ),
    "internal": (
        "For use by city departments only",
        "仅限政府部门内部使用",
        "",
    ),
}

SENSITIVITY_NAMES: dict[str, tuple[str, str]] = {
    "open": ("Open to everyone", "无条件开放"),
    "shared": ("Shared between departments under a grant", "有条件共享（部门间授权）"),
    "personal": ("Personal data", "个人数据"),
}

FORMATS: dict[str, tuple[str, str]] = {
    # format → (media type, file extension)
    "CSV": ("text/csv", "csv"),
    "JSON": ("application/json", "json"),
    "GeoJSON": ("application/geo+json", "geojson"),
    "Parquet": ("application/vnd.apache.parquet", "parquet"),
}
