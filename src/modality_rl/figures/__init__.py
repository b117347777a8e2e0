"""Every paper figure from the metric tables: a catalogue of panels, one drawer per kind.
Figures read tables only; they never recompute a metric."""
