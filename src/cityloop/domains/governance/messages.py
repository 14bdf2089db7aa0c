"""The platform's public status lines, in English and Chinese.

A timeline row stores the message code and its parameters, so each front end shows the line in
its reader's language; the English text is also stored for Open311 and e-mail.
"""

from __future__ import annotations

from cityloop.base.messages import Message, register, render_stored

__all__ = ["TEMPLATES", "Message", "render_stored"]

TEMPLATES: dict[str, tuple[str, str]] = {
    "received": ("Report received", "已收到您的上报"),
    "supported": (
        "Another report of this problem was added to this case",
        "又有市民上报了同一问题，已并入本案卷",
    ),
    "registered": ("Registered as a case (立案)", "已立案"),
    "rejected": ("Not accepted: {reason}", "不予立案：{reason}"),
    "absorbed": ("Case {case} was merged into this case", "案卷 {case} 已并入本案卷"),
    "merged": (
        "Merged into case {case}; follow that case for updates",
        "已合并至案卷 {case}，请关注该案卷的进展",
    ),
    "assigned": ("Assigned to {department}", "已派遣至{department_zh}"),
    "started": ("Work has started", "已开始处置"),
    "resolved": (
        "The department reports the work done; the supervision centre will check it",
        "处置部门已反馈完成，等待监督中心核查",
    ),
    "closed_fixed": ("Closed: fixed", "已结案：已修复"),
    "closed_referred": ("Closed: referred to {body}", "已结案：已转交{body}"),
    "closed_not_actionable": ("Closed: not actionable. {reason}", "已结案：无法处理。{reason}"),
    "closed_duplicate": ("Closed: duplicate of case {case}", "已结案：与案卷 {case} 重复"),
    "reopened": ("Sent back to the department for rework (返工)", "已退回处置部门返工"),
    "upheld": ("The close was reviewed and upheld: {reason}", "经复核，维持结案：{reason}"),
    "handed_over": ("Handed over to {department}", "已移交{department_zh}"),
    "device_normal": (
        "The sensor {device} reports normal again; the case stays open until the fix is checked",
        "传感器 {device} 已恢复正常；案卷在核查确认前仍在办理中",
    ),
    "disputed": (
        "A resident says this is still not fixed; the supervision centre will review it",
        "有市民反映问题仍未解决，监督中心将进行复核",
    ),
    # Staff-only lines: who in the department works on a case.
    "worker_assigned": ("Assigned to {worker}", "已指派给{worker_zh}"),
    "crew_assigned": ("Assigned to the crew {crew}", "已指派给班组{crew_zh}"),
    "assignment_withdrawn": ("The assignment was withdrawn", "已取消指派"),
    # To the worker(s), in their inbox.
    "assignment_notice": (
        "Case {case} ({category}) was assigned to you",
        "案卷 {case}（{category_zh}）已指派给您",
    ),
    "crew_assignment_notice": (
        "Case {case} ({category}) was assigned to your crew {crew}",
        "案卷 {case}（{category_zh}）已指派给您所在的班组{crew_zh}",
    ),
}


register(TEMPLATES)
