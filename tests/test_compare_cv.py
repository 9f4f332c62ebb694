import json
import statistics

import numpy as np
import pytest
from conftest import make_records, tiny_config, write_jsonl

from communique.compare import compare, format_comparison, mcnemar, paired_bootstrap
from communique.cv import cv
from communique.errors import ConfigError
from communique.train import train


def test_mcnemar_counts_discordant_pairs():
    a = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 1], bool)
    b = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], bool)
    r = mcnemar(a, b)
    assert (r["a_only_right"], r["b_only_right"]) == (8, 0)
    assert r["p_value"] == pytest.approx(2 / 2 ** 8)  # exact two-sided binomial
    assert mcnemar(a, a)["p_value"] == 1.0


def test_paired_bootstrap_sees_a_real_difference():
    y = np.arange(200) % 5
    good, bad = y.copy(), (y + 1) % 5
    bad[:100] = y[:100]
    r = paired_bootstrap(y, good, bad, n_boot=300)
    assert r["macro_f1_diff"] > 0.3 and r["ci95"][0] > 0 and r["p_value"] < 0.01


def test_compare_two_runs(tiny_data, tmp_path):
    a = train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path / "a")
    cfg = tiny_config(tiny_data, "tfidf")
    cfg.model.ngram_max, cfg.model.c = 1, 0.01  # a much weaker model
    b = train(cfg, out_dir=tmp_path / "b")
    res = compare([a, b], [str(tiny_data["test"])], n_boot=100)
    assert set(res["runs"]) == {str(a), str(b)} and res["n"] == 30
    pair = res["pairs"][0]
    assert pair["disagree"] == res["n_disagreements"]
    assert len(res["disagreements"]) == min(20, res["n_disagreements"])
    text = format_comparison(res)
    assert "McNemar" in text and "macro-F1 diff" in text


def test_cv_folds_are_group_disjoint(tmp_path):
    recs = []
    for g in range(6):
        recs += make_records(prefix=f"p{g}", groups=(f"g{g}", f"g{g}"))
    path = write_jsonl(tmp_path / "all.jsonl", recs)
    data = {"train": path, "dev": path, "test": path}
    cfg = tiny_config(data, "tfidf")
    cfg.data.dev = []
    res = cv(cfg, folds=3, out_dir=tmp_path / "cv")
    assert len(res["per_fold"]) == 3
    seen = [g for f in res["per_fold"] for g in f["groups"]]
    assert sorted(seen) == sorted(f"g{g}" for g in range(6))  # each group tested exactly once
    f1s = [f["macro_f1"] for f in res["per_fold"]]  # the summary is the folds' mean and sample spread
    assert res["summary"]["macro_f1"]["mean"] == pytest.approx(sum(f1s) / 3)
    assert res["summary"]["macro_f1"]["std"] == pytest.approx(statistics.stdev(f1s))
    assert json.loads((tmp_path / "cv/cv.json").read_text())["folds"] == 3
    with pytest.raises(ConfigError, match="--folds 9: need between 2 and 6"):
        cv(cfg, folds=9, out_dir=tmp_path / "cv2")


def test_bootstrap_resamples_pairs_and_brackets_the_estimate():
    """Resampling keeps (gold, prediction) pairs together: a perfect prediction has the interval
    [1, 1]; a 80%-right one has an interval around 0.8 that narrows with more examples."""
    import numpy as np

    from communique.compare import paired_bootstrap
    from communique.metrics import bootstrap_ci

    acc = lambda t, p: float((t == p).mean())
    y = np.arange(50) % 5
    assert bootstrap_ci(y, y, acc, n_boot=200) == [1.0, 1.0]
    wrong = y.copy()
    wrong[::5] = (wrong[::5] + 1) % 5  # 20% wrong
    lo, hi = bootstrap_ci(wrong, y, acc, n_boot=500)
    big_lo, big_hi = bootstrap_ci(np.tile(wrong, 10), np.tile(y, 10), acc, n_boot=500)
    assert lo < 0.8 < hi and big_lo < 0.8 < big_hi and big_hi - big_lo < (hi - lo) / 2
    better = paired_bootstrap(y, y, wrong, n_boot=500)
    assert better["macro_f1_diff"] > 0 and better["ci95"][0] > 0 and better["p_value"] < 0.01
