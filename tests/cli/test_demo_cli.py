"""`dermkit demo`'s options: the default image count its help states is the one it draws."""

from __future__ import annotations

from dermkit.errors import DermkitError


def test_demo_draws_the_image_count_its_help_states(run_cli, monkeypatch, tmp_path):
    import dermkit.demo

    seen = {}

    def fake_run_demo(out, **kwargs):
        seen.update(kwargs)
        raise DermkitError("stop here")

    monkeypatch.setattr(dermkit.demo, "run_demo", fake_run_demo)
    help_text = run_cli("demo", "--help").out
    assert f"[default: ({dermkit.demo.DEMO_IMAGES})]" in " ".join(help_text.split())
    assert run_cli("demo", "--out", tmp_path / "a").code == 2
    assert seen["n"] == dermkit.demo.DEMO_IMAGES
    assert run_cli("demo", "--out", tmp_path / "b", "--n", "140").code == 2
    assert seen["n"] == 140
