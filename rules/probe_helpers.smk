# The probe stage's paths, inputs, targets, job specs and memory (rules/probe.smk).

from modality_rl.analyses import analysis_settings, probe_dir, probe_sections, probed_epochs


def probe_targets():
    """The probe directory of every run some analysis reads."""
    return [probe_dir(run) for run in RUNS if probed_epochs(config, run)]


def probe_mem_mb(wildcards):
    return budgets.probe_mb(config, run_of(wildcards))


@job_spec
def probe_spec(wildcards):
    run = run_of(wildcards)
    sections = probe_sections(config, run)
    gradients = any("gradients" in s for s in sections.values())
    return {
        "settings": settings_of(run),
        "sections": sections,
        "gradients": canonical(analysis_settings(config, "gradients")) if gradients else None,
        "checkpoints": run.path(paths.RUN_CHECKPOINTS),
        "probe_batch": probe_batch_path(run.env, run.dataset),
        "out": probe_dir(run),
    }
