"""``streetorder run`` refuses what it cannot do with one sentence, before opening any camera."""

from __future__ import annotations

import socket

import yaml

from streetorder.cli import main


def write_config(path, cameras):
    path.write_text(yaml.safe_dump({"cameras": cameras}))
    return path


def test_a_config_without_live_cameras_is_one_sentence(tmp_path, capsys):
    config = write_config(tmp_path / "files.yaml", [{"id": "recorded", "source": "street.mp4"}])
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "no live camera to run" in error and "files.yaml" in error and "streetorder process" in error


def test_a_taken_health_port_is_named_with_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAM_PW", "Sup3r-secret")
    config = write_config(tmp_path / "cams.yaml", [{"id": "gate", "source": "rtsp://admin:${CAM_PW}@127.0.0.1:9/x"}])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code = main(["run", "--config", str(config), "--out", str(tmp_path / "out"), "--health-port", str(port)])
    assert code == 2
    output = capsys.readouterr()
    assert f"the health port 127.0.0.1:{port} cannot be used" in output.out
    assert "--health-port with a free port" in output.out
    assert "Sup3r-secret" not in output.out + output.err
