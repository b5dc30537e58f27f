"""`dermkit bench`: the list, one benchmark at a tiny size with its JSON record, and refused names and options."""

from __future__ import annotations

import json

TINY = ["model.name=deepconvnet_s2", "model.kwargs={input_size: [32, 32]}", "data.preprocess.size=[32, 32]"]


def test_list_names_every_benchmark_with_its_summary(run_cli):
    result = run_cli("bench", "--list")
    assert result.code == 0
    rows = {line.split(" | ")[0].strip(): line.split(" | ")[1:] for line in result.out.splitlines()[2:]}
    assert rows["engine"][0].strip() == "yes" and "Trainer" in rows["engine"][1]
    assert rows["pipeline"][0].strip() == "yes" and "cache" in rows["pipeline"][1]


def test_only_engine_prints_its_table_and_writes_json(run_cli, synthetic_root, tmp_path):
    extra = {"data": str(synthetic_root), "overrides": [*TINY, "train.batch_size=8"], "batches": 2, "epochs": 1}
    out = tmp_path / "bench.json"
    result = run_cli(
        "bench", "--only", "engine", "--threads", "1", "--extra", json.dumps({"engine": extra}), "--json", out
    )
    assert result.code == 0, result.err
    assert "### Engine overhead" in result.out and "| deepconvnet_s2 |" in result.out
    assert "[1/1] engine" in result.err
    record = json.loads(out.read_text())
    assert list(record["benchmarks"]) == ["engine"]
    (row,) = record["benchmarks"]["engine"]["rows"]
    assert row["ratio"] > 0 and row["Trainer img/s"] > 0
    assert record["benchmarks"]["engine"]["options"] == {"quick": True, "threads": 1, "extra": extra}
    assert record["environment"]["versions"]["torch"] and record["environment"]["started"]


def test_unknown_name_gets_did_you_mean_and_exit_2(run_cli):
    result = run_cli("bench", "--only", "engin")
    assert result.code == 2
    assert "unknown benchmark 'engin'" in result.err and "Did you mean 'engine'" in result.err


def test_bad_extra_and_json_folder_exit_2_before_running(run_cli, tmp_path):
    for extra, message in [
        ("{images: 1", "not JSON"),
        ("[1]", "by benchmark name"),
        ('{"engine": 3}', "by benchmark name"),
        ('{"pipeline": {}}', "does not select (engine)"),
        ('{"engine": {"epoch": 1}}', "unknown option(s) ['epoch']"),
    ]:
        result = run_cli("bench", "--only", "engine", "--extra", extra)
        assert result.code == 2 and message in result.err, (extra, result.err)
    result = run_cli("bench", "--only", "engine", "--json", tmp_path / "no" / "b.json")
    assert result.code == 2 and "does not exist" in result.err
