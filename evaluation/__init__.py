"""Ground truth vs events and detections -> scores and benchmark reports (never imported by product code; its
modules are imported one by one, as each pulls in the real model, ffmpeg or plotting).

- ``evaluation.make.make_scenarios``: semi-synthetic scenarios from real pixels, with exact ground truth
  (``streetorder evaluate make-scenarios``); ``evaluation.patrol``: the patrol (moving camera) scenarios.
- ``evaluation.score_events.score_events``: warns and clears against ground truth;
  ``evaluation.events_io.read_events`` and ``read_truth``: its inputs.
- ``evaluation.score_detections``: COCO mAP of a detector on the labelled set.
- ``evaluation.bench`` (speed) and ``evaluation.bench_accuracy`` (the accuracy cost of each setting): ``streetorder
  bench``.
"""
