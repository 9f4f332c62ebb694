"""The `communique` command: a thin layer over functions a notebook can call."""

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
"""


def cmd_train(a: argparse.Namespace) -> None:
    from .train import train

    run = train(a.config, out_dir=a.out, overrides=a.set, force=a.force, resume=a.resume)
    print(f"run written to {run}")


def cmd_evaluate(a: argparse.Namespace) -> None:
    from .evaluate import evaluate
    from .metrics import format_report

    result = evaluate(a.run, data=a.data, split=a.split, out_dir=a.out, slices=a.slice or (),
                      n_boot=a.bootstrap)
    print(format_report(result["overall"], f"{a.run} on {', '.join(result['data'])}"))
    for key in ("challenge", "articles"):
        if key in result:
            from .report import format_extra

            print("\n" + format_extra(key, result[key]))
    print(f"\nresults written to {result['out_dir']}")


def cmd_predict(a: argparse.Namespace) -> None:
    from .predict import predict

    sentences = a.sentences or [line.strip() for line in sys.stdin if line.strip()]
    if not sentences:
        raise CommuniqueError("no sentences given: pass them as arguments or on stdin, one per line")
    for row in predict(a.run, sentences):
        if a.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            probs = "  ".join(f"{k}={v:.2f}" for k, v in row["probs"].items())
            print(f"{row['label']:<10} {row['confidence']:.2f}  {row['text']}\n           {probs}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="communique", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Stance detection for diplomatic and political statements in news: tag each sentence "
                    "as assurance, threat, demand, rejection or other.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
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
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="label ad-hoc sentences (arguments or stdin)",
                        description="Print the label and probabilities of each sentence.")
    pr.add_argument("run", help="run directory")
    pr.add_argument("sentences", nargs="*", help="sentences; read from stdin (one per line) when none")
    pr.add_argument("--json", action="store_true", help="one JSON object per line")
    pr.set_defaults(func=cmd_predict)

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
