"""Does this run reproduce the paper? Each claim of resources/claims.yaml, tested on the
metric tables (results/tables/<table>.csv) per env and seed, with a verdict and its reason.

A claim holds one or more tests: a statistic (`STATISTICS`, computed from the tables
only) gives one value per (env, seed, subject), a subject being a model or a part of one
("random/shallow", "gpt2/block1"); a comparison such as "gpt2 < random" or "igpt > 0.5"
turns two values into a margin, positive where the claim's direction holds. Where the
statistic has a null baseline (MINE's shuffled pairs, CKA's permutation floor), `null` is
the 95th percentile of the null values the statistic averages over.

Verdicts, per claim:
- one cell per (comparison, env) over the seeds with a value:
  fewer than 2 seeds -> inconclusive ("fewer than 2 seeds");
  in some seed the larger side does not exceed its null -> inconclusive ("within the
  null baseline");
  margin > 0 in every seed -> holds; < 0 in every seed -> reversed; otherwise
  inconclusive ("spread across seeds overlaps zero");
- a table missing, or lacking what the statistic reads -> inconclusive;
- any reversed cell -> not reproduced; else any inconclusive cell -> inconclusive;
  else (every cell holds) -> reproduced.

Modules: `statistics` (what is computed from which table), `verdicts` (the claims file,
comparisons, verdicts and their reasons), `report` (claims.csv, .md, .rst and the
verdict counts for `dvc metrics`).
"""
