"""``streetorder bench`` reports resident memory per live camera and whether 150 cameras fit in 4 GiB."""

from __future__ import annotations

import mmap

from evaluation.bench import CapacityRun, resident_mb
from evaluation.perf_report import capacity_rows


def test_resident_memory_grows_with_what_the_process_holds():
    before = resident_mb()
    held = mmap.mmap(-1, 64 * 2**20)  # fresh pages (a freed heap block may already be resident), then touched
    held.write(b"\1" * len(held))
    assert resident_mb() - before >= 60
    held.close()


def test_memory_per_camera_is_the_growth_over_the_baseline_and_decides_whether_150_fit():
    run = CapacityRun(40, 1200, 1200, 0, 0.0, 30.0, 1.5, 30.0, rss_mb=700.0, rss_baseline_mb=300.0)
    assert run.mb_per_camera == 10.0
    assert run.fits(150, 4.0)  # 300 + 1500 MiB
    assert not CapacityRun(40, 1200, 1200, 0, 0.0, 30.0, 1.5, 30.0, rss_mb=1500.0, rss_baseline_mb=300.0).fits()


def test_the_capacity_table_shows_memory_per_camera_at_the_sustained_count():
    def run(n, rss):
        return {"cameras": n, "cpu_cores": 1.5, "detector_ms": 30.0, "rss_mb": rss, "rss_baseline_mb": 300.0}

    series = [{"source": "640x360", "decoded": "key frames only", "setting": "INT8 640 rect", "sustained_cameras": 40,
               "runs": [run(20, 500.0), run(40, 700.0), run(40, 740.0), run(40, 3000.0)]},
              {"source": "640x360", "decoded": "key frames only", "setting": "old report", "sustained_cameras": 8,
               "runs": [{"cameras": 8, "cpu_cores": 1.0, "detector_ms": 80.0}]}]
    header, rows = capacity_rows(series, 0.5)
    assert header[-2:] == ["MiB per camera", "150 cameras in 4 GiB"]
    assert rows[0][-2:] == ["11.0", "yes (1.9 GiB)"]  # the median of the three runs at 40: (740 - 300) / 40
    assert rows[1][-2:] == ["-", "-"]
