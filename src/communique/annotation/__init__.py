"""The annotation loop: pick sentences worth labelling from scores files, and turn a labelled
export back into corpus records.

::

    communique score news/ --model runs/minilm --out scores.jsonl
    communique sample scores.jsonl --n 200 --strategy margin --format label-studio --out tasks.json
    # label tasks.json in Label Studio (config: tasks.label-config.xml), export it as JSON
    communique import export.json --format label-studio --group my-news --out data/batches/my-news.jsonl \\
        --against 'data/corpus/*.jsonl'

:func:`sample` ranks the scored sentences by how unsure the model is, drops near-duplicates and
spreads the picks over articles; :func:`write_tasks` writes them for Label Studio, doccano or a
spreadsheet with the model's prediction filled in; :func:`import_labels` reads the labelled file
back and checks every record as the corpus is checked (labels, ``also``, length,
near-duplicates), naming the file and record of each problem.
"""

from .labelled import import_labels
from .tasks import candidates, label_studio_config, sample, write_tasks

__all__ = ["candidates", "import_labels", "label_studio_config", "sample", "write_tasks"]
