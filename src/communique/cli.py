"""The `communique` command: a thin layer over functions a notebook can call.

It is longer than the other modules because it declares every command's arguments and help in one
parser (one layout, one place to read them all); each ``cmd_*`` only calls a library function and prints.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .errors import CommuniqueError

EPILOG = """examples:
  communique train configs/minilm.yaml --out runs/minilm
  communique evaluate runs/minilm --split test
  communique predict runs/minilm "Beijing warned Manila of consequences."
  communique score data/articles --model runs/minilm --out scores.jsonl --summary summary.jsonl
  communique report runs/minilm
  communique export runs/minilm export/minilm
  communique sample scores.jsonl --n 200 --strategy margin --format label-studio --out tasks.json
  communique import labelled.json --format label-studio --group my-news --out data/batches/my-news.jsonl
"""


def cmd_train(a: argparse.Namespace) -> None:
    from .rundir import is_main_process
    from .train import train

    run = train(a.config, out_dir=a.out, overrides=a.set, force=a.force, resume=a.resume)
    if is_main_process():
        print(f"run written to {run}")


def cmd_evaluate(a: argparse.Namespace) -> None:
    from .evaluate import evaluate, format_files_and_cues
    from .metrics import format_report

    result = evaluate(a.run, data=a.data, split=a.split, out_dir=a.out, slices=a.slice or (),
                      n_boot=a.bootstrap, precision=a.precision, runtime=a.runtime, batch_size=a.batch_size)
    print(format_report(result["overall"], f"{a.run} on {', '.join(result['data'])}"))
    if format_files_and_cues(result):
        print("\n" + format_files_and_cues(result))
    if "challenge" in result:
        from .challenge import format_challenge

        print("\n" + format_challenge(result["challenge"]))
    if "articles" in result:
        from .article_eval import format_articles

        print("\n" + format_articles(result["articles"]))
    print(f"\nresults written to {result['out_dir']}")


def cmd_predict(a: argparse.Namespace) -> None:
    from .predict import predict

    sentences = a.sentences or [line.strip() for line in sys.stdin if line.strip()]
    if not sentences:
        raise CommuniqueError("no sentences given: pass them as arguments or on stdin, one per line")
    for row in predict(a.run, sentences, precision=a.precision, runtime=a.runtime, batch_size=a.batch_size):
        if a.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            probs = "  ".join(f"{k}={v:.2f}" for k, v in row["probs"].items())
            print(f"{row['label']:<10} {row['confidence']:.2f}  {row['text']}\n           {probs}")
            if row.get("speaker_actor"):
                print(f"           {row['speaker_actor']} -> {row.get('target_actor') or '(no target named)'}  "
                      f"[speaker {row['speaker']!r}, target {row.get('target')!r}]")


def cmd_score(a: argparse.Namespace) -> None:
    from .score import score
    from .score_rows import ScoreOptions

    opts = ScoreOptions(id_field=a.id_field, text_field=a.text_field, min_confidence=a.min_confidence,
                        on_error=a.on_error, chunk_articles=a.chunk, force=a.force,
                        checkpoint_seconds=a.checkpoint_seconds, precision=a.precision,
                        batch_size=a.batch_size, runtime=a.runtime, workers=a.workers, stance_only=a.stance_only)
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    if a.engine == "ray":
        from .ray_engine import score_ray

        result = score_ray(a.inputs, a.model, a.out, opts, address=a.ray_address, actors=a.ray_actors,
                           num_gpus=a.ray_gpus, num_cpus=a.ray_cpus, summary=a.summary)
    else:
        result = score(a.inputs, a.model, a.out, opts, summary=a.summary)
    print(json.dumps(result, indent=2))


def cmd_dyads(a: argparse.Namespace) -> None:
    from pathlib import Path

    from .actors.dyads import aggregate, write_dyads
    from .safety import check_distinct, check_output_path

    out = Path(a.out)
    check_output_path(out)
    check_distinct({"--out": out}, a.scores)
    if out.exists() and not a.force:
        raise CommuniqueError(f"{out}: already exists; pass --force to overwrite it")
    items = aggregate(a.scores, by=a.by, date_field=a.date_field, metadata=a.metadata)
    write_dyads(items, out)
    print(f"{len(items)} dyads ({sum(i['count'] for i in items)} stance sentences) written to {out}")


def cmd_compare(a: argparse.Namespace) -> None:
    from .compare import compare, format_comparison

    result = compare(a.runs, a.data, n_boot=a.bootstrap)
    print(format_comparison(result))
    if a.out:
        from .rundir import write_json

        write_json(a.out, result)
        print(f"\nwritten to {a.out}")


def cmd_cv(a: argparse.Namespace) -> None:
    from .cv import cv, format_cv

    print(format_cv(cv(a.config, folds=a.folds, out_dir=a.out, overrides=a.set, force=a.force)))
    print(f"\nfolds and cv.json written to {a.out}")


def cmd_report(a: argparse.Namespace) -> None:
    from .report import write_report

    path = write_report(a.run, split=a.split, fmt=a.format, out_dir=a.out, k_errors=a.errors, scores=a.scores,
                        metadata=a.metadata)
    print(f"report written to {path}")


def cmd_export(a: argparse.Namespace) -> None:
    from .export import export_run

    out = export_run(a.run, a.dir, fmt=a.format, force=a.force, license=a.license)
    meta = json.loads((out / "communique-export.json").read_text(encoding="utf-8"))
    print(f"exported {a.run} to {out} (temperature {meta['temperature_folded']:.3f} folded into the classifier)")


def cmd_sample(a: argparse.Namespace) -> None:
    from .annotation import sample, write_tasks

    picks = sample(a.scores, a.n, strategy=a.strategy, per_label=a.per_label, diverse=a.diverse, seed=a.seed,
                   max_per_article=a.max_per_article)
    files = write_tasks(picks, a.format, a.out, force=a.force, inputs=a.scores)
    counts = ", ".join(f"{k} {v}" for k, v in picks["predicted"].value_counts().items())
    print(f"{len(picks)} sentences from {picks['article_id'].nunique()} articles (predicted: {counts}) "
          f"written to {', '.join(map(str, files))}")


def cmd_import(a: argparse.Namespace) -> None:
    from .annotation import import_labels

    result = import_labels(a.file, a.format, a.group, a.out, against=a.against or [], force=a.force)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result["labels"].items()))
    print(f"{result['records']} records ({counts}) written to {result['out']}; "
          f"{result['skipped']} unlabelled skipped")


def cmd_config_show(a: argparse.Namespace) -> None:
    from .config import describe_config, load_config

    print(describe_config(load_config(a.config, a.set)))


def add_inference_options(p: argparse.ArgumentParser, precision: str | None = None, runtime: str | None = None,
                          batch_size: int | None = None) -> None:
    """--precision, --runtime and --batch-size, the same for every command that runs a model."""
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=precision,
                   help="auto = bf16 where the CPU has AMX/AVX512-BF16 or on a bf16 GPU (close calls checked in fp32), else fp32"
                        + (f" (default {precision})" if precision else " (default: the model's own)"))
    p.add_argument("--runtime", choices=("torch", "onnx", "onnx-int8"), default=runtime,
                   help="inference engine for transformer models: torch, onnx, or onnx-int8 (ONNX Runtime with "
                        "int8 weights, close calls checked in fp32; needs communique[onnx]; see bench/README.md)"
                        + (f" (default {runtime})" if runtime else " (default torch)"))
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help="sentences per forward pass" + (f" (default {batch_size})" if batch_size else " (default 64)"))


def build_parser() -> argparse.ArgumentParser:
    from .rundir import package_version

    p = argparse.ArgumentParser(
        prog="communique", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Stance detection for diplomatic and political statements in news: tag each sentence "
                    "as assurance, threat, demand, rejection or other.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"communique {package_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model from a YAML config into a run directory",
                       description="Train a model from a YAML config (see configs/) into a run directory.")
    t.add_argument("config", help="YAML config, e.g. configs/minilm.yaml")
    t.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set training.epochs=3 (repeatable)")
    t.add_argument("--out", help="run directory (default runs/<config name>)")
    t.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="metrics, intervals, confusion matrix and predictions for a run",
                       description="Evaluate a trained run on labelled data (default: the config's test split).")
    e.add_argument("run", help="run directory")
    e.add_argument("--data", nargs="+", help="labelled file(s) to evaluate on instead of a split")
    e.add_argument("--split", default="test", choices=("test", "dev"), help="config split to use (default test)")
    e.add_argument("--out", help="output directory (default RUN/eval/<split>)")
    e.add_argument("--slice", action="append", metavar="COLUMN", help="also report metrics per value of COLUMN")
    e.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    add_inference_options(e)
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="label ad-hoc sentences (arguments or stdin)",
                        description="Print the label and probabilities of each sentence.")
    pr.add_argument("run", help="run directory")
    pr.add_argument("sentences", nargs="*", help="sentences; read from stdin (one per line) when none")
    pr.add_argument("--json", action="store_true", help="one JSON object per line")
    add_inference_options(pr)
    pr.set_defaults(func=cmd_predict)

    sc = sub.add_parser("score", help="segment and label articles in batch (resumable)",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Split articles into sentences and label each one. Every article appears in "
                                    "the output; killed and rerun, the same command continues where it stopped.",
                        epilog="inputs: directories of .txt/.md (recursive), .jsonl/.csv/.parquet with id and text "
                               "columns (other columns are carried through), or - for JSONL on stdin")
    sc.add_argument("inputs", nargs="+", metavar="INPUT", help="articles to score")
    sc.add_argument("--model", required=True, help="run directory of a trained model")
    sc.add_argument("--out", required=True, help="output file: .jsonl, .csv or .parquet "
                                                 "(with --engine ray: a directory of .jsonl or .parquet shards)")
    sc.add_argument("--summary", help="also write per-article label counts and top sentences (JSONL)")
    sc.add_argument("--id-field", default="id", help="id column of tabular/JSONL input (default id)")
    sc.add_argument("--text-field", default="text", help="text column of tabular/JSONL input (default text)")
    sc.add_argument("--min-confidence", type=float, default=0.0,
                    help="send predictions below this confidence to `other` (flagged as low_confidence)")
    sc.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                    help="malformed input record: stop with file and line (default), or log it to "
                         "OUT.errors.jsonl and go on")
    sc.add_argument("--chunk", type=int, default=64, help="articles scored together (default 64)")
    sc.add_argument("--checkpoint-seconds", type=float, default=5.0,
                    help="save progress at most this often, in seconds (default 5; a kill redoes at most this much)")
    sc.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    sc.add_argument("--workers", type=int, default=None,
                    help="processes that segment articles while the model scores (default: one fewer than the "
                         "usable cores, at most 8; 0: segment in the scoring process)")
    add_inference_options(sc, precision="auto", runtime="torch", batch_size=64)
    sc.add_argument("--stance-only", action="store_true",
                    help="leave out the run's speaker/target tagger: labels only, no actor columns or dyads (faster)")
    sc.add_argument("--force", action="store_true", help="overwrite the output and forget any checkpoint")
    sc.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="local process (default) or Ray Data (pip install communique[ray])")
    sc.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or local)")
    sc.add_argument("--ray-actors", type=int, default=None, help="scoring actors (default: one per CPU or GPU)")
    sc.add_argument("--ray-gpus", type=float, default=0.0, help="GPUs per actor, e.g. 1 or 0.5 (default 0)")
    sc.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs per actor (default 1)")
    sc.set_defaults(func=cmd_score)

    dy = sub.add_parser("dyads", help="who took which stance towards whom, counted across scored articles",
                        description="Aggregate (speaker actor, target actor, label) over scores files written by "
                                    "a run trained with model.actors: true; optionally per day, week or month of "
                                    "an input date column.")
    dy.add_argument("scores", nargs="+", help="scores files (.jsonl, .csv, .parquet) from `communique score`")
    dy.add_argument("--out", required=True, help="output file (.jsonl or .csv)")
    dy.add_argument("--by", choices=("day", "week", "month"), help="count per period of each article's date")
    dy.add_argument("--date-field", default="date", help="the date column carried from the input (default: date)")
    dy.add_argument("--metadata", help="per-article CSV with article_id and the date column, for scores without dates")
    dy.add_argument("--force", action="store_true", help="overwrite an existing --out")
    dy.set_defaults(func=cmd_dyads)

    c = sub.add_parser("compare", help="compare runs on the same data with paired significance tests",
                       description="Metrics with 95% intervals for each run, McNemar and paired-bootstrap tests "
                                   "for each pair, and the sentences where the runs disagree.")
    c.add_argument("runs", nargs="+", metavar="RUN", help="two or more run directories")
    c.add_argument("--data", nargs="+", required=True, help="labelled file(s) all runs are scored on")
    c.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    c.add_argument("--out", help="also save the comparison as JSON here")
    c.set_defaults(func=cmd_compare)

    v = sub.add_parser("cv", help="cross-validation with folds made by group",
                       description="K-fold cross-validation over train+dev, folds made by group; "
                                   "reports mean and spread of each metric.")
    v.add_argument("config", help="YAML config")
    v.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    v.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    v.add_argument("--out", default="runs/cv", help="output directory (default runs/cv)")
    v.add_argument("--force", action="store_true", help="overwrite existing fold runs")
    v.set_defaults(func=cmd_cv)

    cf = sub.add_parser("config", help="show a config resolved, with every field's meaning",
                        description="Print the resolved config (defaults filled in, --set applied) with the help "
                                    "text, allowed values and limits of every field.")
    cf_sub = cf.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = cf_sub.add_parser("show", help="print a resolved config with each field's help")
    show.add_argument("config", help="YAML config, e.g. configs/minilm.yaml")
    show.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    show.set_defaults(func=cmd_config_show)

    r = sub.add_parser("report", help="figures (PNG) and a Markdown/HTML report for an evaluated run",
                       description="Write the run notebook's figures as PNG files and a short report "
                                   "into RUN/report (run `communique evaluate RUN` first).")
    r.add_argument("run", help="run directory")
    r.add_argument("--split", default="test", help="evaluation to report: RUN/eval/SPLIT (default test)")
    r.add_argument("--format", choices=("md", "html"), default="md", help="report format (default md)")
    r.add_argument("--out", help="output directory (default RUN/report)")
    r.add_argument("--scores", help="a scores file made with this run (with actors): adds the dyads, their "
                                    "network and timeline")
    r.add_argument("--metadata", help="per-article CSV with article_id and date, for the dyad timeline")
    r.add_argument("--errors", type=int, default=10, help="most confident errors to list (default 10)")
    r.set_defaults(func=cmd_report)

    x = sub.add_parser("export", help="write a transformer run as a folder `transformers.pipeline` loads",
                       description="Write a transformer run as a plain transformers folder (weights, tokenizer, "
                                   "id2label, README.md model card) with the calibration temperature folded into "
                                   "the classifier, so pipeline('text-classification', model=DIR, top_k=None) "
                                   "returns communique's calibrated probabilities.")
    x.add_argument("run", help="run directory of a transformer model")
    x.add_argument("dir", help="export folder (new or empty; --force replaces an earlier export)")
    x.add_argument("--format", choices=("hf", "onnx"), default="hf",
                   help="hf (default), or onnx: also onnx/model.onnx (needs communique[onnx])")
    x.add_argument("--license", default="other", help="license field of the model card (default other)")
    x.add_argument("--force", action="store_true", help="replace a folder that an earlier export wrote")
    x.set_defaults(func=cmd_export)

    sa = sub.add_parser("sample", help="pick scored sentences worth labelling, for Label Studio, doccano or CSV",
                        description="Pick sentences to label from `communique score` output: ranked by the chosen "
                                    "strategy, near-duplicates dropped, spread round-robin over articles, with the "
                                    "model's prediction filled in.")
    sa.add_argument("scores", nargs="+", metavar="SCORES", help="scores files from `communique score`")
    sa.add_argument("--n", type=int, required=True, help="how many sentences to pick")
    sa.add_argument("--strategy", choices=("uncertainty", "margin", "entropy", "random"), default="uncertainty",
                    help="uncertainty (1 - top probability, default), margin (top two closest), entropy, or random")
    sa.add_argument("--per-label", action="store_true", help="equal shares per predicted label")
    sa.add_argument("--diverse", action="store_true",
                    help="also spread over labels: one pick per predicted label per article, least-picked label first")
    sa.add_argument("--max-per-article", type=int, default=3, help="at most this many picks per article (default 3)")
    sa.add_argument("--format", choices=("label-studio", "doccano", "csv"), required=True,
                    help="label-studio (.json tasks + .label-config.xml), doccano (.jsonl) or csv")
    sa.add_argument("--out", required=True, help="output file (.json, .jsonl or .csv, to match --format)")
    sa.add_argument("--seed", type=int, default=0, help="seed for random sampling and ties (default 0)")
    sa.add_argument("--force", action="store_true", help="replace an earlier `communique sample` output")
    sa.set_defaults(func=cmd_sample)

    im = sub.add_parser("import", help="turn a labelled Label Studio, doccano or CSV export into corpus records",
                        description="Read a labelled export and write corpus records (JSONL) checked as the corpus "
                                    "is: labels, also, length and near-duplicates within the batch and against "
                                    "--against; every problem is reported with its file and record.")
    im.add_argument("file", help="the labelled export")
    im.add_argument("--format", choices=("label-studio", "doccano", "csv"), required=True,
                    help="label-studio (JSON or JSON-MIN export), doccano (JSONL export) or csv (from sample)")
    im.add_argument("--group", required=True, help="group of the new records (their conflict or topic); ids GROUP-NNN")
    im.add_argument("--out", required=True, help="batch file to write (.jsonl)")
    im.add_argument("--against", action="append", metavar="GLOB",
                    help="corpus files to check ids and near-duplicates against, e.g. 'data/corpus/*.jsonl' "
                         "(repeatable)")
    im.add_argument("--force", action="store_true", help="replace an existing batch file")
    im.set_defaults(func=cmd_import)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        a.func(a)
    except CommuniqueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
