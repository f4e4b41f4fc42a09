"""Broken files and a failing machine (issue 17): a damaged events.jsonl is repaired, stores, output folders, models
and worker counts that cannot work are one sentence (exit 2), and a full disk is said in words with true counts."""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from contracts.disk import disk_problem, is_disk_full
from detector.detections import Detections
from events.database import Database
from events.record import Event, event_from_change
from events.store import EventStore, JsonlWriter, StoreError
from models.registry import ModelFileError
from streams.batch import CameraReport, _camera_failure, _drive
from streams.frames import Frame
from streetorder.cli import main
from streetorder.process_cmd import MAX_WORKERS, OutputError, output_folder
from zones.dwell import StateChange

GOOD = [json.dumps({"event_id": f"cam/walk/{i}/warn", "t": float(i)}).encode() + b"\n" for i in range(3)]
FULL = OSError(errno.ENOSPC, "No space left on device")


@contextmanager
def warnings_of(logger: str) -> Iterator[list[str]]:
    """The warnings ``logger`` logs inside the block (the suite runs without pytest's logging plugin)."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger(logger).addHandler(handler)
    try:
        yield messages
    finally:
        logging.getLogger(logger).removeHandler(handler)


# -- a damaged events.jsonl ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", [b'{"event_id": "cam/walk/3/wa', b"\x00" * 40, b'{"event_id": "cam/walk/\xff"}\n',
                                    b"[1, 2]\n", b'{"t": 3}\n', b"  "])
def test_a_damaged_tail_is_set_aside_and_the_good_lines_kept(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(GOOD) + damage)
    with warnings_of("events.store") as warned:
        JsonlWriter(path).close()
    assert path.read_bytes() == b"".join(GOOD)
    (aside,) = tmp_path.glob("events.jsonl.damaged-*")
    assert aside.read_bytes() == damage
    (warning,) = warned
    assert str(path) in warning and str(aside) in warning and "still in the store" in warning


def test_a_damaged_line_in_the_middle_is_set_aside_and_the_lines_after_it_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(GOOD[0] + b"{garbage\n" + GOOD[1] + GOOD[2])
    JsonlWriter(path).close()
    assert path.read_bytes() == b"".join(GOOD)
    assert next(tmp_path.glob("events.jsonl.damaged-*")).read_bytes() == b"{garbage\n"


def event(object_id: str = "7") -> Event:
    change = StateChange("warn", "sidewalk_parking", "walk", object_id, "car", 542.0, 62.0, (1.0, 2.0, 3.0, 4.0), 0.9)
    return event_from_change(change, "cam-01", None, {}, None)


def test_writing_goes_on_after_a_repair_and_known_ids_are_still_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first = event()
    JsonlWriter(path).write(first)
    path.write_bytes(path.read_bytes() + b'{"event_id": "half')
    writer = JsonlWriter(path)
    assert writer.write(first) is False  # kept from the good lines
    assert writer.write(event("99")) is True
    writer.close()
    assert [json.loads(line)["object_id"] for line in path.read_text().splitlines()] == ["7", "99"]


def test_a_last_event_without_its_newline_is_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(GOOD)[:-1])
    JsonlWriter(path).close()
    assert path.read_bytes() == b"".join(GOOD) and not list(tmp_path.glob("*.damaged-*"))


def test_an_intact_file_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(GOOD) + b"\n")
    before = path.stat().st_mtime_ns
    JsonlWriter(path).close()
    assert path.stat().st_mtime_ns == before and not list(tmp_path.glob("*.damaged-*"))


# -- stores ----------------------------------------------------------------------------------------------------------

def test_a_store_that_is_a_folder_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path} is a folder, not a database file; give the path of a file"):
        EventStore(tmp_path)


def test_a_store_that_is_not_a_database_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    path.write_bytes(b"these are not the events you are looking for" * 100)
    with pytest.raises(StoreError, match=f"{path} is not an SQLite database .*give another path"):
        EventStore(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_store_in_a_read_only_folder_is_one_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError, match=str(folder / "events.db")):
            Database(folder / "events.db", "CREATE TABLE IF NOT EXISTS x (a);")
    finally:
        folder.chmod(0o700)


def test_sqlite_and_os_say_the_disk_is_full_alike() -> None:
    assert is_disk_full(FULL) and is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert not is_disk_full(OSError(errno.EIO, "I/O error")) and not is_disk_full(ValueError("disk is full"))
    assert disk_problem(FULL, "/data/out") == ("the disk is full at /data/out; free some space (or write "
                                               "elsewhere) and run again")


# -- output folders --------------------------------------------------------------------------------------------------

def test_an_output_folder_that_is_a_file_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError, match="out is a file, not a folder; give --out a folder"):
        output_folder(tmp_path / "out")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        output_folder(tmp_path / "out" / "below")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_output_folder_is_one_sentence(tmp_path: Path) -> None:
    tmp_path.joinpath("ro").mkdir(mode=0o500)
    try:
        with pytest.raises(OutputError, match=r"ro is not writable \(Permission denied\)"):
            output_folder(tmp_path / "ro")
    finally:
        tmp_path.joinpath("ro").chmod(0o700)


def test_an_output_folder_the_user_may_not_write_is_one_sentence(tmp_path: Path, monkeypatch) -> None:
    def refused(**_kwargs) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("streetorder.process_cmd.tempfile.TemporaryFile", refused)
    with pytest.raises(OutputError, match=rf"output folder {tmp_path}: {tmp_path} is not writable \(Permission"):
        output_folder(tmp_path)


def test_an_output_folder_on_a_full_disk_is_one_sentence(tmp_path: Path, monkeypatch) -> None:
    def full(_fd: int) -> None:
        raise FULL

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=f"output folder {tmp_path}: the disk is full at {tmp_path}"):
        output_folder(tmp_path)
    assert not list(tmp_path.iterdir())  # the probe is gone


# -- the command line ------------------------------------------------------------------------------------------------

def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err + captured.out


@pytest.mark.parametrize("workers", ["-1", "0", str(MAX_WORKERS + 1), "10000000000000000000000", "two"])
@pytest.mark.parametrize("command", ["process", "run"])
def test_a_worker_count_that_is_no_count_is_one_sentence(capsys, tmp_path: Path, command: str, workers: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path), "--workers", workers])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{workers!r} is not a number of threads; give a whole number from 1 to {MAX_WORKERS}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("port", ["65536", "-2", "99999999999999999999", "http"])
def test_a_health_port_that_is_no_port_is_one_sentence(capsys, tmp_path: Path, port: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(tmp_path / "c.yaml"), "--health-port", port])
    assert exit_.value.code == 2 and f"{port!r} is not a port; give 1 to 65535" in capsys.readouterr().err


@pytest.mark.parametrize("setup", ["folder", "latin-1", "store folder", "out file"])
def test_unusable_files_are_one_sentence_and_exit_2(capsys, tmp_path: Path, setup: str) -> None:
    config = tmp_path / "cameras.yaml"
    config.write_text("cameras:\n  - id: cam\n    source: video.mp4\n")
    out, extra = tmp_path / "out", []
    if setup == "folder":
        config = tmp_path
    elif setup == "latin-1":
        config.write_bytes("cameras:\n  - id: cäm\n".encode("latin-1"))
    elif setup == "store folder":
        extra = ["--store", str(tmp_path)]
    else:
        out.write_text("a file")
    code, text = run_cli(capsys, "process", "--config", str(config), "--out", str(out), *extra)
    assert code == 2 and text.startswith("error: ") and "Traceback" not in text
    assert len([line for line in text.splitlines() if line.strip()]) <= 2  # one sentence (wrapped at most once)


def test_an_os_error_no_command_put_in_words_is_still_one_sentence(capsys, tmp_path: Path, monkeypatch) -> None:
    import streetorder.process_cmd as process_cmd

    def failing(_args, _console) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x"))

    monkeypatch.setattr(process_cmd, "run", failing)
    code, text = run_cli(capsys, "process", "--config", "c.yaml", "--out", str(tmp_path))
    assert code == 2 and f"{tmp_path / 'x'} is not writable (Permission denied)" in text and "Traceback" not in text


# -- models ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"garbage", bytes(range(256)) * 20])
def test_a_corrupt_onnx_model_is_one_sentence(tmp_path: Path, content: bytes) -> None:
    from detector.onnx_backend import OnnxDetector

    path = tmp_path / "yolo11n.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=f"model file {path} cannot be loaded .*replace it with a good copy"):
        OnnxDetector(path)


# -- a full disk during a run ----------------------------------------------------------------------------------------

class FullAtTheEnd:
    """A pipeline whose last events do not fit on the disk."""

    def step(self, frame, detections, seconds) -> list:
        return []

    def finish(self, last) -> list:
        raise FULL


def test_a_full_disk_when_finishing_keeps_the_true_counts() -> None:
    frames = [Frame(np.zeros((4, 4, 3), np.uint8), float(t), t) for t in range(3)]
    detector = SimpleNamespace(detect=lambda image: Detections.empty())
    report = CameraReport("cam")
    recorder = SimpleNamespace(already_known=1)
    with pytest.raises(OSError):
        camera = SimpleNamespace(id="cam", moving=False, detect=SimpleNamespace(idle_fps=None))
        _drive(camera, FullAtTheEnd(), frames, detector, 1, None, report, recorder, None, None)
    assert (report.frames, report.inferred, report.already_known) == (3, 3, 1)  # not "every frame reused"


def test_a_full_disk_is_said_in_words_with_the_path(tmp_path: Path) -> None:
    camera = SimpleNamespace(id="cam-01")
    message = _camera_failure(camera, OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "e.jsonl")),
                              tmp_path)
    assert message == (f"camera 'cam-01': the disk is full at {tmp_path / 'e.jsonl'}; free some space (or write "
                       "elsewhere) and run again (its events up to there are stored)")
    assert "unexpected" not in _camera_failure(camera, sqlite3.OperationalError("database or disk is full"), tmp_path)
