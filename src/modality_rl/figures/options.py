"""Display choices where the released plotting code and ours differ (config `figures`).

The default is the released computation, because it is what the paper's figures show;
the other value is ours, kept because it is arguably more correct (docs/computing.md,
"Deliberate differences").

- block_swap_smoothing (Fig. 9, 69-73): `released`, scipy's lfilter with the filter state
  starting at the first value, so the smoothed curve starts at (2 - a) x_0 (1.2 x_0 for
  a = 0.8); `first_value`, the curve starts at x_0.
- no_context_band (Fig. 17): `released`, the standard deviation over steps per block
  (ddof 0), averaged over iGPT's two blocks of a normalised block; `pooled`, iGPT's two
  blocks averaged per step first, then the standard deviation over steps (ddof 1).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

SmoothingStart = Literal["released", "first_value"]
BandMethod = Literal["released", "pooled"]
SMOOTHING_STARTS = typing.get_args(SmoothingStart)
BAND_METHODS = typing.get_args(BandMethod)


@dataclass(frozen=True, kw_only=True)
class FigureOptions:
    """config key `figures` (the job spec checks the values)."""
    block_swap_smoothing: SmoothingStart
    no_context_band: BandMethod


RELEASED = FigureOptions(block_swap_smoothing="released", no_context_band="released")
