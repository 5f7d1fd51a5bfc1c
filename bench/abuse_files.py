"""Hostile import files against the importer's budgets: the time and peak memory of each.

    uv run python bench/abuse_files.py [--case NAME]

Each case writes its files to a scratch folder and runs `import_deployments` on them in
a process of its own (a scratch SQLite database, the production budgets), so that the
peak resident memory is that case's alone. Prints one line a case: wall time, the peak
resident set of the process and how much the case added to it, and the first line of
the importer's answer. See README.md, "Untrusted prefect.yaml and flow files".
"""

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOW = "from prefect import flow\n\n\n@flow\ndef f(n: int = 1):\n    pass\n"


def alias_bomb(levels: int, size: int) -> str:
    """The "billion laughs" (nine aliases a level), padded with a comment to `size` bytes."""
    names = "abcdefghijklmnopq"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in itertools.pairwise(names[:levels]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{before}"] * 9) + "]")
    lines.append(f"deployments:\n- name: bomb\n  flow_name: f\n  parameters: {{p: *{name}}}")
    text = "\n".join(lines) + "\n"
    return text + "#" * (size - len(text) - 1) + "\n"


def deployment(extra: str = "") -> str:
    return f"deployments:\n- name: d\n  flow_name: f\n{extra}"


def flow_project(folder: Path, source: str, entrypoint: str = "flows/f.py:f") -> Path:
    (folder / "flows").mkdir(parents=True)
    (folder / "flows" / "f.py").write_text(source)
    (folder / "prefect.yaml").write_text(f"deployments:\n- name: d\n  entrypoint: {entrypoint}\n")
    return folder / "prefect.yaml"


def flow_with_default(default: str) -> str:
    return f"from prefect import flow\n\n\n@flow\ndef f(n: list = {default}):\n    pass\n"


def constant_laughs() -> str:
    lines = ["from prefect import flow", "L0 = 'xxxxxxxxxx'"]
    lines += [f"L{n} = [{', '.join([f'L{n - 1}'] * 10)}]" for n in range(1, 12)]
    return "\n".join(lines) + "\n\n\n@flow\ndef f(n: list = L11):\n    pass\n"


def annotation_laughs() -> str:
    lines = ["from prefect import flow", "A0 = int"]
    lines += [f"A{n} = tuple[{', '.join([f'A{n - 1}'] * 10)}]" for n in range(1, 30)]
    return "\n".join(lines) + "\n\n\n@flow\ndef f(n: A29 = None):\n    pass\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# Each case makes its files in a folder and gives the file to import.
CASES = {
    "yaml alias bomb 448 B": lambda d: write(d, "prefect.yaml", alias_bomb(10, 448)),
    "yaml alias bomb 592 B": lambda d: write(d, "prefect.yaml", alias_bomb(14, 592)),
    "yaml recursive anchor": lambda d: write(
        d, "prefect.yaml", deployment("  parameters: &p {me: *p}\n")
    ),
    "yaml 100,000 [ deep": lambda d: write(
        d, "prefect.yaml", deployment("  parameters: {p: " + "[" * 100_000 + "]" * 100_000 + "}\n")
    ),
    "yaml 1 MB flow list": lambda d: write(
        d, "prefect.yaml", deployment("  parameters: {p: [" + "0," * 499_900 + "0]}\n")
    ),
    "yaml 1 MB comment": lambda d: write(
        d, "prefect.yaml", deployment() + "#" * (1_000_000 - len(deployment()) - 1) + "\n"
    ),
    "json 1,000,000 [ deep": lambda d: write(d, "deep.json", "[" * 1_000_000 + "]" * 1_000_000),
    "jsonl 1,000,000 [ deep": lambda d: write(d, "deep.jsonl", "[" * 1_000_000),
    "json 5,000-digit number": lambda d: write(
        d, "big.json", '{"name":"v","value":' + "9" * 5000 + "}"
    ),
    "flow ((10**1000)**1000)**1000": lambda d: flow_project(
        d, flow_with_default("((10**1000)**1000)**1000")
    ),
    "flow constants unfolding 10^11": lambda d: flow_project(d, constant_laughs()),
    "flow aliases unfolding 10^29": lambda d: flow_project(d, annotation_laughs()),
    "flow 100,000 1+1+... deep": lambda d: flow_project(d, flow_with_default("1+" * 100_000 + "1")),
    "flow 199 ( deep": lambda d: flow_project(d, flow_with_default("(" * 199 + "1" + ")" * 199)),
    "flow 500 KB list default": lambda d: flow_project(
        d, flow_with_default("[" + "0," * 249_900 + "0]")
    ),
    "flow file 2 MB": lambda d: flow_project(d, FLOW + "#" * 2_000_000 + "\n"),
    "entrypoint /etc/passwd": lambda d: flow_project(d, FLOW, "/etc/passwd:flow"),
    "entrypoint /proc/self/environ": lambda d: flow_project(d, FLOW, "/proc/self/environ:x"),
    "entrypoint ../../etc/passwd": lambda d: flow_project(d, FLOW, "../../etc/passwd:x"),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(name: str, database: Path) -> None:
    """In its own process: import the case's file, print one line."""
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import CommandError, call_command

    with tempfile.TemporaryDirectory() as folder:
        path = CASES[name](Path(folder))
        baseline = peak_rss_mb()
        started = time.perf_counter()
        try:
            call_command("import_deployments", str(path), "--quiet", stdout=StringIO())
            outcome = "accepted"
        except CommandError as exc:
            lines = str(exc).split("\n")
            outcome = (lines[1] if len(lines) > 1 else lines[0]).replace(folder + "/", "")
        elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    print(
        f"{name:<32} {elapsed:7.3f} s  peak RSS {peak:6.1f} MB (+{peak - baseline:6.1f})  {outcome}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES), help="one case (default: all)")
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.database:
        run_case(options.case, options.database)
        return
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "abuse.sqlite3"
        environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity=0"],
            env=environment,
            check=True,
        )
        print(f"$ uv run python bench/abuse_files.py  (Python {sys.version.split()[0]})")
        for name in [options.case] if options.case else CASES:
            arguments = ["--case", name, "--database", str(database)]
            subprocess.run([sys.executable, __file__, *arguments], check=False)


if __name__ == "__main__":
    main()
