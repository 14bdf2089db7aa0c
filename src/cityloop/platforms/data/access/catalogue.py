"""The names of access-log codes in English and Chinese: purposes, fields, legal bases.

A read is recorded only with codes named here, so the citizen always sees it in their own
language. A package that reads people's data for a new purpose, or reads a new field, adds its
codes here.
"""

from __future__ import annotations

PURPOSES: dict[str, tuple[str, str]] = {
    "prefill": ("Prefilling an application form", "预填申请表"),
    # Reads between departments under a sharing grant (platforms/data/sharing).
    "shared_read": ("Reading a shared dataset under a sharing grant", "依共享授权读取共享数据"),
    "shared_lookup": ("A check of your data under a sharing grant", "依共享授权核查您的信息"),
    "review": ("Reviewing an application", "审核申请"),
    "counter_verification": ("Identity check at a service counter", "窗口实名核验"),
    "enterprise_check": ("Checking who may act for an enterprise", "核验企业经办权限"),
    "licence_issue": ("Issuing a licence", "签发证照"),
    "case_follow_up": ("Following up your report with you", "就您反映的问题与您沟通"),
    "callback": ("Calling you back about your report", "就您反映的问题回访"),
    "export": ("Exporting records that include your data", "导出含有您数据的记录"),
    # A field worker's last position on the operations centre's map (operations/citymap.py).
    "operations_centre": (
        "Showing your crew on the operations centre's map",
        "在运行中心地图上显示您所在的班组",
    ),
}

FIELDS: dict[str, tuple[str, str]] = {
    "legal_name": ("Legal name", "姓名"),
    # A row about you in a shared dataset, when none of the columns read names a field above.
    "shared_record": ("A record about you in a shared dataset", "共享数据集中关于您的记录"),
    "id_number": ("Identity number", "身份证号码"),
    "birth_date": ("Date of birth", "出生日期"),
    "phone": ("Phone number", "手机号码"),
    "email": ("E-mail address", "电子邮箱"),
    "address": ("Address", "住址"),
    "real_name_level": ("Real-name level", "实名等级"),
    "enterprise_registration": ("Enterprise registration", "企业登记信息"),
    "licences": ("Licences held", "持有的证照"),
    "application": ("An application's form and materials", "申请表及申请材料"),
    "contact_name": ("Name given as a contact", "留下的联系人姓名"),
    "position": ("Last reported position", "最近上报的位置"),
}

LEGAL_BASES: dict[str, tuple[str, str]] = {
    "consent": ("With your consent", "经您同意"),
    "statutory": ("Required by law for this procedure", "依法履职所需"),
}

# Actor roles as a citizen reads them (staff usernames are not shown to citizens).
ROLES: dict[str, tuple[str, str]] = {
    "admin": ("Administrator", "系统管理员"),
    "dispatcher": ("Dispatcher", "派遣员"),
    "supervisor": ("Supervisor", "监督员"),
    "handler": ("Department handler", "部门处置员"),
    "worker": ("Field worker", "一线作业员"),
    "hotline": ("Hotline operator", "12345 话务员"),
    "inspector": ("Grid inspector", "网格员"),
    "clerk": ("Counter clerk", "窗口工作人员"),
    "leader": ("City or district leader", "领导"),
    "system": ("The platform itself", "系统自动"),
}


def names(table: dict[str, tuple[str, str]], code: str) -> tuple[str, str]:
    """The (English, Chinese) names of a code; the code itself for one not (or no longer) named."""
    return table.get(code, (code, code))


# The columns of an exported log (``GET /me/data-access/export``), headed in the reader's language.
EXPORT_COLUMNS: dict[str, tuple[str, str]] = {
    "at": ("Time", "时间"),
    "department": ("Department", "部门"),
    "role": ("Role", "角色"),
    "purpose": ("Purpose", "用途"),
    "grant": ("Sharing grant", "共享授权"),
    "fields": ("Data read", "读取内容"),
    "legal_basis": ("Legal basis", "依据"),
    "consent": ("Consent", "授权"),
    "reference": ("For", "事由"),
}


def name_in(table: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    """A code's name in ``lang`` (Chinese for any zh locale, English otherwise)."""
    english, chinese = names(table, code)
    return chinese if lang.startswith("zh") else english
