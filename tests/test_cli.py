"""The `refloop` command in this process (tests/test_demo.py runs it as a
child): its help names the command and each subcommand, a subcommand is
required, and `refloop demo` exits 0 exactly when the server read both
messages."""

from __future__ import annotations

import pytest

from refloop import _cli, _demo


def test_the_help_names_the_command_and_what_each_subcommand_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        _cli.main(["--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # however argparse wraps
    assert out.startswith("usage: refloop ")
    about = "An event loop whose behaviour is specified, modelled and checked."
    assert f" {about} " in f" {out} "
    for command in ("demo", "fuzz", "check"):
        assert command in out
    assert " demo run the seed's client/server example over TCP " in f"{out} "


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        _cli.main([])
    assert done.value.code == 2
    assert "the following arguments are required: command" in capsys.readouterr().err


@pytest.mark.spec("loop.run", "op.accept", "msg.frame.encode")
def test_refloop_demo_exits_0_when_the_server_read_both_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "server received [0, 'héllo']" in out
    assert "server received [42, 'world']" in out


def test_refloop_demo_exits_1_when_the_server_read_something_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_demo, "demo", lambda: [[0, "héllo"]])
    assert _cli.main(["demo"]) == 1
    args = _cli.build_parser().parse_args(["demo"])
    assert args.command == "demo"
    assert args.func is _cli._demo
