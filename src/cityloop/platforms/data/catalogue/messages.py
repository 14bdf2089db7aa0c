"""What the data catalogue tells people, in English and Chinese, by message code (registered with
the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "catalogue.administrator_names_owner_department": (
        "an administrator names the owner_department",
        "管理员须指明 owner_department",
    ),
    "catalogue.role_may_define_datasets": (
        "role {actor_role} may not define datasets",
        "角色 {actor_role} 不能定义数据集",
    ),
    "catalogue.view_s_columns_follow": (
        "a view's columns follow from its query: give no table_schema",
        "视图的列由其查询决定：请勿提供 table_schema",
    ),
    "catalogue.give_table_schema_uploads": (
        "give a table_schema (for uploads) or a view_query",
        "请提供 table_schema（用于上传）或 view_query",
    ),
    "catalogue.staff_define_datasets_their": (
        "staff define datasets for their own department only",
        "工作人员只能为本部门定义数据集",
    ),
    "catalogue.view_query_unknown_members": (
        "view_query has unknown members {members}",
        "view_query 含有未知成员 {members}",
    ),
    "catalogue.grouped_view_names_columns": (
        "a grouped view names its columns in group_by and aggregates",
        "分组视图须在 group_by 和 aggregates 中列出其列",
    ),
    "catalogue.view_query_object_naming": (
        "view_query must be an object naming its source dataset",
        "view_query 必须是指明源数据集的对象",
    ),
    "catalogue.view_may_read_open": (
        "a view may read open datasets and your department's own; {source_name} is {sensitivity} "
        "data of {owner_department}",
        "视图只能读取开放数据集和本部门的数据集；{source_name} 是 {owner_department} 的 "
        "{sensitivity} 数据",
    ),
    "catalogue.view_sensitivity": (
        "a view of {sensitivity} data cannot be {sensitivity2}",
        "{sensitivity} 数据的视图不能是 {sensitivity2}",
    ),
    "catalogue.unknown_field": (
        "{where}: {source_name} has no field {name}",
        "{where}：{source_name} 没有字段 {name}",
    ),
    "catalogue.aggregates_op": (
        "aggregates: op must be one of {members}",
        "aggregates：op 必须是以下之一：{members}",
    ),
    "catalogue.aggregates_number_field": (
        "aggregates: {op} needs a number field, not {field}",
        "aggregates：{op} 需要数值字段，而不是 {field}",
    ),
    "catalogue.dataset_belongs_department_only": (
        "dataset {dataset_name} belongs to department {owner_department}; only its staff (or an "
        "administrator) may change it",
        "数据集 {dataset_name} 属于部门 {owner_department}；只有该部门工作人员（或管理员）可以修改",
    ),
    "catalogue.dataset_named_exists_already": (
        "a dataset named {entry} exists already",
        "已存在名为 {entry} 的数据集",
    ),
    "catalogue.these_changed_here": (
        "these cannot be changed here: {unknown}",
        "以下内容不能在此修改：{unknown}",
    ),
    "catalogue.rows_dataset_are_built": (
        "the rows of dataset {dataset_name} are built by the platform ({source}); only a dataset "
        "created for uploads takes tables",
        "数据集 {dataset_name} 的数据由平台生成（{source}）；只有为上传创建的数据集才接受表格",
    ),
    "catalogue.upload_csv_xlsx_file": (
        "upload a .csv or .xlsx file, not {value}",
        "请上传 .csv 或 .xlsx 文件，而不是 {value}",
    ),
    "catalogue.file_empty": (
        "the file is empty",
        "文件为空",
    ),
    "catalogue.table_may_most_bytes": (
        "a table may be at most {limit} bytes",
        "表格最大 {limit} 字节",
    ),
    "catalogue.problem_s_table_nothing": (
        "{error_count} problem(s) in the table: nothing was changed",
        "表格中有 {error_count} 处问题：未做任何修改",
    ),
    "catalogue.dataset_data_read_through": (
        "dataset {name} is {sensitivity} data of {owner_department}: read it through a grant "
        "(/api/v1/data/grants)",
        "数据集 {name} 是 {owner_department} 的 {sensitivity} 数据：请通过共享授权读取"
        "（/api/v1/data/grants）",
    ),
    "catalogue.personal_data_read_through": (
        "personal data is read through a grant, row by row, and logged",
        "个人数据须通过共享授权逐行读取，并记录日志",
    ),
    "catalogue.personal_data_never_downloaded": (
        "personal data is never downloaded whole: read it through a grant",
        "个人数据不能整体下载：请通过共享授权读取",
    ),
    "catalogue.dataset_shared_data_read": (
        "dataset {name} is shared data of {owner_department}: read it through a grant "
        "(/api/v1/data/grants)",
        "数据集 {name} 是 {owner_department} 的共享数据：请通过共享授权读取（/api/v1/data/grants）",
    ),
    "catalogue.uploads_are_department_s": (
        "the uploads of {name} are its department's",
        "{name} 的上传记录仅属于其所属部门",
    ),
}
register(PROBLEMS)
