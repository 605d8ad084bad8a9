"""Real-time factor of `transcribe` end to end and of the model alone (CPU, 1 and 2 threads).

    nice .venv/bin/python bench/transcribe.py [--seconds 180] [--threads 1 2] [--repeat 2]

Makes a 3-minute toy file (44.1 kHz stereo WAV, so reading, mixing and resampling are
included), builds the medium config's model with random weights (speed does not depend
on the weights) and reports audio seconds per wall second (higher is better) for:
end to end (read + resample + features + model + decode), the model alone on the same
features (windowed as transcribe does), and features alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs")
    ap.add_argument("--config", default=str(ROOT / "configs" / "medium_test_config.yaml"))
    args = ap.parse_args(argv)

    import soundfile as sf
    import torch

    from drumscribe.checkpoint import ModelBundle
    from drumscribe.config import load_config
    from drumscribe.features import compute_features
    from drumscribe.inference import inference_model, iter_audio_blocks, iter_feature_blocks, predict_features, transcribe_audio
    from drumscribe.model import build_model
    from drumscribe.timebase import FrameClock
    from drumscribe.toy import render_events, toy_performance

    cfg = load_config(args.config)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    bundle = ModelBundle(model, cfg, cfg.thresholds(), cfg.class_names, None)
    clock = FrameClock.from_config(cfg.audio)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.wav"
        y = render_events(toy_performance(args.seconds, 1), args.seconds, 1, sr=44100)
        sf.write(path, np.stack([y, y], axis=1), 44100, subtype="PCM_16")
        feats = compute_features(np.concatenate(list(iter_audio_blocks(path, cfg.audio.sample_rate))), cfg.audio)
        with torch.inference_mode():  # set the input norm to the features' statistics, like a trained model
            model.input_norm.running_mean.copy_(torch.from_numpy(feats.mean(0)))
            model.input_norm.running_var.copy_(torch.from_numpy(feats.var(0)))
        print(f"{args.seconds:.0f} s audio, {feats.shape[0]} frames, model {model.n_parameters():,} parameters "
              f"({args.config}), torch {torch.__version__}")
        for n in args.threads:
            torch.set_num_threads(n)
            best = {"end_to_end": np.inf, "model": np.inf, "features": np.inf}
            timings = None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                tr = transcribe_audio(bundle, path)
                best["end_to_end"] = min(best["end_to_end"], time.perf_counter() - t0)
                timings = tr.timings
                t0 = time.perf_counter()
                predict_features(inference_model(model), feats, clock)
                best["model"] = min(best["model"], time.perf_counter() - t0)
                t0 = time.perf_counter()
                for _f in iter_feature_blocks(iter_audio_blocks(path, cfg.audio.sample_rate), cfg.audio):
                    pass
                best["features"] = min(best["features"], time.perf_counter() - t0)
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
            print(f"threads={n}: " + "  ".join(f"{k} {args.seconds / v:.0f}x real time ({v:.2f} s)"
                                                for k, v in best.items()) + f"   [last e2e split: {parts}]")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
