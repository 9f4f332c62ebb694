"""The label set, defined once, in codebook order (see data/CODEBOOK.md)."""

LABELS: tuple[str, ...] = ("assurance", "threat", "demand", "rejection", "other")
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
STANCE_LABELS: tuple[str, ...] = LABELS[:4]  # everything except `other`
FALLBACK_LABEL = "other"  # where low-confidence predictions go
# one line each, as in data/CODEBOOK.md's summary table (model cards, annotation tools)
LABEL_DEFINITIONS = {
    "assurance": "the actor commits itself to, promises or guarantees its own cooperative or non-hostile conduct",
    "threat": "the actor warns of or signals harmful or coercive action against another party, now or on a condition",
    "demand": "the actor asks, urges, insists or orders that another party do or stop doing something",
    "rejection": "the actor refuses, rejects, dismisses or vetoes another party's proposal, request, demand or claim",
    "other": "anything else: facts, deeds already done, meetings, analysis, predictions, accusations, praise",
}
