"""The run's CSV log and its loss-curve plot."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from vdeblur.io.atomic import atomic_output

# elapsed_s: wall seconds spent in training steps; cpu_s: CPU seconds of the training process (all its threads)
# in those steps, which a busy machine does not inflate as it does the wall time.
COLUMNS = ("step", "elapsed_s", "cpu_s", "lr", "loss", "d_loss", "d_real", "d_fake", "val_psnr", "val_ssim")


class Logbook:
    """Rows of ``COLUMNS`` kept in memory and rewritten atomically to ``log.csv`` (a few thousand rows at most).

    Args:
        path: the CSV file; rows already in it are kept up to ``resume_step`` (later rows belong to steps that
            are about to be trained again).
        resume_step: the step training resumes from; 0 for a new run.
    """

    def __init__(self, path: Path, resume_step: int = 0) -> None:
        self.path = path
        self.rows: list[dict[str, str]] = []
        if resume_step > 0 and path.is_file():
            with path.open(newline="") as handle:
                self.rows = [row for row in csv.DictReader(handle) if int(row["step"]) <= resume_step]

    def add(self, **values: float | int | None) -> None:
        """Append a row; missing columns stay empty."""
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown log columns {sorted(unknown)}")
        self.rows.append({k: "" if values.get(k) is None else f"{values[k]:.6g}" for k in COLUMNS})

    def write(self) -> None:
        """Rewrite ``log.csv`` and ``loss.png``."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_output(self.path) as tmp:
            tmp.write_text(buffer.getvalue())
        self.plot(self.path.with_name("loss.png"))

    def _series(self, column: str) -> tuple[list[float], list[float]]:
        points = [(float(r["step"]), float(r[column])) for r in self.rows if r.get(column)]
        return [p[0] for p in points], [p[1] for p in points]

    def plot(self, path: Path) -> None:
        """Training loss (log scale) and validation PSNR against the step."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, loss_axis = plt.subplots(figsize=(8, 4.5))
        steps, losses = self._series("loss")
        loss_axis.plot(steps, losses, color="tab:blue", linewidth=0.8, label="training loss")
        if losses and min(losses) > 0:
            loss_axis.set_yscale("log")
        loss_axis.set_xlabel("step")
        loss_axis.set_ylabel("training loss", color="tab:blue")
        val_steps, psnrs = self._series("val_psnr")
        if psnrs:
            psnr_axis = loss_axis.twinx()
            psnr_axis.plot(val_steps, psnrs, "o-", color="tab:red", markersize=3, label="validation PSNR")
            psnr_axis.set_ylabel("validation PSNR (dB)", color="tab:red")
        fig.tight_layout()
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=100)
        plt.close(fig)
