"""A SQL LIKE lookup, so DICOM wildcards never reach a backtracking regex engine."""

from django.db.models import CharField, Lookup
from django.db.models.functions import Upper


@CharField.register_lookup
class Like(Lookup):
    """``field__like=pattern``: SQL LIKE with backslash as the escape character."""

    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


CharField.register_lookup(Upper)


def dicom_to_like(term: str) -> str:
    """A DICOM wildcard term (``*``, ``?``) as a LIKE pattern, other characters literal."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")
