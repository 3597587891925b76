"""``rdsplan demo``: the README's main job runs the whole path."""

from planning.app.cli import main


def test_demo_runs_every_step(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--chains", "2", "--draws", "200", "--budget", "30"]) == 0
    printed = capsys.readouterr().out
    for text in (
        "Study summary",
        "Diagnostics verdict",
        "Recruit covariates (homophily)",
        "Expected recruits this round",
        "Posterior regret",
        "misspecification bound",
        "Verdict:",
        "Posterior diagnostics",
    ):
        assert text in printed
    for name in (
        "study.csv",
        "posterior.nc",
        "posterior.covariates.nc",
        "plan.csv",
        "report.html",
        "described/recruitment_tree.png",
        "diagnostics/ppc_rootogram.png",
    ):
        assert (out / name).stat().st_size > 0, name
