"""CPU time of the training fixture of tests/test_training.py at other sizes and thread counts.

    PYTHONPATH=. python tools/time_training_fixture.py FACES,EPOCHS,THREADS,BATCH ...

Prints, for each setting, the process CPU seconds and wall seconds of ``train_one("bnconv", ...)`` on
``generate_faces(FACES, seed=11)`` split 80/20, the validation RMSE of every epoch, the mean baseline, and
whether the fixture's tests would pass (best at most half the first, below the baseline, best weights restored).
"""

import argparse
import resource
import time

import torch

from keypoints.training.estimator import Recipe
from keypoints.training.faces import synthetic_split
from keypoints.training.trainer import mean_baseline, train_one


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(n, epochs, threads, batch):
    torch.set_num_threads(threads)
    prepared = synthetic_split(n, seed=11)
    cpu, wall = cpu_seconds(), time.perf_counter()
    recipe = Recipe(epochs=epochs, lr=4e-3, batch_size=batch, patience=10)
    result, _ = train_one("bnconv", prepared, recipe, seed=0, verbose=0)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    baseline, _ = mean_baseline(prepared)
    history = [row["valid_rmse"] for row in result.history]
    passes = (
        result.best_valid_rmse <= history[0] / 2
        and result.valid_rmse < baseline
        and abs(result.valid_rmse / result.best_valid_rmse - 1) < 0.02
    )
    print(
        f"faces {n}, epochs {epochs}, threads {threads}, batch {batch}: CPU {cpu:.1f} s, wall {wall:.1f} s, "
        f"validation RMSE {' '.join(f'{v:.2f}' for v in history)}, baseline {baseline:.2f}, tests pass: {passes}",
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", metavar="FACES,EPOCHS,THREADS,BATCH")
    for setting in parser.parse_args().settings:
        measure(*(int(v) for v in setting.split(",")))
