"""What the tests share: small D4RL-schema files and windows built by hand, tiny models, and
copies of the workflow to run Snakemake and DVC in. Fixtures built on them: conftest.py."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import yaml
from snakemake.utils import update_config

from modality_rl.data.windows import PAD_ACTION, WindowBatch
from modality_rl.envs import env_spec
from modality_rl.models.backbones import Dropout
from modality_rl.runs import Run, run_settings

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "rules", "scripts", "schemas", "presets", "report",
                  "resources", "profiles", "envs", "src", "dvc.yaml", "params.yaml", ".dvc",
                  ".dvcignore", ".gitignore")
QUICK = ("--cores", "2", "--configfile", "presets/quick.yaml")
PAPER_DROPOUT = Dropout(embedding=0.1, attention=0.1, residual=0.2)


def load_config(*presets: str) -> dict:
    """config.yaml with the given presets merged over it, as Snakemake merges them."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for preset in presets:
        update_config(config, yaml.safe_load((REPO / preset).read_text()))
    return config


def tiny_settings(epochs: int, learning_rate: float = 1e-3) -> dict:
    """runs.run_settings of a tiny random-body run on hopper, from config.yaml's settings."""
    config = load_config()
    config["training"].update(steps_per_epoch=15, batch_size=8, learning_rate=learning_rate,
                              warmup_steps=5)
    config["backbones"]["random"].update(n_layer=2, n_embd=32)
    config["experiments"]["main"].update(context_length=5, epochs=epochs)
    config["evaluation"].update(episodes=2, max_episode_steps=20)
    run = Run(experiment="main", model="random", env="hopper", dataset="medium", seed=3)
    return run_settings(config, run, {}, checkpoint_epochs=[1, epochs])


def d4rl_arrays(env: str, episode_lengths: list[int], *, seed: int = 0,
                last_is_terminal: bool = True) -> dict[str, np.ndarray]:
    """Random arrays in the D4RL v2 layout; every episode but the last times out."""
    spec = env_spec(env)
    rng = np.random.default_rng(seed)
    n = sum(episode_lengths)
    ends = np.cumsum(episode_lengths) - 1
    terminals = np.zeros(n, dtype=bool)
    timeouts = np.zeros(n, dtype=bool)
    timeouts[ends[:-1]] = True
    (terminals if last_is_terminal else timeouts)[ends[-1]] = True
    observations = rng.normal(size=(n + 1, spec.obs_dim)).astype(np.float32)
    return {
        "observations": observations[:-1],
        "actions": rng.uniform(-1, 1, size=(n, spec.act_dim)).astype(np.float32),
        "rewards": rng.uniform(0, 2, size=n).astype(np.float32),
        "terminals": terminals,
        "timeouts": timeouts,
        "next_observations": observations[1:],
    }


def window_batch(size: int, context_length: int, env: str = "hopper", seed: int = 0,
                 padded_steps: int = 3) -> WindowBatch:
    """Random probe-like windows; the first window is left-padded by `padded_steps`."""
    spec = env_spec(env)
    rng = np.random.default_rng(seed)
    shape = (size, context_length)
    mask = np.ones(shape, dtype=np.float32)
    mask[0, :padded_steps] = 0
    actions = rng.uniform(-1, 1, size=(*shape, spec.act_dim)).astype(np.float32)
    actions[0, :padded_steps] = PAD_ACTION
    return WindowBatch(
        states=rng.normal(size=(*shape, spec.obs_dim)).astype(np.float32), actions=actions,
        rewards=rng.uniform(0, 2, size=(*shape, 1)).astype(np.float32),
        returns_to_go=rng.uniform(0, 3, size=(*shape, 1)).astype(np.float32),
        timesteps=rng.integers(0, 999, size=shape), mask=mask)


def tiny_decision_transformer(n_layer: int = 2, n_embd: int = 16, n_head: int = 1,
                              env: str = "hopper", seed: int = 0, activation: str = "relu",
                              attn_implementation: str = "eager"):
    """A Decision Transformer with a random GPT-2 body of the given size."""
    import torch

    from modality_rl.models.backbones import RandomBodyConfig, random_body
    from modality_rl.models.decision_transformer import DecisionTransformer

    torch.manual_seed(seed)
    spec = env_spec(env)
    body = random_body(RandomBodyConfig(n_layer=n_layer, n_embd=n_embd, n_head=n_head,
                                        activation=activation), PAPER_DROPOUT,
                       attn_implementation)
    return DecisionTransformer(body, spec.obs_dim, spec.act_dim)


