"""Profile: what each column of a table is, computed by aggregates where the data lives."""

from lathe.profile._details import profile_in_detail
from lathe.profile._profile import ColumnProfile, Profile, profile_table
from lathe.profile._semantic import SemanticType
from lathe.profile._task import Task, infer_task

__all__ = [
    "ColumnProfile",
    "Profile",
    "SemanticType",
    "Task",
    "infer_task",
    "profile_in_detail",
    "profile_table",
]
