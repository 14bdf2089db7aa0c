"""The platform's public status lines, in English and Chinese.

A timeline row stores the message code and its parameters, so each front end shows the line in
its reader's language; the English text is also stored for Open311 and e-mail.
"""

from __future__ import annotations

from cityloop.base.messages import Message, register, render_stored
from cityloop.domains.governance.problem_texts import PROBLEMS

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
    "case.update": ("Case {case}: {line}", "案卷 {case}：{line_zh}"),
    "case.email_subject": (
        "Your report, case {case}: {status}",
        "您的上报（案卷 {case}）：{status}",
    ),
    "case.follow_with_token": (
        "Follow it with your tracking code: {token}",
        "可凭查询码跟踪进展：{token}",
    ),
    "case.escalated": (
        "Case {case} was escalated ({reason})",
        "案卷 {case} 已升级督办（{reason}）",
    ),
    "case.no_update": (
        "Case {case} has had no public update for too long",
        "案卷 {case} 已过久未向公众更新进展",
    ),
    "note.auto_registered": ("Auto-registered", "系统自动立案"),
    "note.auto_dispatched": ("Auto-dispatched", "系统自动派遣"),
    "note.overdue": ("Past its resolution deadline {due}", "已超过处置时限 {due}"),
    "note.response_overdue": (
        "No response within the response target",
        "未在响应时限内响应",
    ),
    "note.stale": (
        "No public update for over {hours} h; post one",
        "已超过 {hours} 小时未向公众更新进展，请及时更新",
    ),
    "open311.merged": ("Merged into request {case}", "已合并至请求 {case}"),
    "open311.duplicate": ("Duplicate of request {case}", "与请求 {case} 重复"),
    "live.sign_in": ("sign in first", "请先登录"),
    "live.staff_only": ("the live feed is for staff", "实时动态仅供工作人员使用"),
    "intake.new_case": ("Your report is case {case}", "您的上报已立为案卷 {case}"),
    "intake.joined": (
        "This problem was already reported as case {case}; your report was added to it "
        "and you will get its updates",
        "该问题已有人上报（案卷 {case}），您的上报已并入该案卷，您会收到它的进展",
    ),
    "intake.unknown_token": ("no report has this tracking token", "没有与该查询码对应的上报"),
    "intake.case_not_open": (
        "case {case} is {status}; report the problem anew",
        "案卷 {case} 的状态为 {status}，无法附议，请重新上报",
    ),
    "public.bad_bbox": (
        "bbox is min_lon,min_lat,max_lon,max_lat",
        "bbox 的格式为 min_lon,min_lat,max_lon,max_lat",
    ),
    "routing.district_rule": (
        "rule #{rule}: {category} in {district} goes to {department}",
        "规则 #{rule}：{district_zh}的“{category_zh}”由{department_zh}处理",
    ),
    "routing.city_rule": (
        "rule #{rule}: {category} in any district goes to {department}",
        "规则 #{rule}：全市各区的“{category_zh}”由{department_zh}处理",
    ),
    "routing.category_default": (
        "no routing rule: {category} goes to its default department, {department}",
        "无分派规则：“{category_zh}”由该类别的默认部门{department_zh}处理",
    ),
    "routing.override": (
        "dispatched to {department} by {actor} instead of {routed}",
        "由 {actor} 派遣至{department_zh}，而非规则指定的{routed_zh}",
    ),
    "routing.reassigned": (
        "handed from {previous} to {department}",
        "由{previous_zh}移交至{department_zh}",
    ),
    "disputed": (
        "A resident says this is still not fixed; the supervision centre will review it",
        "有市民反映问题仍未解决，监督中心将进行复核",
    ),
    # Staff-only lines: who in the department works on a case.
    "worker_assigned": ("Assigned to {worker}", "已指派给{worker_zh}"),
    "crew_assigned": ("Assigned to the crew {crew}", "已指派给班组{crew_zh}"),
    "assignment_withdrawn": ("The assignment was withdrawn", "已取消指派"),
    "worker_deactivated": (
        "{worker}'s account was deactivated, so the case is no longer assigned to them",
        "{worker_zh}的账号已停用，案卷不再指派给其本人",
    ),
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
register(PROBLEMS)