def copy_workflow(root: Path) -> Path:
    """The workflow's files in a fresh directory, so runs never touch the checkout."""
    root.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            # .dvc/tmp and .dvc/cache are the checkout's own (git ignores them too).
            shutil.copytree(source, root / name,
                            ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
        else:
            shutil.copy2(source, root / name)
    return root


def seed_inputs(source: Path, root: Path) -> Path:
    """`root` (a workflow copy) holding what Snakemake made in `source` (quick_data: the
    datasets, SAC behaviour policies, probe batches, pre-trained stand-ins, their logs and
    benchmarks) with Snakemake's records of those jobs, so that a job whose settings or
    code differ in root's configuration (a probe batch of another size) reruns there as
    it would have in source. Every copied file and directory gets one and the same mtime:
    Snakemake reruns a job if an input is strictly newer than its outputs, so the order
    of times source's files carry does not matter (DVC does not keep file times)."""
    stamp = time.time() - 60
    for part in ("results", ".snakemake/metadata"):
        shutil.copytree(source / part, root / part)
        for path in [root / part, *(root / part).rglob("*")]:
            os.utime(path, (stamp, stamp), follow_symlinks=False)
    return root


def run_snakemake(workdir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Snakemake on the copied workflow in `workdir`, output captured as text."""
    return subprocess.run(["snakemake", *args], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout)


def same_checkpoints(a: Path, b: Path) -> bool:
    """Two checkpoint directories hold the same epochs with equal tensors."""
    import torch

    names = sorted(path.name for path in a.glob("epoch*.pt"))
    if not names or names != sorted(path.name for path in b.glob("epoch*.pt")):
        return False
    for name in names:
        left, right = (torch.load(d / name, map_location="cpu", weights_only=True)
                       for d in (a, b))
        if left.keys() != right.keys() or not all(torch.equal(left[k], right[k])
                                                  for k in left):
            return False
    return True


def run_command(workdir: Path, *command: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """A command in `workdir` that must succeed; its output (stdout + stderr) as text."""
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])
    return result


def init_git_and_dvc_project(root: Path, configfile: str) -> Path:
    """A fresh clone's state: the workflow committed to git (the repo ships .dvc/), with
    params.yaml selecting the config file `dvc repro` runs."""
    params = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(params.replace("configfile: config.yaml",
                                                     f"configfile: {configfile}"))
    run_command(root, "git", "init", "-q")
    run_command(root, "git", "add", "-A")
    run_command(root, "git", "-c", "user.name=ci", "-c", "user.email=ci@localhost",
                "commit", "-qm", "workflow")
    return root


def workflow_rules(configfiles: tuple[str, ...] = ()) -> dict[str, dict]:
    """{rule: {"runs": bool, "gpu": int, "shaped_memory": bool, "code": bool}} of the
    workflow as Snakemake parses it, from Snakemake's API (its parsed rules are not public
    API, hence `_workflow`). shaped_memory: mem_mb is a function of the job (the configured
    shapes); code: its params carry `code` (contract: code is an input)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, ResourceSettings, StorageSettings

    with SnakemakeApi() as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(), storage_settings=StorageSettings(),
            config_settings=ConfigSettings(configfiles=[REPO / c for c in configfiles]),
            snakefile=REPO / "Snakefile", workdir=REPO)._workflow
        return {rule.name: {"runs": rule.shellcmd is not None,
                            "gpu": rule.resources["gpu"].value if "gpu" in rule.resources else 0,
                            "shaped_memory": "mem_mb" in rule.resources
                                             and rule.resources["mem_mb"].is_evaluable(),
                            "code": "code" in rule.params.keys()}
                for rule in workflow.rules}


class LoopbackServer:
    """A real HTTP server on 127.0.0.1. `routes[path]` is (status, headers, body): GET
    sends all three, HEAD the first two; other paths get 404. Content-Length is the body's
    length unless the headers announce another. Every request is recorded as (method, path).
    A subclass answers by its own `route`."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]] | None = None):
        self.routes = dict(routes or {})
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, with_body: bool):
                outer.requests.append((self.command, self.path))
                status, body, headers = outer.route(self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):
                self.answer(with_body=True)

            def do_HEAD(self):
                self.answer(with_body=False)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def route(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        status, headers, body = self.routes.get(path, (404, {}, b"not found"))
        return status, body, headers

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class LoopbackHub(LoopbackServer):
    """The Hugging Face Hub's dataset API on 127.0.0.1, serving local directories as
    dataset repositories at one commit: what huggingface_hub's list_datasets,
    snapshot_download and hf_hub_download ask for (GET /api/datasets?author=, .../revision/
    <rev>, .../tree/<rev>, HEAD and GET .../resolve/<rev>/<path>; a missing file answers
    404 with X-Error-Code EntryNotFound). Point HF_ENDPOINT at `url`."""

    SHA = "c0ffee" * 6 + "c0ff"

    def __init__(self, repos: dict[str, Path]):
        self.repos = {repo: Path(root) for repo, root in repos.items()}
        super().__init__()

    def files(self, repo: str, under: str = "") -> list[str]:
        root = self.repos[repo]
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                      if p.is_file() and p.relative_to(root).as_posix().startswith(under))

    def route(self, raw: str):
        import hashlib
        import json
        from urllib.parse import parse_qs, unquote, urlparse

        url = urlparse(raw)
        path, query = unquote(url.path), parse_qs(url.query)
        as_json = {"Content-Type": "application/json"}
        if path == "/api/datasets":
            author = query.get("author", [""])[0]
            search = query.get("search", [""])[0]
            found = [{"id": repo, "sha": self.SHA, "private": False, "author": author}
                     for repo in self.repos if repo.startswith(f"{author}/") and search in repo]
            return 200, json.dumps(found).encode(), as_json
        for repo, root in self.repos.items():
            api = f"/api/datasets/{repo}/"
            if path.startswith(api + "revision/"):
                info = {"id": repo, "sha": self.SHA, "private": False,
                        "siblings": [{"rfilename": f} for f in self.files(repo)]}
                return 200, json.dumps(info).encode(), as_json
            if path.startswith(api + "tree/"):
                under = path[len(api + "tree/"):].split("/", 1)[1:] or [""]
                entries = [{"type": "file", "path": f, "size": (root / f).stat().st_size,
                            "oid": hashlib.sha1((root / f).read_bytes()).hexdigest()}
                           for f in self.files(repo, under[0])]
                return 200, json.dumps(entries).encode(), as_json
            resolve = f"/datasets/{repo}/resolve/"
            if path.startswith(resolve):
                name = path[len(resolve):].split("/", 1)[1]
                if not (root / name).is_file():
                    return 404, b"entry not found", {"X-Error-Code": "EntryNotFound"}
                body = (root / name).read_bytes()
                return 200, body, {"ETag": f'"{hashlib.sha1(body).hexdigest()}"',
                                   "X-Repo-Commit": self.SHA}
        return 404, b"not found", {"X-Error-Code": "RepoNotFound"}
