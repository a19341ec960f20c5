"""The one progress helper: a bar on stderr, nothing on stdout, a no-op when disabled."""

from latentmotion.progress import progress_bar


def test_progress_bar_draws_on_stderr_only(capsys):
    with progress_bar("fitting", total=3) as advance:
        for _ in range(3):
            advance(note="loss 0.5")
    with progress_bar("loading", transient=True) as advance:
        advance()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "fitting" in captured.err and "3/3" in captured.err and "loss 0.5" in captured.err


def test_a_disabled_progress_bar_prints_nothing(capsys):
    with progress_bar("fitting", total=3, enabled=False) as advance:
        advance(2, note="x")
    assert capsys.readouterr() == ("", "")
