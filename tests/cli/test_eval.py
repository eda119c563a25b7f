"""``ember eval``: test accuracy, the confusion matrix as text and as a plot."""

from .run_ember import assert_one_line_error, run_ember


def test_eval_prints_a_labelled_confusion_matrix_and_plots_it(run, tmp_path):
    proc = run_ember("eval", "run", "--plot", "cm.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "run/best.pth: mlp on digits, test split (359 samples)" in out
    assert "test accuracy" in out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("true \\ predicted"))
    assert lines[head].split()[3:] == [str(c) for c in range(10)]  # columns: predicted class
    rows = lines[head + 1:head + 11]
    assert [r.split()[0] for r in rows] == [str(c) for c in range(10)]  # rows: true class
    assert sum(int(v) for r in rows for v in r.split()[1:]) == 359
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"
    assert "confusion matrix plot: cm.png" in out


def test_eval_without_best_falls_back_to_last_and_says_so(run, tmp_path):
    (run / "best.pth").unlink()
    proc = run_ember("eval", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "run has no best.pth; evaluating last.pth" in proc.stderr
    assert "run/last.pth: mlp on digits" in proc.stdout
    assert (run / "confusion.png").is_file()


def test_eval_plot_into_a_missing_folder_is_refused_before_evaluating(run, tmp_path):
    proc = run_ember("eval", "run", "--plot", "nowhere/cm.png", cwd=tmp_path)
    assert_one_line_error(proc, "--plot nowhere/cm.png: the folder nowhere does not exist")
    assert proc.stdout == ""
