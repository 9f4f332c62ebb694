"""The label set, defined once, in codebook order (see data/CODEBOOK.md)."""

LABELS: tuple[str, ...] = ("assurance", "threat", "demand", "rejection", "other")
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
STANCE_LABELS: tuple[str, ...] = LABELS[:4]  # everything except `other`
FALLBACK_LABEL = "other"  # where low-confidence predictions go
